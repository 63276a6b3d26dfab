"""Each supported format becomes an Article with the right metadata."""

import json

from assistant.ingest.readers import read_paths

from .conftest import SEED_ID, SEEDS


def test_seed_header_is_recognised():
    report = read_paths([SEEDS])
    assert not report.warnings
    (article,) = report.articles
    assert article.id == SEED_ID
    assert article.title == "Russia will not withdraw its recognition of Georgia’s de-facto regions"
    assert article.author == "Messenger Staff"
    assert article.date == "Wednesday, November 23"
    assert article.text.startswith("Russia’s Deputy Foreign Minister Gregory Karasin")
    assert "messenger logo" not in article.text
    assert len(article.content_hash) == 64


def test_markdown_front_matter(tmp_path):
    (tmp_path / "note.md").write_text(
        "---\ntitle: Harbour report\nauthor: Ana Lima\ndate: 2024-05-01\nurl: https://example.org/h\n---\n"
        "# Ignored heading\n\nThe harbour reopened on Monday after repairs.\n"
    )
    (a,) = read_paths([tmp_path]).articles
    assert (a.title, a.author, a.date, a.source) == (
        "Harbour report",
        "Ana Lima",
        "2024-05-01",
        "https://example.org/h",
    )
    assert "The harbour reopened on Monday" in a.text


def test_html_body_and_metadata_without_scripts_or_navigation(tmp_path):
    html = (
        "<html><head><title>Site | Storm</title><meta name='author' content='Jo Park'>"
        "<meta property='article:published_time' content='2023-02-03'></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/about'>About us</a></nav>"
        "<article><h1>Storm closes the coastal road</h1>"
        "<p>The coastal road was closed on Tuesday after a storm brought down trees along a long stretch.</p>"
        "<p>Engineers expect to reopen it within two weeks once the debris has been cleared away.</p>"
        "<script>alert('x')</script></article><footer>© Site</footer></body></html>"
    )
    (tmp_path / "storm.html").write_text(html)
    (a,) = read_paths([tmp_path]).articles
    assert a.title == "Storm closes the coastal road"
    assert a.author == "Jo Park"
    assert a.date == "2023-02-03"
    assert "closed on Tuesday" in a.text and "two weeks" in a.text
    assert "alert" not in a.text and "About us" not in a.text


def test_jsonl_corpus_reports_bad_lines_by_number(tmp_path):
    lines = [
        json.dumps({"id": "a1", "title": "First", "text": "Alpha text.", "url": "u1", "date": "2020", "author": "X"}),
        "{not json",
        json.dumps({"id": "a2", "title": "Second"}),
        json.dumps({"id": 3, "title": "Third", "text": "Gamma text."}),
    ]
    (tmp_path / "c.jsonl").write_text("\n".join(lines))
    report = read_paths([tmp_path / "c.jsonl"])
    assert [a.id for a in report.articles] == ["a1", "3"]
    assert report.articles[0].source == "u1" and report.articles[0].author == "X"
    assert any(":2:" in w for w in report.warnings)
    assert any(":3:" in w for w in report.warnings)


def test_binary_unsupported_and_non_utf8_files(tmp_path):
    (tmp_path / "img.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 owners protested on Friday in the old town.".encode("latin-1"))
    report = read_paths([tmp_path])
    assert [a.text for a in report.articles] == ["Café owners protested on Friday in the old town."]
    joined = " ".join(report.warnings)
    assert "binary" in joined and "not a supported type" in joined and "UTF-8" in joined


def test_missing_path_and_empty_file_warn(tmp_path):
    (tmp_path / "empty.txt").write_text("   \n")
    report = read_paths([tmp_path / "nope", tmp_path / "empty.txt"])
    assert report.articles == []
    assert len(report.warnings) == 2


def test_utf16_and_utf32_with_a_bom_are_decoded(tmp_path):
    text = "Harbour news\n\nThe harbour of Ærø reopened on Monday — 港 and Москва sent ships.\n"
    for codec, bom in (
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("utf-32-be", b"\x00\x00\xfe\xff"),
    ):
        (tmp_path / f"{codec}.txt").write_bytes(bom + text.replace("\n", "\r\n").encode(codec))
    report = read_paths([tmp_path])
    assert not report.warnings, report.warnings
    assert sorted(a.id for a in report.articles) == ["utf-16-be", "utf-16-le", "utf-32-be", "utf-32-le"]
    for a in report.articles:
        assert a.title == "Harbour news"
        assert a.text.strip() == "The harbour of Ærø reopened on Monday — 港 and Москва sent ships."


def test_ids_come_from_the_path_below_the_ingested_folder(tmp_path):
    docs = tmp_path / "docs"
    for rel in ("2023/report.txt", "2024/report.txt", "東京.txt", "北京.txt", "Москва.txt", "Café Menu.txt", "a.txt"):
        (docs / rel).parent.mkdir(parents=True, exist_ok=True)
        (docs / rel).write_text(f"Title of {rel}\n\nThe body of {rel} says something distinct.\n")
    report = read_paths([docs])
    assert sorted(a.id for a in report.articles) == sorted(
        ["2023/report", "2024/report", "東京", "北京", "москва", "cafe-menu", "a"]
    )
    assert not report.warnings
    # A file named directly gets its name as before (what existing indexes hold).
    assert [a.id for a in read_paths([docs / "2023" / "report.txt"]).articles] == ["report"]


def test_two_files_with_the_same_id_in_one_run_are_both_kept_and_reported(tmp_path):
    (tmp_path / "Report.txt").write_text("Report\n\nThe first report says the mill of Dunmore is red.\n")
    (tmp_path / "report.md").write_text("# Report\n\nThe second report says the mill of Dunmore is blue.\n")
    report = read_paths([tmp_path])
    ids = sorted(a.id for a in report.articles)
    assert len(ids) == 2 and ids[0] == "report" and ids[1].startswith("report-"), ids
    (warning,) = [w for w in report.warnings if "already taken" in w]
    assert "report.md" in warning and "Report.txt" in warning and ids[1] in warning
    assert {"red", "blue"} == {w for a in report.articles for w in ("red", "blue") if w in a.text}


def test_bad_jsonl_lines_are_skipped_and_the_rest_is_read(tmp_path):
    good = json.dumps({"id": "good1", "title": "Fine", "text": "The harbour of Arden is kept by Ana Lima."})
    lines = [
        good,
        '{"id": "big", "text": "x", "n": ' + "7" * 5000 + "}",  # int() refuses > 4300 digits: ValueError
        "[" * 100_000,  # RecursionError in the JSON decoder
        '{"id": "deep", "text": "y", "v": ' + "[" * 50_000 + "]" * 50_000 + "}",
        "{broken",
        json.dumps({"id": "good2", "title": "Also fine", "text": "The bridge of Elsby was built in 1887."}),
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(lines))
    (tmp_path / "b.txt").write_text("Other file\n\nThe lighthouse of Colm is kept by Rui Costa.\n")
    report = read_paths([tmp_path / "a.jsonl", tmp_path / "b.txt"])
    assert sorted(a.id for a in report.articles) == ["b", "good1", "good2"]
    for lineno in (2, 3, 4, 5):
        assert any(f"a.jsonl:{lineno}: skipped" in w for w in report.warnings), (lineno, report.warnings)
    assert any("a.jsonl:2:" in w and "too long" in w for w in report.warnings)
    assert any("a.jsonl:3:" in w and "nested too deeply" in w for w in report.warnings)

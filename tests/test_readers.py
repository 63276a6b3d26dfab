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

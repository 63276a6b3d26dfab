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


# --- PDF and Word files -------------------------------------------------------------------------
def make_notice_docx(path):
    """A Word file with a title, a byline and one fact (python-docx)."""
    import docx

    d = docx.Document()
    d.add_heading("Tunnel notice", 0)
    d.add_paragraph("By Mira Castell")
    d.add_paragraph("The river tunnel of Velmora closes for repairs on June 9, the transport office said.")
    d.save(str(path))
    return path


def make_pdf(path, pages, title=""):
    """A PDF with a text layer: ``pages`` is a list of pages, each a list of paragraphs (fpdf2)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    if title:
        pdf.set_title(title)
    for paragraphs in pages:
        pdf.add_page()
        for text in paragraphs:
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))
    return path


BRIDGE_PAGES = [
    [
        "Harbor Bridge annual report",
        "By Talia Okonkwo-Reyes",
        "March 14, 2031",
        "The Harbor Bridge opened on Friday after six years of construction in the coastal city of Velmora. "
        "The council approved the final payment in a special session that ended with a unanimous vote.",
    ],
    ["The bridge was designed by the engineer Mira Castell, who also designed the river tunnel."],
]


def test_pdf_text_layer_with_pages_header_and_paragraphs(tmp_path):
    from assistant.records import page_of

    make_pdf(tmp_path / "bridge.pdf", BRIDGE_PAGES, title="Microsoft Word - draft.docx")
    report = read_paths([tmp_path])
    assert report.warnings == []
    (a,) = report.articles
    assert (a.id, a.title, a.author, a.date) == (
        "bridge",
        "Harbor Bridge annual report",
        "Talia Okonkwo-Reyes",
        "2031-03-14",
    )
    assert "Okonkwo" not in a.text and "March 14" not in a.text  # the header is not a passage
    # lines of a paragraph are joined; the page break is a paragraph boundary with a page mark
    assert "coastal city of Velmora. The council approved" in " ".join(a.text.split())
    designed = a.text.index("The bridge was designed")
    assert a.paged and a.page_at(designed) == 2 and a.page_at(a.text.index("The Harbor Bridge")) == 1
    assert page_of(a.text, designed) == 2


def test_pdf_without_text_layer_encrypted_or_broken_get_one_clear_warning(tmp_path):
    from fpdf import FPDF

    scan = FPDF()
    scan.add_page()
    scan.rect(20, 20, 100, 100, style="F")  # an image-like page with no text
    scan.output(str(tmp_path / "scan.pdf"))
    locked = FPDF()
    locked.set_encryption(owner_password="o", user_password="secret")
    locked.set_font("Helvetica", size=11)
    locked.add_page()
    locked.cell(0, 6, "Secret text of the locked report.")
    locked.output(str(tmp_path / "locked.pdf"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage")
    (tmp_path / "fake.docx").write_bytes(b"not a zip at all")
    report = read_paths([tmp_path])
    assert report.articles == []
    assert len(report.warnings) == 4, report.warnings
    by_file = {w.split(":")[0].rsplit("/", 1)[-1]: w for w in report.warnings}
    assert "no text layer" in by_file["scan.pdf"] and "OCR" in by_file["scan.pdf"]
    assert "password" in by_file["locked.pdf"]
    assert "not a readable PDF" in by_file["broken.pdf"] or "no text layer" in by_file["broken.pdf"]
    assert "Word" in by_file["fake.docx"]
    assert all("\n" not in w for w in report.warnings)


def test_docx_headings_byline_and_tables(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("Velmora press release", 0)
    d.add_paragraph("Lena Voss, Staff Writer")
    d.add_paragraph("Published: May 5, 2030")
    d.add_paragraph("The tunnel under the Velm river will close for repairs in June, the city said.")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Month", (0, 1): "Closure", (1, 0): "June", (1, 1): "Full"}.items():
        table.cell(r, c).text = text
    d.add_paragraph("Buses will replace the trains during the closure.")
    d.save(str(tmp_path / "press.docx"))
    (a,) = read_paths([tmp_path]).articles
    assert (a.title, a.author, a.date) == ("Velmora press release", "Lena Voss", "2030-05-05")
    assert a.text.lstrip().startswith("The tunnel under the Velm river")
    assert "Month: June | Closure: Full" in a.text and a.text.rstrip().endswith("during the closure.")
    assert not a.paged and a.page_at(0) is None


# --- bylines and datelines ----------------------------------------------------------------------
def test_bylines_and_dates_in_markdown_text_and_html_are_metadata_not_passages(tmp_path):
    (tmp_path / "bridge.md").write_text(
        "# Harbor Bridge opens\n\nBy Talia Okonkwo-Reyes\nMarch 14, 2031\n\nThe Harbor Bridge opened on Friday.\n"
    )
    (tmp_path / "tunnel.txt").write_text(
        "Tunnel closes for repairs\nMira Castell, Staff Writer\nPublished: 2031-05-05T09:30:00Z\n\n"
        "The river tunnel closes in June for repairs.\n"
    )
    (tmp_path / "ferry.html").write_text(
        "<html><head><title>Ferry returns</title></head><body><article><h1>Ferry returns</h1>"
        "<p class='byline'>By Lena Voss</p><p>Wednesday, November 23</p>"
        "<p>The old ferry returned to the harbor after a long refit at the northern shipyard.</p>"
        "<p>It will carry passengers again from Monday morning.</p></article></body></html>"
    )
    got = {a.id: a for a in read_paths([tmp_path]).articles}
    md, txt, html = got["bridge"], got["tunnel"], got["ferry"]
    assert (md.title, md.author, md.date) == ("Harbor Bridge opens", "Talia Okonkwo-Reyes", "2031-03-14")
    assert md.text.strip() == "The Harbor Bridge opened on Friday."
    assert (txt.title, txt.author, txt.date) == ("Tunnel closes for repairs", "Mira Castell", "2031-05-05")
    assert txt.text.strip() == "The river tunnel closes in June for repairs."
    assert (html.author, html.date) == ("Lena Voss", "Wednesday, November 23")  # no year: kept as written
    assert html.text.lstrip().startswith("The old ferry") and "Voss" not in html.text


def test_byline_and_date_parsing():
    from assistant.ingest.bylines import iso_date, parse_byline, split_header

    dates = {
        "March 14, 2031": "2031-03-14",
        "Mar. 14 2031": "2031-03-14",
        "14 March 2031": "2031-03-14",
        "Sept. 3, 2030": "2030-09-03",
        "Updated on Thu, 3 Sep 2030": "2030-09-03",
        "2031-03-14T09:30:00Z": "2031-03-14",
        "14.03.2031": "2031-03-14",
        "03/14/2031": "2031-03-14",
        "03/04/2031": "03/04/2031",  # ambiguous: kept
        "Published: March 14, 2031 10:32 AM EST": "2031-03-14",
        "March 2031": "2031-03",
        "Wednesday, November 23": "Wednesday, November 23",
        "February 30, 2031": "February 30, 2031",  # not a day: kept
    }
    assert {d: iso_date(d) for d in dates} == dates
    names = {
        "By Talia Okonkwo-Reyes": "Talia Okonkwo-Reyes",
        "By Ana Ruiz and Li Wei": "Ana Ruiz and Li Wei",
        "By Lena Voss, Staff Writer": "Lena Voss",
        "Jean de la Fontaine, Correspondent": "Jean de la Fontaine",
        "Mira Castell, senior reporter for The Velmora Times": "Mira Castell",
        "By 東京 太郎": "東京 太郎",
        "Paris, France": None,
        "by the river we sat": None,
        "The council, reporter said": None,
    }
    assert {b: parse_byline(b) for b in names} == names
    text = "By Ana Ruiz | March 3, 2031\n\nThe base is big."
    author, date, cut = split_header(text)
    assert (author, date, text[cut:]) == ("Ana Ruiz", "2031-03-03", "\nThe base is big.")
    assert split_header("By Ana Ruiz\n") == ("", "", 0)  # nothing else: kept as the body
    assert split_header("The bridge opened.\nBy Ana Ruiz") == ("", "", 0)  # only at the top


def test_pdf_and_docx_by_command_line_and_python(tmp_path, writable_index, embedder):
    """`assistant ingest` takes .pdf/.docx; `ask` (and `--json`) cites the PDF page; Assistant.ingest does the same."""
    import docx

    from assistant import Assistant

    from .test_cli import run

    (tmp_path / "docs").mkdir()
    make_pdf(tmp_path / "docs" / "bridge.pdf", BRIDGE_PAGES)
    d = docx.Document()
    d.add_paragraph("Ferry timetable")
    d.add_paragraph("The night ferry to Orrin leaves at 23:40 from pier 7.")
    d.save(str(tmp_path / "docs" / "ferry.docx"))
    r = run("ingest", str(tmp_path / "docs"), "--index", str(writable_index))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    r = run("ask", "Who designed the Harbor Bridge?", "--index", str(writable_index), "--json")
    data = json.loads(r.stdout)
    assert "Mira Castell" in data["text"]
    assert data["citations"][0]["article_id"] == "bridge" and data["citations"][0]["page"] == 2
    r = run("ask", "Who designed the Harbor Bridge?", "--index", str(writable_index))
    first = next(line for line in r.stdout.splitlines() if line.startswith("[1] "))
    assert "— bridge, page 2, chars " in first, r.stdout  # the terminal names the page too
    a = Assistant.load(writable_index, embedder=embedder)
    ans = a.ask("When does the night ferry to Orrin leave?")
    assert "23:40" in ans.text and ans.citations[0].article_id == "ferry" and ans.citations[0].page is None
    assert a.ask("Which states recognize Abkhazia?").citations[0].page is None  # plain text: no page
    scan = tmp_path / "more" / "scan.pdf"
    scan.parent.mkdir()
    make_pdf(scan, [[]])
    r = run("ingest", str(scan), "--index", str(writable_index))
    assert r.returncode != 0 and "no text layer" in r.stderr and "Traceback" not in r.stderr
    assert a.remove(["bridge"]).removed == ["bridge"] and a.article("bridge") is None


def test_docx_that_unpacks_too_large_is_refused_before_parsing(tmp_path, monkeypatch):
    import docx

    d = docx.Document()
    d.add_paragraph("A normal paragraph of a normal Word document. " * 50)
    d.save(str(tmp_path / "big.docx"))
    monkeypatch.setenv("ASSISTANT_MAX_UNPACKED_BYTES", "10000")  # the default is 64 MB
    report = read_paths([tmp_path / "big.docx"])
    assert report.articles == [] and "unpacks to" in report.warnings[0] and "max_unpacked_bytes" in report.warnings[0]
    monkeypatch.delenv("ASSISTANT_MAX_UNPACKED_BYTES")
    assert len(read_paths([tmp_path / "big.docx"]).articles) == 1


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

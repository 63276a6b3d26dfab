"""Small files that expand without bound are read up to the per-document bounds, with one warning
naming the file; the other files of the batch are unaffected (issue 27, items 2 and 3)."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from assistant.ingest.formats import extract_text
from assistant.ingest.pipeline import ingest_articles
from assistant.ingest.readers import read_paths
from assistant.settings import Settings
from assistant.storage.index import Index

from .hash_embedder import HashEmbedder, make_article
from .hostile_files import damaged_pdfs, docx_bytes, lying_docx, shared_stream_pdf

NORMAL = "Harbour news\n\nThe harbour of Nore is kept by Ana Lima.\n"


def _only(warnings: list[str], name: str) -> str:
    mine = [w for w in warnings if name in w]
    assert len(mine) == 1, warnings
    return mine[0]


def test_a_pdf_whose_pages_share_one_big_stream_stops_at_the_character_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_ARTICLE_CHARS", "120000")
    (tmp_path / "bomb.pdf").write_bytes(shared_stream_pdf(pages=20, stream_chars=50_000))  # ~1M characters
    (tmp_path / "normal.txt").write_text(NORMAL)
    assert (tmp_path / "bomb.pdf").stat().st_size < 100_000
    t = time.perf_counter()
    report = read_paths([tmp_path])
    took = time.perf_counter() - t
    by_id = {a.id: a for a in report.articles}
    assert set(by_id) == {"bomb", "normal"}
    assert 100_000 < len(by_id["bomb"].text) <= 120_000
    assert "max_article_chars" in _only(report.warnings, "bomb.pdf")
    assert took < 30, took  # four pages read of twenty, not all of them


def test_a_pdf_stream_over_the_unpacked_limit_is_named_not_taken_for_a_scan(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_UNPACKED_BYTES", "100000")
    (tmp_path / "deep.pdf").write_bytes(shared_stream_pdf(pages=3, stream_chars=200_000))
    (tmp_path / "normal.txt").write_text(NORMAL)
    report = read_paths([tmp_path])
    assert [a.id for a in report.articles] == ["normal"]
    warning = _only(report.warnings, "deep.pdf")
    assert "max_unpacked_bytes" in warning and "OCR" not in warning and "\n" not in warning


def test_damaged_pdfs_are_called_damaged_not_scans(tmp_path):
    for name, data in damaged_pdfs().items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "normal.txt").write_text(NORMAL)
    report = read_paths([tmp_path])
    assert [a.id for a in report.articles] == ["normal"]
    for name in damaged_pdfs():
        warning = _only(report.warnings, name)
        assert "damaged PDF" in warning and "OCR" not in warning and "\n" not in warning, warning
    assert "loop" in _only(report.warnings, "contents-loop.pdf")
    assert "loop" in _only(report.warnings, "length-loop.pdf")


def test_a_pdf_read_until_its_content_budget_keeps_the_pages_before(tmp_path):
    data = shared_stream_pdf(pages=6, stream_chars=20_000)
    warnings: list[str] = []
    text = extract_text(data, ".pdf", "p.pdf", warnings, max_unpacked=100_000)
    assert text and 0 < text.count("\f") < 5  # some pages, not all six
    assert "max_unpacked_bytes" in warnings[0] and "pages were read" in warnings[0]


def test_a_docx_with_a_lying_zip_directory_is_not_unpacked_whole(tmp_path):
    data = lying_docx(real_bytes=40 * 2**20)  # says 2 kB, holds 40 MB of XML
    assert len(data) < 200_000
    (tmp_path / "liar.docx").write_bytes(data)
    (tmp_path / "normal.txt").write_text(NORMAL)
    tracemalloc.start()
    try:
        report = read_paths([tmp_path])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [a.id for a in report.articles] == ["normal"]
    assert "not a readable Word document" in _only(report.warnings, "liar.docx")
    assert peak < 16 * 2**20, peak / 2**20  # a megabyte at a time, not the 40 MB


def test_an_honest_docx_over_the_unpacked_limit_is_refused_while_counting(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_UNPACKED_BYTES", str(3 * 2**20))
    (tmp_path / "long.docx").write_bytes(
        docx_bytes([f"Paragraph {i} of a very long report." * 20 for i in range(6000)])
    )
    report = read_paths([tmp_path / "long.docx"])
    assert report.articles == [] and "max_unpacked_bytes" in _only(report.warnings, "long.docx")


def test_a_docx_of_too_many_parts_is_refused_quickly(tmp_path):
    import io
    import zipfile

    buf = io.BytesIO(docx_bytes(["Many parts"]))
    with zipfile.ZipFile(buf, "a") as z:
        for i in range(10_001):
            z.writestr(f"word/media/p{i}.bin", b"")
    (tmp_path / "parts.docx").write_bytes(buf.getvalue())
    t = time.perf_counter()
    report = read_paths([tmp_path / "parts.docx"])
    assert report.articles == [] and "parts" in _only(report.warnings, "parts.docx")
    assert time.perf_counter() - t < 10


def test_docx_text_is_cut_at_the_character_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_ARTICLE_CHARS", "5000")
    (tmp_path / "long.docx").write_bytes(docx_bytes([f"Paragraph {i} of the long report." for i in range(2000)]))
    report = read_paths([tmp_path / "long.docx"])
    [article] = report.articles
    assert len(article.text) <= 5000 and article.text.rstrip().endswith("report.")
    assert "max_article_chars" in _only(report.warnings, "long.docx")


def test_text_and_jsonl_documents_are_cut_at_the_character_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MAX_ARTICLE_CHARS", "10000")
    long = "Long report\n\n" + "\n\n".join(f"Paragraph {i} says the harbour is open." for i in range(1000))
    (tmp_path / "long.txt").write_text(long)
    lines = [{"id": "big", "text": long}, {"id": "small", "text": "The harbour of Nore is kept by Ana Lima."}]
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    report = read_paths([tmp_path])
    by_id = {a.id: a for a in report.articles}
    assert len(by_id["long"].text) <= 10000 and by_id["long"].text.endswith("open.")
    assert len(by_id["big"].text) <= 10000 and by_id["small"].text == lines[1]["text"]
    assert "max_article_chars" in _only(report.warnings, "long.txt")
    assert "max_article_chars" in _only(report.warnings, "corpus.jsonl:1")


def test_an_article_is_indexed_up_to_the_passage_cap(tmp_path):
    text = " ".join(f"The harbour of Arden {i} is kept by keeper number {i} of the town." for i in range(400))
    settings = Settings.from_env(max_article_passages=3)
    report = ingest_articles(tmp_path / "idx", [make_article("long", "Long", text)], HashEmbedder(), settings)
    assert "max_article_passages" in _only(report.warnings, "long")
    index = Index.load(tmp_path / "idx")
    try:
        assert index.store.count("chunks") == 3
        chunks = index.store.chunks([1, 2, 3]).values()
        assert all(text[c.start : c.end] == c.text for c in chunks)
        assert max(c.end for c in chunks) < len(text) // 2
    finally:
        index.close()


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_bad_bound_in_the_environment_keeps_the_default(monkeypatch, value):
    monkeypatch.setenv("ASSISTANT_MAX_ARTICLE_CHARS", value)
    assert Settings.from_env().max_article_chars == Settings().max_article_chars

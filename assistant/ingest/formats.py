"""Text out of PDF (its text layer, with pypdf) and Word .docx files (python-docx).

The result is plain text that the plain-text reader then treats like a .txt article (a header of
title, byline and date lines, then the body). PDF pages are separated by ``PAGE_BREAK``
(a form feed on a line of its own: a paragraph boundary), so the page of any character offset is
``1 + text.count("\\f", 0, offset)`` (:func:`assistant.records.page_of`). Lines of a page are
joined into paragraphs (a short line that ends a sentence closes a paragraph; words hyphenated at a
line end are joined), page numbers and running headers/footers repeated on most pages are dropped.

A PDF without a text layer (a scan) is skipped with a message that says to run OCR first; an
encrypted PDF that opens without a password is read, one that needs a password is skipped.

Example::

    from assistant.ingest.formats import extract_text
    warnings = []
    text = extract_text(open("report.pdf", "rb").read(), ".pdf", "report.pdf", warnings)
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter

from .tables import table_lines

SUFFIXES = {".pdf", ".docx"}
PAGE_BREAK = "\n\f\n"
MAX_PAGES = 5000
MAX_DOCX_UNPACKED = 250_000_000  # bytes a .docx may unpack to (its XML is parsed in memory)

_SENTENCE_END = re.compile(r"[.!?:;\"”’)\]]$")
_PAGE_NUMBER = re.compile(
    r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$|^\s*[-–—]\s*\d{1,4}\s*[-–—]\s*$", re.I
)


def extract_text(data: bytes, suffix: str, name: str, warnings: list[str]) -> str | None:
    """The text of a .pdf or .docx file, or None (with one warning) when there is none to read."""
    try:
        if suffix == ".pdf":
            return _pdf_text(data, name, warnings)
        if suffix == ".docx":
            return _docx_text(data, name, warnings)
    except Exception as exc:  # a damaged or hostile file: one line, never a traceback
        kind = "PDF" if suffix == ".pdf" else "Word document"
        warnings.append(f"{name}: skipped, not a readable {kind} ({exc.__class__.__name__}: {str(exc)[:120]})")
        return None
    raise ValueError(f"not a document suffix: {suffix}")


# --- PDF --------------------------------------------------------------------------------------
def _pdf_text(data: bytes, name: str, warnings: list[str]) -> str | None:
    if not data.startswith(b"%PDF-"):
        warnings.append(f"{name}: skipped, not a PDF file (no %PDF- signature)")
        return None
    for noisy in ("pypdf", "pypdf._reader", "pypdf.generic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)  # malformed files log every repaired object
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except Exception:
            ok = 0
        if not ok:
            warnings.append(f"{name}: skipped, the PDF is password-protected (save an unprotected copy)")
            return None
    n = len(reader.pages)
    if n > MAX_PAGES:
        warnings.append(f"{name}: only the first {MAX_PAGES} of {n} pages were read")
    pages_lines = []
    for page in list(reader.pages)[:MAX_PAGES]:
        try:
            raw = page.extract_text() or ""
        except Exception:  # one broken page does not lose the others
            raw = ""
        raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\x00", "")
        pages_lines.append([line.rstrip() for line in raw.split("\n")])
    if not any(line.strip() for lines in pages_lines for line in lines):
        warnings.append(
            f"{name}: skipped, the PDF has no text layer (a scanned document?): run OCR on it first "
            "(e.g. `ocrmypdf in.pdf out.pdf`) and add the result"
        )
        return None
    repeated = _running_lines(pages_lines)
    pages = [_paragraphs([ln for ln in lines if ln.strip() not in repeated]) for lines in pages_lines]
    return PAGE_BREAK.join(pages)


def _running_lines(pages_lines: list[list[str]]) -> set[str]:
    """Header/footer lines: the first/last two lines of a page that recur on most pages, and page numbers."""
    out: set[str] = set()
    edges = Counter()
    for lines in pages_lines:
        kept = [ln.strip() for ln in lines if ln.strip()]
        for ln in set(kept[:2] + kept[-2:]):
            edges[ln] += 1
            if _PAGE_NUMBER.match(ln):
                out.add(ln)
    if len(pages_lines) >= 3:
        out |= {ln for ln, k in edges.items() if k >= 0.6 * len(pages_lines) and len(ln) < 120}
    return out


def _paragraphs(lines: list[str]) -> str:
    """Lines of one page joined into paragraphs (blank line between them)."""
    lines = [ln.strip() for ln in lines]
    lengths = sorted(len(ln) for ln in lines if ln)
    if not lengths:
        return ""
    long = [n for n in lengths if n > 0.5 * lengths[-1]]
    full = long[len(long) // 2]  # a typical full line: the median of the long ones
    paras: list[str] = []
    current = ""
    for ln in lines:
        if not ln:
            if current:
                paras.append(current)
                current = ""
            continue
        if current:
            if current.endswith("-") and len(current) > 1 and current[-2].isalpha() and ln[:1].islower():
                current = current[:-1] + ln  # a word hyphenated at the line end
            else:
                current += " " + ln
        else:
            current = ln
        short = len(ln) < 0.8 * full
        if short and (_SENTENCE_END.search(ln) or len(ln) < 0.5 * full):  # a paragraph's last line, or a heading
            paras.append(current)
            current = ""
    if current:
        paras.append(current)
    return "\n\n".join(paras)


# --- Word -------------------------------------------------------------------------------------
def _docx_text(data: bytes, name: str, warnings: list[str]) -> str | None:
    if not data.startswith(b"PK\x03\x04"):
        warnings.append(f"{name}: skipped, not a Word .docx file (an old .doc? save it as .docx)")
        return None
    import zipfile

    import docx

    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # a zip bomb is refused before anything is unpacked
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_DOCX_UNPACKED:
        warnings.append(
            f"{name}: skipped, the Word document unpacks to {unpacked / 1e6:.0f} MB "
            f"(more than {MAX_DOCX_UNPACKED // 1_000_000} MB)"
        )
        return None
    document = docx.Document(io.BytesIO(data))
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):  # a table: one line per row, each cell with its column's name
            blocks.extend(table_lines([[cell.text for cell in row.cells] for row in item.rows]))
            continue
        text = " ".join(item.text.replace("\t", " ").split())
        if text:
            blocks.append(text)
    title = (document.core_properties.title or "").strip()
    if not blocks:
        warnings.append(f"{name}: skipped, the Word document has no text")
        return None
    if title and title != blocks[0]:
        blocks.insert(0, title)
    return "\n\n".join(blocks)

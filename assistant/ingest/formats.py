"""Text out of PDF (its text layer, with pypdf) and Word .docx files (python-docx).

The result is plain text that the plain-text reader then treats like a .txt article (a header of
title, byline and date lines, then the body). PDF pages are separated by ``PAGE_BREAK``
(a form feed on a line of its own: a paragraph boundary), so the page of any character offset is
``1 + text.count("\\f", 0, offset)`` (:func:`assistant.records.page_of`). Lines of a page are
joined into paragraphs (a short line that ends a sentence closes a paragraph; words hyphenated at a
line end are joined), page numbers and running headers/footers repeated on most pages are dropped.

A PDF without a text layer (a scan) is skipped with a message that says to run OCR first; an
encrypted PDF that opens without a password is read, one that needs a password is skipped.

What a small file may expand to is bounded, counted while reading: a PDF's pages are read until their
content streams have decompressed to ``max_unpacked`` bytes (a stream drawn by many pages counts each
time) or their text reaches ``max_chars``; a .docx's XML parts are unpacked a megabyte at a time, so a
zip whose directory understates a member's size fails its checksum after at most that much, and its
media are never unpacked (the text does not need them).

Example::

    from assistant.ingest.formats import extract_text
    warnings = []
    text = extract_text(open("report.pdf", "rb").read(), ".pdf", "report.pdf", warnings)
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import re
from collections import Counter

from .tables import table_lines

SUFFIXES = {".pdf", ".docx"}
PAGE_BREAK = "\n\f\n"
MAX_PAGES = 5000

_SENTENCE_END = re.compile(r"[.!?:;\"”’)\]]$")
_PAGE_NUMBER = re.compile(
    r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$|^\s*[-–—]\s*\d{1,4}\s*[-–—]\s*$", re.I
)


#: Defaults of the bounds (the settings ``max_article_chars`` and ``max_unpacked_bytes`` override them).
MAX_CHARS = 2_000_000
MAX_UNPACKED = 64 * 2**20
_READ_SIZE = 2**20
MAX_DOCX_PARTS = 10_000  # a real .docx has tens


def extract_text(
    data: bytes,
    suffix: str,
    name: str,
    warnings: list[str],
    max_chars: int = MAX_CHARS,
    max_unpacked: int = MAX_UNPACKED,
) -> str | None:
    """The text of a .pdf or .docx file, or None (with one warning) when there is none to read.
    Reading stops at about ``max_chars`` characters of text and ``max_unpacked`` decompressed bytes."""
    try:
        if suffix == ".pdf":
            return _pdf_text(data, name, warnings, max_chars, max_unpacked)
        if suffix == ".docx":
            return _docx_text(data, name, warnings, max_chars, max_unpacked)
    except RecursionError:
        kind = "PDF" if suffix == ".pdf" else "Word document"
        warnings.append(f"{name}: skipped, a damaged {kind} (its objects refer to each other in a loop)")
        return None
    except Exception as exc:  # a damaged or hostile file: one line, never a traceback
        kind = "PDF" if suffix == ".pdf" else "Word document"
        warnings.append(f"{name}: skipped, not a readable {kind} ({_why(exc)})")
        return None
    raise ValueError(f"not a document suffix: {suffix}")


def _why(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:120]}"


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n:,} bytes"


# --- PDF --------------------------------------------------------------------------------------
def _pdf_text(data: bytes, name: str, warnings: list[str], max_chars: int, max_unpacked: int) -> str | None:
    if not data.startswith(b"%PDF-"):
        warnings.append(f"{name}: skipped, not a PDF file (no %PDF- signature)")
        return None
    for noisy in ("pypdf", "pypdf._reader", "pypdf.generic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)  # malformed files log every repaired object
    with _pdf_limits(max_unpacked):
        return _read_pdf(data, name, warnings, max_chars, max_unpacked)


def _pdf_limits(max_unpacked: int):
    """pypdf's limits on one decompressed stream set to ``max_unpacked`` (it counts while inflating)."""
    import pypdf

    if hasattr(pypdf, "apply_configuration"):  # pypdf 7: per context
        fields = ("zlib", "lzw", "run_length", "brotli")
        known = {f.name for f in dataclasses.fields(pypdf.get_configuration())}
        limits = {f"{k}_maximum_output_length": max_unpacked for k in fields if f"{k}_maximum_output_length" in known}
        return pypdf.apply_configuration(**limits)
    from pypdf import filters  # older pypdf: module constants

    for constant in ("ZLIB_MAX_OUTPUT_LENGTH", "LZW_MAX_OUTPUT_LENGTH"):
        if hasattr(filters, constant):
            setattr(filters, constant, max_unpacked)
    return contextlib.nullcontext()


def _read_pdf(data: bytes, name: str, warnings: list[str], max_chars: int, max_unpacked: int) -> str | None:
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
    errors: list[BaseException] = []
    unpacked = chars = 0
    for i, page in enumerate(list(reader.pages)[:MAX_PAGES]):
        try:
            contents = page.get_contents()  # decompressed here (and cached): counted before it is read
            size = 0 if contents is None else len(contents.get_data())
            if unpacked + size > max_unpacked:
                warnings.append(
                    f"{name}: only the first {i} of {n} pages were read: their content decompresses to more "
                    f"than {_mb(max_unpacked)} (the max_unpacked_bytes setting)"
                )
                break
            unpacked += size
            raw = page.extract_text() or ""
        except RecursionError as exc:
            errors.append(exc)
            raw = ""
        except Exception as exc:  # one broken page does not lose the others
            errors.append(exc)
            raw = ""
        raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\x00", "")
        pages_lines.append([line.rstrip() for line in raw.split("\n")])
        chars += len(raw)
        if chars > max_chars:  # read_file keeps the first max_chars characters, with a warning
            break
    if not any(line.strip() for lines in pages_lines for line in lines):
        if errors:
            warnings.append(f"{name}: skipped, {_unreadable_pages(errors, len(pages_lines))}")
        elif pages_lines and (damage := _damaged_content(list(reader.pages)[: len(pages_lines)])):
            warnings.append(f"{name}: skipped, a damaged PDF ({damage})")
        elif pages_lines:
            warnings.append(
                f"{name}: skipped, the PDF has no text layer (a scanned document?): run OCR on it first "
                "(e.g. `ocrmypdf in.pdf out.pdf`) and add the result"
            )
        return None
    if errors:
        warnings.append(f"{name}: {len(errors)} of its pages were skipped: {_unreadable_pages(errors[:1], 1)}")
    repeated = _running_lines(pages_lines)
    pages = [_paragraphs([ln for ln in lines if ln.strip() not in repeated]) for lines in pages_lines]
    return PAGE_BREAK.join(pages)


def _damaged_content(pages: list) -> str | None:
    """Why pages that gave no text are damaged rather than scans, or None: content that refers to
    itself (pypdf then reads nothing, silently), or text drawn that could not be extracted."""
    from pypdf.generic import ArrayObject, StreamObject

    for page in pages[:50]:
        try:
            raw = page.get("/Contents")
            if raw is None:
                continue
            contents = raw.get_object()
            if isinstance(contents, ArrayObject):
                own = getattr(raw, "idnum", None)
                for item in contents:
                    if own is not None and getattr(item, "idnum", None) == own:
                        return "its page content refers to itself, a loop"
                    if not isinstance(item.get_object(), StreamObject):
                        return "its page content is not a content stream"
            data = page.get_contents()
            if data is not None and re.search(rb"\)\s*Tj|\]\s*TJ|\)\s*'", data.get_data()[:1_000_000]):
                return "it draws text, but none could be extracted"
        except Exception as exc:
            return f"its page content cannot be read: {_why(exc)}"
    return None


def _unreadable_pages(errors: list[BaseException], pages: int) -> str:
    """Why pages could not be read: a stream over the size limit, objects in a loop, or damage."""
    exc = errors[0]
    what = "its pages" if pages != 1 else "the page"
    if "loop" in str(exc).lower() or isinstance(exc, RecursionError):
        return f"{what} could not be read: a damaged PDF (its objects refer to each other in a loop)"
    if exc.__class__.__name__ == "LimitReachedError":
        return f"{what} decompress to more than the max_unpacked_bytes setting allows ({_why(exc)})"
    return f"{what} could not be read: a damaged PDF ({_why(exc)})"


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
def _docx_text(data: bytes, name: str, warnings: list[str], max_chars: int, max_unpacked: int) -> str | None:
    if not data.startswith(b"PK\x03\x04"):
        warnings.append(f"{name}: skipped, not a Word .docx file (an old .doc? save it as .docx)")
        return None
    import docx

    package = _unpack_docx(data, name, warnings, max_unpacked)
    if package is None:
        return None
    document = docx.Document(package)
    blocks: list[str] = []
    chars = 0
    for item in document.iter_inner_content():
        if chars > max_chars:  # read_file keeps the first max_chars characters, with a warning
            break
        before = len(blocks)
        if hasattr(item, "rows"):  # a table: one line per row, each cell with its column's name
            blocks.extend(table_lines([[cell.text for cell in row.cells] for row in item.rows]))
        elif text := " ".join(item.text.replace("\t", " ").split()):
            blocks.append(text)
        chars += sum(len(b) + 2 for b in blocks[before:])
    title = (document.core_properties.title or "").strip()
    if not blocks:
        warnings.append(f"{name}: skipped, the Word document has no text")
        return None
    if title and title != blocks[0]:
        blocks.insert(0, title)
    return "\n\n".join(blocks)


def _unpack_docx(data: bytes, name: str, warnings: list[str], max_unpacked: int) -> io.BytesIO | None:
    """The .docx re-packed (uncompressed) from its XML parts, each unpacked a megabyte at a time and
    counted against ``max_unpacked``; media and other binary parts are left empty (never unpacked).
    None, with a warning, when it would unpack to more. A member larger than its listed size fails
    its checksum (``BadZipFile``) after at most its listed size plus a read."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_DOCX_PARTS:
            warnings.append(
                f"{name}: skipped, the Word document holds {len(infos):,} parts (more than {MAX_DOCX_PARTS:,})"
            )
            return None
        parts = [i for i in infos if i.filename.lower().endswith((".xml", ".rels"))]
        needed = {id(i) for i in parts}
        listed = sum(i.file_size for i in parts)
        if listed > max_unpacked:  # refused before anything is unpacked
            warnings.append(
                f"{name}: skipped, the Word document's text unpacks to {_mb(listed)} "
                f"(more than {_mb(max_unpacked)}, the max_unpacked_bytes setting)"
            )
            return None
        blobs: dict[str, bytes] = {}
        total = 0
        for info in infos:
            if id(info) not in needed:
                blobs[info.filename] = b""
                continue
            buf = bytearray()
            with archive.open(info) as fh:
                while chunk := fh.read(_READ_SIZE):
                    total += len(chunk)
                    if total > max_unpacked:
                        warnings.append(
                            f"{name}: skipped, the Word document's text unpacks to more than {_mb(max_unpacked)} "
                            "(the max_unpacked_bytes setting)"
                        )
                        return None
                    buf += chunk
            blobs[info.filename] = bytes(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as repacked:
        for filename, blob in blobs.items():
            repacked.writestr(filename, blob)
    out.seek(0)
    return out

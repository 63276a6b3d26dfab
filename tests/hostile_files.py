"""Small files that expand without bound (issue 27): built in the tests, never shipped."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path


def shared_stream_pdf(
    pages: int, stream_chars: int, sentence: str = "The harbour of Arden is kept by Elena Varga."
) -> bytes:
    """A PDF of ``pages`` pages that all draw one FlateDecode content stream of about ``stream_chars``
    characters of text: a few kB on disk, ``pages × stream_chars`` characters extracted."""
    lines = [f"(Note {i}. {sentence}) Tj T* ".encode() for i in range(max(1, stream_chars // (len(sentence) + 9)))]
    body = b"BT /F1 10 Tf 12 TL 72 760 Td " + b"".join(lines) + b"ET"
    stream = zlib.compress(body, 9)
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>"
    objects += [page] * pages
    return _pdf(objects)


def damaged_pdfs() -> dict[str, bytes]:
    """One-page PDFs whose content is damaged in ways a reader meets silently or with a loop error."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    pages = b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>"
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    text = b"<< /Length 24 >>\nstream\nBT /F1 9 Tf (Hi) Tj ET\nendstream"

    def page(resources: bytes = b"<< /Font << /F1 5 0 R >> >>") -> bytes:
        return b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources " + resources + b" >>"

    nested = b"<< /Font << /F1 5 0 R >> /X " + b"[" * 5000 + b"]" * 5000 + b" >>"
    return {
        "contents-loop.pdf": _pdf([catalog, pages, b"[3 0 R]", page(), font]),
        "length-loop.pdf": _pdf(
            [catalog, pages, b"<< /Length 3 0 R >>\nstream\nBT /F1 9 Tf (Hi) Tj ET\nendstream", page(), font]
        ),
        "deep-nesting.pdf": _pdf([catalog, pages, text, page(nested), font]),
    }


def _pdf(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def docx_bytes(paragraphs: list[str]) -> bytes:
    """A minimal, valid Word .docx holding ``paragraphs``."""
    import docx

    doc = docx.Document()
    for p in paragraphs:
        doc.add_paragraph(p)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def lying_docx(real_bytes: int, claimed: int = 2048) -> bytes:
    """A valid .docx whose ``word/document.xml`` holds ``real_bytes`` of XML while the zip's central
    directory (and local header) claim ``claimed``: a size check on the directory is lied to."""
    honest = docx_bytes(["Lying sizes"])
    src = zipfile.ZipFile(io.BytesIO(honest))
    xml = src.read("word/document.xml")
    pad = b"<!--" + b"x" * max(0, real_bytes - len(xml) - 7) + b"-->"
    big = xml.replace(b"<w:body>", b"<w:body>" + pad, 1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info.filename, big if info.filename == "word/document.xml" else src.read(info))
    data = bytearray(buf.getvalue())
    # Rewrite the uncompressed size of word/document.xml in its local header and central directory entry.
    name = b"word/document.xml"
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = 0
        while (pos := data.find(sig, pos)) >= 0:
            name_len = struct.unpack_from("<H", data, pos + (26 if sig == b"PK\x03\x04" else 28))[0]
            start = pos + (30 if sig == b"PK\x03\x04" else 46)
            if bytes(data[start : start + name_len]) == name:
                struct.pack_into("<I", data, pos + size_at, claimed)
            pos += 4
    return bytes(data)


def deep_tree(root: Path, depth: int, name: str = "d") -> Path:
    """``depth`` nested folders under ``root`` (made without recursion); returns the deepest one."""
    root.mkdir(parents=True, exist_ok=True)
    here = root
    for _ in range(depth):
        here = here / name
        os.mkdir(here)
    return here


def remove_tree(root: Path) -> None:
    """Delete a folder tree of any depth without recursion (``shutil.rmtree`` recurses, and pytest's
    clean-up of old temporary folders would fail on a tree 1,100 levels deep)."""
    stack = [str(root)]
    while stack:
        here = stack[-1]
        subfolders = []
        with os.scandir(here) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                else:
                    os.unlink(entry.path)
        if subfolders:
            stack.extend(subfolders)
        else:
            os.rmdir(stack.pop())

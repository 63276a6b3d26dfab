"""Read article files (.txt, .md, .html, .jsonl) into :class:`Article` records.

Example::

    from assistant.readers import read_paths
    articles, warnings = read_paths(["seeds/"])
    print(articles[0].title)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .records import Article

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"}
MAX_FILE_BYTES = 50 * 1024 * 1024

_WEEKDAYS = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_LINE = re.compile(
    rf"^\s*(?:{_WEEKDAYS},?\s+)?(?:{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}\s+{_MONTHS}(?:,?\s+\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}}(?:[T ][\d:]+Z?)?"
    rf"|{_WEEKDAYS})\s*$",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^\s*by\s+(?P<who>[^\n]{2,80})$", re.IGNORECASE)
_BOILERPLATE = re.compile(r"\blogo\b|^\s*(?:advertisement|skip to (?:main )?content)\s*$", re.I)


@dataclass
class ReadReport:
    """What reading found: the articles and one warning per skipped or repaired input."""

    articles: list[Article] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def content_hash(title: str, text: str, author: str = "", date: str = "") -> str:
    """A hash of what an article says; a change re-embeds the article."""
    h = hashlib.sha256()
    for part in (title, author, date, text):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def slugify(value: str) -> str:
    """A stable, file-name-safe id from a name."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-zA-Z0-9]+", "-", value).strip("-").lower()
    return value[:120] or "article"


def _make_article(id_: str, title: str, text: str, source: str, author: str = "", date: str = "") -> Article:
    title = " ".join(str(title or "").split())
    return Article(
        id=str(id_),
        title=title,
        text=text,
        source=source,
        author=" ".join(str(author or "").split()),
        date=str(date or "").strip(),
        content_hash=content_hash(title, text, str(author or ""), str(date or "")),
    )


def decode_bytes(data: bytes, name: str, warnings: list[str]) -> str | None:
    """Decode text, warning when it is not UTF-8; None for binary data."""
    if b"\x00" in data[:8192]:
        warnings.append(f"{name}: skipped, looks like a binary file")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        warnings.append(f"{name}: not valid UTF-8, decoded as cp1252 (check the characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_plain_text(raw: str) -> tuple[str, str, str, str]:
    """Split a plain-text article into (title, author, date, body).

    Recognises a header of short lines before the first paragraph: site boilerplate
    such as "The messenger logo", the headline, a "By ..." byline and a date line.
    The body is a verbatim slice of ``raw`` (from the first body line on).
    """
    title = author = date = ""
    pos = 0
    body_start = 0
    lines = raw.split("\n")
    header_lines = 0
    for line in lines:
        stripped = line.strip()
        line_end = pos + len(line) + 1
        if not stripped:
            pos = line_end
            continue
        if header_lines >= 6:
            break
        is_short = len(stripped) <= 160 and not re.search(r"[.!?:;\"”]$", stripped)
        if _BOILERPLATE.search(stripped) and len(stripped) <= 60:
            pass
        elif (m := _BYLINE.match(stripped)) and not author:
            author = m.group("who").strip()
        elif _DATE_LINE.match(stripped) and not date:
            date = stripped
        elif is_short and not title:
            title = stripped
        else:
            break
        header_lines += 1
        pos = line_end
        body_start = min(pos, len(raw))
    body = raw[body_start:]
    if not body.strip():  # a header-only file: keep everything as the body
        body, title = raw, title
    return title, author, date, body


def _split_front_matter(raw: str, name: str, warnings: list[str]) -> tuple[dict, str]:
    if not raw.startswith("---\n"):
        return {}, raw
    end = raw.find("\n---", 4)
    if end < 0:
        return {}, raw
    import yaml

    try:
        meta = yaml.safe_load(raw[4:end]) or {}
    except yaml.YAMLError as exc:
        warnings.append(f"{name}: front matter is not valid YAML ({exc.__class__.__name__}); ignored")
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    after = raw.find("\n", end + 4)
    return meta, raw[after + 1 :] if after >= 0 else ""


def parse_markdown(raw: str, name: str, warnings: list[str]) -> tuple[dict, str, str]:
    """(front matter, title, body) of a Markdown article; a leading ``# heading`` is the title."""
    meta, body = _split_front_matter(raw, name, warnings)
    title = str(meta.get("title") or "")
    m = re.match(r"\s*#\s+(.+?)\s*#*\s*(?:\n|$)", body)
    if m:
        if not title:
            title = m.group(1)
        body = body[m.end() :]
    return meta, title, body


def parse_html(raw: str) -> dict:
    """Article body and metadata of an HTML page, via trafilatura (scripts and navigation dropped)."""
    import trafilatura

    extracted = trafilatura.extract(
        raw, output_format="json", with_metadata=True, include_comments=False, favor_recall=True
    )
    if not extracted:
        return {}
    return json.loads(extracted)


def _iter_files(paths: Iterable[str | os.PathLike], warnings: list[str]) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()
    for p in paths:
        path = Path(p)
        if not path.exists():
            warnings.append(f"{path}: no such file or folder")
            continue
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    if not f.startswith("."):
                        fp = Path(root) / f
                        if fp.suffix.lower() in SUPPORTED_SUFFIXES:
                            yield from _unique(fp, seen, warnings)
                        else:
                            warnings.append(
                                f"{fp}: skipped, not a supported type ({', '.join(sorted(SUPPORTED_SUFFIXES))})"
                            )
        else:
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                warnings.append(f"{path}: skipped, not a supported type ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
                continue
            yield from _unique(path, seen, warnings)


def _unique(path: Path, seen: set[tuple[int, int]], warnings: list[str]) -> Iterator[Path]:
    try:
        st = path.stat()
    except OSError as exc:
        warnings.append(f"{path}: skipped, cannot read ({exc.strerror or exc})")
        return
    key = (st.st_dev, st.st_ino)
    if key not in seen:
        seen.add(key)
        yield path


def read_file(path: Path, warnings: list[str]) -> list[Article]:
    """Articles in one file (one for a document, many for a .jsonl corpus)."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            warnings.append(f"{name}: skipped, larger than {MAX_FILE_BYTES // 2**20} MB")
            return []
        data = path.read_bytes()
    except OSError as exc:
        warnings.append(f"{name}: skipped, cannot read ({exc.strerror or exc})")
        return []
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl_bytes(data, name, warnings)
    raw = decode_bytes(data, name, warnings)
    if raw is None:
        return []
    return parse_document(raw, suffix, name, path.stem, warnings)


def parse_document(raw: str, suffix: str, source: str, stem: str, warnings: list[str]) -> list[Article]:
    """One article from a decoded .txt/.md/.html document."""
    author = date = ""
    meta: dict = {}
    if suffix in {".md", ".markdown"}:
        meta, title, body = parse_markdown(raw, source, warnings)
        author = str(meta.get("author") or meta.get("byline") or "")
        date = str(meta.get("date") or "")
        if not title:
            title, author2, date2, body = parse_plain_text(body)
            author, date = author or author2, date or date2
    elif suffix in {".html", ".htm"}:
        doc = parse_html(raw)
        title, author, date = doc.get("title") or "", doc.get("author") or "", doc.get("date") or ""
        body = doc.get("text") or ""
        meta = {"url": doc.get("source") or ""}
        if title and body.startswith(title):
            body = body[len(title) :].lstrip("\n")
    else:
        title, author, date, body = parse_plain_text(raw)
    if not body.strip():
        warnings.append(f"{source}: skipped, no article text found")
        return []
    id_ = str(meta.get("id") or slugify(stem))
    src = str(meta.get("url") or meta.get("source") or source)
    return [_make_article(id_, title or stem.replace("-", " ").replace("_", " "), body, src, author, date)]


def read_jsonl_bytes(data: bytes, name: str, warnings: list[str]) -> list[Article]:
    """Articles of a .jsonl corpus: one object a line with ``id``, ``title``, ``text``
    and optional ``url``, ``date``, ``author``. Bad lines are reported by number."""
    raw = decode_bytes(data, name, warnings)
    if raw is None:
        return []
    out: list[Article] = []
    for lineno, line in enumerate(raw.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            warnings.append(f"{name}:{lineno}: skipped, not valid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            warnings.append(f'{name}:{lineno}: skipped, needs an object with a non-empty "text"')
            continue
        title = str(obj.get("title") or "")
        id_ = obj.get("id") if obj.get("id") not in (None, "") else obj.get("_id")
        if id_ in (None, ""):
            id_ = content_hash(title, obj["text"])[:16]
        text = obj["text"].replace("\r\n", "\n")
        out.append(
            _make_article(
                str(id_),
                title or str(id_),
                text,
                str(obj.get("url") or name),
                obj.get("author") or "",
                obj.get("date") or "",
            )
        )
    return out


def read_paths(paths: Iterable[str | os.PathLike]) -> ReadReport:
    """Read every supported file under ``paths``. Duplicate ids keep the last and warn."""
    report = ReadReport()
    by_id: dict[str, Article] = {}
    for path in _iter_files(paths, report.warnings):
        for article in read_file(path, report.warnings):
            if article.id in by_id:
                report.warnings.append(
                    f"{article.source}: article id {article.id!r} appears twice; the later one is kept"
                )
            by_id[article.id] = article
    report.articles = list(by_id.values())
    return report

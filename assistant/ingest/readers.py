"""Read article files (.txt, .md, .html, .jsonl) into :class:`Article` records.

Example::

    from assistant.ingest.readers import read_paths
    articles, warnings = read_paths(["seeds/"])
    print(articles[0].title)
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..records import Article
from ..settings import Settings
from . import bylines, formats
from .tables import html_tables, markdown_tables

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"} | formats.SUFFIXES
MAX_FILE_BYTES = 50 * 1024 * 1024
MIN_HTML_WORDS = 4  # less than this after dropping navigation and scripts is not an article

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
    #: article id → the resolved path of the file it was read from, for ids made from a file's
    #: path (not for ids a .jsonl or front matter gives): how ingest tells two files apart.
    origins: dict[str, str] = field(default_factory=dict)
    #: article id → the id earlier versions gave the same file (its bare file name), where different.
    legacy_ids: dict[str, str] = field(default_factory=dict)


def content_hash(title: str, text: str, author: str = "", date: str = "") -> str:
    """A hash of what an article says; a change re-embeds the article."""
    h = hashlib.sha256()
    for part in (title, author, date, text):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def slugify(value: str) -> str:
    """A stable, file-name-safe id from a name: ``Harbour Report`` → ``harbour-report``.

    Names written in Latin letters keep the ASCII form earlier versions gave them (accents
    dropped: ``Café`` → ``cafe``), so ids already in an index stay valid; names with letters of
    other scripts keep them (``東京`` → ``東京``, ``Москва`` → ``москва``) instead of all becoming
    ``article``."""
    if any(_non_latin_letter(c) for c in value):
        value = unicodedata.normalize("NFKC", value)
        value = "".join(c if unicodedata.category(c)[0] in "LNM" else "-" for c in value)
        value = re.sub(r"-{2,}", "-", value).strip("-").lower()
        return value[:120] or "article"
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-zA-Z0-9]+", "-", value).strip("-").lower()
    return value[:120] or "article"


def _non_latin_letter(c: str) -> bool:
    return not c.isascii() and unicodedata.category(c)[0] in "LN" and not unicodedata.name(c, "").startswith("LATIN")


def path_id(rel: str | os.PathLike) -> str:
    """The article id of a file at ``rel``, its path relative to the folder that was ingested
    (just its name for a file named directly): folders and the name without its suffix,
    each slugified, joined by ``/``: ``2023/Report.txt`` → ``2023/report``."""
    parts = Path(rel).parts
    if not parts:
        return "article"
    return "/".join([slugify(p) for p in parts[:-1]] + [slugify(Path(parts[-1]).stem)])


def _scalar(value: object) -> str:
    """A metadata value as text; containers (lists, mappings) are ignored."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return ""
    return str(value)


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


# Signatures of common binary formats, for a clearer message than "binary".
_MAGIC = {
    b"%PDF-": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive (or an Office document)",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "a program",
    b"RIFF": "a media file",
    b"\xd0\xcf\x11\xe0": "an old Office document",
    b"SQLite format 3\x00": "a database",
}
# Checked in this order: a UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def binary_kind(data: bytes) -> str | None:
    """What a binary file looks like ("a PNG image", "a binary file"), or None for text."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return kind
    if b"\x00" in data[:8192]:
        return "a binary file"
    return None


def clean_text(text: str, name: str, warnings: list[str]) -> str:
    """Replace what cannot be stored or searched (lone surrogates, NUL and other control
    characters) with U+FFFD / spaces, warning once per input; tabs and newlines stay."""
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
        warnings.append(f"{name}: invalid characters (lone surrogates) replaced with \ufffd")
    if re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", text):
        text = re.sub(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", " ", text)
        warnings.append(f"{name}: control characters replaced with spaces")
    return text


def decode_bytes(data: bytes, name: str, warnings: list[str]) -> str | None:
    """Decode text, warning when it is not UTF-8; None (with a warning) for binary data.

    UTF-16 and UTF-32 text is recognised by its byte-order mark (it holds NUL bytes, which
    would otherwise look binary)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(codec, errors="replace")
            if "\ufffd" in text:
                warnings.append(f"{name}: invalid {codec.upper()} sequences replaced with \ufffd")
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            return clean_text(text, name, warnings)
    kind = binary_kind(data)
    if kind:
        warnings.append(f"{name}: skipped, looks like {kind}, not text")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("cp1252", errors="replace")
        sample = text[:65536]
        if sample and len(_CONTROL.findall(sample)) > 0.02 * len(sample):
            warnings.append(f"{name}: skipped, looks like a binary file, not text")
            return None
        warnings.append(
            f"{name}: not valid UTF-8 (first bad byte at offset {exc.start}), decoded as cp1252 (check the characters)"
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return clean_text(text, name, warnings)


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
    title = _scalar(meta.get("title"))
    m = re.match(r"\s*#\s+(.+?)\s*#*\s*(?:\n|$)", body)
    if m:
        if not title:
            title = m.group(1)
        body = body[m.end() :]
    return meta, title, markdown_tables(body)


def parse_html(raw: str) -> dict:
    """Article body and metadata of an HTML page, via trafilatura (scripts and navigation dropped)."""
    import trafilatura

    extracted = trafilatura.extract(
        html_tables(raw), output_format="json", with_metadata=True, include_comments=False, favor_recall=True
    )
    if not extracted:
        return {}
    return json.loads(extracted)


#: How many folders deep an ingest walks below a folder it is given; deeper folders are skipped with a warning.
MAX_DEPTH = 64


def _iter_files(paths: Iterable[str | os.PathLike], warnings: list[str]) -> Iterator[tuple[Path, Path]]:
    """(file, its path relative to the folder named in ``paths``, or its name) of each supported file.

    A path named here is followed even when it is a symbolic link; inside a folder, symbolic links
    (to files or folders) are not followed, hidden names (starting with ".") are skipped, and so are
    folders more than :data:`MAX_DEPTH` deep: each with a warning (hidden names in one line)."""
    seen: set[tuple[int, int]] = set()
    for p in paths:
        path = Path(p)
        try:
            path.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                warnings.append(f"{path}: skipped, a symbolic link loop")
            elif os.path.islink(path):  # (never raises: a folder without permission is no link)
                warnings.append(f"{path}: skipped, a broken symbolic link")
            elif isinstance(exc, FileNotFoundError):
                warnings.append(f"{path}: no such file or folder")
            else:
                warnings.append(f"{path}: skipped, cannot read ({exc.strerror or exc})")
            continue
        if path.is_dir():
            yield from ((q, q.relative_to(path)) for q in _walk(path, seen, warnings))
        else:
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                warnings.append(f"{path}: skipped, not a supported type ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
                continue
            yield from ((q, Path(q.name)) for q in _unique(path, seen, warnings))


def _walk(root: Path, seen: set[tuple[int, int]], warnings: list[str]) -> Iterator[Path]:
    """The supported files under ``root`` in sorted, depth-first order, walked with a stack (a tree
    of any depth cannot exhaust Python's recursion); see :func:`_iter_files` for what is skipped."""
    hidden: list[str] = []
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            warnings.append(f"{folder}: skipped, cannot read the folder ({exc.strerror or exc})")
            continue
        subfolders = []
        for entry in entries:
            fp = Path(entry.path)
            if entry.name.startswith("."):
                hidden.append(fp.relative_to(root).as_posix())
            elif entry.is_symlink():
                warnings.append(f"{fp}: skipped, {_link_kind(fp)}")
            elif entry.is_dir(follow_symlinks=False):
                if depth + 1 > MAX_DEPTH:
                    warnings.append(f"{fp}: skipped, more than {MAX_DEPTH} folders below {root}")
                else:
                    subfolders.append(fp)
            elif fp.suffix.lower() in SUPPORTED_SUFFIXES:
                yield from _unique(fp, seen, warnings)
            else:
                warnings.append(f"{fp}: skipped, not a supported type ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
        stack.extend((sub, depth + 1) for sub in reversed(subfolders))
    if hidden:
        shown = ", ".join(hidden[:5]) + (f" and {len(hidden) - 5} more" if len(hidden) > 5 else "")
        warnings.append(f"{root}: skipped {len(hidden)} hidden name(s), starting with '.': {shown}")


def _link_kind(link: Path) -> str:
    """Why a symbolic link inside a folder is skipped, in words."""
    try:
        link.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if isinstance(exc, FileNotFoundError):
            return "a broken symbolic link"
    return "a symbolic link (links inside a folder are not followed: name the link itself to ingest its target)"


def _unique(path: Path, seen: set[tuple[int, int]], warnings: list[str]) -> Iterator[Path]:
    try:
        st = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            warnings.append(f"{path}: skipped, a symbolic link loop")
        elif isinstance(exc, FileNotFoundError) and os.path.islink(path):
            warnings.append(f"{path}: skipped, a broken symbolic link")
        else:
            warnings.append(f"{path}: skipped, cannot read ({exc.strerror or exc})")
        return
    if not stat.S_ISREG(st.st_mode):
        warnings.append(f"{path}: skipped, not a regular file")
        return
    key = (st.st_dev, st.st_ino)
    if key not in seen:
        seen.add(key)
        yield path


def _read_regular_file(path: Path, name: str, warnings: list[str]) -> bytes | None:
    """The bytes of a regular file of acceptable size; None (with a warning) otherwise.

    Opened with O_NONBLOCK so a FIFO or device named like an article cannot hang the ingest."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            warnings.append(f"{name}: skipped, not a regular file")
            return None
        if st.st_size > MAX_FILE_BYTES:
            warnings.append(f"{name}: skipped, larger than {MAX_FILE_BYTES // 2**20} MB")
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(min(st.st_size, MAX_FILE_BYTES) + 1)  # not a 50 MB buffer for every file
    finally:
        os.close(fd)
    if not data:
        warnings.append(f"{name}: skipped, the file is empty")
        return None
    return data


def cap_text(text: str, max_chars: int, name: str, warnings: list[str]) -> str:
    """``text`` cut to at most ``max_chars`` characters, at a paragraph or word boundary when one
    is near, with a warning naming ``name``; unchanged when it is shorter."""
    if len(text) <= max_chars:
        return text
    cut = max_chars
    for sep in ("\n\n", "\n", " "):
        at = text.rfind(sep, max_chars - max_chars // 10, max_chars)
        if at > 0:
            cut = at
            break
    warnings.append(
        f"{name}: only its first {cut:,} characters were read, the text is longer than {max_chars:,} "
        "(the max_article_chars setting, ASSISTANT_MAX_ARTICLE_CHARS)"
    )
    return text[:cut]


def read_file(
    path: Path, warnings: list[str], rel: Path | None = None, settings: Settings | None = None
) -> list[Article]:
    """Articles in one file (one for a document, many for a .jsonl corpus); a document's id is
    :func:`path_id` of ``rel`` (its path relative to the ingested folder; default its name).
    ``settings`` (default: from the environment) bound what a document may expand to."""
    settings = settings or Settings.from_env()
    name = str(path)
    try:
        data = _read_regular_file(path, name, warnings)
    except OSError as exc:
        warnings.append(f"{name}: skipped, cannot read ({exc.strerror or exc})")
        return []
    if data is None:
        return []
    suffix = path.suffix.lower()
    max_chars = settings.max_article_chars
    if suffix == ".jsonl":
        return read_jsonl_bytes(data, name, warnings, max_chars)
    if suffix in formats.SUFFIXES:  # PDF / Word: their text, then read like a plain-text article
        raw = formats.extract_text(data, suffix, name, warnings, max_chars, settings.max_unpacked_bytes)
        if raw is None:
            return []
        return parse_document(clean_text(raw, name, warnings), ".txt", name, path.stem, warnings, max_chars=max_chars)
    raw = decode_bytes(data, name, warnings)
    if raw is None:
        return []
    return parse_document(
        raw, suffix, name, path.stem, warnings, id_hint=path_id(rel or path.name), max_chars=max_chars
    )


def parse_document(
    raw: str,
    suffix: str,
    source: str,
    stem: str,
    warnings: list[str],
    id_hint: str | None = None,
    max_chars: int | None = None,
) -> list[Article]:
    """One article from a decoded .txt/.md/.html document; its text is cut to ``max_chars``
    (default: the setting ``max_article_chars``) with a warning."""
    author = date = ""
    meta: dict = {}
    if suffix in {".md", ".markdown"}:
        meta, title, body = parse_markdown(raw, source, warnings)
        author = _scalar(meta.get("author")) or _scalar(meta.get("byline"))
        date = _scalar(meta.get("date"))
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
        if len(body.split()) < MIN_HTML_WORDS:
            warnings.append(f"{source}: skipped, no article text found (only navigation, scripts or a few words)")
            return []
    else:
        title, author, date, body = parse_plain_text(raw)
    author2, date2, cut = bylines.split_header(body, known_author=author)  # byline/date lines: not passages
    body, author, date = body[cut:], author or author2, bylines.iso_date(date or date2)
    body = cap_text(body, max_chars or Settings.from_env().max_article_chars, source, warnings)
    if not body.strip():
        warnings.append(f"{source}: skipped, no article text found")
        return []
    id_ = _scalar(meta.get("id")) or id_hint or slugify(stem)
    src = _scalar(meta.get("url")) or _scalar(meta.get("source")) or source
    return [_make_article(id_, title or stem.replace("-", " ").replace("_", " "), body, src, author, date)]


def read_jsonl_bytes(data: bytes, name: str, warnings: list[str], max_chars: int | None = None) -> list[Article]:
    """Articles of a .jsonl corpus: one object a line with ``id``, ``title``, ``text``
    and optional ``url``, ``date``, ``author``. Bad lines are reported by number; a text longer
    than ``max_chars`` (default: the setting) is cut with a warning."""
    max_chars = max_chars or Settings.from_env().max_article_chars
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
        except RecursionError:
            warnings.append(f"{name}:{lineno}: skipped, not valid JSON (nested too deeply)")
            continue
        except ValueError as exc:  # e.g. a number of more than 4,300 digits
            reason = "a number too long" if "digits" in str(exc) else str(exc)[:80]
            warnings.append(f"{name}:{lineno}: skipped, not valid JSON ({reason})")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            warnings.append(f'{name}:{lineno}: skipped, needs an object with a non-empty "text"')
            continue
        where = f"{name}:{lineno}"
        title = clean_text(_scalar(obj.get("title")), where, warnings)
        id_ = obj.get("id") if obj.get("id") not in (None, "") else obj.get("_id")
        if isinstance(id_, (dict, list)):
            warnings.append(f'{where}: skipped, "id" must be a string or a number')
            continue
        if id_ in (None, ""):
            id_ = content_hash(title, obj["text"])[:16]
        text = clean_text(cap_text(obj["text"].replace("\r\n", "\n"), max_chars, where, warnings), where, warnings)
        out.append(
            _make_article(
                clean_text(str(id_), where, warnings),
                title or str(id_),
                text,
                clean_text(_scalar(obj.get("url")) or name, where, warnings),
                clean_text(_scalar(obj.get("author")), where, warnings),
                clean_text(_scalar(obj.get("date")), where, warnings),
            )
        )
    return out


#: Reads files elsewhere (the Ray engine): for each ``(file, rel)`` in order, ``(its articles, its warnings)``
#: as :func:`read_file` gives them.
ReadFiles = Callable[[list[tuple[Path, Path]]], Iterator[tuple[list[Article], list[str]]]]


def _read_elsewhere(
    files: list[tuple[Path, Path]], read_files: ReadFiles, warnings: list[str]
) -> Iterator[tuple[Path, Path, list[Article]]]:
    for (path, rel), (articles, file_warnings) in zip(files, read_files(files), strict=True):
        warnings.extend(file_warnings)
        yield path, rel, articles


def read_paths(
    paths: Iterable[str | os.PathLike], read_files: ReadFiles | None = None, settings: Settings | None = None
) -> ReadReport:
    """Read every supported file under ``paths``.

    A document's id comes from its path relative to the folder that was named (see
    :func:`path_id`). Two files whose paths give the same id (``Report.txt`` and ``report.md``)
    are both kept: the later one gets the id with a short hash of its path added, and a
    warning says so. Ids given inside files (.jsonl, front matter) that repeat keep the last
    one, with a warning. ``read_files`` reads the listed files elsewhere (default: here, in order).
    ``settings`` (default: from the environment) bound what each document may expand to."""
    report = ReadReport()
    settings = settings or Settings.from_env()
    by_id: dict[str, Article] = {}
    if read_files is None:  # lazily, so warnings keep the order the files are met in
        pairs = (
            (path, rel, read_file(path, report.warnings, rel, settings))
            for path, rel in _iter_files(paths, report.warnings)
        )
    else:
        files = list(_iter_files(paths, report.warnings))
        pairs = _read_elsewhere(files, read_files, report.warnings)
    for path, rel, articles in pairs:
        derived = path_id(rel)
        origin = os.path.realpath(path)
        for article in articles:
            if article.id == derived and not path.suffix.lower() == ".jsonl":
                if article.id in by_id and report.origins.get(article.id) != origin:
                    new_id = f"{article.id}-{origin_hash(origin)}"
                    report.warnings.append(
                        f"{path}: its id {article.id!r} is already taken by "
                        f"{by_id[article.id].source} in this ingest; stored as {new_id!r}"
                    )
                    article = replace(article, id=new_id)
                report.origins[article.id] = origin
                legacy = slugify(path.stem)
                if legacy != article.id:
                    report.legacy_ids[article.id] = legacy
            elif article.id in by_id:
                report.warnings.append(
                    f"{article.source}: article id {article.id!r} appears twice; the later one is kept"
                )
            by_id[article.id] = article
    report.articles = list(by_id.values())
    return report


def origin_hash(origin: str) -> str:
    """A short, stable tag of a file's path, added to an id another file already holds."""
    return hashlib.sha1(origin.encode("utf-8", "surrogatepass")).hexdigest()[:8]

"""What an upload may be: a safe file name, an accepted type, a size within the limit (nothing is read)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ACCEPTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl", ".pdf", ".docx")
MAX_UPLOAD_MB = 25  # per file
MAX_UPLOAD_FILES = 50  # per upload; also enforced on Gradio's upload route
MAX_UPLOAD_TOTAL_MB = 200  # per upload request (at least the per-file limit)


def sanitize_filename(name: str) -> str | None:
    """A safe file name for an upload (no folders, no traversal, no hidden files), or None.

    Keeps letters and digits of any script (``東京.txt``), ``.``, ``-`` and ``_``; the suffix is
    lower-cased.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")
    stem = re.sub(r"\.{2,}", ".", stem)[:100]
    suffix = re.sub(r"[^a-z0-9]", "", suffix.lower())
    if not stem or not suffix:
        return None
    return f"{stem}.{suffix}"


@dataclass
class UploadCheck:
    """Files that passed the checks (source path, safe name) and one reason per refused file."""

    accepted: list[tuple[Path, str]]
    errors: list[str]


def check_uploads(paths: Sequence[str | Path], max_bytes: int, max_files: int = MAX_UPLOAD_FILES) -> UploadCheck:
    """Check uploaded files: count, type by suffix, size, a usable name; nothing is read yet."""
    accepted: list[tuple[Path, str]] = []
    errors: list[str] = []
    if len(paths) > max_files:
        return UploadCheck([], [f"{len(paths)} files at once; the limit is {max_files}"])
    used: set[str] = set()
    for p in paths:
        path = Path(p)
        name = sanitize_filename(path.name)
        shown = name or path.name[:80]
        if name is None or not name.endswith(ACCEPTED_SUFFIXES):
            errors.append(f"{shown}: not an accepted type (accepted: {', '.join(ACCEPTED_SUFFIXES)})")
            continue
        try:
            size = path.stat().st_size
        except OSError:
            errors.append(f"{shown}: the upload could not be read")
            continue
        if size > max_bytes:
            errors.append(f"{shown}: {size / 1e6:.1f} MB, larger than the {max_bytes / 1e6:.0f} MB limit")
            continue
        if size == 0:
            errors.append(f"{shown}: the file is empty")
            continue
        stem, suffix = name.rsplit(".", 1)
        n = 2
        while name in used:
            name = f"{stem}-{n}.{suffix}"
            n += 1
        used.add(name)
        accepted.append((path, name))
    return UploadCheck(accepted, errors)

"""Adding uploaded files: checked, read one by one, named without silent replacement, ingested."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import AssistantError
from ..ingest.readers import read_paths, slugify
from .upload_checks import check_uploads

log = logging.getLogger(__name__)

INGEST_LOCK_WAIT = 60.0  # seconds an upload waits for another ingest (e.g. from the CLI)


class UploadActions:
    """The upload part of :class:`~assistant.chat.service.ChatApp` (needs ``assistant``, ``_ingest_lock``
    and ``max_upload_bytes``)."""

    assistant: Any
    _ingest_lock: threading.Lock
    max_upload_bytes: int

    def add_files(
        self,
        paths: Sequence[str | Path],
        on_progress: Callable[[int, int], None] | None = None,
        *,
        replace: bool = False,
        on_read: Callable[[int, int], None] | None = None,
        on_embed: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Check and ingest uploaded files. Good files are added; refused ones are reported by name.

        An upload whose article id is already taken by a *different* article keeps both (the new one
        gets ``id-2``) unless ``replace`` is set; an identical one is "unchanged".
        Returns ``{"ok", "message", "added", "updated", "unchanged", "warnings", "errors",
        "renamed", "replaced"}``. Progress: ``on_read(files read, files)``, ``on_embed(sentences embedded,
        sentences)`` and ``on_progress(articles stored, articles)`` (the last two from the ingest's thread).
        """
        result: dict[str, Any] = {
            "ok": False,
            "added": [],
            "updated": [],
            "unchanged": [],
            "warnings": [],
            "errors": [],
            "renamed": [],
            "replaced": [],
        }
        if not paths:
            result.update(message="Choose one or more files first.")
            return result
        check = check_uploads(paths, self.max_upload_bytes)
        errors = list(check.errors)
        if not check.accepted:
            result.update(message="Nothing was added: fix or remove these files and try again.", errors=errors)
            return result
        with self._ingest_lock, tempfile.TemporaryDirectory(prefix="assistant-upload-") as tmp:
            for src, name in check.accepted:
                shutil.copyfile(src, Path(tmp) / name)
            try:
                articles, warnings = [], []
                for n, (_, name) in enumerate(check.accepted):  # file by file: two files with one id are both kept
                    if on_read:
                        on_read(n, len(check.accepted))
                    read = read_paths([Path(tmp) / name])
                    for w in read.warnings:
                        (errors if ": skipped" in w or "no such file" in w else warnings).append(_hide_dir(w, tmp))
                    for article in read.articles:  # the temporary folder is gone after this: keep the file name
                        if article.source.startswith(tmp):
                            article.source = f"upload:{Path(article.source).name}"
                        if article.id == "article" and slugify(Path(name).stem) == "article":
                            article.id = _unicode_id(Path(name).stem)  # 東京.txt → 東京, not "article"
                        articles.append((name, article))
                if not articles:
                    result.update(message="Nothing was added: no article text found.", errors=errors)
                    return result
                ready = self._settle_names(articles, replace, result)
                report = self.assistant.ingest_articles(
                    ready, warnings=warnings, on_progress=on_progress, on_embed=on_embed, lock_wait=INGEST_LOCK_WAIT
                )
            except AssistantError as exc:
                result.update(
                    message="Nothing was added; the index is unchanged.", errors=[*errors, _hide_dir(str(exc), tmp)]
                )
                return result
            except Exception as exc:  # a reader or parser failure on hostile input: report, keep the index
                log.error("upload failed: %s: %s", exc.__class__.__name__, _hide_dir(str(exc), tmp))
                result.update(
                    message="Nothing was added; the index is unchanged.",
                    errors=[*errors, f"ingest failed: {exc.__class__.__name__}: {_hide_dir(str(exc), tmp)}"],
                )
                return result
        refused = f"; {len(errors)} file{'s' if len(errors) != 1 else ''} refused" if errors else ""
        result.update(
            ok=True,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            warnings=[*result["warnings"], *(_hide_dir(w, tmp) for w in report.warnings)],
            errors=errors,
            message=(
                f"Indexed: {len(report.added)} added, {len(report.updated)} updated, "
                f"{len(report.unchanged)} unchanged ({report.chunks_added} passage"
                f"{'s' if report.chunks_added != 1 else ''} embedded){refused}."
            ),
        )
        return result

    def _settle_names(self, articles: list[tuple[str, Any]], replace: bool, result: dict[str, Any]) -> list:
        """Give each uploaded article an id: a name already taken by a different article keeps both
        (``id-2``, reported) unless ``replace``; the same article again stays "unchanged"."""
        existing = {a.id: a.content_hash for a in self.assistant.articles()}
        taken = set(existing)
        out = []
        batch: set[str] = set()
        for name, art in articles:
            same = existing.get(art.id) == art.content_hash
            if art.id in batch or (art.id in existing and not same and not replace):
                base, n = art.id, 2
                while f"{base}-{n}" in taken or f"{base}-{n}" in batch:
                    n += 1
                art.id = f"{base}-{n}"
                result["renamed"].append({"file": name, "id": art.id, "existing": base})
                result["warnings"].append(
                    f"{name}: an article named {base!r} is already indexed; both are kept, this one as "
                    f"{art.id!r} (tick “Replace articles with the same name” to update it instead)"
                )
            elif art.id in existing and not same:
                result["replaced"].append(art.id)
                result["warnings"].append(f"{name}: replaced the indexed article {art.id!r}")
            batch.add(art.id)
            taken.add(art.id)
            out.append(art)
        return out


def _unicode_id(stem: str) -> str:
    """An id that keeps letters of any script (for names slugify would reduce to "article")."""
    value = re.sub(r"[^\w]+", "-", unicodedata.normalize("NFKC", stem)).strip("-_").lower()
    return value[:120] or "article"


def _hide_dir(text: str, folder: str) -> str:
    """Messages name the uploaded file, not the server's temporary folder."""
    return text.replace(folder + os.sep, "").replace(folder, "upload")

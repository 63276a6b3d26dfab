"""The index folder on disk: numbered generations of shared segments, manifests with checksums,
atomic publish.

Layout::

    index/
      CURRENT            name of the live generation (replaced atomically)
      gen-000007/        manifest.json (format 3: the segments, live counts, per-file checksums)
        lexical/         BM25 of every live chunk: one tantivy index (:mod:`.fulltext`)
        seg-000003/      a segment: store.sqlite, dense.faiss, segment.json
        seg-000007/      (segment.json: its articles, their files, and the article ids it deletes)
      .lock              held by the one ingest that may write
      .assistant-index   marks the folder as an index (an ingest refuses other non-empty folders)

A **segment** is written once and never changed. A generation is a list of segments: an ingest
writes only a new segment holding what it adds or changes (and the ids it deletes from earlier
segments, its tombstones), and *hard-links* the files of the segments it keeps from the live
generation into its own folder (same inodes: nothing is copied). So every generation folder is
complete on its own, and the file system frees a segment's data only when the last generation
linking it is removed: garbage collection never deletes a segment a kept generation uses.
A published segment file is never opened for writing again (SQLite's caution about databases with
several names concerns journals of writers), and a merge (automatic for the newest segments,
``assistant compact`` for all) writes one new segment in place of several. The generation's tantivy
index is derived from the live one the same way: its files hard-linked, the changed chunks deleted and
the new ones added in the new folder (tantivy writes every file new). Format-1 (one folder) and format-2
(BM25 postings in each segment) generations are read only to be upgraded: ``assistant compact`` or the
next ingest writes their tantivy index from the stored chunk texts (no re-embedding).

Garbage collection removes nothing unless a valid ``CURRENT`` names a live generation: a missing
or dangling ``CURRENT`` while generations are present is a damaged index (every command says to run
``assistant repair``, :meth:`IndexDir.repair`, which points ``CURRENT`` at the newest complete one).

Every generation folder an ingest creates holds a ``.assistant-generation`` marker: garbage
collection removes only folders carrying it (or, for indexes from before markers, a
generation whose own manifest names it), never a user's folder that merely looks like one.

A writer builds a complete new generation in a temporary folder, fsyncs what it wrote, renames it
into place and only then points ``CURRENT`` at it: a crash at any moment leaves the previous
generation live and complete. Readers hold a shared ``flock`` on the manifest of the
generation they have loaded, and garbage collection never removes a generation in use, so a
running chat keeps answering from its snapshot while ingests publish newer ones.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import stat
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ..errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError
from ..models.digests import sha256_file

try:  # POSIX advisory locks mark generations in use; elsewhere GC just keeps the last two.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)
FORMAT_VERSION = 3
#: Format 1 (one folder per generation) and 2 (BM25 postings in each segment): read to be upgraded.
READABLE_VERSIONS = (1, 2, 3)
MANIFEST = "manifest.json"
INDEX_MARKER = ".assistant-index"
GEN_MARKER = ".assistant-generation"
#: A manifest larger than this is refused unread (a real one is ~100 bytes per article).
MAX_MANIFEST_BYTES = 16 * 2**20
REQUIRED_FILES = ("store.sqlite", "dense.faiss")
SEGMENT_FILE = "segment.json"
#: What every segment of a format-2 or 3 generation holds.
SEGMENT_FILES = ("store.sqlite", "dense.faiss", SEGMENT_FILE)
#: The tantivy index of a format-3 generation.
LEXICAL_META = "lexical/meta.json"
_GEN = re.compile(r"^gen-(\d{6,})$")
_SEG = re.compile(r"^seg-\d{6,}(-\d+)?$")
#: Files that only describe a folder (the project's own ``index/README.md``): an index may be made beside them;
#: cleanup never touches them.
_FOLDER_NOTES = ("README.md", "README", "README.txt", ".gitkeep", ".gitignore")
_TMP = re.compile(r"^gen-(\d{6,})\.tmp-\d+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


#: Every generation this process switched ``CURRENT`` to (or was about to), in order: an interrupted
#: command checks whether ``CURRENT`` names the last one to say whether the index changed.
PUBLISHED: list[Path] = []


def _number(name: str) -> int:
    return int(name.split(".")[0][4:])  # by number: "gen-1000000" comes after "gen-999999"


def repair_hint(index_dir: Path) -> str:
    return f"run `assistant repair --index {index_dir}` to point it at the newest complete generation"


def upgrade_hint(index_dir: Path) -> str:
    return f"run `assistant compact --index {index_dir}` to write its BM25 index anew (nothing is re-embedded)"


def rebuild_hint(index_dir: Path) -> str:
    return (
        f"rebuild it: assistant ingest --rebuild --index {index_dir} PATH... (or delete {index_dir} and ingest again)"
    )


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(folder: Path, skip: frozenset[str] | set[str] = frozenset()) -> None:
    """fsync every file (but the ``skip`` ones: links to files already durable) and every folder."""
    for root, _, files in os.walk(folder):
        for f in files:
            p = Path(root) / f
            if p.relative_to(folder).as_posix() in skip or _is_lock(f):
                continue
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(root))


def _is_lock(name: str) -> bool:
    """tantivy's empty lock files (created by its reader and writer, never data)."""
    return name.startswith(".tantivy-") and name.endswith(".lock")


def file_checksums(folder: Path, skip: frozenset[str] | set[str] = frozenset()) -> dict[str, dict]:
    """{relative path: {size, sha256}} of every data file in a generation (but the ``skip`` ones)."""
    out = {}
    for root, _, files in os.walk(folder):
        for f in sorted(files):
            p = Path(root) / f
            rel = p.relative_to(folder).as_posix()
            if rel in (MANIFEST, GEN_MARKER) or rel.endswith("-journal") or rel in skip or _is_lock(f):
                continue
            out[rel] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
    return out


def link_file(src: Path, dst: Path) -> None:
    """Hard-link ``src`` as ``dst`` (a segment shared, not copied); a copy only where the file
    system has no hard links."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EMLINK, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        logger.warning("cannot hard-link %s (%s): copying it", src, exc.strerror or exc)
        shutil.copy2(src, dst)


def link_segment(src_gen: Path, dst_gen: Path, name: str, files: dict[str, dict]) -> dict[str, dict]:
    """Link segment ``name`` of ``src_gen`` into ``dst_gen``; returns its manifest file entries.
    Each file must still have its listed size (a cheap check; checksums are verified on load)."""
    entries = {rel: info for rel, info in files.items() if rel.startswith(name + "/")}
    for rel, info in entries.items():
        src = src_gen / rel
        st = os.lstat(src)
        if not stat.S_ISREG(st.st_mode) or st.st_size != info["size"]:
            raise IndexCorruptError(f"index file {src} is truncated or altered (size); {rebuild_hint(src_gen.parent)}")
        link_file(src, dst_gen / rel)
    return entries


def _mapping_of_text(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _counts_problem(counts: object, what: str) -> str | None:
    def count(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not isinstance(counts, dict) or not all(count(counts.get(k)) for k in ("articles", "chunks", "sentences")):
        return f"{what} is missing or not whole numbers"
    return None


def manifest_problem(m: dict) -> str | None:
    """What is wrong with a manifest's fields (types, ranges, file entries), or None."""

    def count(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    model = m.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        return '"model" is missing or has no name'
    if not isinstance(model.get("weights_sha256", ""), str) or not (count(model.get("dim")) and model["dim"] > 0):
        return '"model" has a bad weights hash or dimension'
    if not isinstance(m.get("chunking"), dict):
        return '"chunking" is missing'
    counts = m.get("counts")
    if problem := _counts_problem(counts, '"counts"'):
        return problem
    if m.get("format_version") in (2, 3):
        return _segments_problem(m)
    for key in ("articles", "origins"):
        value = m.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return f'"{key}" is not a mapping of text to text'
    if len(m.get("articles", {})) != counts["articles"]:
        return '"articles" and "counts" disagree'
    if "generation" in m and not isinstance(m["generation"], str):
        return '"generation" is not text'
    files = m.get("files")
    if problem := _files_problem(files):
        return problem
    missing = [f for f in REQUIRED_FILES if f not in files]
    if missing:
        return f"it lists no {', '.join(missing)}"
    return None


def _files_problem(files: object) -> str | None:
    if not isinstance(files, dict) or not files:
        return '"files" is missing'
    for rel, info in files.items():
        parts = rel.split("/") if isinstance(rel, str) else [""]
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return f"file entry {str(rel)[:60]!r} is not a path inside the generation"
        size = info.get("size") if isinstance(info, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return f"file entry {rel!r} has no size"
        if not isinstance(info.get("sha256"), str) or not _SHA256.match(info["sha256"]):
            return f"file entry {rel!r} has no sha256"
    return None


def _segments_problem(m: dict) -> str | None:
    """What is wrong with the segment list and files of a format-2 manifest, or None."""
    if "generation" in m and not isinstance(m["generation"], str):
        return '"generation" is not text'
    nxt = m.get("next_chunk_id")
    if not isinstance(nxt, int) or isinstance(nxt, bool) or nxt < 1:
        return '"next_chunk_id" is not a positive number'
    segments = m.get("segments")
    if not isinstance(segments, list):
        return '"segments" is not a list'
    names = set()
    for seg in segments:
        if not isinstance(seg, dict) or not isinstance(seg.get("name"), str) or not _SEG.match(seg["name"]):
            return "a segment entry has no valid name"
        if seg["name"] in names:
            return f"segment {seg['name']} is listed twice"
        names.add(seg["name"])
        if problem := _counts_problem(seg.get("counts"), f"the counts of segment {seg['name']}"):
            return problem
    files = m.get("files")
    if problem := _files_problem(files):
        return problem
    for name in sorted(names):
        missing = [f for f in SEGMENT_FILES if f"{name}/{f}" not in files]
        if missing:
            return f"it lists no {name}/{missing[0]}"
    if m.get("format_version") == 3 and LEXICAL_META not in files:
        return f"it lists no {LEXICAL_META}"
    return None


def _read_segment_record(gen: Path, name: str, info: dict) -> dict:
    """A segment's ``segment.json`` (its articles, their origins, the ids it deletes), bounded by
    its listed size and checked field by field; a ``ValueError`` says what is wrong."""
    path = gen / name / SEGMENT_FILE
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != info["size"]:
            raise ValueError(f"{name}/{SEGMENT_FILE} is not a file of its listed size")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(info["size"] + 1)
    finally:
        os.close(fd)
    record = json.loads(data.decode("utf-8"))
    if not isinstance(record, dict) or not _mapping_of_text(record.get("articles")):
        raise ValueError(f"{name}/{SEGMENT_FILE} has no mapping of articles")
    if not _mapping_of_text(record.get("origins", {})):
        raise ValueError(f"{name}/{SEGMENT_FILE} has bad origins")
    deletes = record.get("deletes", [])
    if not isinstance(deletes, list) or not all(isinstance(d, str) for d in deletes):
        raise ValueError(f"{name}/{SEGMENT_FILE} has bad deletes")
    return record


def resolve_segments(records: list[dict]) -> tuple[dict[str, str], dict[str, str], list[list[str]]]:
    """(live articles, their origins, the dead article ids of each segment) of segment records in
    order: a segment's ``deletes`` hide those ids in every earlier segment."""
    dead: list[list[str]] = []
    later: set[str] = set()
    for rec in reversed(records):
        dead.append(sorted(later.intersection(rec["articles"])))
        later.update(rec.get("deletes", ()))
    dead.reverse()
    articles: dict[str, str] = {}
    origins: dict[str, str] = {}
    for rec, gone in zip(records, dead):
        for d in rec.get("deletes", ()):
            origins.pop(d, None)
        origins.update(rec.get("origins", {}))
        gone_set = set(gone)
        for aid, h in rec["articles"].items():
            if aid in gone_set:
                continue
            if aid in articles:
                raise ValueError(f"article {aid[:60]!r} is live in two segments")
            articles[aid] = h
    return articles, {k: v for k, v in origins.items() if k in articles}, dead


class ReaderLock:
    """A shared lock on one generation's manifest, held while a snapshot of it is in use."""

    def __init__(self, gen: Path) -> None:
        self.fd: int | None = None
        if fcntl is None:
            return
        try:
            fd = os.open(gen / MANIFEST, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise
        except OSError as exc:  # a symbolic-link loop, a permission problem
            raise IndexCorruptError(
                f"index manifest {gen / MANIFEST} cannot be opened ({exc.strerror or exc}); {rebuild_hint(gen.parent)}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except OSError:
            os.close(fd)
            return
        self.fd = fd

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            with suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        self.release()


def in_use(gen: Path) -> bool:
    """True when a reader (in any process) holds the generation's manifest lock."""
    if fcntl is None:
        return False
    try:
        fd = os.open(gen / MANIFEST, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops our own probe lock
    return False


@dataclass
class IndexDir:
    """One index folder; see the module docstring for the layout."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    # --- reading ---------------------------------------------------------------------
    def current_name(self, strict: bool = False) -> str | None:
        """The live generation's name; None when there is none. A ``CURRENT`` that exists but is
        damaged (not a file, not text, not a generation name) is None, or with ``strict`` an
        :class:`IndexCorruptError` saying how to rebuild."""
        pointer = self.path / "CURRENT"
        why = None
        try:
            fd = os.open(pointer, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except (FileNotFoundError, NotADirectoryError):
            if not os.path.lexists(pointer):
                return None
            why = "a broken symbolic link"
        except OSError as exc:
            why = "a symbolic link loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        else:
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    why = "not a file"
                else:
                    data = os.read(fd, 256)
                    try:
                        name = data.decode("ascii").strip()
                    except UnicodeDecodeError:
                        name, why = "", "not text"
                    if not why and _GEN.match(name):
                        return name
                    why = why or "it does not name a generation"
            except OSError as exc:
                why = exc.strerror or str(exc)
            finally:
                os.close(fd)
        if strict:
            raise IndexCorruptError(
                f"the index pointer {pointer} is damaged ({why}): {repair_hint(self.path)}, or {rebuild_hint(self.path)}"
            )
        return None

    def live_name(self) -> str | None:
        """The generation a valid ``CURRENT`` names when that generation is there (its manifest
        exists), else None: a missing or dangling pointer names no live generation."""
        name = self.current_name()
        return name if name and os.path.lexists(self.path / name / MANIFEST) else None

    def published(self) -> list[Path]:
        """The published generation folders this index made, oldest first."""
        try:
            entries = list(self.path.iterdir())
        except OSError:
            return []
        gens = [p for p in entries if _GEN.match(p.name) and self._created_here(p)]
        return sorted(gens, key=lambda p: _number(p.name))

    def _check_not_orphaned(self, name: str | None) -> None:
        """Raise :class:`IndexCorruptError` when generations are here but no ``CURRENT`` names one of them:
        a damaged index (its data is kept), never "no index"."""
        if not self.path.is_dir() or not self.published():
            return
        why = f"CURRENT names {name}, which is gone" if name else "its CURRENT pointer is missing"
        raise IndexCorruptError(
            f"the index at {self.path} is damaged ({why}; its generations are kept): {repair_hint(self.path)}"
        )

    def exists(self) -> bool:
        """True when the folder holds a published index; raises :class:`IndexCorruptError` when
        its ``CURRENT`` is damaged, missing or dangling while generations are there (so a damaged
        index is never mistaken for no index)."""
        name = self.current_name(strict=True)
        if name and os.path.lexists(self.path / name / MANIFEST):
            return True
        self._check_not_orphaned(name)
        return False

    def current(self) -> Path:
        if self.path.exists() and not self.path.is_dir():
            raise IndexMissingError(
                f"{self.path} is a file, not an index folder: give --index a folder "
                f"(build one with `assistant ingest PATH... --index FOLDER`)"
            )
        name = self.current_name(strict=True)
        if not name or not os.path.lexists(self.path / name / MANIFEST):
            if name and self.current_name() != name:  # an ingest published in between: read it again
                return self.current()
            self._check_not_orphaned(name)
            raise IndexMissingError(
                f"no index at {self.path}: build one with `assistant ingest PATH... --index {self.path}`"
            )
        return self.path / name

    def open_current(self, attempts: int = 5) -> tuple[Path, ReaderLock]:
        """The live generation, locked against garbage collection while the caller reads it.

        Retries when an ingest publishes (and collects the old generation) in between."""
        for _ in range(attempts):
            gen = self.current()
            try:
                lock = ReaderLock(gen)
            except FileNotFoundError:
                continue
            if (gen / MANIFEST).exists():
                return gen, lock
            lock.release()
        raise IndexBusyError(f"the index at {self.path} keeps changing while it is opened; try again")

    def read_manifest(self, gen: Path | None = None) -> dict:
        """The generation's manifest, read with a size limit and checked field by field:
        anything else is an :class:`IndexCorruptError` with the rebuild hint."""
        gen = gen or self.current()
        path = gen / MANIFEST

        def corrupt(why: str) -> IndexCorruptError:
            why = " ".join(why.split())[:200]
            return IndexCorruptError(f"index manifest {path} is unreadable ({why}); {rebuild_hint(self.path)}")

        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise corrupt("a symbolic link loop" if exc.errno == errno.ELOOP else exc.strerror or str(exc)) from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise corrupt("not a file")
            if st.st_size > MAX_MANIFEST_BYTES:
                raise corrupt(f"larger than {MAX_MANIFEST_BYTES // 2**20} MB")
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read(MAX_MANIFEST_BYTES + 1)
        except OSError as exc:
            raise corrupt(exc.strerror or str(exc)) from exc
        finally:
            os.close(fd)
        if len(data) > MAX_MANIFEST_BYTES:
            raise corrupt(f"larger than {MAX_MANIFEST_BYTES // 2**20} MB")
        try:
            manifest = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise corrupt(f"not UTF-8 text, bad byte at offset {exc.start}") from exc
        except RecursionError as exc:
            raise corrupt("nested too deeply") from exc
        except ValueError as exc:
            raise corrupt(f"not valid JSON: {exc}") from exc
        if not isinstance(manifest, dict):
            raise corrupt(f"a JSON {type(manifest).__name__}, not an object")
        version = manifest.get("format_version")
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            raise IndexMismatchError(
                f"index at {self.path} has format version {str(version)[:20]}, this assistant reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}; {rebuild_hint(self.path)}"
            )
        problem = manifest_problem(manifest)
        if problem:
            raise corrupt(problem)
        if version != 1:
            try:
                records = [
                    _read_segment_record(gen, s["name"], manifest["files"][f"{s['name']}/{SEGMENT_FILE}"])
                    for s in manifest["segments"]
                ]
                articles, origins, dead = resolve_segments(records)
            except (OSError, ValueError, RecursionError) as exc:
                raise corrupt(f"a segment list is unreadable: {exc}") from exc
            if len(articles) != manifest["counts"]["articles"]:
                raise corrupt('the segments\' articles and "counts" disagree')
            # The live view, for readers; never written back (publish drops these keys).
            manifest["articles"], manifest["origins"] = articles, origins
            for seg, gone in zip(manifest["segments"], dead):
                seg["dead"] = gone
        return manifest

    def verify(self, gen: Path, manifest: dict, checksums: bool = True) -> None:
        """Raise :class:`IndexCorruptError` when a file is missing, truncated or altered."""
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            raise IndexCorruptError(f"index manifest {gen / MANIFEST} lists no files; {rebuild_hint(self.path)}")
        for rel, info in files.items():
            p = gen / rel
            try:
                st = os.lstat(p)
            except OSError:
                raise IndexCorruptError(f"index file {p} is missing; {rebuild_hint(self.path)}") from None
            if not stat.S_ISREG(st.st_mode):  # a symbolic link (to /dev/zero…), a FIFO, a folder
                raise IndexCorruptError(f"index file {p} is not a regular file; {rebuild_hint(self.path)}")
            if st.st_size != info["size"]:
                raise IndexCorruptError(f"index file {p} is truncated or altered (size); {rebuild_hint(self.path)}")
            if checksums and sha256_file(p) != info["sha256"]:
                raise IndexCorruptError(f"index file {p} fails its checksum; {rebuild_hint(self.path)}")

    # --- writing ---------------------------------------------------------------------
    def lock(self, wait: float | None = None):
        """The writer lock: a second ingest waits up to ``wait`` s, then raises IndexBusyError."""
        from filelock import FileLock, Timeout

        self.claim()
        lock = FileLock(str(self.path / ".lock"))
        try:
            lock.acquire(timeout=0)
            return lock
        except PermissionError as exc:
            raise self._cannot_write(exc) from exc
        except Timeout:
            if wait is not None and wait <= 0:
                raise IndexBusyError(
                    f"another ingest is writing {self.path}; wait for it to finish and try again"
                ) from None
        logger.warning("another ingest is writing %s; waiting for it to finish…", self.path)
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout as exc:
            raise IndexBusyError(
                f"another ingest is writing {self.path} (waited {wait:g} s); wait for it to finish and try again"
            ) from exc
        return lock

    def _cannot_write(self, exc: OSError) -> IndexWriteError:
        return IndexWriteError(
            f"cannot write the index folder {self.path} ({exc.strerror or exc}): fix its permissions "
            f"or choose another --index"
        )

    def is_ours(self) -> bool:
        """True when the folder is an index (marked, or with a ``CURRENT`` from before markers)
        or holds nothing but what an interrupted first ingest leaves (``.lock``, marked builds)."""
        if (self.path / INDEX_MARKER).is_file() or os.path.lexists(self.path / "CURRENT"):
            return True
        for entry in self.path.iterdir():
            if entry.name in (".lock", INDEX_MARKER) or (entry.name in _FOLDER_NOTES and entry.is_file()):
                continue
            if (
                _TMP.match(entry.name)
                and entry.is_dir()
                and ((entry / GEN_MARKER).is_file() or not any(entry.iterdir()))
            ):
                continue
            return False
        return True

    def claim(self) -> None:
        """Make sure the folder can hold this index: create and mark it, or refuse a plain file
        and a non-empty folder that is not an index (:class:`IndexWriteError`, nothing changed)."""
        try:
            if os.path.lexists(self.path) and not self.path.is_dir():
                raise IndexWriteError(
                    f"{self.path} is a file, not an index folder: give --index a new or empty folder, or an index"
                )
            self.path.mkdir(parents=True, exist_ok=True)
            if not self.is_ours():
                raise IndexWriteError(
                    f"{self.path} is not an index folder and is not empty: give --index a new or empty folder, "
                    f"or an existing index (nothing was changed)"
                )
            marker = self.path / INDEX_MARKER
            if not marker.is_file():
                marker.write_text("This folder is an Article Assistant index; its generations are managed by it.\n")
        except IndexWriteError:
            raise
        except OSError as exc:
            raise self._cannot_write(exc) from exc

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.path.iterdir() if (m := _GEN.match(p.name.split(".")[0]))]
        return max(numbers, default=0) + 1

    def new_generation(self) -> tuple[Path, Path]:
        """A fresh temporary folder to build in, and the name it will be published as."""
        self.path.mkdir(parents=True, exist_ok=True)
        n = self._next_number()
        final = self.path / f"gen-{n:06d}"
        tmp = self.path / f"gen-{n:06d}.tmp-{os.getpid()}"
        if tmp.exists() and (tmp / GEN_MARKER).is_file():
            shutil.rmtree(tmp)
        tmp.mkdir()
        (tmp / GEN_MARKER).write_text(f"{final.name}\n")  # what garbage collection may remove
        return tmp, final

    def publish(self, tmp: Path, final: Path, manifest: dict, linked: dict[str, dict] | None = None) -> None:
        """Write the manifest (with checksums), make everything durable, switch CURRENT.

        ``linked``: the manifest entries of files hard-linked from the live generation (already
        durable and checksummed); only the files written for this generation are hashed and fsynced."""
        linked = linked or {}
        files = dict(linked, **file_checksums(tmp, skip=set(linked)))
        manifest = {k: v for k, v in manifest.items() if k not in ("articles", "origins", "files")}
        manifest["segments"] = [{k: v for k, v in s.items() if k != "dead"} for s in manifest.get("segments", [])]
        manifest.update(format_version=FORMAT_VERSION, generation=final.name, files=files)
        manifest.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        _fsync_tree(tmp, skip=set(linked))
        os.rename(tmp, final)
        _fsync_dir(self.path)
        self._point_at(final.name)
        self.collect_garbage(keep=2)

    def _point_at(self, name: str) -> None:
        """Switch ``CURRENT`` to generation ``name`` atomically and durably, recorded first in
        :data:`PUBLISHED` (what an interrupted command reports)."""
        pointer = self.path / f"CURRENT.tmp-{os.getpid()}"
        with open(pointer, "w") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        PUBLISHED.append(self.path / name)
        os.replace(pointer, self.path / "CURRENT")
        _fsync_dir(self.path)

    def repair(self, lock_wait: float | None = None) -> tuple[str | None, str]:
        """Point ``CURRENT`` at the newest complete generation (its manifest valid, every file of
        its listed size and checksum), under the writer lock; nothing is deleted. Returns (the
        generation ``CURRENT`` named before, or None, the one it names now); they are equal when
        the index needed no repair. Raises :class:`IndexCorruptError` when no generation is complete."""
        if not self.path.is_dir():
            raise IndexMissingError(
                f"no index at {self.path}: build one with `assistant ingest PATH... --index {self.path}`"
            )
        pointer = self.path / "CURRENT"
        if os.path.isdir(pointer) and not os.path.islink(pointer):
            raise IndexWriteError(
                f"{pointer} is a folder, not the index pointer: move it out of {self.path} and run "
                f"`assistant repair --index {self.path}` again (nothing was changed)"
            )
        lock = self.lock(wait=lock_wait)
        try:
            before = self.current_name()
            if before and self._complete(self.path / before):
                return before, before
            for gen in reversed(self.published()):
                if self._complete(gen):
                    try:
                        self._point_at(gen.name)
                    except OSError as exc:
                        raise self._cannot_write(exc) from exc
                    return before, gen.name
            raise IndexCorruptError(f"no complete generation is left in {self.path}; {rebuild_hint(self.path)}")
        finally:
            lock.release()

    def _complete(self, gen: Path) -> bool:
        """True when ``gen`` is a generation whose manifest and every listed file check out."""
        if not os.path.lexists(gen / MANIFEST):
            return False
        try:
            manifest = self.read_manifest(gen)
            if manifest.get("generation", gen.name) != gen.name:
                return False
            self.verify(gen, manifest, checksums=True)
        except (IndexCorruptError, IndexMismatchError):
            return False
        return True

    def _created_here(self, p: Path) -> bool:
        """True for a generation folder this index made: it carries the marker, or (an index
        from before markers) it is a published generation whose own manifest names it."""
        if p.is_symlink() or not p.is_dir():
            return False
        if (p / GEN_MARKER).is_file():
            return True
        if _TMP.match(p.name) and not any(p.iterdir()):
            return True  # an ingest killed between making its folder and marking it: empty, nothing to lose
        if not _GEN.match(p.name):
            return False
        try:
            manifest = self.read_manifest(p)
        except (IndexCorruptError, IndexMismatchError):
            return False
        return manifest.get("generation") == p.name

    def collect_garbage(self, keep: int = 2) -> None:
        """Remove old generations (keeping the live one, ``keep - 1`` before it and any that a
        reader still holds) and leftovers of interrupted ingests, only ever folders this index
        created (see the module docstring). Call only while holding the lock."""
        current = self.live_name()
        if current is None:
            # No valid CURRENT naming a live generation (missing, dangling or damaged): which one is live
            # is unknown, so nothing is removed (`assistant repair` points CURRENT at the newest complete one).
            return
        number = _number
        gens = sorted((p for p in self.path.iterdir() if _GEN.match(p.name)), key=lambda p: number(p.name))
        live = [p for p in gens if p.name == current]
        now = number(current) if current else 0
        older = [p for p in gens if current and number(p.name) < now][-(keep - 1) :] if keep > 1 else []
        for p in self.path.iterdir():
            tmp = bool(_TMP.match(p.name))
            if tmp or (_GEN.match(p.name) and p not in live and p not in older):
                if not self._created_here(p):
                    continue  # a user's folder that only looks like ours
                if current and number(p.name) > now and not tmp:
                    continue  # never remove something newer than CURRENT
                if not tmp and in_use(p):
                    continue  # a running assistant still answers from it
                _remove_generation(p)
            elif p.name.startswith("CURRENT.tmp-") and p.is_file() and not p.is_symlink():
                p.unlink(missing_ok=True)


def _remove_generation(p: Path) -> None:
    """Delete a generation folder with what identifies it as ours (the marker, the manifest) last:
    an ingest killed half-way through deleting it leaves a folder the next cleanup still knows."""
    last = (MANIFEST, GEN_MARKER)
    for child in list(p.iterdir()):
        if child.name in last:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    for name in last:
        (p / name).unlink(missing_ok=True)
    try:
        p.rmdir()
    except OSError:
        shutil.rmtree(p, ignore_errors=True)

"""The index folder on disk: numbered generations, a manifest with checksums, atomic publish.

Layout::

    index/
      CURRENT            name of the live generation (replaced atomically)
      gen-000003/        manifest.json, store.sqlite, dense.faiss, lexical/
      .lock              held by the one ingest that may write

A writer builds a complete new generation in a temporary folder, fsyncs it, renames it into
place and only then points ``CURRENT`` at it: a crash at any moment leaves the previous
generation live and complete. Readers hold a shared ``flock`` on the manifest of the
generation they have loaded, and garbage collection never removes a generation in use, so a
running chat keeps answering from its snapshot while ingests publish newer ones.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ..errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError
from ..models.embedding import sha256_file

try:  # POSIX advisory locks mark generations in use; elsewhere GC just keeps the last two.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_GEN = re.compile(r"^gen-(\d{6,})$")


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


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for f in files:
            with open(Path(root) / f, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(root))


def file_checksums(folder: Path) -> dict[str, dict]:
    """{relative path: {size, sha256}} of every data file in a generation."""
    out = {}
    for root, _, files in os.walk(folder):
        for f in sorted(files):
            p = Path(root) / f
            rel = p.relative_to(folder).as_posix()
            if rel == MANIFEST or rel.endswith("-journal"):
                continue
            out[rel] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
    return out


class ReaderLock:
    """A shared lock on one generation's manifest, held while a snapshot of it is in use."""

    def __init__(self, gen: Path) -> None:
        self.fd: int | None = None
        if fcntl is None:
            return
        fd = os.open(gen / MANIFEST, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
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
    def current_name(self) -> str | None:
        try:
            name = (self.path / "CURRENT").read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return name if _GEN.match(name) else None

    def exists(self) -> bool:
        name = self.current_name()
        return bool(name) and (self.path / name / MANIFEST).exists()

    def current(self) -> Path:
        name = self.current_name()
        if not name or not (self.path / name / MANIFEST).exists():
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
        gen = gen or self.current()
        try:
            manifest = json.loads((gen / MANIFEST).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(
                f"index manifest {gen / MANIFEST} is unreadable ({exc}); {rebuild_hint(self.path)}"
            ) from exc
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index at {self.path} has format version {version}, this assistant reads version "
                f"{FORMAT_VERSION}; {rebuild_hint(self.path)}"
            )
        return manifest

    def verify(self, gen: Path, manifest: dict, checksums: bool = True) -> None:
        """Raise :class:`IndexCorruptError` when a file is missing, truncated or altered."""
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            raise IndexCorruptError(f"index manifest {gen / MANIFEST} lists no files; {rebuild_hint(self.path)}")
        for rel, info in files.items():
            p = gen / rel
            if not p.exists():
                raise IndexCorruptError(f"index file {p} is missing; {rebuild_hint(self.path)}")
            if p.stat().st_size != info["size"]:
                raise IndexCorruptError(f"index file {p} is truncated or altered (size); {rebuild_hint(self.path)}")
            if checksums and sha256_file(p) != info["sha256"]:
                raise IndexCorruptError(f"index file {p} fails its checksum; {rebuild_hint(self.path)}")

    # --- writing ---------------------------------------------------------------------
    def lock(self, wait: float | None = None):
        """The writer lock: a second ingest waits up to ``wait`` s, then raises IndexBusyError."""
        from filelock import FileLock, Timeout

        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path / ".lock"))
        try:
            lock.acquire(timeout=0)
            return lock
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

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.path.iterdir() if (m := _GEN.match(p.name.split(".")[0]))]
        return max(numbers, default=0) + 1

    def new_generation(self) -> tuple[Path, Path]:
        """A fresh temporary folder to build in, and the name it will be published as."""
        self.path.mkdir(parents=True, exist_ok=True)
        n = self._next_number()
        final = self.path / f"gen-{n:06d}"
        tmp = self.path / f"gen-{n:06d}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        return tmp, final

    def publish(self, tmp: Path, final: Path, manifest: dict) -> None:
        """Write the manifest (with checksums), make everything durable, switch CURRENT."""
        manifest = dict(manifest, format_version=FORMAT_VERSION, generation=final.name, files=file_checksums(tmp))
        manifest.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        _fsync_tree(tmp)
        os.rename(tmp, final)
        _fsync_dir(self.path)
        pointer = self.path / f"CURRENT.tmp-{os.getpid()}"
        with open(pointer, "w") as fh:
            fh.write(final.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(pointer, self.path / "CURRENT")
        _fsync_dir(self.path)
        self.collect_garbage(keep=2)

    def collect_garbage(self, keep: int = 2) -> None:
        """Remove old generations (keeping the live one, ``keep - 1`` before it and any that a
        reader still holds) and leftovers of interrupted ingests. Call only while holding the lock."""
        current = self.current_name()
        gens = sorted(p for p in self.path.iterdir() if _GEN.match(p.name))
        live = [p for p in gens if p.name == current]
        older = [p for p in gens if current and p.name < current][-(keep - 1) :] if keep > 1 else []
        for p in self.path.iterdir():
            if p.is_dir() and (".tmp-" in p.name or (_GEN.match(p.name) and p not in live and p not in older)):
                if current and p.name.split(".")[0] > current and ".tmp-" not in p.name:
                    continue  # never remove something newer than CURRENT
                if ".tmp-" not in p.name and in_use(p):
                    continue  # a running assistant still answers from it
                shutil.rmtree(p, ignore_errors=True)
            elif p.name.startswith("CURRENT.tmp-"):
                p.unlink(missing_ok=True)

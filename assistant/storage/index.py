"""A loaded, read-only snapshot of one index generation: manifest, store, FAISS and BM25.

A generation is a list of segments (:mod:`.segments`) and one tantivy index (:mod:`.fulltext`):
each segment is loaded, the chunks that later segments deleted are dropped from FAISS in memory,
and ``store`` and ``dense`` are views over all of them with the interface of one index; ``lexical``
is the generation's tantivy index (memory-mapped: nothing is scored at load). An index of an
earlier format is refused with the command that upgrades it (``assistant compact``).

Example::

    from assistant.storage.index import Index
    snap = Index.load("index")
    print(snap.manifest["counts"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IndexCorruptError, IndexMismatchError
from .dense import DenseIndex
from .fulltext import FullText, FullTextView
from .generations import FORMAT_VERSION, IndexDir, ReaderLock, rebuild_hint, upgrade_hint
from .segments import DENSE_FILE, LEXICAL_DIR, STORE_FILE, SegmentedDense, SegmentedStore, dead_chunk_ids
from .store import Store

__all__ = ["DENSE_FILE", "LEXICAL_DIR", "STORE_FILE", "Index", "open_store"]


@dataclass
class Index:
    """Everything a query needs, loaded from the live generation of an index folder.

    While it is alive it holds a shared lock on its generation, so an ingest that publishes
    newer generations does not delete the files it still reads.
    """

    folder: IndexDir
    generation: str
    manifest: dict
    store: Store | SegmentedStore
    dense: DenseIndex | SegmentedDense
    lexical: FullTextView
    reader_lock: ReaderLock | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path, verify: bool = True) -> Index:
        folder = IndexDir(Path(path))
        gen, lock = folder.open_current()
        try:
            return cls._load(folder, gen, lock, verify)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _load(cls, folder: IndexDir, gen: Path, lock: ReaderLock, verify: bool) -> Index:
        manifest = folder.read_manifest(gen)
        if manifest["format_version"] != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index at {folder.path} keeps BM25 in the format of an earlier version; {upgrade_hint(folder.path)}"
            )
        folder.verify(gen, manifest, checksums=verify)
        stores: list[Store] = []
        try:
            store, dense, problem = _load_segments(gen, manifest, stores)
            lexical = None
            if problem is None:
                fulltext = FullText.open(gen / LEXICAL_DIR)
                problem = fulltext.problem(gen / LEXICAL_DIR, manifest["counts"]["chunks"])
                lexical = FullTextView(fulltext)
            if problem:
                raise IndexCorruptError(f"index at {gen} is inconsistent ({problem}); {rebuild_hint(folder.path)}")
        except BaseException as exc:
            for s in stores:
                s.close()
            if isinstance(exc, IndexCorruptError) or not isinstance(exc, Exception) and not _panic(exc):
                raise
            msg = " ".join(str(exc).split())[:200]
            raise IndexCorruptError(
                f"index at {gen} cannot be read ({exc.__class__.__name__}: {msg}); {rebuild_hint(folder.path)}"
            ) from exc
        return cls(folder, gen.name, manifest, store, dense, lexical, lock)

    def info(self) -> dict:
        """What is indexed: generation, model, chunking, counts and size on disk."""
        m = self.manifest
        gen = self.folder.path / self.generation
        return {
            "index": str(self.folder.path),
            "generation": self.generation,
            "created": m.get("created"),
            "model": m.get("model"),
            "chunking": m.get("chunking"),
            "counts": m.get("counts"),
            "segments": [s["name"] for s in m.get("segments", [])],
            # What the manifest lists (its files were checked against these sizes when loaded).
            "bytes_on_disk": sum(int(f["size"]) for f in m.get("files", {}).values()) + _size(gen / "manifest.json"),
        }

    def close(self) -> None:
        """Release the generation (its files may then be garbage-collected): every thread's
        connection to its store is closed and its reader lock dropped."""
        self.store.close()
        if self.reader_lock is not None:
            self.reader_lock.release()

    def is_stale(self) -> bool:
        """True when a newer generation has been published since this one was loaded."""
        return self.folder.current_name() not in (None, self.generation)


def _load_segments(gen: Path, manifest: dict, stores: list[Store]):
    """(store, dense, problem) of a generation's segments; opened stores go into ``stores``."""
    parts, denses = [], []
    live = {"articles": 0, "chunks": 0, "sentences": 0}
    dim = manifest["model"]["dim"]
    for seg in manifest["segments"]:
        folder = gen / seg["name"]
        store = Store(folder / STORE_FILE, readonly=True)
        stores.append(store)
        problem = _count_problem(seg, store)
        if problem:
            return None, None, f"{seg['name']}: {problem}"
        dense = DenseIndex.load(folder / DENSE_FILE)
        chunks = seg["counts"]["chunks"]
        if dense.dim != dim or len(dense) != chunks:
            return None, None, f"{seg['name']}: FAISS does not hold its {chunks} chunks of dimension {dim}"
        dead = seg.get("dead", [])
        gone, sentences = dead_chunk_ids(store, dead) if dead else (np.zeros(0, np.int64), 0)
        if len(gone) and dense.remove(gone.tolist()) != len(gone):
            return None, None, f"{seg['name']}: FAISS lacks chunks of deleted articles"
        parts.append((store, set(dead), gone))
        denses.append(dense)
        for key, n in (("articles", len(dead)), ("chunks", len(gone)), ("sentences", sentences)):
            live[key] += seg["counts"][key] - n
    for key, n in live.items():
        if n != manifest["counts"][key]:
            return None, None, f"the segments hold {n} live {key}, the manifest says {manifest['counts'][key]}"
    simple = len(parts) == 1 and not len(parts[0][2])
    store = parts[0][0] if simple else SegmentedStore(parts, live)
    dense = denses[0] if len(denses) == 1 else SegmentedDense(denses)
    return store, dense, None


def open_store(gen: Path, manifest: dict) -> Store | SegmentedStore:
    """A read-only view of a generation's articles (what an ingest looks up in the live index)."""
    if manifest["format_version"] == 1:
        return Store(gen / STORE_FILE, readonly=True)
    parts = []
    for seg in manifest["segments"]:
        store = Store(gen / seg["name"] / STORE_FILE, readonly=True)
        parts.append((store, set(seg.get("dead", [])), np.zeros(0, np.int64)))
    return SegmentedStore(parts, dict(manifest["counts"]))


def _panic(exc: BaseException) -> bool:
    """True for a Rust panic inside tantivy (pyo3's ``PanicException`` is not an ``Exception``)."""
    return type(exc).__name__ == "PanicException"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _count_problem(manifest: dict, store: Store) -> str | None:
    """Whether the store holds what the manifest counts (articles and chunks)."""
    counts = manifest["counts"]
    for table in ("articles", "chunks"):
        n = store.count(table)
        if n != counts[table]:
            return f"the store holds {n} {table}, the manifest says {counts[table]}"
    return None

"""A loaded, read-only snapshot of one index generation: manifest, store, FAISS and BM25.

Example::

    from assistant.storage.index import Index
    snap = Index.load("index")
    print(snap.manifest["counts"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IndexCorruptError
from .dense import DenseIndex
from .generations import IndexDir, ReaderLock, rebuild_hint
from .lexical import LexicalIndex
from .store import Store

STORE_FILE = "store.sqlite"
DENSE_FILE = "dense.faiss"
LEXICAL_DIR = "lexical"


@dataclass
class Index:
    """Everything a query needs, loaded from the live generation of an index folder.

    While it is alive it holds a shared lock on its generation, so an ingest that publishes
    newer generations does not delete the files it still reads.
    """

    folder: IndexDir
    generation: str
    manifest: dict
    store: Store
    dense: DenseIndex
    lexical: LexicalIndex
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
        folder.verify(gen, manifest, checksums=verify)
        store = None
        try:
            store = Store(gen / STORE_FILE, readonly=True)
            problem = _count_problem(manifest, store)
            if problem is None:
                dense = DenseIndex.load(gen / DENSE_FILE)
                lexical = LexicalIndex.load(gen / LEXICAL_DIR)
                problem = _shape_problem(manifest, dense, lexical)
            if problem:
                raise IndexCorruptError(f"index at {gen} is inconsistent ({problem}); {rebuild_hint(folder.path)}")
        except BaseException as exc:
            if store is not None:
                store.close()
            if isinstance(exc, IndexCorruptError) or not isinstance(exc, Exception):
                raise
            msg = " ".join(str(exc).split())[:200]
            raise IndexCorruptError(
                f"index at {gen} cannot be read ({exc.__class__.__name__}: {msg}); {rebuild_hint(folder.path)}"
            ) from exc
        return cls(folder, gen.name, manifest, store, dense, lexical, lock)

    @property
    def model_name(self) -> str:
        return str(self.manifest.get("model", {}).get("name", ""))

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


def _shape_problem(manifest: dict, dense: DenseIndex, lexical: LexicalIndex) -> str | None:
    """Whether FAISS and BM25 have the manifest's dimension and number of chunks."""
    chunks, dim = manifest["counts"]["chunks"], manifest["model"]["dim"]
    if dense.dim != dim:
        return f"the vectors have {dense.dim} dimensions, the manifest says {dim}"
    if len(dense) != chunks:
        return f"FAISS holds {len(dense)} vectors for {chunks} chunks"
    if len(lexical) != chunks:
        return f"BM25 holds {len(lexical)} documents for {chunks} chunks"
    return None

"""A loaded, read-only snapshot of one index generation: manifest, store, FAISS and BM25.

Example::

    from assistant.index import Index
    snap = Index.load("index")
    print(snap.manifest["counts"])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .dense_index import DenseIndex
from .errors import IndexCorruptError
from .index_dir import IndexDir, rebuild_hint
from .lexical_index import LexicalIndex
from .store import Store

STORE_FILE = "store.sqlite"
DENSE_FILE = "dense.faiss"
LEXICAL_DIR = "lexical"


@dataclass
class Index:
    """Everything a query needs, loaded from the live generation of an index folder."""

    folder: IndexDir
    generation: str
    manifest: dict
    store: Store
    dense: DenseIndex
    lexical: LexicalIndex

    @classmethod
    def load(cls, path: str | Path, verify: bool = True) -> Index:
        folder = IndexDir(Path(path))
        gen = folder.current()
        manifest = folder.read_manifest(gen)
        folder.verify(gen, manifest, checksums=verify)
        try:
            store = Store(gen / STORE_FILE, readonly=True)
            store.count("articles")
            dense = DenseIndex.load(gen / DENSE_FILE)
            lexical = LexicalIndex.load(gen / LEXICAL_DIR)
        except IndexCorruptError:
            raise
        except Exception as exc:
            raise IndexCorruptError(
                f"index at {gen} cannot be read ({exc.__class__.__name__}: {exc}); {rebuild_hint(folder.path)}"
            ) from exc
        return cls(folder, gen.name, manifest, store, dense, lexical)

    @property
    def model_name(self) -> str:
        return str(self.manifest.get("model", {}).get("name", ""))

    def is_stale(self) -> bool:
        """True when a newer generation has been published since this one was loaded."""
        return self.folder.current_name() not in (None, self.generation)

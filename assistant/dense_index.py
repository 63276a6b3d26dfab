"""Dense vector search with FAISS: inner product on unit vectors, keyed by chunk id.

Example::

    import numpy as np
    from assistant.dense_index import DenseIndex
    idx = DenseIndex.create(dim=4)
    idx.add(np.array([7, 9]), np.eye(4, dtype="float32")[:2])
    ids, scores = idx.search(np.eye(4, dtype="float32")[1], k=1)   # → [9], [1.0]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class DenseIndex:
    """A FAISS ``IndexIDMap2`` over exact inner-product search; vectors removable by id."""

    def __init__(self, index) -> None:
        self.index = index

    @classmethod
    def create(cls, dim: int) -> DenseIndex:
        import faiss

        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> int:
        if not ids:
            return 0
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (ids, scores) for one query vector, best first."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self.index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

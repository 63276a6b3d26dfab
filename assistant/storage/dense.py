"""Dense vector search with FAISS: inner product on unit vectors, keyed by chunk id.

The index type follows the corpus size (FAISS wiki, "Guidelines to choose an index"):

- up to ``FLAT_MAX`` vectors: exact search, ``IndexIDMap2(IndexFlatIP)``;
- above: ``IndexIVFFlat`` (inner product) with ``nlist`` ≈ 4·√N inverted lists (a power of two),
  trained on a sample of the stored vectors, probing ``nprobe`` lists per query.

Both types add and remove vectors by chunk id in place, so incremental ingest keeps working
(HNSW cannot remove). :meth:`DenseIndex.optimise` (run by ingest before saving) converts between
the two when the size crosses ``FLAT_MAX`` and retrains the IVF once the corpus has grown or shrunk
4× from what it was trained for; it rebuilds from the vectors already stored, nothing is re-embedded.

Example::

    import numpy as np
    from assistant.storage.dense import DenseIndex
    idx = DenseIndex.create(dim=4)
    idx.add(np.array([7, 9]), np.eye(4, dtype="float32")[:2])
    ids, scores = idx.search(np.eye(4, dtype="float32")[1], k=1)   # → [9], [1.0]
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

#: Exact search up to this many vectors (a few ms per query, one thread, at dim 384).
FLAT_MAX = 20_000
#: Fraction of the inverted lists probed per query (at least ``MIN_NPROBE``).
NPROBE_FRACTION = 1 / 64
MIN_NPROBE = 16
#: Training points per list (the FAISS guidelines ask for 30–256).
TRAIN_PER_LIST = 48


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest to 4·√n."""
    return int(2 ** round(math.log2(max(4 * math.sqrt(max(n, 1)), 1))))


def ivf_nprobe(nlist: int) -> int:
    return int(min(nlist, max(MIN_NPROBE, round(nlist * NPROBE_FRACTION))))


class DenseIndex:
    """A FAISS index of unit vectors keyed by chunk id: exact while small, IVF when large."""

    def __init__(self, index) -> None:
        self.index = index
        self._tune()

    @classmethod
    def create(cls, dim: int) -> DenseIndex:
        import faiss

        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, flat_max: int = FLAT_MAX) -> DenseIndex:
        """An index of the type suited to ``len(ids)`` vectors."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(ids) <= flat_max:
            idx = cls.create(vectors.shape[1])
            idx.add(ids, vectors)
            return idx
        return cls(_train_ivf(ids, vectors))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    def _tune(self) -> None:
        ivf = self._ivf()
        if ivf is not None:
            ivf.nprobe = ivf_nprobe(ivf.nlist)

    def _ivf(self):
        import faiss

        return faiss.try_extract_index_ivf(self.index) if not isinstance(self.index, faiss.IndexIDMap2) else None

    @property
    def kind(self) -> str:
        """``"flat"`` (exact) or ``"ivf{nlist}"``."""
        ivf = self._ivf()
        return "flat" if ivf is None else f"ivf{ivf.nlist}"

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> int:
        if not len(ids):
            return 0
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) stored, as arrays: what a rebuild starts from."""
        import faiss

        ivf = self._ivf()
        if ivf is None:
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            vecs = self.index.index.reconstruct_n(0, len(ids)) if len(ids) else np.zeros((0, self.dim), np.float32)
            return ids, np.ascontiguousarray(vecs, dtype=np.float32)
        from faiss.contrib.inspect_tools import get_invlist

        all_ids, all_vecs = [], []
        for lst in range(ivf.nlist):
            ids, codes = get_invlist(ivf.invlists, lst)
            if len(ids):
                all_ids.append(np.asarray(ids, dtype=np.int64))
                all_vecs.append(np.asarray(codes).view(np.float32).reshape(len(ids), self.dim))
        if not all_ids:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return np.concatenate(all_ids), np.ascontiguousarray(np.concatenate(all_vecs))

    def needs_rebuild(self, flat_max: int = FLAT_MAX) -> bool:
        """True when the size no longer suits the index type (see the module docstring)."""
        n = len(self)
        ivf = self._ivf()
        if ivf is None:
            return n > flat_max
        if n <= flat_max:
            return True
        want = ivf_lists(n)
        return want >= 4 * ivf.nlist or want * 4 <= ivf.nlist

    def optimise(self, flat_max: int = FLAT_MAX) -> bool:
        """Switch type or retrain when the size calls for it; True when it rebuilt."""
        if not self.needs_rebuild(flat_max):
            return False
        ids, vecs = self.vectors()
        self.index = DenseIndex.build(ids, vecs, flat_max).index
        self._tune()
        return True

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (ids, scores) for one query vector, best first."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        import faiss

        # One query runs on one thread: OpenMP workers only add wake-up latency here, and on
        # a shared 2-core machine they made a search several times slower (the setting is
        # per calling thread, so ingest's training and adds keep every core).
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self.index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k)
        finally:
            faiss.omp_set_num_threads(before)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]


def _train_ivf(ids: np.ndarray, vectors: np.ndarray, seed: int = 1234):
    import faiss

    n, dim = vectors.shape
    nlist = ivf_lists(n)
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed
    ivf.cp.niter = 10
    ivf.cp.spherical = True
    ivf.cp.max_points_per_centroid = TRAIN_PER_LIST
    sample = vectors
    if n > nlist * TRAIN_PER_LIST:
        rng = np.random.default_rng(seed)
        sample = vectors[np.sort(rng.choice(n, nlist * TRAIN_PER_LIST, replace=False))]
    ivf.train(sample)
    ivf.own_fields = True
    quantizer.this.disown()
    ivf.add_with_ids(vectors, ids)
    ivf.nprobe = ivf_nprobe(nlist)
    return ivf

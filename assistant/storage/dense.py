"""Dense vector search with FAISS: inner product on unit vectors, keyed by chunk id.

The index type follows the corpus size (FAISS wiki, "Guidelines to choose an index"):

- up to ``FLAT_MAX`` vectors: exact search, ``IndexIDMap2(IndexFlatIP)``;
- up to ``PQ_MIN``: ``IndexIVFFlat`` (inner product) with ``nlist`` ≈ 4·√N inverted lists (a
  power of two), trained on a sample of the stored vectors, probing ``nprobe`` lists per query;
- above: IVF with 4-bit product quantisation scanned with SIMD (``IndexIVFPQFastScan``,
  ``IVF{nlist},PQ{PQ_M}x4fs``): ``PQ_M``/2 bytes of code plus the 8-byte chunk id per vector in
  memory, ``nlist`` ≈ √N/4 (few lists keep the coarse assignment, the build's cost, cheap, and
  fast-scan makes long lists cheap to scan). Its top ``RERANK`` candidates
  are re-scored exactly from the float16 vectors kept beside the index file
  (``<stem>.vectors.npy``, rows sorted by ``<stem>.ids.npy``), which are memory-mapped, not loaded:
  a query reads ``RERANK`` rows of them from the page cache or the disk. Those files are also what
  a rebuild starts from, since PQ codes cannot give the vectors back.

Every type adds and removes vectors by chunk id in place, so incremental ingest keeps working
(HNSW cannot remove). :meth:`DenseIndex.optimise` (run by ingest before saving) converts between
the types when the size crosses ``FLAT_MAX`` or ``PQ_MIN`` and retrains an IVF once the corpus has
grown or shrunk 4× from what it was trained for; it rebuilds from the vectors already stored,
nothing is re-embedded. Indexes saved before the PQ type existed load unchanged.

Example::

    import numpy as np
    from assistant.storage.dense import DenseIndex
    idx = DenseIndex.create(dim=4)
    idx.add(np.array([7, 9]), np.eye(4, dtype="float32")[:2])
    ids, scores = idx.search(np.eye(4, dtype="float32")[1], k=1)   # → [9], [1.0]
"""

from __future__ import annotations

import math
import mmap
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

#: Exact search up to this many vectors (a few ms per query, one thread, at dim 384).
FLAT_MAX = 20_000
#: IVF-PQ with exact re-ranking above this many vectors (``IndexIVFFlat`` holds 1,536 B per
#: 384-d vector in memory; IVF-PQ holds ``PQ_M`` + 8). See ``assistant bench scale``.
PQ_MIN = 500_000
#: Sub-quantisers of 4 bits each (``PQ_M``/2 bytes of code per vector).
PQ_M = 96
#: Fraction of an IVF-PQ index's lists probed per query (at least ``MIN_NPROBE``).
PQ_NPROBE_FRACTION = 1 / 32
#: Candidates of the PQ search re-scored exactly from the vectors on disk (0: none).
RERANK = 1000
#: Fraction of the inverted lists probed per query (at least ``MIN_NPROBE``).
NPROBE_FRACTION = 1 / 64
MIN_NPROBE = 16
#: Training points per list (the FAISS guidelines ask for 30–256).
TRAIN_PER_LIST = 48
#: Vectors added (and converted) per call when building from vectors on disk.
BLOCK = 65_536


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest to 4·√n."""
    return int(2 ** round(math.log2(max(4 * math.sqrt(max(n, 1)), 1))))


def pq_lists(n: int) -> int:
    """Inverted lists of an IVF-PQ index of ``n`` vectors: the power of two nearest to √n/4."""
    return int(2 ** round(math.log2(max(math.sqrt(max(n, 1)) / 4, 1))))


def ivf_nprobe(nlist: int, fraction: float = NPROBE_FRACTION) -> int:
    return int(min(nlist, max(MIN_NPROBE, round(nlist * fraction))))


def sidecar_paths(path: Path) -> tuple[Path, Path]:
    """The (ids, vectors) files kept beside an IVF-PQ index saved at ``path``."""
    path = Path(path)
    stem = path.name.rsplit(".", 1)[0]
    return path.with_name(f"{stem}.ids.npy"), path.with_name(f"{stem}.vectors.npy")


class ExactVectors:
    """Float16 copies of an IVF-PQ index's vectors, keyed by chunk id: the saved ones
    memory-mapped (rows sorted by id), those added since held in memory until the next save."""

    def __init__(self, dim: int, ids: np.ndarray | None = None, vecs: np.ndarray | None = None) -> None:
        self.dim = dim
        self.ids = np.zeros(0, np.int64) if ids is None else ids
        self.vecs = np.zeros((0, dim), np.float16) if vecs is None else vecs
        self.removed = np.zeros(0, np.int64)  # saved rows no longer held (sorted)
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []  # added since the save, in order
        self._new = (np.zeros(0, np.int64), np.zeros((0, dim), np.float16))

    @property
    def new(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids sorted, float16 vectors) added since the save; the last vector given for an id wins."""
        if self._parts:
            ids = np.concatenate([self._new[0]] + [p[0] for p in self._parts])
            vecs = np.concatenate([self._new[1]] + [p[1] for p in self._parts])
            _, last = np.unique(ids[::-1], return_index=True)
            keep = len(ids) - 1 - last
            self._new, self._parts = (ids[keep], vecs[keep]), []
        return self._new

    @classmethod
    def open(cls, path: Path, dim: int) -> ExactVectors:
        ids_path, vec_path = sidecar_paths(path)
        ids = np.load(ids_path, mmap_mode="r", allow_pickle=False)
        vecs = np.load(vec_path, mmap_mode="r", allow_pickle=False)
        if ids.dtype != np.int64 or ids.ndim != 1:
            raise ValueError(f"{ids_path.name}: expected int64 ids, found {ids.dtype} {ids.shape}")
        if vecs.dtype != np.float16 or vecs.shape != (len(ids), dim):
            raise ValueError(f"{vec_path.name}: expected float16 ({len(ids)}, {dim}), found {vecs.dtype} {vecs.shape}")
        for arr, p in ((ids, ids_path), (vecs, vec_path)):
            if arr.offset + arr.nbytes != p.stat().st_size:
                raise ValueError(f"{p.name}: its header does not match its size")
        mapped = getattr(vecs, "_mmap", None)
        if mapped is not None and hasattr(mmap, "MADV_RANDOM"):
            mapped.madvise(mmap.MADV_RANDOM)  # a query reads a few hundred scattered rows: no read-ahead
        return cls(dim, ids, vecs)

    def __len__(self) -> int:
        return len(self.ids) - len(self.removed) + len(self.new[0])

    def _saved(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` have a saved row (removed or not)."""
        if not len(self.ids):
            return np.zeros(len(ids), bool)
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.asarray(self.ids[pos]) == ids

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        ids = np.array(ids, np.int64)
        self._parts.append((ids, np.array(vecs, np.float16)))
        self.removed = np.union1d(self.removed, ids[self._saved(ids)])  # a new vector replaces a saved row

    def remove(self, ids: Iterable[int]) -> None:
        ids = np.asarray(list(ids), np.int64)
        new_ids, new_vecs = self.new
        if len(new_ids):
            keep = ~np.isin(new_ids, ids)
            self._new = (new_ids[keep], new_vecs[keep])
        self.removed = np.union1d(self.removed, ids[self._saved(ids)])

    def held(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` have a vector here (added since the save, or saved and not removed)."""
        ids = np.asarray(ids, np.int64)
        new_ids = self.new[0]
        fresh = np.isin(ids, new_ids) if len(new_ids) else np.zeros(len(ids), bool)
        saved = self._saved(ids) & ~np.isin(ids, self.removed)
        return fresh | saved

    def get(self, ids: np.ndarray) -> np.ndarray:
        """The vectors (float32) of ``ids`` (rows of ids not held are zero)."""
        ids = np.asarray(ids, np.int64)
        out = np.zeros((len(ids), self.dim), np.float32)
        fresh = np.zeros(len(ids), bool)
        new_ids, new_vecs = self.new
        if len(new_ids):
            pos = np.minimum(np.searchsorted(new_ids, ids), len(new_ids) - 1)
            fresh = new_ids[pos] == ids
            out[fresh] = new_vecs[pos[fresh]]
        if len(self.ids) and not fresh.all():
            order = np.flatnonzero(~fresh)
            order = order[np.argsort(ids[order])]  # sorted ids: one pass over the mapped rows, in file order
            rows = np.minimum(np.searchsorted(self.ids, ids[order]), len(self.ids) - 1)
            hit = np.asarray(self.ids[rows]) == ids[order]
            out[order[hit]] = self.vecs[rows[hit]]
        return out

    def blocks(self, size: int = BLOCK) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every (ids, float16 vectors) held, in blocks sorted by id."""
        new_ids, new_vecs = self.new
        j = 0
        for i in range(0, max(len(self.ids), 1), size):
            a = np.asarray(self.ids[i : i + size])
            last = i + size >= len(self.ids)
            k = len(new_ids) if last else int(np.searchsorted(new_ids, a[-1], side="right"))
            keep = ~np.isin(a, self.removed) if len(self.removed) else np.ones(len(a), bool)
            ids = np.concatenate([a[keep], new_ids[j:k]])
            vecs = np.concatenate([np.asarray(self.vecs[i : i + size])[keep], new_vecs[j:k]])
            j = k
            if len(ids):
                order = np.argsort(ids, kind="stable")
                yield ids[order], vecs[order]

    def save(self, path: Path) -> None:
        """Write the held vectors beside ``path`` (each file replaced atomically), then map them."""
        ids_path, vec_path = sidecar_paths(path)
        tmp = Path(str(path) + ".tmp")
        writer = VectorWriter(tmp, len(self), self.dim)
        for ids, vecs in self.blocks():
            writer.write(ids, vecs)
        writer.close()
        for src, dst in zip(sidecar_paths(tmp), (ids_path, vec_path)):
            os.replace(src, dst)
        fresh = ExactVectors.open(path, self.dim)
        self.__dict__.update(fresh.__dict__)


class VectorWriter:
    """Writes the files :class:`ExactVectors` maps, block by block (ids ascending), with plain
    writes (no mapping, so the written pages are not held by this process): for an index built from
    more vectors than memory holds (:meth:`DenseIndex.build_large`)."""

    def __init__(self, path: Path, n: int, dim: int) -> None:
        from numpy.lib import format as npy

        self.n, self.at, self.last = n, 0, None
        self.files = []
        for p, dtype, shape in zip(sidecar_paths(path), ("<i8", "<f2"), ((n,), (n, dim))):
            fh = open(p, "wb")
            npy.write_array_header_1_0(fh, {"descr": dtype, "fortran_order": False, "shape": shape})
            self.files.append(fh)

    def write(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        ids = np.asarray(ids, "<i8")
        if len(ids) and self.last is not None and ids[0] <= self.last:
            raise ValueError("ids must ascend across blocks")
        if len(ids):
            self.last = int(ids[-1])
        self.files[0].write(ids.tobytes())
        self.files[1].write(np.ascontiguousarray(vecs, "<f2").tobytes())
        self.at += len(ids)

    def close(self) -> None:
        for fh in self.files:
            fh.close()
        if self.at != self.n:
            raise ValueError(f"wrote {self.at} of {self.n} vectors")


class DenseIndex:
    """A FAISS index of unit vectors keyed by chunk id: exact while small, IVF when large,
    IVF-PQ with exact re-ranking from disk when very large."""

    def __init__(self, index, exact: ExactVectors | None = None) -> None:
        self.index = index
        self.exact = exact
        self.rerank = RERANK
        self._tune()

    @classmethod
    def create(cls, dim: int) -> DenseIndex:
        import faiss

        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @classmethod
    def build(
        cls, ids: np.ndarray, vectors: np.ndarray, flat_max: int | None = None, pq_min: int | None = None
    ) -> DenseIndex:
        """An index of the type suited to ``len(ids)`` vectors (thresholds: ``FLAT_MAX``, ``PQ_MIN``)."""
        flat_max, pq_min = _limits(flat_max, pq_min)
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(ids) <= flat_max:
            idx = cls.create(vectors.shape[1])
            idx.add(ids, vectors)
            return idx
        if len(ids) <= pq_min:
            return cls(_train_ivf(ids, vectors))
        pq = _train_pq(_sample(vectors, max(pq_lists(len(ids)), 1024)), len(ids))
        _fill(pq, ((ids[a : a + BLOCK], vectors[a : a + BLOCK]) for a in range(0, len(ids), BLOCK)))
        exact = ExactVectors(vectors.shape[1])
        exact.add(ids, vectors)
        return cls(_fast_scan(pq), exact)

    @classmethod
    def build_large(
        cls,
        path: Path,
        n: int,
        sample: np.ndarray,
        blocks: Iterable[tuple[np.ndarray, np.ndarray]],
        m: int = PQ_M,
        nlist: int | None = None,
    ) -> DenseIndex:
        """An IVF-PQ index of ``n`` vectors saved at ``path``, trained on ``sample`` and filled from
        ``blocks`` of (ascending ids, vectors), so the vectors never need to fit in memory at once."""
        import faiss

        pq = _train_pq(np.ascontiguousarray(sample, np.float32), n, m=m, nlist=nlist)
        writer = VectorWriter(path, n, pq.d)

        def written():
            for ids, vecs in blocks:
                writer.write(ids, vecs)
                yield ids, vecs

        _fill(pq, written())
        writer.close()
        index = _fast_scan(pq)
        faiss.write_index(index, str(path))
        return cls(index, ExactVectors.open(path, index.d))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        index = faiss.read_index(str(path))
        exact = None
        if _is_pq(index):
            exact = ExactVectors.open(path, index.d)
            if len(exact) != index.ntotal:
                raise ValueError(f"{len(exact)} stored vectors for {index.ntotal} indexed")
        return cls(index, exact)

    def save(self, path: Path) -> None:
        import faiss

        path = Path(path)
        faiss.write_index(self.index, str(path))
        if self.exact is not None:
            self.exact.save(path)
        else:
            for p in sidecar_paths(path):
                p.unlink(missing_ok=True)

    def _tune(self) -> None:
        ivf = self._ivf()
        if ivf is not None:
            ivf.nprobe = ivf_nprobe(ivf.nlist, PQ_NPROBE_FRACTION if _is_pq(self.index) else NPROBE_FRACTION)

    def _ivf(self):
        import faiss

        return faiss.try_extract_index_ivf(self.index) if not isinstance(self.index, faiss.IndexIDMap2) else None

    @property
    def nprobe(self) -> int:
        """Inverted lists probed per query (0 for exact search)."""
        ivf = self._ivf()
        return 0 if ivf is None else int(ivf.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        ivf = self._ivf()
        if ivf is not None:
            ivf.nprobe = int(min(ivf.nlist, max(1, value)))

    @property
    def kind(self) -> str:
        """``"flat"`` (exact), ``"ivf{nlist}"`` or ``"ivfpq{nlist}"``."""
        ivf = self._ivf()
        if ivf is None:
            return "flat"
        return f"ivfpq{ivf.nlist}" if _is_pq(self.index) else f"ivf{ivf.nlist}"

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def memory_bytes(self) -> int:
        """Bytes the FAISS index holds in memory (its serialised size; the mapped vectors excluded)."""
        import faiss

        return int(faiss.serialize_index(self.index).nbytes)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index.add_with_ids(vectors, ids)
        if self.exact is not None:
            self.exact.add(ids, vectors)

    def remove(self, ids: list[int]) -> int:
        if not len(ids):
            return 0
        if self.exact is not None:
            self.exact.remove(ids)
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) stored, as arrays: what a rebuild starts from."""
        import faiss

        if self.exact is not None:
            parts = list(self.exact.blocks())
            if not parts:
                return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]).astype(np.float32)
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

    def needs_rebuild(self, flat_max: int | None = None, pq_min: int | None = None) -> bool:
        """True when the size no longer suits the index type (see the module docstring)."""
        flat_max, pq_min = _limits(flat_max, pq_min)
        n = len(self)
        ivf = self._ivf()
        if ivf is None:
            return n > flat_max
        if n <= flat_max or (n > pq_min) != _is_pq(self.index):
            return True
        want = pq_lists(n) if _is_pq(self.index) else ivf_lists(n)
        return want >= 4 * ivf.nlist or want * 4 <= ivf.nlist

    def optimise(self, flat_max: int | None = None, pq_min: int | None = None) -> bool:
        """Switch type or retrain when the size calls for it; True when it rebuilt."""
        if not self.needs_rebuild(flat_max, pq_min):
            return False
        flat_max, pq_min = _limits(flat_max, pq_min)
        if self.exact is not None and len(self) > pq_min:
            # IVF-PQ retrained for a new size: streamed from the float16 vectors, which stay as they are.
            n = len(self)
            step = max(1, n // (max(pq_lists(n), 1024) * TRAIN_PER_LIST))
            sample = np.concatenate([v[::step] for _, v in self.exact.blocks(max(BLOCK - BLOCK % step, step))]).astype(
                np.float32
            )
            pq = _train_pq(sample, n)
            _fill(pq, ((ids, v.astype(np.float32)) for ids, v in self.exact.blocks()))
            self.index = _fast_scan(pq)
        else:
            ids, vecs = self.vectors()
            new = DenseIndex.build(ids, vecs, flat_max, pq_min)
            self.index, self.exact = new.index, new.exact
        self._tune()
        return True

    def scores_of(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The query's inner product with each of ``ids`` (NaN for ids not held), whether or not
        a top-k search would reach them: the same score in a collection of 10 chunks or 10 million."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(len(ids), np.nan, dtype=np.float32)
        if not len(ids) or not len(self):
            return out
        import faiss

        q = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        if self.exact is not None:
            held = self.exact.held(ids)
            out[held] = self.exact.get(ids[held]) @ q[0]
            return out
        ivf = self._ivf()
        sel = faiss.IDSelectorBatch(ids)
        params = (
            faiss.SearchParametersIVF(sel=sel, nprobe=ivf.nlist) if ivf is not None else faiss.SearchParameters(sel=sel)
        )
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, found = self.index.search(q, len(ids), params=params)
        finally:
            faiss.omp_set_num_threads(before)
        where = {int(i): float(sc) for i, sc in zip(found[0].tolist(), scores[0].tolist()) if i >= 0}
        for n, i in enumerate(ids.tolist()):
            if i in where:
                out[n] = where[i]
        return out

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (ids, scores) for one query vector, best first."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        import faiss

        q = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        fetch = min(len(self), max(k, self.rerank)) if self.exact is not None and self.rerank else k
        # One query runs on one thread: OpenMP workers only add wake-up latency here, and on
        # a shared 2-core machine they made a search several times slower (the setting is
        # per calling thread, so ingest's training and adds keep every core).
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self.index.search(q, fetch)
        finally:
            faiss.omp_set_num_threads(before)
        keep = ids[0] >= 0
        ids, scores = ids[0][keep], scores[0][keep]
        if self.exact is not None and self.rerank:
            scores = self.exact.get(ids) @ q[0]
            order = np.argsort(-scores, kind="stable")[:k]
            return ids[order], scores[order].astype(np.float32)
        return ids, scores


def _limits(flat_max: int | None, pq_min: int | None) -> tuple[int, int]:
    """The size thresholds, read when called (so a test or a deployment may set them)."""
    return FLAT_MAX if flat_max is None else flat_max, PQ_MIN if pq_min is None else pq_min


def _is_pq(index) -> bool:
    import faiss

    ivf = faiss.try_extract_index_ivf(index) if not isinstance(index, faiss.IndexIDMap2) else None
    return ivf is not None and isinstance(faiss.downcast_index(ivf), (faiss.IndexIVFPQ, faiss.IndexIVFPQFastScan))


def _sample(vectors: np.ndarray, nlist: int, seed: int = 1234) -> np.ndarray:
    n = len(vectors)
    if n <= nlist * TRAIN_PER_LIST:
        return vectors
    rng = np.random.default_rng(seed)
    return vectors[np.sort(rng.choice(n, nlist * TRAIN_PER_LIST, replace=False))]


def _train_pq(sample: np.ndarray, n: int, m: int = PQ_M, nlist: int | None = None, seed: int = 1234):
    """An empty ``IVF{nlist},PQ{m}x4`` index (inner product) for ``n`` vectors, trained on ``sample``."""
    import faiss

    dim = sample.shape[1]
    nlist = nlist or pq_lists(n)
    m = max([k for k in range(2, min(m, dim) + 1, 2) if dim % k == 0] or [1])  # divides dim, even (fast-scan)
    quantizer = faiss.IndexFlatIP(dim)
    pq = faiss.IndexIVFPQ(quantizer, dim, nlist, m, 4, faiss.METRIC_INNER_PRODUCT)
    pq.cp.seed = seed
    pq.cp.niter = 10
    pq.cp.spherical = True
    pq.cp.max_points_per_centroid = TRAIN_PER_LIST
    pq.train(np.ascontiguousarray(sample, dtype=np.float32))
    pq.own_fields = True
    quantizer.this.disown()
    return pq


def _fill(pq, blocks: Iterable[tuple[np.ndarray, np.ndarray]]) -> None:
    """Add (ids, vectors) blocks to an ``IndexIVFPQ``, assigning lists with one matrix product per
    block (several times faster on one core than FAISS's own assignment)."""
    import faiss

    centroids = pq.quantizer.reconstruct_n(0, pq.nlist)
    for ids, vecs in blocks:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        assign = np.ascontiguousarray((vecs @ centroids.T).argmax(1), dtype=np.int64)
        pq.add_core(len(ids), faiss.swig_ptr(vecs), faiss.swig_ptr(ids), faiss.swig_ptr(assign))


def _fast_scan(pq):
    """The 4-bit ``IndexIVFPQ`` as an ``IndexIVFPQFastScan`` (same codes, SIMD-scanned)."""
    import faiss

    index = faiss.IndexIVFPQFastScan(pq)
    index.nprobe = ivf_nprobe(pq.nlist, PQ_NPROBE_FRACTION)
    return index


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
    ivf.train(_sample(vectors, nlist, seed))
    ivf.own_fields = True
    quantizer.this.disown()
    ivf.add_with_ids(vectors, ids)
    ivf.nprobe = ivf_nprobe(nlist)
    return ivf

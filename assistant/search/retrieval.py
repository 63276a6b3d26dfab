"""Hybrid retrieval: FAISS (dense) and BM25 (lexical) candidates, fused.

The candidates are the top ``settings.candidates`` chunks of each retriever. With
``dense_rescore="max_sentence"`` a chunk's dense score is its best sentence's cosine with the
question (the sentence vectors are in the store), not the cosine of the chunk's mean vector: one
matching sentence is not diluted by its neighbours. ``fusion="minmax"`` scales both scores to
[0, 1] over the candidates and adds them with weights ``dense_weight`` and ``bm25_weight``
(every candidate gets its real BM25 score, also when only FAISS found it); ``fusion="rrf"`` is
weighted reciprocal-rank fusion. On SQuAD v1.1 (eval/README.md) min-max fusion of max-sentence
dense and BM25 beats RRF, mostly at rank 1.

Example::

    from assistant.storage.index import Index
    from assistant.models.embedding import Embedder
    from assistant.search.retrieval import HybridRetriever
    r = HybridRetriever(Index.load("index"), Embedder.load())
    hits = r.search("Which states recognize Abkhazia?", k=5)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..models.embedding import Embedder
from ..settings import Settings
from ..storage.index import Index
from ..terms import content_terms

MODES = ("hybrid", "dense", "bm25")
SENTENCE_CACHE_ROWS = 50_000  # sentence vectors kept in memory per retriever (~75 MB at 384 dimensions)


@dataclass
class Hit:
    """One retrieved chunk with the evidence of each retriever (rank 0 = best; -1 = not found)."""

    chunk_id: int
    score: float
    dense_rank: int = -1
    bm25_rank: int = -1
    dense_score: float = 0.0  # cosine of the chunk vector (FAISS; hybrid: also for chunks only BM25 found)
    bm25_score: float = 0.0
    dense_max: float = 0.0  # best sentence cosine (when settings.dense_rescore == "max_sentence")


class HybridRetriever:
    """Dense + BM25 search over one index snapshot."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or Settings.from_env()
        self._sentence_vecs: dict[int, np.ndarray] = {}  # chunk id -> its sentence vectors
        self._cached_rows = 0

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: str = "hybrid",
        query_vector: np.ndarray | None = None,
        terms: list[str] | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Hit]:
        """Top-``k`` chunks for ``query``; ``mode`` is one of hybrid, dense, bm25."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        s = self.settings
        k = k or s.passages
        timings = timings if timings is not None else {}
        hits: dict[int, Hit] = {}
        lexical_scores: np.ndarray | None = None
        if mode in ("hybrid", "dense"):
            t = time.perf_counter()
            qv = query_vector if query_vector is not None else self.embedder.encode_query(query)
            timings["embed"] = time.perf_counter() - t
            t = time.perf_counter()
            ids, scores = self.index.dense.search(qv, s.candidates)
            timings["dense"] = time.perf_counter() - t
            for rank, (cid, sc) in enumerate(zip(ids.tolist(), scores.tolist())):
                hits[cid] = Hit(cid, 0.0, dense_rank=rank, dense_score=float(sc))
        if mode in ("hybrid", "bm25"):
            t = time.perf_counter()
            lexical_scores = self.index.lexical.all_scores(terms if terms is not None else content_terms(query))
            ids, scores = self.index.lexical.top(lexical_scores, s.candidates)
            timings["bm25"] = time.perf_counter() - t
            for rank, (cid, sc) in enumerate(zip(ids.tolist(), scores.tolist())):
                h = hits.setdefault(cid, Hit(cid, 0.0))
                h.bm25_rank, h.bm25_score = rank, float(sc)
        if mode == "hybrid":
            # Chunks only BM25 found still get their dense score: whether a chunk makes the dense
            # top-k depends on how many others there are, its cosine does not.
            t = time.perf_counter()
            lexical_only = [h for h in hits.values() if h.dense_rank < 0]
            if lexical_only:
                found = self.index.dense.scores_of(qv, np.array([h.chunk_id for h in lexical_only], np.int64))
                for h, sc in zip(lexical_only, found.tolist()):
                    h.dense_score = 0.0 if sc != sc else float(sc)  # NaN: no vector held
            timings["dense"] = timings.get("dense", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        if s.dense_rescore == "max_sentence" and mode in ("hybrid", "dense") and hits:
            qv = np.asarray(qv, dtype=np.float32).reshape(-1)
            for h, best in zip(hits.values(), self._best_sentence_scores(list(hits), qv)):
                h.dense_max = h.dense_score if best is None else best
        if mode == "hybrid" and s.fusion == "minmax":
            self._fuse_minmax(list(hits.values()), lexical_scores)
        else:
            for h in hits.values():
                if mode == "dense":
                    h.score = h.dense_max if s.dense_rescore == "max_sentence" else h.dense_score
                elif mode == "bm25":
                    h.score = h.bm25_score
                else:
                    score = 0.0
                    if h.dense_rank >= 0:
                        score += s.dense_weight / (s.rrf_k + h.dense_rank + 1)
                    if h.bm25_rank >= 0:
                        score += s.bm25_weight / (s.rrf_k + h.bm25_rank + 1)
                    h.score = score
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.chunk_id))[:k]
        timings["fusion"] = time.perf_counter() - t
        return ranked

    # --- dense re-scoring ----------------------------------------------------------------
    def _best_sentence_scores(self, chunk_ids: list[int], qv: np.ndarray) -> list[float | None]:
        """Each chunk's best sentence cosine with ``qv`` (None when it has no stored vectors), in one product."""
        vecs = self._sentence_vectors(chunk_ids)
        parts = [vecs.get(c) for c in chunk_ids]
        sizes = [0 if v is None else len(v) for v in parts]
        if not any(sizes):
            return [None] * len(chunk_ids)
        sims = np.concatenate([v for v in parts if v is not None and len(v)]) @ qv
        best = np.maximum.reduceat(sims, np.cumsum([0] + [n for n in sizes if n][:-1]))
        out: list[float | None] = []
        it = iter(best.tolist())
        for n in sizes:
            out.append(next(it) if n else None)
        return out

    def _sentence_vectors(self, chunk_ids: list[int]) -> dict[int, np.ndarray]:
        """Sentence vectors (float32) of chunks, read from the store once per retriever (an index
        snapshot) and kept up to ``SENTENCE_CACHE_ROWS`` rows."""
        cache = self._sentence_vecs
        todo = [c for c in chunk_ids if c not in cache]
        if todo:
            if self._cached_rows > SENTENCE_CACHE_ROWS:
                cache.clear()
                self._cached_rows = 0
            found = self.index.store.chunk_sentence_vectors(todo)
            for cid in todo:
                vecs = found.get(cid)
                cache[cid] = vecs.astype(np.float32) if vecs is not None else np.zeros((0, 0), np.float32)
                self._cached_rows += len(cache[cid])
        return {c: cache[c] for c in chunk_ids if c in cache}

    def _fuse_minmax(self, hits: list[Hit], lexical_scores: np.ndarray | None) -> None:
        """score = w_d * minmax(dense) + w_b * minmax(bm25), over the candidates, weights summing to 1."""
        if not hits:
            return
        s = self.settings
        if s.dense_rescore == "max_sentence":
            dense = np.array([h.dense_max for h in hits], dtype=np.float32)
        else:
            known = [h.dense_score for h in hits if h.dense_rank >= 0]
            floor = min(known) if known else 0.0
            dense = np.array([h.dense_score if h.dense_rank >= 0 else floor for h in hits], dtype=np.float32)
        cids = np.array([h.chunk_id for h in hits], dtype=np.int64)
        bm25 = self.index.lexical.scores_of(cids, lexical_scores)  # also for chunks only FAISS found
        total = s.dense_weight + s.bm25_weight
        wd, wb = (s.dense_weight / total, s.bm25_weight / total) if total > 0 else (0.5, 0.5)
        fused = wd * _minmax(dense) + wb * _minmax(bm25)
        for h, f in zip(hits, fused.tolist()):
            h.score = float(f)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)

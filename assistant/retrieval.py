"""Hybrid retrieval: FAISS (dense) and BM25 (lexical) candidates, fused by weighted RRF.

Example::

    from assistant.index import Index
    from assistant.embedding import Embedder
    from assistant.retrieval import HybridRetriever
    r = HybridRetriever(Index.load("index"), Embedder.load())
    hits = r.search("Which states recognize Abkhazia?", k=5)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .embedding import Embedder
from .index import Index
from .settings import Settings
from .terms import content_terms

MODES = ("hybrid", "dense", "bm25")


@dataclass
class Hit:
    """One retrieved chunk with the evidence of each retriever (rank 0 = best; -1 = not found)."""

    chunk_id: int
    score: float
    dense_rank: int = -1
    bm25_rank: int = -1
    dense_score: float = 0.0
    bm25_score: float = 0.0


class HybridRetriever:
    """Dense + BM25 search over one index snapshot."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or Settings.from_env()

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
            ids, scores = self.index.lexical.search_terms(
                terms if terms is not None else content_terms(query), s.candidates
            )
            timings["bm25"] = time.perf_counter() - t
            for rank, (cid, sc) in enumerate(zip(ids.tolist(), scores.tolist())):
                h = hits.setdefault(cid, Hit(cid, 0.0))
                h.bm25_rank, h.bm25_score = rank, float(sc)
        t = time.perf_counter()
        for h in hits.values():
            score = 0.0
            if h.dense_rank >= 0:
                score += s.dense_weight / (s.rrf_k + h.dense_rank + 1)
            if h.bm25_rank >= 0:
                score += s.bm25_weight / (s.rrf_k + h.bm25_rank + 1)
            h.score = score
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.chunk_id))[:k]
        timings["fusion"] = time.perf_counter() - t
        return ranked

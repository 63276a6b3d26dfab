"""Extractive answering: score every sentence of the retrieved passages, return the best one
verbatim with its focused span and a confidence in [0, 1].

The score is a logistic model over cheap features (see :func:`sentence_features`); its
weights live in ``assistant/data/answer_model.json`` so they can be refitted on data.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .index import Index
from .question import DESCRIPTION, QuestionInfo
from .records import Sentence
from .retrieval import Hit
from .spans import Span, best_span
from .terms import content_terms

MODEL_FILE = Path(__file__).parent / "data" / "answer_model.json"
FEATURES = (
    "dense_sent",
    "dense_chunk",
    "overlap_sent",
    "overlap_window",
    "overlap_title",
    "bm25_norm",
    "rank_rr",
    "has_span",
    "span_score",
    "factoid",
    "first_in_article",
    "missing_rare",
)


@dataclass
class Candidate:
    """A sentence that might answer, with its features and score."""

    sentence: Sentence
    hit: Hit
    rank: int
    features: dict[str, float] = field(default_factory=dict)
    span: Span | None = None
    logit: float = 0.0

    @property
    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-max(min(self.logit, 40.0), -40.0)))


@lru_cache(maxsize=4)
def load_model(path: str = str(MODEL_FILE)) -> dict:
    """Weights, bias and calibration of the sentence scorer."""
    return json.loads(Path(path).read_text())


def _overlap(q_terms: list[str], idf: dict[str, float], text_terms: set[str]) -> float:
    total = sum(idf[t] for t in set(q_terms))
    if total <= 0:
        return 0.0
    return sum(idf[t] for t in set(q_terms) if t in text_terms) / total


def sentence_features(
    question: QuestionInfo,
    q_vec: np.ndarray,
    sentence: Sentence,
    s_vec: np.ndarray | None,
    neighbours: str,
    title: str,
    hit: Hit,
    rank: int,
    max_bm25: float,
    idf: dict[str, float],
    span: Span | None,
) -> dict[str, float]:
    """The features of one candidate sentence (all roughly in [0, 1])."""
    s_terms = set(content_terms(sentence.text))
    window_terms = s_terms | set(content_terms(neighbours))
    title_terms = set(content_terms(title))
    q_set = set(question.terms)
    rare = [t for t in q_set if idf[t] >= 2.5]
    missing_rare = sum(1 for t in rare if t not in window_terms and t not in title_terms) / max(len(q_set), 1)
    return {
        "dense_sent": float(q_vec @ s_vec) if s_vec is not None else 0.0,
        "dense_chunk": hit.dense_score if hit.dense_rank >= 0 else 0.0,
        "overlap_sent": _overlap(question.terms, idf, s_terms),
        "overlap_window": _overlap(question.terms, idf, window_terms | title_terms),
        "overlap_title": _overlap(question.terms, idf, title_terms),
        "bm25_norm": hit.bm25_score / max_bm25 if max_bm25 > 0 else 0.0,
        "rank_rr": 1.0 / (1.0 + rank),
        "has_span": 1.0 if span is not None else 0.0,
        "span_score": span.score / 3.0 if span is not None else 0.0,
        "factoid": 0.0 if question.answer_type == DESCRIPTION else 1.0,
        "first_in_article": 1.0 if sentence.start == 0 else 0.0,
        "missing_rare": missing_rare,
    }


class ExtractiveAnswerer:
    """Ranks the sentences of retrieved chunks with a logistic scorer."""

    def __init__(self, model: dict | None = None) -> None:
        self.model = model or load_model()
        self.weights = np.array([self.model["weights"].get(f, 0.0) for f in FEATURES], dtype=np.float64)
        self.bias = float(self.model.get("bias", 0.0))

    def candidates(self, question: QuestionInfo, q_vec: np.ndarray, hits: list[Hit], index: Index) -> list[Candidate]:
        """Every sentence of the hit chunks, scored, best first (one entry per distinct sentence)."""
        if not hits:
            return []
        chunks = index.store.chunks([h.chunk_id for h in hits])
        idf = {t: index.lexical.idf(t) for t in set(question.terms)}
        max_bm25 = max((h.bm25_score for h in hits), default=0.0)
        meta = index.store.article_meta(list({c.article_id for c in chunks.values()}))
        seen: set[tuple[str, int]] = set()
        out: list[Candidate] = []
        for rank, hit in enumerate(hits):
            chunk = chunks.get(hit.chunk_id)
            if chunk is None:
                continue
            title = meta.get(chunk.article_id, ("",))[0]
            sents = index.store.sentences_in(chunk.article_id, chunk.start, chunk.end)
            for i, (sent, vec) in enumerate(sents):
                key = (sent.article_id, sent.start)
                if key in seen:
                    continue
                seen.add(key)
                prev_text = sents[i - 1][0].text if i > 0 else ""
                next_text = sents[i + 1][0].text if i + 1 < len(sents) else ""
                span = best_span(sent.text, question) if question.is_factoid else None
                feats = sentence_features(
                    question, q_vec, sent, vec, prev_text + " " + next_text, title, hit, rank, max_bm25, idf, span
                )
                cand = Candidate(sent, hit, rank, feats, span)
                cand.logit = self.bias + float(self.weights @ np.array([feats[f] for f in FEATURES]))
                out.append(cand)
        out.sort(key=lambda c: -c.logit)
        return out

    def confidence(self, best: Candidate | None, runner_up: Candidate | None = None) -> float:
        """Calibrated probability that ``best`` answers the question."""
        if best is None:
            return 0.0
        cal = self.model.get("calibration") or {"a": 1.0, "b": 0.0}
        z = cal["a"] * best.logit + cal["b"]
        return float(1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0))))

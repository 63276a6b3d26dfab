"""Extractive answering: score every sentence of the retrieved passages, return the best one
verbatim with its focused span and a calibrated confidence in [0, 1].

Three small models, shipped as plain numbers in ``assistant/data/answer_model.json`` (runtime
needs only numpy) and fitted by ``python -m assistant.evaluation.training.train_answerer`` on SQuAD tuning
data (the shipped file keeps hand-set sentence weights and calibration; see eval/README.md):

- ``sentence``: a logistic scorer over cheap features of each candidate sentence
  (:data:`FEATURES`: dense and IDF-weighted lexical similarity, retrieval ranks, answer-type
  evidence, position, length, negation, ...). The best sentence is the answer.
- ``confidence``: a logistic model over question-level evidence (:data:`CONF_FEATURES`: the best
  score, its margin over the runner-up, ...), then a Platt calibration, so that ``confidence`` is
  the probability that the answer sentence holds the answer. Below ``abstain_threshold`` the
  assistant says it could not find it.
- ``span``: the focused span inside the answer sentence (see :mod:`assistant.answer.spans`).

Example::

    from assistant.answer.answerer import ExtractiveAnswerer
    answerer = ExtractiveAnswerer()
    cands = answerer.candidates(info, q_vec, hits, index)   # best first
    p = answerer.confidence(cands[0], cands[1])
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..records import Chunk, Sentence
from ..search.retrieval import Hit
from ..storage.index import Index
from ..terms import content_terms
from .background_idf import background_idf
from .question import DATE, DESCRIPTION, LIST, NUMBER, QuestionInfo
from .reader import PassageReading, Reader, ReaderSpan
from .spans import Span, best_span, list_spans, rule_span, typed_span_evidence

MODEL_FILE = Path(__file__).resolve().parents[1] / "data" / "answer_model.json"
FEATURES = (
    "dense_sent",
    "dense_sent_gap",
    "dense_sent_rr",
    "dense_chunk",
    "overlap_sent",
    "overlap_sent_gap",
    "overlap_sent_rr",
    "overlap_window",
    "overlap_title",
    "bigram_sent",
    "bm25_norm",
    "rank_rr",
    "dense_rank_rr",
    "bm25_rank_rr",
    "has_span",
    "factoid",
    "has_span_factoid",
    "exact_span",
    "span_score",
    "first_in_article",
    "log_len",
    "novel_frac",
    "missing_rare",
    "negation_mismatch",
    "number_match",
    "type_missing",
    "reader_sent",
    "reader_top",
)
CONF_FEATURES = (
    "share",
    "dense_sent",
    "dense_chunk",
    "overlap_sent",
    "overlap_window",
    "bigram_sent",
    "missing_rare",
    "missing_rare_any",
    "has_span",
    "factoid",
    "negation_mismatch",
    "q_len",
    "bm25_norm_top",
    "reader_sent",
    "reader_top",
    "type_missing",
)
READER_SCALE = 10.0  # reader span-minus-null scores are divided by this (typical range ±10)
# ``reader_top`` marks the sentence holding the best span only when that span scores above this
# (span minus null, natural log-odds): when every span is far below "no answer" (null 20 times
# likelier), the least bad one says nothing. The mildest gate that fixes that failure; held-out
# figures for other gates are within noise of each other (eval/README.md, "Reader stage 4").
READER_TOP_MIN = -3.0
_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without|n't|cannot|fail(?:ed|s)?)\b|n't\b", re.I)
_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=50_000)
def _sentence_terms(text: str) -> list[str]:
    """Content terms of a sentence (cached: the same sentences come back for related questions)."""
    return content_terms(text)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@dataclass
class Candidate:
    """A sentence that might answer, with its features and score."""

    sentence: Sentence
    hit: Hit
    rank: int
    features: dict[str, float] = field(default_factory=dict)
    span: Span | None = None
    logit: float = 0.0
    share: float = 0.0  # softmax share of this sentence among all candidates
    reader_span: ReaderSpan | None = None  # the reader's best span here (offsets into the sentence)

    @property
    def probability(self) -> float:
        return _sigmoid(self.logit)


@lru_cache(maxsize=4)
def load_model(path: str = str(MODEL_FILE)) -> dict:
    """The fitted models (plain JSON: weights, biases, calibration, threshold)."""
    return json.loads(Path(path).read_text())


def _linear(part: dict, names: tuple[str, ...]) -> tuple[np.ndarray, float]:
    w = part.get("weights", {})
    return np.array([float(w.get(f, 0.0)) for f in names], dtype=np.float64), float(part.get("bias", 0.0))


@dataclass
class QueryTerms:
    """Per-question lexical statistics, computed once per question."""

    terms: set[str]
    idf: dict[str, float]
    total_idf: float
    bigrams: set[tuple[str, str]]
    rare: set[str]
    negated: bool
    wants_number: bool

    @classmethod
    def build(cls, question: QuestionInfo, idf_of) -> QueryTerms:
        terms = set(question.terms)
        idf = {t: idf_of(t) for t in terms}
        bigrams = set(zip(question.terms, question.terms[1:]))
        rare = {t for t in terms if idf[t] >= 2.5}
        wants = question.answer_type == "number" or bool(_DIGIT.search(question.text))
        return cls(terms, idf, sum(idf.values()), bigrams, rare, bool(_NEGATION.search(question.text)), wants)

    def overlap(self, text_terms: set[str]) -> float:
        if self.total_idf <= 0:
            return 0.0
        return sum(self.idf[t] for t in self.terms if t in text_terms) / self.total_idf


def sentence_features(
    question: QuestionInfo,
    qt: QueryTerms,
    q_vec: np.ndarray,
    sentence: Sentence,
    s_terms_list: list[str],
    s_vec: np.ndarray | None,
    window_terms: set[str],
    title_terms: set[str],
    hit: Hit,
    rank: int,
    max_bm25: float,
) -> dict[str, float]:
    """The features of one candidate sentence that do not depend on the other candidates."""
    s_terms = set(s_terms_list)
    factoid = 0.0 if question.answer_type == DESCRIPTION else 1.0
    compatible, exact = typed_span_evidence(sentence.text, question) if question.is_factoid else (False, False)
    rule = rule_span(sentence.text, question) if compatible else None
    has_span = rule is not None  # a span the rule accepts (lists: two or more new items)
    s_bigrams = set(zip(s_terms_list, s_terms_list[1:]))
    missing = [t for t in qt.rare if t not in window_terms and t not in title_terms]
    dense_chunk = hit.dense_score  # known for every hybrid hit, also those outside the dense top-k
    return {
        "dense_sent": float(q_vec @ s_vec) if s_vec is not None else dense_chunk,
        "dense_chunk": dense_chunk,
        "overlap_sent": qt.overlap(s_terms),
        "overlap_window": qt.overlap(window_terms | title_terms),
        "overlap_title": qt.overlap(title_terms),
        "bigram_sent": len(qt.bigrams & s_bigrams) / len(qt.bigrams) if qt.bigrams else 0.0,
        "bm25_norm": hit.bm25_score / max_bm25 if max_bm25 > 0 else 0.0,
        "rank_rr": 1.0 / (1.0 + rank),
        "dense_rank_rr": 1.0 / (1.0 + hit.dense_rank) if hit.dense_rank >= 0 else 0.0,
        "bm25_rank_rr": 1.0 / (1.0 + hit.bm25_rank) if hit.bm25_rank >= 0 else 0.0,
        "has_span": float(has_span),
        "exact_span": float(exact),
        "span_score": rule.score / 3.0 if rule is not None else 0.0,
        "factoid": factoid,
        "has_span_factoid": float(has_span) * factoid,
        "first_in_article": 1.0 if sentence.start == 0 else 0.0,
        "log_len": math.log1p(len(s_terms_list)) / 4.0,
        "novel_frac": len(s_terms - qt.terms) / max(len(s_terms), 1),
        "missing_rare": len(missing) / max(len(qt.terms), 1),
        "missing_rare_any": 1.0 if missing else 0.0,
        "negation_mismatch": 1.0 if qt.negated != bool(_NEGATION.search(sentence.text)) else 0.0,
        "number_match": 1.0 if qt.wants_number and _DIGIT.search(sentence.text) else 0.0,
        # A "how many"/"when" question cannot be answered by a sentence without a number/date.
        "type_missing": 1.0 if question.answer_type in (NUMBER, DATE) and not exact else 0.0,
    }


def _add_relative_features(cands: list[Candidate]) -> None:
    """Features that compare a sentence with the other candidates of the same question."""
    for name, gap, rr in (
        ("dense_sent", "dense_sent_gap", "dense_sent_rr"),
        ("overlap_sent", "overlap_sent_gap", "overlap_sent_rr"),
    ):
        values = np.array([c.features[name] for c in cands])
        top = values.max()
        ranks = (values[None, :] > values[:, None] + 1e-9).sum(1)  # ties share the better rank
        for c, v, r in zip(cands, values, ranks):
            c.features[gap] = float(v - top)
            c.features[rr] = 1.0 / (1.0 + float(r))


def raw_candidates(
    question: QuestionInfo, q_vec: np.ndarray, hits: list[Hit], index: Index, idf_of=None
) -> list[Candidate]:
    """Every distinct sentence of the hit chunks with its own features (not yet scored).

    ``idf_of``: how words are weighed (default: the index's BM25 IDF; the fitted models use the
    collection-independent :func:`~assistant.answer.background_idf.background_idf`)."""
    if not hits:
        return []
    chunks = index.store.chunks([h.chunk_id for h in hits])
    qt = QueryTerms.build(question, idf_of or index.lexical.idf)
    max_bm25 = max((h.bm25_score for h in hits), default=0.0)
    meta = index.store.article_meta(list({c.article_id for c in chunks.values()}))
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    q_len = math.log1p(len(qt.terms)) / 3.0
    for rank, hit in enumerate(hits):
        chunk = chunks.get(hit.chunk_id)
        if chunk is None:
            continue
        title_terms = set(content_terms(meta.get(chunk.article_id, ("",))[0]))
        sents = index.store.sentences_in(chunk.article_id, chunk.start, chunk.end)
        terms = [_sentence_terms(s.text) for s, _ in sents]
        for i, (sent, vec) in enumerate(sents):
            key = (sent.article_id, sent.start)
            if key in seen:
                continue
            seen.add(key)
            window = set(terms[i])
            if i > 0:
                window.update(terms[i - 1])
            if i + 1 < len(sents):
                window.update(terms[i + 1])
            feats = sentence_features(
                question, qt, q_vec, sent, terms[i], vec, window, title_terms, hit, rank, max_bm25
            )
            feats["q_len"] = q_len
            out.append(Candidate(sent, hit, rank, feats))
    return out


def add_reader_features(cands: list[Candidate], readings: list[tuple[Chunk, PassageReading]]) -> None:
    """``reader_sent``: the reader's best span inside the sentence minus its passage's null score
    (scaled; -1 when the sentence was not read or holds no span); ``reader_top``: 1 for the sentence
    holding the best span of all, unless that span scores at most ``READER_TOP_MIN`` (minus the
    null score); ``reader_span``: that best span, in sentence offsets."""
    best: dict[tuple[str, int], ReaderSpan] = {}
    scores: dict[tuple[str, int], float] = {}
    for chunk, reading in readings:
        for c in cands:
            s = c.sentence
            if s.article_id != chunk.article_id or s.start < chunk.start or s.end > chunk.end:
                continue
            sp = reading.best_in(s.start - chunk.start, s.end - chunk.start)
            if sp is None:
                continue
            key = (s.article_id, s.start)
            z = sp.score - reading.null
            if z > scores.get(key, -1e9):
                scores[key] = z
                best[key] = ReaderSpan(sp.start + chunk.start - s.start, sp.end + chunk.start - s.start, z)
    top = max(scores, key=scores.get) if scores else None
    if top is not None and scores[top] <= READER_TOP_MIN:  # every span is well below "no answer"
        top = None
    for c in cands:
        key = (c.sentence.article_id, c.sentence.start)
        z = scores.get(key)
        c.features["reader_sent"] = max(-1.0, min(1.0, z / READER_SCALE)) if z is not None else -1.0
        c.features["reader_top"] = 1.0 if key == top else 0.0
        c.reader_span = best.get(key)


class ExtractiveAnswerer:
    """Ranks the sentences of retrieved chunks, focuses a span and says how sure it is.

    With a :class:`~assistant.answer.reader.Reader`, the top ``reader_passages`` chunks are also read
    by it; its span scores become features and its span is the focused answer when it lies in
    the chosen sentence.
    """

    def __init__(self, model: dict | None = None, reader: Reader | None = None, reader_passages: int = 3) -> None:
        self.model = model or load_model()
        self.reader = reader
        self.reader_passages = reader_passages
        m = self.model["reader"] if reader is not None and "reader" in self.model else self.model
        self.weights, self.bias = _linear(m.get("sentence", m), FEATURES)
        # The base (no-reader) sentence model; a reader section may take its confidence from it.
        self.base_weights, self.base_bias = _linear(self.model.get("sentence", self.model), FEATURES)
        self.base_confidence = m.get("confidence") == "base"
        conf = self.model if self.base_confidence else m
        self.conf_weights, self.conf_bias = _linear(conf.get("confidence", {}), CONF_FEATURES)
        self.calibration = m.get("calibration") or conf.get("calibration") or {"a": 1.0, "b": 0.0}
        self.threshold = m.get("abstain_threshold", conf.get("abstain_threshold"))
        self.span_model = self.model.get("span")
        # "background": weigh words by a fixed reference IDF, so that scores do not move as the
        # collection grows; else by the index's own BM25 IDF (the hand-set base model).
        self.idf_of = background_idf() if m.get("idf") == "background" else None

    def candidates(
        self,
        question: QuestionInfo,
        q_vec: np.ndarray,
        hits: list[Hit],
        index: Index,
        with_span: bool = True,
        reader_question: str | None = None,
        reader_passages: int | None = None,
    ) -> list[Candidate]:
        """Every sentence of the hit chunks, scored, best first (one entry per distinct sentence).

        The focused span is found for the best candidate only (``with_span``). The reader reads
        ``reader_question`` (e.g. the question with its pronouns resolved), else the question, in
        the top ``reader_passages`` hits (default: the answerer's setting).
        """
        cands = raw_candidates(question, q_vec, hits, index, self.idf_of)
        self.read(reader_question or question.text, hits, index, cands, reader_passages)
        out = self.rank(cands)
        if out and with_span:
            out[0].span = self.focus(out[0], question)
        return out

    def focus(self, cand: Candidate, question: QuestionInfo) -> Span | None:
        """The span to emphasise in ``cand``: the reader's best span in it, else the span model's.

        When the reader scores "no answer" higher, its span is still the better guess in the
        sentence the answerer chose, unless the span model's span overlaps it (a typed span is
        usually the whole of what the reader found a piece of). Held-out SQuAD v1.1 span F1:
        46.8 falling back to the span model whenever the reader is unsure, 52.7 with this rule."""
        sp = cand.reader_span
        if sp is None or sp.end <= sp.start:
            return self.span(cand.sentence.text, question)
        if sp.score <= 0:
            rule = self.span(cand.sentence.text, question)
            if rule is not None and rule.start < sp.end and sp.start < rule.end:
                return rule
        if question.answer_type == LIST:  # the reader may pick part of a list: take the whole list
            for ls in list_spans(cand.sentence.text):
                if ls.start < sp.end and sp.start < ls.end:  # "transport and trade ties" → the list + "ties"
                    return Span(min(ls.start, sp.start), max(ls.end, sp.end), ls.kind, ls.score)
        return Span(sp.start, sp.end, "READER", sp.score)

    def read(
        self, question: str, hits: list[Hit], index: Index, cands: list[Candidate], passages: int | None = None
    ) -> None:
        """Run the reader over the top chunks and add its features to ``cands``."""
        if self.reader is None or not cands:
            add_reader_features(cands, [])
            return
        top = hits[: passages or self.reader_passages]
        chunks = index.store.chunks([h.chunk_id for h in top])
        ordered = [chunks[h.chunk_id] for h in top if h.chunk_id in chunks]
        readings = self.reader.read(question, [c.text for c in ordered])
        add_reader_features(cands, list(zip(ordered, readings, strict=True)))

    def rank(self, cands: list[Candidate]) -> list[Candidate]:
        """Score ``cands`` (from :func:`raw_candidates`) with the sentence model, best first."""
        if not cands:
            return cands
        _add_relative_features(cands)
        x = np.array([[c.features[f] for f in FEATURES] for c in cands])
        logits = self.bias + x @ self.weights
        shares = np.exp(logits - logits.max())
        shares /= shares.sum()
        for c, z, p in zip(cands, logits.tolist(), shares.tolist()):
            c.logit, c.share = z, p
        out = sorted(cands, key=lambda c: -c.logit)
        out[0].features["bm25_norm_top"] = max(c.features["bm25_norm"] for c in out[:3])
        if self.base_confidence:
            out[0].features["base_top"] = self.base_top(cands, x)
        return out

    def base_top(self, cands: list[Candidate], x: np.ndarray | None = None) -> float:
        """The base (no-reader) sentence model's best score among ``cands`` (``x``: their FEATURES
        rows, when already built): what a ``"confidence": "base"`` reader section calibrates."""
        if x is None:
            x = np.array([[c.features[f] for f in FEATURES] for c in cands])
        return float((self.base_bias + x @ self.base_weights).max())

    def span(self, sentence: str, question: QuestionInfo) -> Span | None:
        """The focused answer span inside ``sentence`` (offsets into it), or None."""
        if self.span_model:
            return best_span(sentence, question, self.span_model)
        return best_span(sentence, question) if question.is_factoid else None

    def confidence_features(self, best: Candidate, runner_up: Candidate | None = None) -> dict[str, float]:
        """The question-level evidence the confidence model reads."""
        f = dict(best.features)
        f["logit"] = best.logit / 5.0
        f["margin"] = min(best.logit - runner_up.logit, 10.0) / 5.0 if runner_up is not None else 2.0
        f["share"] = best.share
        f.setdefault("bm25_norm_top", f.get("bm25_norm", 0.0))
        return f

    def confidence(self, best: Candidate | None, runner_up: Candidate | None = None) -> float:
        """Calibrated probability that ``best`` holds the answer."""
        if best is None:
            return 0.0
        if self.conf_weights.any():
            f = self.confidence_features(best, runner_up)
            z = self.conf_bias + float(self.conf_weights @ np.array([f[k] for k in CONF_FEATURES]))
        elif self.base_confidence:
            # The base model's confidence that these passages answer the question: its score of the
            # best-supported sentence, whichever sentence the reader-aware model chose to show.
            z = best.features["base_top"]  # set by rank()
        else:
            z = best.logit
        cal = self.calibration
        return _sigmoid(cal["a"] * z + cal["b"])

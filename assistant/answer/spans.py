"""Candidate answer spans inside a sentence: names, places, dates, numbers, lists.

Example::

    from assistant.answer.spans import candidate_spans
    s = "In 2008 Russia, Nicaragua and Nauru recognized Abkhazia."
    [(c.kind, s[c.start:c.end]) for c in candidate_spans(s)]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from ..terms import STOPWORDS, content_words, stem, words
from .question import DATE, ENTITY, LIST, NUMBER, PERSON, PLACE, QuestionInfo

PHRASE = "phrase"  # a run of content words: a cheap noun-phrase stand-in

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE_RE = re.compile(
    rf"\b(?:{_WEEKDAY},?\s+)?{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{3,4}})?\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{3,4}})?\b"
    rf"|\b{_MONTH}\s+\d{{4}}\b|\b(?:early |late |mid-)?(?:1[0-9]{{3}}|20[0-9]{{2}})s?\b(?:\s*[–-]\s*\d{{2,4}})?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th) century\b|\b{_WEEKDAY}\b",
)
_NUMBER_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|dozen|half|several)"
_NUMBER_RE = re.compile(
    rf"(?:[$£€¥]\s?)?\b\d+(?:,\d{{3}})*(?:\.\d+)?(?:\s?(?:%|percent|per cent|million|billion|trillion|thousand|hundred))?"
    rf"(?:\s(?:[a-z]+\s)?(?:km|kilometres|kilometers|miles|metres|meters|feet|years|days|hours|minutes|people|dollars|tons|tonnes|square \w+))?"
    rf"|\b{_NUMBER_WORDS}(?:[\s-]{_NUMBER_WORDS})*(?:\s(?:percent|years|days|people|times))?\b",
    re.I,
)
_CAP_WORD = r"(?:[A-Z][\w’'.-]*|\d+[A-Za-z]*)"
_CONNECT = r"(?:of|the|de|la|del|von|van|der|for|and|&)"
_PROPER_RE = re.compile(rf"{_CAP_WORD}(?:\s+(?:{_CONNECT}\s+)*{_CAP_WORD})*")
_NAME = r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*"
_LIST_RE = re.compile(rf"{_NAME}(?:\s*,\s*{_NAME})*,?\s+(?:and|or)\s+{_NAME}")
# Lists of common words need three items ("humanitarian, transport and trade"): two are too common.
_WORD_LIST_RE = re.compile(r"\b[a-z][\w-]*(?:\s*,\s*[a-z][\w-]*)+,?\s+(?:and|or)\s+[a-z][\w-]*\b")
_LEADING_JUNK = {
    "the",
    "a",
    "an",
    "in",
    "on",
    "after",
    "before",
    "when",
    "while",
    "but",
    "and",
    "he",
    "she",
    "it",
    "they",
    "we",
    "this",
    "that",
    "these",
    "those",
    "there",
    "his",
    "her",
    "their",
}


@dataclass
class Span:
    """A candidate answer: offsets into the sentence and its kind."""

    start: int
    end: int
    kind: str
    score: float = 0.0


def _proper_spans(sentence: str) -> list[Span]:
    out = []
    for m in _PROPER_RE.finditer(sentence):
        a, b = m.start(), m.end()
        # Drop a capitalised sentence-initial function word ("The", "After", ...).
        while True:
            first = sentence[a:b].split()[0].lower() if sentence[a:b].split() else ""
            if first not in _LEADING_JUNK:
                break
            nxt = re.search(r"\s+", sentence[a:b])
            if not nxt:
                a = b
                break
            a += nxt.end()
        # Trim trailing connectors and possessive/punctuation.
        while True:
            mm = re.search(rf"\s+{_CONNECT}$", sentence[a:b])
            if not mm:
                break
            b = a + mm.start()
        while b > a and sentence[b - 1] in ".,;:’'":
            b -= 1
        if b > a:
            out.append(Span(a, b, ENTITY))
    return out


def candidate_spans(sentence: str) -> list[Span]:
    """All candidate spans in ``sentence`` (they may overlap)."""
    return [Span(a, b, kind) for a, b, kind in _candidate_spans(sentence)]


@lru_cache(maxsize=20_000)
def _candidate_spans(sentence: str) -> tuple[tuple[int, int, str], ...]:
    spans = [Span(m.start(), m.end(), DATE) for m in _DATE_RE.finditer(sentence)]
    date_ranges = [(s.start, s.end) for s in spans]
    for m in _NUMBER_RE.finditer(sentence):
        if not any(a <= m.start() and m.end() <= b for a, b in date_ranges):
            spans.append(Span(m.start(), m.end(), NUMBER))
    spans += [s for s in _proper_spans(sentence) if not re.fullmatch(r"[\d\s,.]+", sentence[s.start : s.end])]
    spans += list_spans(sentence)
    return tuple((sp.start, sp.end, sp.kind) for sp in spans)


_COMPATIBLE = {
    PERSON: {ENTITY},
    PLACE: {ENTITY},
    ENTITY: {ENTITY, NUMBER, DATE},
    DATE: {DATE},
    NUMBER: {NUMBER},
    LIST: {LIST, ENTITY},
}
KINDS = (DATE, NUMBER, ENTITY, LIST, PHRASE)
_PHRASE_BREAK = STOPWORDS | {"said", "says", "is", "was", "were", "are", "be", "been", "has", "had", "have"}
_TOKEN_RE = re.compile(r"[\w’'.%$£€–-]*\w[%]?|\$")


def _phrase_spans(sentence: str) -> list[Span]:
    """Runs of content words between function words and punctuation (cheap noun-phrase stand-ins)."""
    out = []
    run: list[tuple[int, int]] = []
    last_end = -1
    for m in _TOKEN_RE.finditer(sentence):
        w = m.group().lower().strip(".")
        gap = sentence[last_end : m.start()] if last_end >= 0 else ""
        breaks = w in _PHRASE_BREAK or (run and re.search(r"[,;:()\"“”]", gap))
        if breaks and run:
            out.append(Span(run[0][0], run[-1][1], PHRASE))
            run = []
        if w not in _PHRASE_BREAK:
            run.append((m.start(), m.end()))
        last_end = m.end()
    if run:
        out.append(Span(run[0][0], run[-1][1], PHRASE))
    spans = []
    for sp in out:
        b = sp.end
        while b > sp.start and sentence[b - 1] in ".,;:’'":
            b -= 1
        if b > sp.start:
            spans.append(Span(sp.start, b, PHRASE))
    return spans


_WH = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b", re.I)


@dataclass
class SpanContext:
    """What span scoring needs to know about the question, computed once per question."""

    answer_type: str
    stems: set[str]
    wh: str = "other"


def question_context(question: QuestionInfo) -> SpanContext:
    m = _WH.search(question.text)
    wh = m.group(1).lower() if m else "other"
    return SpanContext(question.answer_type, {stem(w) for w in question.words}, wh)


def _word_class(sentence: str, tok: tuple[int, int, str]) -> str:
    """A neighbouring token as a small vocabulary: function words as themselves, else its shape."""
    w = sentence[tok[0] : tok[1]].lower()
    if w in STOPWORDS or w in {"said", "says", "called", "named", "known", "than", "per", "since", "around", "about"}:
        return w
    if w[:1].isdigit():
        return "<num>"
    return "<cap>" if sentence[tok[0] : tok[0] + 1].isupper() else "<word>"


def span_features(sentence: str, question: QuestionInfo | SpanContext) -> list[tuple[Span, dict[str, float]]]:
    """Candidate spans of ``sentence`` (question words trimmed away) with their features."""
    ctx = question if isinstance(question, SpanContext) else question_context(question)
    q_stems = ctx.stems
    toks = [
        (m.start(), m.end(), stem(m.group().lower().strip(".").replace("’", "'"))) for m in _TOKEN_RE.finditer(sentence)
    ]
    q_tok = [i for i, (_, _, st) in enumerate(toks) if st in q_stems]
    n_tok = max(len(toks), 1)
    compatible = _COMPATIBLE.get(ctx.answer_type, set())
    rule = rule_span(sentence, question) if isinstance(question, QuestionInfo) else None
    seen: set[tuple[int, int]] = set()
    out = []
    for span in candidate_spans(sentence) + _phrase_spans(sentence):
        text = sentence[span.start : span.end]
        content = content_words(text)
        if not content:
            continue
        novel = [w for w in content if stem(w) not in q_stems]
        if not novel:
            continue
        if len(novel) < len(content):
            trimmed = _trim_question_words(sentence, span, q_stems)
            if trimmed is None:
                continue
            span = trimmed
            text = sentence[span.start : span.end]
            content = content_words(text)
            if not content:
                continue
        key = (span.start, span.end)
        if key in seen:
            continue
        seen.add(key)
        inside = [i for i, (a, b, _) in enumerate(toks) if a >= span.start and b <= span.end]
        first = inside[0] if inside else 0
        last = inside[-1] if inside else 0
        if q_tok:
            dist = min(max(first - i, i - last, 0) for i in q_tok)
            near = sum(1 for i in q_tok if first - 4 <= i <= last + 4) / len(q_tok)
            before = 1.0 if any(0 < first - i <= 3 for i in q_tok) else 0.0
            after = 1.0 if any(0 < i - last <= 3 for i in q_tok) else 0.0
        else:
            dist, near, before, after = n_tok, 0.0, 0.0, 0.0
        caps = sum(1 for w in text.split() if w[:1].isupper()) / max(len(text.split()), 1)
        prev_w = _word_class(sentence, toks[first - 1]) if inside and first > 0 else "<start>"
        next_w = _word_class(sentence, toks[last + 1]) if inside and last + 1 < len(toks) else "<end>"
        gap_before = sentence[toks[first - 1][1] : span.start] if inside and first > 0 else ""
        f = {
            "bias_kind_" + span.kind: 1.0,
            f"wh_{ctx.wh}_{span.kind}": 1.0,
            f"len_{min(len(content), 5)}": 1.0,
            f"prev_{ctx.wh}_{prev_w}": 1.0,
            f"next_{ctx.wh}_{next_w}": 1.0,
            f"prev_{prev_w}": 1.0,
            f"next_{next_w}": 1.0,
            "comma_before": 1.0 if "," in gap_before else 0.0,
            f"type_{ctx.answer_type}_{span.kind}": 1.0,
            "compatible": 1.0 if span.kind in compatible else 0.0,
            "exact_type": 1.0 if span.kind == ctx.answer_type else 0.0,
            "closeness": 1.0 / (1.0 + dist),
            "near_q": near,
            "q_before": before,
            "q_after": after,
            "log_len": math.log1p(len(content)),
            "caps": caps,
            "digit": 1.0 if any(c.isdigit() for c in text) else 0.0,
            "rel_pos": first / n_tok,
            "paren": 1.0 if sentence[max(span.start - 1, 0) : span.start] == "(" else 0.0,
            "whole": len(inside) / n_tok,
            "rule": 1.0 if rule is not None and (rule.start, rule.end) == key else 0.0,
        }
        out.append((span, f))
    return out


def score_spans(sentence: str, question: QuestionInfo | SpanContext, model: dict) -> list[Span]:
    """Candidate spans scored by the learned span model (``score`` = probability-like), best first."""
    weights, bias = model.get("weights", {}), float(model.get("bias", 0.0))
    out = []
    for span, feats in span_features(sentence, question):
        z = bias + sum(weights.get(k, 0.0) * v for k, v in feats.items())
        span.score = 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))
        out.append(span)
    out.sort(key=lambda s: (-s.score, s.start))
    return out


def has_typed_span(sentence: str, question: QuestionInfo | SpanContext) -> bool:
    """Cheap: does ``sentence`` hold a span of a kind the question expects, not made of question words?"""
    return typed_span_evidence(sentence, question)[0]


_EXACT = {DATE: DATE, NUMBER: NUMBER, LIST: LIST}


def typed_span_evidence(sentence: str, question: QuestionInfo | SpanContext) -> tuple[bool, bool]:
    """(a span of a compatible kind, a span of exactly the asked kind: date, number or list),
    each holding a word that is not in the question."""
    ctx = question if isinstance(question, SpanContext) else question_context(question)
    kinds = _COMPATIBLE.get(ctx.answer_type)
    if not kinds:
        return False, False
    exact_kind = _EXACT.get(ctx.answer_type)
    compatible = exact = False
    for span in candidate_spans(sentence):
        text = sentence[span.start : span.end]
        if span.kind in kinds and any(stem(w) not in ctx.stems for w in words(text) if w not in STOPWORDS):
            compatible = True
            if span.kind == exact_kind and (span.kind != LIST or _novel_items(text, ctx.stems) >= 2):
                return True, True
    return compatible, exact


def _novel_items(text: str, q_stems: set[str]) -> int:
    """How many items of a list ("A, B and C") hold a word that is not in the question."""
    items = [x for x in re.split(r"\s*,\s*|\s+(?:and|or)\s+", text) if x.strip()]
    return sum(1 for x in items if not {stem(w) for w in words(x)} <= q_stems)


def list_spans(sentence: str) -> list[Span]:
    """Coordinated lists in ``sentence`` ("Russia, Nicaragua and Nauru"; "humanitarian, transport and trade")."""
    return [Span(m.start(), m.end(), LIST) for r in (_LIST_RE, _WORD_LIST_RE) for m in r.finditer(sentence)]


def best_span(sentence: str, question: QuestionInfo, model: dict | None = None) -> Span | None:
    """The most likely answer span, or None when no candidate is likely enough.

    With a learned span ``model`` (``{"weights", "bias", "min_score"}``) spans of every kind are
    scored; without one, the hand-set rule below picks among spans of the expected type.
    """
    if model:
        spans = score_spans(sentence, question, model)
        if spans and spans[0].score >= float(model.get("min_score", 0.0)):
            return spans[0]
        return None
    return rule_span(sentence, question)


def rule_span(sentence: str, question: QuestionInfo) -> Span | None:
    """The hand-set span rule: type match, not in the question, close to the question's words."""
    kinds = _COMPATIBLE.get(question.answer_type)
    if not kinds:
        return None
    q_stems = {stem(w) for w in question.words}
    q_positions = [(m.start(), m.end()) for m in re.finditer(r"\w+", sentence) if stem(m.group().lower()) in q_stems]
    best: Span | None = None
    for span in candidate_spans(sentence):
        if span.kind not in kinds:
            continue
        text = sentence[span.start : span.end]
        toks = content_words(text)
        if not toks:
            continue
        novel = [w for w in toks if stem(w) not in q_stems]
        if not novel:
            continue
        if question.answer_type == LIST:
            if span.kind != LIST:
                continue
            items = [x for x in re.split(r"\s*,\s*|\s+(?:and|or)\s+", text) if x.strip()]
            if sum(1 for x in items if not {stem(w) for w in words(x)} <= q_stems) < 2:
                continue
            novel = toks
        if len(novel) < len(toks):  # trim question words ("Gregory Karasin" in "Minister Gregory Karasin")
            span = _trim_question_words(sentence, span, q_stems)
            if span is None:
                continue
            toks = novel = content_words(sentence[span.start : span.end])
            if not toks:  # only function words were left (the old rule divided by zero here)
                continue
        score = 1.0 + (0.5 if span.kind == question.answer_type else 0.0)
        score += 0.4 * len(novel) / len(toks)
        if q_positions:
            dist = min(max(span.start - qe, qs - span.end, 0) for qs, qe in q_positions)
            score += 0.6 / (1.0 + dist / 40.0)
        if question.answer_type == LIST and span.kind == LIST:
            score += 0.5
        span.score = score
        if best is None or score > best.score:
            best = span
    return best


def _trim_question_words(sentence: str, span: Span, q_stems: set[str]) -> Span | None:
    tokens = [(m.start(), m.end()) for m in re.finditer(r"[\w’'.-]+", sentence[span.start : span.end])]
    keep = [
        (a, b) for a, b in tokens if stem(sentence[span.start + a : span.start + b].lower().strip(".")) not in q_stems
    ]
    if not keep:
        return None
    # Keep the longest run of consecutive non-question tokens.
    runs, cur = [], [keep[0]]
    idx = {t: i for i, t in enumerate(tokens)}
    for t in keep[1:]:
        if idx[t] == idx[cur[-1]] + 1:
            cur.append(t)
        else:
            runs.append(cur)
            cur = [t]
    runs.append(cur)
    run = max(runs, key=len)
    while run and sentence[span.start + run[0][0] : span.start + run[0][1]].lower() in {"and", "or", "of", "the", "&"}:
        run = run[1:]
    if not run:
        return None
    a, b = span.start + run[0][0], span.start + run[-1][1]
    while b > a and sentence[b - 1] in ".,;:":
        b -= 1
    text = sentence[a:b]
    if text.lower() in STOPWORDS or not text.strip():
        return None
    return Span(a, b, span.kind)

"""Candidate answer spans inside a sentence: names, places, dates, numbers, lists.

Example::

    from assistant.spans import candidate_spans
    s = "In 2008 Russia, Nicaragua and Nauru recognized Abkhazia."
    [(c.kind, s[c.start:c.end]) for c in candidate_spans(s)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .question import DATE, ENTITY, LIST, NUMBER, PERSON, PLACE, QuestionInfo
from .terms import STOPWORDS, stem, words

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
    spans = [Span(m.start(), m.end(), DATE) for m in _DATE_RE.finditer(sentence)]
    date_ranges = [(s.start, s.end) for s in spans]
    for m in _NUMBER_RE.finditer(sentence):
        if not any(a <= m.start() and m.end() <= b for a, b in date_ranges):
            spans.append(Span(m.start(), m.end(), NUMBER))
    spans += [s for s in _proper_spans(sentence) if not re.fullmatch(r"[\d\s,.]+", sentence[s.start : s.end])]
    spans += [Span(m.start(), m.end(), LIST) for m in _LIST_RE.finditer(sentence)]
    return spans


_COMPATIBLE = {
    PERSON: {ENTITY},
    PLACE: {ENTITY},
    ENTITY: {ENTITY, NUMBER, DATE},
    DATE: {DATE},
    NUMBER: {NUMBER},
    LIST: {LIST, ENTITY},
}


def best_span(sentence: str, question: QuestionInfo) -> Span | None:
    """The most likely answer span of the expected type, or None when none fits."""
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
        toks = [w for w in words(text) if w not in STOPWORDS]
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
            toks = novel = [w for w in words(sentence[span.start : span.end]) if w not in STOPWORDS]
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

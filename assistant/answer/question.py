"""What a question asks for: its expected answer type and its content terms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..terms import STOPWORDS, content_terms, words

PERSON, PLACE, DATE, NUMBER, ENTITY, LIST, DESCRIPTION = (
    "person",
    "place",
    "date",
    "number",
    "entity",
    "list",
    "description",
)

_NUMBER_Q = re.compile(
    r"\bhow (?:many|much|long|old|far|big|large|tall|high|often|fast)\b|\bwhat (?:percentage|percent|number|amount|proportion|fraction|size|age)\b",
    re.I,
)
_DATE_Q = re.compile(
    r"\bwhen\b|\bwhat (?:year|date|day|month|time|century|decade|period)\b|\bwhich (?:year|date|day|month|century|decade)\b|\bsince when\b",
    re.I,
)
_PLACE_Q = re.compile(
    r"\bwhere\b|\b(?:what|which) (?:country|city|state|region|place|town|continent|nation|location|province|area)\b",
    re.I,
)
_PERSON_Q = re.compile(
    r"\bwho(?:m|se)?\b|\b(?:what|which) (?:person|man|woman|official|minister|president|leader|author|writer)\b", re.I
)
_LIST_Q = re.compile(
    r"\b(?:which|what) (?:\w+ )?(?:\w+s)\b(?! (?:is|was|does|did|has)\b)|\bname (?:the|all)\b|\blist\b", re.I
)
_WHICH_Q = re.compile(r"\b(?:which|what) (?:\w+)\b", re.I)
_WHY_HOW = re.compile(r"^\s*(?:why|how)\b|\bwhat (?:is|was|are|were) the (?:reason|purpose|cause|effect)\b", re.I)
_DEFINE_Q = re.compile(r"^\s*(?:who|what) (?:is|was|are|were) (?P<subject>[^?]+?)\s*\??\s*$", re.I)
_PLURAL_NOUN_EXCEPTIONS = {
    "is",
    "was",
    "has",
    "does",
    "this",
    "its",
    "his",
    "us",
    "as",
    "yes",
    "news",
    "status",
    "process",
}


@dataclass
class QuestionInfo:
    """A parsed question: the raw text, its expected answer type and its terms."""

    text: str
    answer_type: str
    terms: list[str] = field(default_factory=list)
    words: set[str] = field(default_factory=set)
    subject: str = ""  # for "who/what is X?" questions: X

    @property
    def is_factoid(self) -> bool:
        return self.answer_type in {PERSON, PLACE, DATE, NUMBER, ENTITY, LIST}


def answer_type(question: str) -> str:
    """The kind of answer a question expects (one of the module's type constants)."""
    q = question.strip()
    if _NUMBER_Q.search(q):
        return NUMBER
    if _DATE_Q.search(q):
        return DATE
    if _PLACE_Q.search(q):
        m = re.search(r"\b(?:which|what) (\w+)", q, re.I)
        if m and m.group(1).lower().endswith("s") and m.group(1).lower() not in _PLURAL_NOUN_EXCEPTIONS:
            return LIST
        return PLACE
    if _PERSON_Q.search(q):
        return PERSON
    m = re.search(r"\b(?:which|what) (\w+)(?: (\w+))?", q, re.I)
    if m:
        noun = m.group(1).lower()
        if (
            noun not in STOPWORDS
            and noun.endswith("s")
            and not noun.endswith("ss")
            and noun not in _PLURAL_NOUN_EXCEPTIONS
        ):
            return LIST
        if noun not in STOPWORDS and noun not in {
            "does",
            "do",
            "did",
            "is",
            "was",
            "are",
            "were",
            "has",
            "have",
            "can",
            "will",
        }:
            return ENTITY
    if re.search(r"\bname (?:the|all)\b|\blist\b", q, re.I):
        return LIST
    if _WHY_HOW.search(q):
        return DESCRIPTION
    return DESCRIPTION


def analyse(question: str) -> QuestionInfo:
    """Parse ``question`` into a :class:`QuestionInfo`."""
    m = _DEFINE_Q.match(question)
    subject = m.group("subject") if m else ""
    return QuestionInfo(
        text=question,
        answer_type=answer_type(question),
        terms=content_terms(question),
        words={w for w in words(question) if w not in STOPWORDS},
        subject=subject,
    )

"""Does the focused span give the kind of thing the question asks for? Rules, no model.

A near-miss question ("What is the real name of the gamer Deathifier?", "How much did Intel spend on
the network?") is usually answered from the right story with a sentence that lacks the asked-for
thing: the reader's best span is then a phrase of another kind ("known only by his gaming
moniker", "802.11"). When the span does not fit and no other part of the sentence does, there is no
answer in it.

Example::

    from assistant.answer.typecheck import wanted, fits
    w = wanted("How much did Intel spend on the wireless network?")   # "money"
    fits(w, "802.11", "How much did Intel spend …")                    # False
    fits(w, "$2m", "How much did Intel spend …")                       # True
"""

from __future__ import annotations

import re

from ..terms import words

MONEY, COUNT, NAME = "money", "count", "name"

_MONEY_Q = re.compile(
    r"\bhow much\b.*\b(?:cost|costs|price|priced|pay|paid|pays|spend|spent|spends|worth|charge|charged|fine|fined|"
    r"sell for|sold for|raise|raised|earn|earned|earns|salary|invest|invested|bid|offer|offered|owe|owed)\b"
    r"|\bwhat (?:is|was|will be) the (?:price|cost|salary|fee|fine|value)\b|\bhow much money\b",
    re.I,
)
_COUNT_Q = re.compile(r"\bhow many\b", re.I)
_PEOPLE = (
    r"man|woman|girl|boy|person|people|judge|child|daughter|son|wife|husband|father|mother|officer|driver|victim|"
    r"player|teacher|student|attendant|gamer|blogger|president|minister|chief|leader|director|presenter|host|"
    r"founder|owner|editor|author|singer|actor|actress|journalist|reporter|pilot|doctor|lawyer|spokesman|spokeswoman"
)
# A person's name: "his real name", "the name of the 13-year-old girl" (not "the name of the process", whose
# answer may be any noun: only people's names are sure to be capitalised).
_NAME_Q = re.compile(
    rf"\b(?:his|her|their)\s+(?:real |full |first |last |family |maiden )?name\b"
    rf"|\b(?:real|full|first|last|maiden) name\b"
    rf"|\bname of (?:the |a |an |his |her |their )?(?:[\w-]+ ){{0,2}}(?:{_PEOPLE})\b",
    re.I,
)
_MONEY = re.compile(
    r"[$£€¥]\s?\d|\d[\d,.]*\s?(?:m|bn|k|million|billion|trillion|pounds?|dollars?|euros?|yen|yuan|rupees?|p|cents?|pence)\b"
    r"|\b(?:free|nothing)\b",
    re.I,
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?|"
    r"thousands?|millions?|billions?|dozens?|several|few|many|half|a dozen|no"
)
_COUNT = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_PHONE = re.compile(r"\b\d{3,5}[ -]\d{3}[ -]\d{3,4}\b")
_TITLES = {"mr", "mrs", "ms", "miss", "dr", "sir", "lord", "lady", "prof", "the", "a", "an", "he", "she", "it"}


def wanted(question: str) -> str | None:
    """The kind of span the question needs (``money``, ``count``, ``name``), or None when any will do."""
    if _MONEY_Q.search(question):
        return MONEY
    if _COUNT_Q.search(question):
        return COUNT
    if _NAME_Q.search(question):
        return NAME
    return None


def fits(kind: str | None, span: str, question: str) -> bool:
    """True when ``span`` is an answer of ``kind`` (and not a scrap: punctuation or a bare title)."""
    toks = words(span)
    if not toks or all(t in _TITLES for t in toks):
        return False
    if kind == MONEY:
        return bool(_MONEY.search(span))
    if kind == COUNT:
        return bool(_COUNT.search(span)) and not _PHONE.search(span) and not re.search(r"[$£€¥]", span)
    if kind == NAME:
        asked = {w for w in words(question)}
        caps = [w for w in re.findall(r"\b[A-Z][\w'’-]+", span) if w.lower() not in _TITLES]
        return any(w.lower() not in asked for w in caps)
    return True


def fitting_span(kind: str, sentence: str, question: str) -> tuple[int, int] | None:
    """The first part of ``sentence`` that is an answer of ``kind`` (offsets), or None."""
    if kind == MONEY:
        pattern = re.compile(
            r"(?:[$£€¥]\s?\d[\d,.]*(?:\s?(?:m|bn|k|million|billion|trillion)\b)?(?:\s?\([^)]{1,30}\))?)"
            r"|\d[\d,.]*\s?(?:m|bn|million|billion|trillion)?\s?(?:pounds?|dollars?|euros?|yen|yuan|rupees?|cents?|pence|p)\b",
            re.I,
        )
    elif kind == COUNT:
        pattern = re.compile(
            rf"(?<![$£€¥\d])\d[\d,.]*(?:\s(?:million|billion|thousand|hundred))?|\b(?:{_NUMBER_WORDS})\b", re.I
        )
    else:
        asked = {w for w in words(question)}
        for m in re.finditer(r"[A-Z][\w'’-]+(?:\s+(?:of\s+|de\s+|van\s+)?[A-Z][\w'’-]+)*", sentence):
            if m.start() == 0:
                continue
            if any(w.lower() not in asked and w.lower() not in _TITLES for w in words(m.group(0))):
                return m.start(), m.end()
        return None
    for m in pattern.finditer(sentence):
        if kind == COUNT and (_PHONE.search(sentence[max(0, m.start() - 6) : m.end() + 10])):
            continue
        return m.start(), m.end()
    return None

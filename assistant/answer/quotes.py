"""Who says what in news prose: each sentence's speaker, by rules over the article's sentences.

Patterns: ``"…," he said`` / ``said Mr Smith`` / ``Smith said`` / ``Smith, the chief executive, told
the BBC: "…"`` / ``according to Smith``. A pronoun speaker ("he said") is the last person named as
a speaker (else the last person named) before it; a quotation sentence with no reporting verb
(the second sentence of a long quote) belongs to the speaker of the sentence before it when that
one opened the quote.

Example::

    from assistant.answer.quotes import speakers
    speakers(['Arsene Wenger was fined £15,000.', '"It is too small," he said.'])
    # [None, 'Arsene Wenger']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..terms import fold

_VERBS = (
    r"said|says|say|told|tells|added|adds|claimed|claims|warned|warns|insisted|insists|argued|argues|explained|explains|"
    r"admitted|admits|stated|states|believes|believed|commented|comments|remarked|noted|notes|suggested|suggests|"
    r"predicted|predicts|revealed|reveals|described|describes|called|calls|urged|urges|stressed|stresses|"
    r"acknowledged|acknowledges|conceded|concedes|denied|denies|confirmed|confirms|announced|announces|"
    r"complained|complains|maintained|maintains|wrote|writes|asked|asks|replied|replies|answered|thinks|thought|feels|felt"
)
_TITLE = (
    r"(?:Mr|Mrs|Ms|Miss|Dr|Sir|Lord|Lady|Prof|Professor|President|Prime Minister|Chancellor|Chairman|Judge|Rev|Dame)\.?"
)
_NAME = rf"(?:{_TITLE}\s+)?[A-Z][\w'’.-]+(?:\s+(?:de|van|von|da|del|la|le|bin|al)?\s*[A-Z][\w'’.-]+){{0,3}}"
_PRON = r"(?:he|she|they|it)"
_AFTER = re.compile(rf"[,\"”’]\s*(?:{_VERBS})\s+(?P<name>{_NAME})|[,\"”’]\s*(?P<pron>{_PRON})\s+(?:{_VERBS})\b", re.I)
_BEFORE = re.compile(
    rf"(?P<name>{_NAME})(?:,\s+[^,\"“”]{{2,80}},)?\s+(?:has\s+|had\s+|also\s+|later\s+)?(?:{_VERBS})\b"
)
_ROLE_BEFORE = re.compile(  # "A Wal-Mart spokesman said", "the BBC's lawyer told"
    rf"\b(?:a|an|the)\s+(?P<name>{_NAME}?)(?:['’]s)?\s+(?:spokesman|spokeswoman|spokesperson|lawyer|representative|official|source)"
    rf"\s+(?:has\s+|had\s+|also\s+)?(?:{_VERBS})\b"
)
_PRON_BEFORE = re.compile(rf"\b(?P<pron>He|She|They)\s+(?:has\s+|had\s+|also\s+|later\s+)?(?:{_VERBS})\b")
_ACCORDING = re.compile(rf"\baccording to (?P<name>{_NAME})")
_QUOTE_CHARS = re.compile(r"[\"“”]|(?:^|\s)'|'(?:\s|$)")
_NOT_NAMES = {
    "the",
    "a",
    "an",
    "it",
    "this",
    "that",
    "these",
    "those",
    "there",
    "but",
    "and",
    "he",
    "she",
    "they",
    "we",
    "i",
    "you",
    "in",
    "on",
    "at",
    "for",
    "if",
    "as",
    "when",
    "while",
    "after",
    "before",
    "his",
    "her",
    "its",
    "their",
    "our",
    "my",
    "bbc",
    "government",
    "company",
    "firm",
    "report",
    "statement",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "officials",
    "analysts",
    "experts",
    "police",
    "critics",
}


@dataclass
class Attribution:
    """A sentence's speaker (the name as written in the article) and whether it quotes them."""

    speaker: str | None
    quoted: bool  # holds quotation marks or a reporting verb: the speaker's words


def _clean_name(name: str) -> str | None:
    name = re.sub(r"['’]s$", "", name.strip(" .,"))
    toks = name.split()
    while toks and fold(toks[0]) in _NOT_NAMES:
        toks = toks[1:]
    if not toks:
        return None
    return " ".join(toks)


def _people(sentence: str) -> list[str]:
    """Capitalised names in a sentence (not its first word unless followed by another capital)."""
    out = []
    for m in re.finditer(_NAME, sentence):
        n = _clean_name(m.group(0))
        if n and (m.start() > 0 or len(n.split()) > 1):
            out.append(n)
    return out


def speakers(sentences: list[str]) -> list[str | None]:
    """The speaker of each sentence (None: not reported speech, or no speaker found)."""
    return [a.speaker for a in attribute(sentences)]


def attribute(sentences: list[str]) -> list[Attribution]:
    """:class:`Attribution` of each sentence of one article, in order."""
    out: list[Attribution] = []
    last_speaker: str | None = None
    last_person: str | None = None
    open_quote = False  # the previous sentence opened a quotation that has not closed
    for s in sentences:
        has_quote = bool(_QUOTE_CHARS.search(s))
        speaker: str | None = None
        m = _AFTER.search(s) or _ACCORDING.search(s)
        if m and m.groupdict().get("name"):
            speaker = _clean_name(m.group("name"))
        elif m and m.groupdict().get("pron"):
            speaker = last_speaker or last_person
        if speaker is None:
            m3 = _ROLE_BEFORE.search(s)
            if m3 and _clean_name(m3.group("name")):
                speaker = _clean_name(m3.group("name"))
        if speaker is None:
            m2 = _BEFORE.search(s)
            if m2 and _clean_name(m2.group("name")):
                speaker = _clean_name(m2.group("name"))
            elif _PRON_BEFORE.search(s):
                speaker = last_speaker or last_person
        reported = speaker is not None
        if speaker is None and has_quote and open_quote:
            speaker, reported = last_speaker, True  # the quote goes on
        if speaker is None and has_quote and s.lstrip()[:1] in '"“':
            speaker, reported = last_speaker, last_speaker is not None
        out.append(Attribution(speaker, reported or has_quote))
        opens = s.count("“") + s.count('"')
        closes = s.count("”") + (s.count('"') if "“" not in s and "”" not in s else 0)
        open_quote = (s.count("“") > s.count("”")) or (s.count('"') % 2 == 1 and opens > 0 and closes == opens)
        if speaker:
            last_speaker = speaker
        people = _people(s)
        if people:
            last_person = people[-1] if speaker is None else speaker
    return out


def same_person(asked: str, speaker: str | None) -> bool:
    """True when the name asked about ("Wenger", "Arsene Wenger", "Mr Wenger") is the speaker's."""
    if not speaker:
        return False
    title = re.compile(rf"^{_TITLE}\s+", re.I)
    a = [fold(w) for w in title.sub("", asked).split() if w]
    b = [fold(w) for w in title.sub("", speaker).split() if w]
    if not a or not b:
        return False
    return a[-1] == b[-1] or (len(a) == 1 and a[0] in b) or (len(b) == 1 and b[0] in a)

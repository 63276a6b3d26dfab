"""Who says what in news prose: each sentence's speaker, by rules over the article's sentences.

Patterns: ``"…," he said`` / ``said Mr Smith`` / ``Smith said`` / ``Smith, the chief executive, told
the BBC: "…"`` / ``according to Smith``. A pronoun speaker ("he said") is the last person named as
a speaker (else the last person named) before it; a quotation sentence with no reporting verb
(the second sentence of a long quote) belongs to the speaker of the sentence before it when that
one opened the quote.

An ingest stores each article's attributions (:func:`quote_rows`) in the index, so quotations can be
looked up by speaker (:func:`speaker_key`) across the archive.

Example::

    from assistant.ingest.quotes import speakers
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
#: Verbs of speech: a sentence with one of them reports someone's words even without quotation marks.
_SPEECH = re.compile(
    r"\b(?:said|says|told|tells|added|adds|claimed|claims|warned|warns|insisted|insists|argued|argues|explained|"
    r"admitted|admits|stated|commented|remarked|noted|suggested|predicted|urged|stressed|acknowledged|conceded|"
    r"denied|confirmed|announced|complained|maintained|replied|answered|according to)\b",
    re.I,
)
_TITLE = (
    r"(?:Mr|Mrs|Ms|Miss|Dr|Sir|Lord|Lady|Prof|Professor|President|Prime Minister|Chancellor|Chairman|Judge|Rev|Dame)\.?"
)
_NAME = rf"(?:{_TITLE}\s+)?[A-Z][\w'’.-]+(?:\s+(?:de|van|von|da|del|la|le|bin|al)?\s*[A-Z][\w'’.-]+){{0,3}}"
_PRON = r"(?:he|she|they|it)"
_AFTER = re.compile(
    rf"[,\"”’]\s*(?i:{_VERBS})\s+(?P<desc>[^.,;:\"“”]{{0,60}}?)(?P<name>{_NAME})\s*(?:[.,;:!?]|$)"
    rf"|[,\"”’]\s*(?P<pron>(?i:{_PRON}))\s+(?i:{_VERBS})\b"
)
_BEFORE = re.compile(
    rf"(?P<name>{_NAME})(?:,\s+[^,\"“”]{{2,80}},)?\s+(?:has\s+|had\s+|also\s+|later\s+)?(?:{_VERBS})\b"
)
_ROLE_BEFORE = re.compile(  # "A Wal-Mart spokesman said", "the BBC's lawyer told"
    rf"\b(?:[Aa]n?|[Tt]he)\s+(?P<name>{_NAME})(?:['’]s)?\s+(?:spokesman|spokeswoman|spokesperson|lawyer|representative|official|source)"
    rf"\s+(?:has\s+|had\s+|also\s+)?(?:{_VERBS})\b"
)
_PRON_BEFORE = re.compile(rf"\b(?P<pron>He|She|They)\s+(?:has\s+|had\s+|also\s+|later\s+)?(?:{_VERBS})\b")
_PASSIVE = re.compile(rf"\b(?:described|called|dubbed|branded|labelled|labeled) by (?P<name>{_NAME})")
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


_NOT_PEOPLE = set(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december christmas easter".split()
)


def _people(sentence: str) -> list[str]:
    """Names of people in a sentence, as far as capitals tell: two or more capitalised words, or one
    after a title ("Mr Smith"); not days, months or acronyms ("FA", "BBC")."""
    out = []
    for m in re.finditer(_NAME, sentence):
        n = _clean_name(m.group(0))
        if not n:
            continue
        toks = n.split()
        if any(fold(t) in _NOT_PEOPLE for t in toks) or all(t.isupper() for t in toks):
            continue
        if len(toks) > 1 or re.match(rf"^{_TITLE}\s", m.group(0)):
            out.append(n)
    return out


def speakers(sentences: list[str]) -> list[str | None]:
    """The speaker of each sentence (None: not reported speech, or no speaker found)."""
    return [a.speaker for a in attribute(sentences)]


def _quote_states(sentences: list[str]) -> list[tuple[bool, bool]]:
    """For each sentence, whether a quotation is open before it and after it. A straight quote that
    opens a sentence opens a quotation, also when one is already open (news re-opens a quote that
    runs on into the next paragraph); curly quotes say which way they go."""
    out, inside = [], False
    for s in sentences:
        before = inside
        text = s.lstrip()
        for i, ch in enumerate(text):
            if ch == "“" or (ch == '"' and i == 0):
                inside = True
            elif ch == "”":
                inside = False
            elif ch == '"':
                inside = not inside
        out.append((before, inside))
    return out


def attribute(sentences: list[str]) -> list[Attribution]:
    """:class:`Attribution` of each sentence of one article, in order.

    A quotation that runs over several sentences ('"We are taken as hostages.' … 'I don't know,"
    said Jose Lopez.') belongs, every sentence of it, to the speaker named in any of them."""
    states = _quote_states(sentences)
    out: list[Attribution] = []
    explicit: list[bool] = []
    last_speaker: str | None = None
    last_person: str | None = None
    for s, (before, _after) in zip(sentences, states):
        has_quote = bool(_QUOTE_CHARS.search(s))
        speaker: str | None = None
        m = _AFTER.search(s) or _ACCORDING.search(s) or _PASSIVE.search(s)
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
        explicit.append(speaker is not None)
        reported = speaker is not None
        if speaker is None and has_quote and before:
            speaker, reported = last_speaker, True  # the quote goes on
        if speaker is None and has_quote and s.lstrip()[:1] in '"“':  # a new quote paragraph: the last speaker's
            speaker, reported = last_speaker, last_speaker is not None
        # Someone's words: in quotation marks, or reported with a verb of speech ("wrote", "believes" are not).
        out.append(Attribution(speaker, has_quote or (reported and bool(_SPEECH.search(s)))))
        if speaker:
            last_speaker = speaker
        people = _people(s)
        if people:  # "he" is most often the sentence's subject: the first person it names
            last_person = people[0] if speaker is None else speaker
    # One quotation, one speaker: the one named in any of its sentences.
    i = 0
    while i < len(sentences):
        j = i
        while j + 1 < len(sentences) and states[j + 1][0] and _QUOTE_CHARS.search(sentences[j + 1]):
            j += 1
        if j > i:
            named = next((out[k].speaker for k in range(i, j + 1) if explicit[k] and out[k].speaker), None)
            if named:
                for k in range(i, j + 1):
                    if not explicit[k]:
                        out[k] = Attribution(named, True)
        i = j + 1
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
    return a[-1] == b[-1] or (
        len(a) == 1 and a[0] in b
    )  # "Wenger", "Arsene Wenger"; not "Russian" for "Russian leadership"


def speaker_key(name: str) -> str:
    """The key a speaker is stored and looked up by: the folded last word of the name without a
    title ("Mr Wenger", "Arsene Wenger" → "wenger"); :func:`same_person` then checks the rest."""
    words = re.sub(rf"^{_TITLE}\s+", "", name.strip(), flags=re.I).split()
    return fold(re.sub(r"['’]s$", "", words[-1])) if words else ""


def quote_rows(text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int, str, str, bool]]:
    """What an index stores of an article's quotations: ``(start, end, speaker, key, quoted)`` of
    each sentence with a speaker (``quoted``: their own words, in quotation marks or reported)."""
    attrs = attribute([text[a:b] for a, b in sentences])
    return [
        (a, b, at.speaker, speaker_key(at.speaker), at.quoted)
        for (a, b), at in zip(sentences, attrs)
        if at.speaker and speaker_key(at.speaker)
    ]

"""Questions about an article rather than its text: who wrote it, when it was published, which
outlet published it. They are answered from the article's header fields (byline, date, source),
verbatim, and cited by the field and its characters, like any other answer.

Example::

    from assistant.answer.metadata import metadata_field
    metadata_field("Who wrote the article about Abkhazia?")   # "author"
    metadata_field("When was it published?")                  # "date"
    metadata_field("Who recognized Abkhazia?")                # None: a question about the text
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from ..terms import content_terms, stem

AUTHOR, DATE, OUTLET = "author", "date", "outlet"

_DOC = r"(?:article|story|piece|report|item|post|text|news|column|feature|op-?ed|editorial|dispatch|interview)"
_THE_DOC = rf"(?:it|this|that|the {_DOC}|this {_DOC}|that {_DOC})"
_PATTERNS = (
    (
        AUTHOR,
        re.compile(
            rf"\bwho (?:wrote|authored|penned|filed|reported) {_THE_DOC}\b"
            rf"|\bwho (?:is|was) the (?:author|writer|reporter)\b"
            rf"|\b(?:author|writer|byline|reporter)s? of {_THE_DOC}\b"
            rf"|\bwhose byline\b|\bby whom (?:was|is) {_THE_DOC} (?:written|reported|filed)\b"
            rf"|\bwho (?:is|was) {_THE_DOC} by\b|\b{_THE_DOC} (?:was|is) (?:written|reported) by whom\b",
            re.I,
        ),
    ),
    (
        DATE,
        re.compile(
            rf"\b(?:when|what (?:date|day)|which (?:date|day)|on what (?:date|day))\b[^?]*\b(?:was|is) {_THE_DOC}\b[^?]*"
            rf"\b(?:published|written|posted|released|filed|dated|out)\b"
            rf"|\b(?:publication|publishing|release) date\b|\bwhat is the date of {_THE_DOC}\b"
            rf"|\bhow (?:old|recent) is {_THE_DOC}\b",
            re.I,
        ),
    ),
    (
        OUTLET,
        re.compile(
            r"\b(?:which|what) (?:news ?)?(?:outlet|newspaper|paper|publication|publisher|site|website|magazine|"
            r"media|agency|organi[sz]ation|channel|source)\b[^?]*\b(?:publish|print|run|ran|carr|post|put out|report)"
            rf"|\bwho published {_THE_DOC}\b|\bwhere (?:was|is) {_THE_DOC} published\b",
            re.I,
        ),
    ),
)
_META_WORDS = {
    "who", "wrote", "written", "author", "writer", "byline", "reporter", "reported", "penned", "filed", "when",
    "published", "publish", "publication", "posted", "released", "dated", "date", "outlet", "newspaper",
    "paper", "publisher", "site", "website", "magazine", "media", "agency", "news", "article", "story",
    "piece", "report", "item", "post", "text", "column", "feature", "editorial", "dispatch", "interview",
    "print", "carry", "carried", "run", "ran", "source", "organization", "organisation", "channel", "day",
}  # fmt: skip
_META_STEMS = {stem(w) for w in _META_WORDS}
# "Messenger Staff", "Reuters staff", "The Messenger Desk": the outlet is what comes before.
_STAFF = re.compile(
    r"^(?:by\s+)?(?:the\s+)?(?P<outlet>.+?)\s+(?:staff|desk|newsroom|reporters?|correspondents?|editors?|team)$", re.I
)


def metadata_field(question: str) -> str | None:
    """``"author"``, ``"date"`` or ``"outlet"`` when the question asks about the article itself."""
    for name, pattern in _PATTERNS:
        if pattern.search(question):
            return name
    return None


def topic_terms(question: str) -> list[str]:
    """The question's content terms that say *which* article (``"the article about Abkhazia"``)."""
    return [t for t in content_terms(question) if t not in _META_STEMS]


@dataclass
class FieldAnswer:
    """An answer read from a header field: ``quote == field_value[start:end]``; ``span``: the
    focused part of the quote (e.g. "Messenger" in "Messenger Staff")."""

    field: str  # the article attribute quoted: "author", "date" or "source"
    quote: str
    span: tuple[int, int]


def field_answer(kind: str, author: str, date: str, source: str) -> FieldAnswer | None:
    """What the header says for ``kind``, or None when the article does not say it."""
    author, date, source = author.strip(), date.strip(), source.strip()
    if kind == AUTHOR and author:
        return FieldAnswer("author", author, (0, len(author)))
    if kind == DATE and date:
        return FieldAnswer("date", date, (0, len(date)))
    if kind == OUTLET:
        m = _STAFF.match(author) if author else None
        if m:
            return FieldAnswer("author", author, (m.start("outlet"), m.end("outlet")))
        host = urlparse(source).hostname if source.startswith(("http://", "https://")) else None
        if host:
            a = source.index(host)
            b = a + len(host)
            if host.startswith("www."):
                a += 4
            return FieldAnswer("source", source, (a, b))
    return None


def covers_topic(terms: list[str], article_terms: set[str], min_share: float = 0.5) -> bool:
    """Whether the article is about what the question names (no named topic: yes)."""
    if not terms:
        return True
    return sum(t in article_terms for t in terms) / len(terms) >= min_share

"""Plain records that flow through the pipeline: Article → Chunk → Citation → Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Article:
    """One source document, already cleaned to plain text."""

    id: str
    title: str
    text: str
    source: str = ""
    author: str = ""
    date: str = ""
    content_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Sentence:
    """A sentence of an article, by character offsets: ``article.text[start:end] == text``."""

    article_id: str
    start: int
    end: int
    text: str


@dataclass
class Chunk:
    """A run of whole sentences of one article, sized for the embedding model.

    ``article.text[start:end] == text`` always holds.
    """

    id: int
    article_id: str
    start: int
    end: int
    text: str
    position: int = 0  # index of the chunk within its article


@dataclass
class Citation:
    """Where an answer comes from: ``quote == article.text[start:end]``; for an answer read from
    the article's header (who wrote it, when, which outlet), ``field`` names the header field
    (``"author"``, ``"date"``, ``"source"``) and ``quote == getattr(article, field)[start:end]``."""

    article_id: str
    title: str
    source: str
    date: str
    start: int
    end: int
    quote: str
    score: float
    author: str = ""
    field: str = ""  # "" = the article text; else the header field quoted

    @property
    def has_own_quotes(self) -> bool:
        """The quote opens or closes with a quotation mark of its own (reported speech): shown
        as it is, not wrapped in another pair."""
        q = self.quote.strip()
        return bool(q) and (q[0] in _QUOTE_MARKS or q[-1] in _QUOTE_MARKS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_QUOTE_MARKS = "\"“”‘’«»'"


@dataclass
class Answer:
    """What ``ask()`` returns.

    ``text`` of a non-abstained answer is a substring of a cited quote. ``span`` is the
    focused part of ``text`` (a name, date, number, ...) as offsets into ``text``, or None.
    """

    text: str
    abstained: bool
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    question: str = ""
    search_query: str = ""
    span: tuple[int, int] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def span_text(self) -> str:
        """The focused span (e.g. "Nauru"), or "" when the answer has none."""
        if self.span is None:
            return ""
        return self.text[self.span[0] : self.span[1]]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["span_text"] = self.span_text
        return d

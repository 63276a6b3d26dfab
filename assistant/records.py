"""Plain records that flow through the pipeline: Article → Chunk → Citation → Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
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

    @property
    def paged(self) -> bool:
        """A PDF article: its text has a form feed between pages (see :func:`page_of`)."""
        return is_paged(self.source, self.text)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page of character ``offset`` in a PDF article, else None."""
        return page_of(self.text, offset) if self.paged else None


PAGE_MARK = "\f"  # PDF pages are joined with "\n\f\n" (ingest/formats.py)


def is_paged(source: str, text: str) -> bool:
    """True for an article read from a PDF (by its source name) whose text carries page marks."""
    return str(source or "").lower().endswith(".pdf") and PAGE_MARK in (text or "")


def page_of(text: str, offset: int) -> int:
    """The 1-based page of ``text[offset]``: one more than the page marks before it."""
    return 1 + text.count(PAGE_MARK, 0, max(0, offset))


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
    page: int | None = None  # the PDF page the quote starts on (1-based); None for other articles

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

    ``text`` of a one-sentence answer is a substring of a cited quote. ``span`` is the
    focused part of ``text`` (a name, date, number, ...) as offsets into ``text``, or None.

    ``intent`` is the kind of question the answer was built for (``factoid``, ``quote``,
    ``topic``, ``summary``, ``why``, ``yesno``, ``articles``, ``header``). ``sentences`` holds the
    answer's verbatim sentences in reading order, each a :class:`Citation` of its own; an answer
    of several sentences (a summary, what a story says about a topic, the articles that mention a
    name) has ``text == " ".join(s.quote for s in sentences)``; its ``citations`` are those
    sentences, strongest first. A one-sentence answer has ``sentences == [citations[0]]``.
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
    intent: str = "factoid"
    sentences: list[Citation] = field(default_factory=list)

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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Answer:
        """The inverse of :meth:`to_dict` (unknown keys ignored), e.g. for a conversation kept in a browser."""
        names = {f.name for f in fields(Citation)}
        cites = [Citation(**{k: v for k, v in c.items() if k in names}) for c in d.get("citations") or []]
        sents = [Citation(**{k: v for k, v in c.items() if k in names}) for c in d.get("sentences") or []]
        span = d.get("span")
        return cls(
            text=str(d.get("text", "")),
            abstained=bool(d.get("abstained", False)),
            confidence=float(d.get("confidence", 0.0)),
            citations=cites,
            question=str(d.get("question", "")),
            search_query=str(d.get("search_query", "")),
            span=(int(span[0]), int(span[1])) if span else None,
            timings=dict(d.get("timings") or {}),
            notes=[str(n) for n in d.get("notes") or []],
            intent=str(d.get("intent") or "factoid"),
            sentences=sents,
        )

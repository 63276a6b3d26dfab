"""The typed records of the chat's APIs (the schema the API pages show)."""

from __future__ import annotations

from typing_extensions import TypedDict  # pydantic (the JSON API) needs it on Python < 3.12


class CitationDict(TypedDict):
    article_id: str
    title: str
    source: str
    date: str
    start: int
    end: int
    quote: str
    score: float
    author: str
    field: str
    page: int | None


class AnswerDict(TypedDict):
    text: str
    abstained: bool
    confidence: float
    citations: list[CitationDict]
    question: str
    search_query: str
    span: list[int] | None
    timings: dict[str, float]
    notes: list[str]
    span_text: str
    intent: str
    sentences: list[CitationDict]


class ArticleDict(TypedDict):
    id: str
    title: str
    author: str
    date: str
    source: str


class RemoveReport(TypedDict):
    ok: bool
    message: str
    removed: list[str]
    errors: list[str]


class Passage(TypedDict):
    text: str
    start: int
    end: int


class ArticleMatch(TypedDict):
    id: str
    title: str
    author: str
    date: str
    source: str
    matched: str
    passage: Passage | None


class SearchPage(TypedDict):
    query: str
    total: int
    indexed: int
    page: int
    pages: int
    per_page: int
    articles: list[ArticleMatch]

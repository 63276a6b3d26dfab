"""The Gradio endpoints (``gradio_client``): /ask, /articles, /search_articles, /remove_articles.

Every refused request is one :class:`gradio.Error` line for the client and one warning line in the server
log, never a traceback (:func:`one_line_errors`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from ..errors import AssistantError
from .schema import AnswerDict, ArticleDict, RemoveReport, SearchPage
from .service import ChatApp

log = logging.getLogger(__name__)

ASK_CONCURRENCY = 4  # answers computed at once (the rest wait in Gradio's queue)


def one_line_errors(name: str, fn: Callable) -> Callable:
    """``fn`` with its failures as one ``gr.Error`` line: refusals (bad input) say what to do; anything
    else is "internal error" for the client and one line in the log."""
    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (AssistantError, TypeError, ValueError) as exc:
            message = str(exc).splitlines()[0][:300] if str(exc) else exc.__class__.__name__
            if not isinstance(exc, AssistantError):
                message = f"bad request: {message}"
            log.warning("/%s refused: %s", name, message)
            raise gr.Error(message, print_exception=False) from None
        except gr.Error:
            raise
        except Exception as exc:  # one line in the log, never a traceback per request
            log.error("/%s failed: %s: %s", name, exc.__class__.__name__, str(exc)[:300].replace("\n", " "))
            raise gr.Error(
                f"internal error ({exc.__class__.__name__}); see the server log", print_exception=False
            ) from None

    return wrapper


def register(app: ChatApp, *, allow_upload: bool) -> None:
    """Add the API endpoints to the Blocks being built (call inside its ``with`` block)."""
    import gradio as gr

    def ask(question: str, history: list[str | dict] | None = None) -> AnswerDict:
        """Answer a question from the articles.

        history: earlier questions (strings) or {"role", "content"} messages, oldest first.
        Returns the Answer as a dict: text, abstained, confidence, span, span_text, question,
        search_query, notes, timings, intent, sentences, and citations (article_id, title, author, date,
        source, start, end, quote, score, page) where quote == article.text[start:end].
        """
        if not isinstance(question, str):
            raise AssistantError("question must be a string")
        return app.ask(question, history)  # type: ignore[return-value]

    def articles() -> list[ArticleDict]:
        """Every indexed article: id, title, author, date, source."""
        return app.articles()  # type: ignore[return-value]

    def search_articles(query: str = "", page: int = 0) -> SearchPage:
        """Articles whose title, author, date, id or text hold every word of ``query``, 25 a page (page from 0);
        a match in the text carries its passage (text, start, end: offsets into the article's text)."""
        if not isinstance(query, str) or isinstance(page, bool) or not isinstance(page, int):
            raise AssistantError("query must be a string and page a whole number")
        return app.search(query, page)  # type: ignore[return-value]

    # Real types, not strings (this module uses postponed annotations): the API page shows the schema.
    ask.__annotations__.update(question=str, history=list[str | dict] | None, **{"return": AnswerDict})
    articles.__annotations__["return"] = list[ArticleDict]
    search_articles.__annotations__.update(query=str, page=int, **{"return": SearchPage})
    gr.api(one_line_errors("ask", ask), api_name="ask", concurrency_id="ask", concurrency_limit=ASK_CONCURRENCY)
    gr.api(one_line_errors("articles", articles), api_name="articles", concurrency_limit=None)
    gr.api(one_line_errors("search_articles", search_articles), api_name="search_articles", concurrency_limit=None)
    if allow_upload:

        def remove_articles(ids: list[str]) -> RemoveReport:
            """Remove articles by id (as listed by /articles). Returns ok, message, removed, errors."""
            return app.remove(ids)  # type: ignore[return-value]

        remove_articles.__annotations__.update(ids=list[str], **{"return": RemoveReport})
        gr.api(
            one_line_errors("remove_articles", remove_articles),
            api_name="remove_articles",
            concurrency_id="ingest",
            concurrency_limit=1,
        )

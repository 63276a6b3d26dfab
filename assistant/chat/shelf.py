"""The article shelf: list, search and page through what is indexed, and remove articles."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ..errors import AssistantError
from . import render

MAX_SEARCH_CHARS = 200  # a search longer than this is cut
MAX_PER_PAGE = 100
SEARCH_PASSAGES = 500  # best BM25 passages looked at for text matches


class ShelfActions:
    """The shelf half of :class:`~assistant.chat.service.ChatApp` (needs ``assistant`` and ``_ingest_lock``)."""

    assistant: Any
    _ingest_lock: threading.Lock

    # --- the article shelf -----------------------------------------------------------------
    def articles(self) -> list[dict[str, str]]:
        """Every indexed article: id, title, author, date, source (file name or URL)."""
        return [
            {"id": a.id, "title": a.title, "author": a.author, "date": a.date, "source": a.source}
            for a in self.assistant.articles()
        ]

    def overview(self) -> tuple[str, str]:
        """(header, article list) as they are now."""
        self.assistant.refresh()
        return render.header_html(self.assistant.info().get("counts")), self.listing()[0]

    def search(self, query: str = "", page: int = 0, per_page: int = render.ARTICLES_PER_PAGE) -> dict[str, Any]:
        """One page of the articles that match ``query`` in their title, author, date, id, source **or text**.

        Every word must appear (in the metadata or in one passage). Articles matched by their metadata come
        first (by title), then those matched in their text, best passage first; a text match carries that
        passage (``article.text[start:end] == text``). Returns ``{"query", "total", "page", "pages",
        "per_page", "articles": [{id, title, author, date, source, matched, passage}]}``.
        """
        query = " ".join(str(query or "").split())[:MAX_SEARCH_CHARS]
        per_page = max(1, min(int(per_page or render.ARTICLES_PER_PAGE), MAX_PER_PAGE))
        arts = self.assistant.articles()
        by_meta = render.filter_articles(arts, query)
        found: list[tuple[Any, dict[str, Any] | None]] = [(a, None) for a in by_meta]
        words = query.casefold().split()
        if words:
            seen = {a.id for a in by_meta}
            meta = {a.id: a for a in arts}
            for chunk, _score in self.assistant.find_passages(query, k=SEARCH_PASSAGES):
                art = meta.get(chunk.article_id)
                if art is None or art.id in seen:
                    continue
                hay = chunk.text.casefold() + " " + render.article_haystack(art)
                if all(w in hay for w in words):
                    seen.add(art.id)
                    found.append((art, {"text": chunk.text, "start": chunk.start, "end": chunk.end}))
        pages = render.page_count(len(found), per_page)
        page = max(0, min(int(page or 0), pages - 1))
        rows = [
            {
                "id": a.id,
                "title": a.title,
                "author": a.author,
                "date": a.date,
                "source": render.source_label_text(a.source),
                "matched": "text" if passage else ("metadata" if words else "all"),
                "passage": passage,
            }
            for a, passage in found[page * per_page : (page + 1) * per_page]
        ]
        return {
            "query": query,
            "total": len(found),
            "indexed": len(arts),
            "page": page,
            "pages": pages,
            "per_page": per_page,
            "articles": rows,
        }

    def listing(self, query: str = "", page: int = 0, new_ids: Sequence[str] = ()) -> tuple[str, int]:
        """(one page of the article list searched with ``query``, that page's number, clamped)."""
        result = self.search(query, page)
        return render.search_results_html(result, new_ids), result["page"]

    def choices(self) -> list[tuple[str, str]]:
        """(label, id) of every article, for the picker that removes them."""
        return [(f"{a.title or a.id} — {a.id}", a.id) for a in self.assistant.articles()]

    def remove(self, ids: Sequence[str] | None) -> dict[str, Any]:
        """Remove articles by id → ``{"ok", "message", "removed", "errors"}``; unknown ids are reported."""
        if isinstance(ids, str):
            ids = [ids]
        if ids is not None and (not isinstance(ids, (list, tuple)) or not all(isinstance(i, str) for i in ids)):
            raise AssistantError('ids must be a list of article ids (strings), e.g. ["article-id"]')
        ids = [i for i in dict.fromkeys(ids or []) if i.strip()]
        if not ids:
            return {"ok": False, "message": "Choose one or more articles to remove.", "removed": [], "errors": []}
        known = {a.id for a in self.assistant.articles()}
        errors = [f"{i}: no article with this id" for i in ids if i not in known]
        todo = [i for i in ids if i in known]
        if not todo:
            return {"ok": False, "message": "Nothing was removed.", "removed": [], "errors": errors}
        with self._ingest_lock:
            try:
                report = self.assistant.remove(todo)
            except AssistantError as exc:
                return {"ok": False, "message": "Nothing was removed.", "removed": [], "errors": [*errors, str(exc)]}
        removed = list(report.removed or todo)
        n = len(removed)
        return {
            "ok": True,
            "message": f"Removed {n} article{'s' if n != 1 else ''}; add the file again to bring it back.",
            "removed": removed,
            "errors": errors,
        }

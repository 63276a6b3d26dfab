"""The conversation: one exchange at a time, the chat's messages, the sources panel and the export.

A conversation is a list of turns ``{"question": str, "answer": Answer.to_dict()}`` (or
``{"question", "error"}``). Follow-ups are asked with the earlier *questions* as history, exactly as a
client of the API would: the words of earlier answers (often long sentences, or "Not found") do not
steer the search.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import AssistantError
from ..records import Answer
from . import render

MAX_HISTORY_MESSAGES = 24  # the conversation looks back a few exchanges; older turns are not sent
MAX_TURNS = 50  # exchanges kept in the browser (the conversation survives a reload)
MAX_SOURCE_GROUPS = 10  # answers whose passages the sources panel shows (newest first)


class ConversationActions:
    """The conversation half of :class:`~assistant.chat.service.ChatApp` (needs ``assistant`` and ``_export_dir``)."""

    assistant: Any
    _export_dir: Path

    def _cited_articles(self, answer) -> dict:
        return {aid: self.assistant.article(aid) for aid in dict.fromkeys(c.article_id for c in answer.citations)}

    def ask(self, question: str, history: list | None = None) -> dict[str, Any]:
        """Answer ``question`` (with earlier turns in ``history``) → ``Answer.to_dict()``."""
        return self.assistant.ask(question, history=_recent(history)).to_dict()

    # --- the conversation ------------------------------------------------------------------
    @staticmethod
    def history_of(turns: list | None) -> list[str]:
        """The earlier questions of a conversation (what a follow-up is asked with)."""
        qs = [str(t.get("question", "")) for t in _turns(turns) if "answer" in t]
        return qs[-(MAX_HISTORY_MESSAGES // 2) :]

    def answer_turn(self, question: str, turns: list | None) -> dict[str, Any]:
        """One exchange: ``{"question", "answer"}`` or ``{"question", "error"}`` when it cannot be asked."""
        try:
            answer = self.assistant.ask(question, history=self.history_of(turns) or None)
        except AssistantError as exc:  # an empty question, an unreadable index: say so in the chat
            return {"question": question, "error": str(exc)}
        return {"question": answer.question, "answer": answer.to_dict()}

    def respond(self, question: str, chat: list, turns: list) -> tuple[str, list, list, str]:
        """One chat turn in one step: (textbox, chat messages, turns, sources panel)."""
        if not (question or "").strip():
            return "", list(chat or []), _turns(turns), self._keep()
        turns = [*_turns(turns), self.answer_turn(question, turns)][-MAX_TURNS:]
        return "", self.chat_messages(turns), turns, self.sources(turns)

    def chat_messages(self, turns: list | None, pending: str | None = None) -> list[dict[str, str]]:
        """The chat as messages (re-rendered from the turns; ``pending`` adds a question being answered)."""
        out: list[dict[str, str]] = []
        for n, turn in enumerate(_turns(turns)):
            out.append({"role": "user", "content": render.user_html(turn["question"])})
            if "answer" in turn:
                answer = _answer(turn)
                html = render.answer_html(answer, self._cited_articles(answer), turn=n)
            else:
                html = render.notice_html(turn.get("error", ""))
            out.append({"role": "assistant", "content": html})
        if pending is not None:
            out += [
                {"role": "user", "content": render.user_html(pending)},
                {"role": "assistant", "content": render.pending_html()},
            ]
        return out

    def sources(self, turns: list | None) -> str:
        """The sources panel: the passages of every answer, grouped, newest first."""
        entries = []
        for n, turn in reversed(list(enumerate(_turns(turns)))):
            if len(entries) >= MAX_SOURCE_GROUPS:
                break
            if "answer" in turn:
                answer = _answer(turn)
                entries.append((n, answer, self._cited_articles(answer)))
        return render.sources_panel_html(entries)

    def export(self, turns: list | None) -> str | None:
        """The conversation as a Markdown file (path), or None when there is nothing to export."""
        turns = _turns(turns)
        if not turns:
            return None
        entries = [(t["question"], _answer(t) if "answer" in t else None, t.get("error", "")) for t in turns]
        path = self._export_dir / f"conversation-{time.strftime('%Y%m%d-%H%M%S')}-{len(turns)}.md"
        path.write_text(render.conversation_markdown(entries), encoding="utf-8")
        return str(path)

    @staticmethod
    def _keep():
        import gradio as gr

        return gr.skip()


def _turns(turns: object) -> list[dict[str, Any]]:
    """The well-formed turns of a stored conversation (anything else in browser storage is dropped)."""
    if not isinstance(turns, list):
        return []
    out = []
    for t in turns[-MAX_TURNS:]:
        if not isinstance(t, dict) or not isinstance(t.get("question"), str) or len(t["question"]) > 20_000:
            continue
        if isinstance(t.get("error"), str) and "answer" not in t:
            out.append(t)
        elif isinstance(t.get("answer"), dict) and _readable(t["answer"]):
            out.append(t)
    return out


def _readable(answer: dict) -> bool:
    """A stored answer that renders: the fields it needs have the types they must have."""
    try:
        a = Answer.from_dict(answer)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return False
    return len(a.citations) <= 20 and all(
        isinstance(c.start, int)
        and isinstance(c.end, int)
        and isinstance(c.quote, str)
        and isinstance(c.score, (int, float))
        for c in a.citations
    )


def _answer(turn: dict[str, Any]) -> Answer:
    return Answer.from_dict(turn["answer"])


def _recent(history: object) -> list | None:
    """The last messages of a conversation (bounded, whatever a client sends); a malformed one is refused.

    Each item is an earlier question (str) or a message ``{"role": "user"|"assistant", "content": str |
    [{"type": "text", "text": str}, ...]}``.
    """
    if history is None or history == []:
        return None
    if not isinstance(history, list):
        raise AssistantError("history must be a list of earlier questions or messages")
    recent = history[-MAX_HISTORY_MESSAGES:]
    for n, item in enumerate(recent, len(history) - len(recent) + 1):
        if isinstance(item, str):
            continue
        ok = isinstance(item, dict) and item.get("role") in {"user", "assistant", "system"}
        content = item.get("content") if isinstance(item, dict) else None
        if ok and not isinstance(content, str):
            ok = isinstance(content, list) and all(
                isinstance(part, dict) and isinstance(part.get("text", ""), str) for part in content
            )
        if not ok:
            raise AssistantError(
                f"history item {n} must be a question (a string) or a message "
                '{"role": "user" or "assistant", "content": "..."}'
            )
    return recent

"""Conversation history: normalise the accepted forms and build the query a follow-up searches.

``history`` may be a list of earlier user questions (str) or Gradio-style messages
(``{"role": "user"|"assistant", "content": str | [{"type": "text", "text": ...}]}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .terms import STOPWORDS, words

_FOLLOW_UP = re.compile(
    r"^\s*(?:and|but|also|so|what about|how about|and what about|what of|then)\b"
    r"|\b(?:he|him|his|she|her|hers|it|its|they|them|their|theirs|this|that|these|those|there|the same)\b",
    re.I,
)


@dataclass
class Turn:
    """One message of a conversation."""

    role: str
    text: str


@dataclass
class Conversation:
    """A normalised history: a list of turns, oldest first."""

    turns: list[Turn] = field(default_factory=list)

    @property
    def user_questions(self) -> list[str]:
        return [t.text for t in self.turns if t.role == "user"]


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, Iterable):
        return " ".join(_content_text(c) for c in content)
    return ""


def normalise_history(history: object) -> Conversation:
    """Accept None, a list of str (user questions), or Gradio messages; return a Conversation."""
    if not history:
        return Conversation()
    if isinstance(history, str):
        history = [history]
    turns: list[Turn] = []
    for item in history:  # type: ignore[union-attr]
        if isinstance(item, str):
            turns.append(Turn("user", item))
        elif isinstance(item, dict):
            role = str(item.get("role") or "user")
            text = _content_text(item.get("content"))
            if text.strip():
                turns.append(Turn("assistant" if role in {"assistant", "bot"} else "user", text))
        elif isinstance(item, (list, tuple)) and len(item) == 2:  # legacy (user, bot) pairs
            if item[0]:
                turns.append(Turn("user", _content_text(item[0])))
            if item[1]:
                turns.append(Turn("assistant", _content_text(item[1])))
        else:
            raise TypeError(
                "history must be a list of questions (str) or of messages like {'role': 'user', 'content': '...'}"
            )
    return Conversation(turns)


def is_follow_up(question: str) -> bool:
    """True when the question leans on earlier turns (pronouns, "what about X?", no content words)."""
    content = [w for w in words(question) if w not in STOPWORDS]
    return bool(_FOLLOW_UP.search(question)) or len(content) <= 1


def search_query(question: str, conversation: Conversation) -> str:
    """The text retrieval should search for ``question`` given the conversation so far."""
    if not conversation.turns or not is_follow_up(question):
        return question
    previous = conversation.user_questions[-1:] or [conversation.turns[-1].text]
    return f"{question} {previous[-1]}"

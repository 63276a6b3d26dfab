"""A conversational Q&A assistant grounded in a collection of articles.

Every answer is a verbatim passage of the articles with a checkable citation::

    from assistant import ask
    ans = ask("Which states recognize Abkhazia?")
    print(ans.text, ans.citations[0].quote)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported on first use (below): `assistant` on the command line starts light
    from .core import NOT_FOUND, Assistant, ask, default_assistant
    from .errors import AssistantError
    from .records import Answer, Article, Chunk, Citation, Sentence
    from .settings import Settings

_HOME = {
    "NOT_FOUND": "core",
    "Assistant": "core",
    "ask": "core",
    "default_assistant": "core",
    "AssistantError": "errors",
    "Answer": "records",
    "Article": "records",
    "Chunk": "records",
    "Citation": "records",
    "Sentence": "records",
    "Settings": "settings",
}

__all__ = [
    "Answer",
    "Article",
    "Assistant",
    "AssistantError",
    "Chunk",
    "Citation",
    "NOT_FOUND",
    "Sentence",
    "Settings",
    "ask",
    "default_assistant",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """The public names, imported from their modules when first used (so that the command line,
    which imports ``assistant.cli``, can report a Ctrl-C during its imports in one line)."""
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))

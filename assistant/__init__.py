"""A conversational Q&A assistant grounded in a collection of articles.

Every answer is a verbatim passage of the articles with a checkable citation::

    from assistant import ask
    ans = ask("Which states recognize Abkhazia?")
    print(ans.text, ans.citations[0].quote)
"""

from .core import NOT_FOUND, Assistant, ask, default_assistant
from .errors import AssistantError
from .records import Answer, Article, Chunk, Citation, Sentence
from .settings import Settings

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

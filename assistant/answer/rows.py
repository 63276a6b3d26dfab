"""Answers from table rows: the row that names what the question names, the cell of the column it asks.

Tables are stored one row a line, ``Header: cell | Header: cell`` (:mod:`assistant.ingest.tables`). Rows
of one table read alike, so the sentence model and the reader may pick a neighbouring row ("Where is
Assam tea grown?" → the Sencha row's "Japan"). A row is a record: the answer comes from the row whose
cells hold the question's words (Assam), from the cell whose column name shares the question's words
(Grown in) and whose value the question does not already give.

Example::

    from assistant.answer.rows import cell_answer
    row = "Tea: Assam | Price per tin: 7 euros | Grown in: India"
    cell_answer("Where is Assam tea grown?", row)   # (48, 53): "India"
"""

from __future__ import annotations

import re

from ..ingest.tables import CELL_SEP
from ..terms import content_terms

#: A row line: two or more ``Header: value`` cells (a header of at most 60 characters, no colon or bar).
ROW = re.compile(r"^[^|:\n]{1,60}: [^|\n]*(?: \| [^|:\n]{1,60}: [^|\n]*)+$")


def is_row(text: str) -> bool:
    return bool(ROW.match(text.strip()))


def cells(text: str) -> list[tuple[str, int, int]]:
    """``(header, start, end)`` of each cell's value, offsets into ``text``."""
    out, at = [], 0
    for part in text.split(CELL_SEP):
        head, sep, _ = part.partition(": ")
        if sep:
            start = at + len(head) + 2
            end = at + len(part.rstrip())
            if end > start:
                out.append((head.strip(), start, end))
        at += len(part) + len(CELL_SEP)
    return out


def named_in(question_terms: set[str], text: str) -> int:
    """How many of the question's words are in the row's values (not its column names)."""
    found: set[str] = set()
    for _, a, b in cells(text):
        found |= set(content_terms(text[a:b])) & question_terms
    return len(found)


def cell_answer(question: str, text: str) -> tuple[int, int] | None:
    """The value of the column the question asks about: its name shares the most of the question's
    words, and the question does not already give its value; None when no column name is asked."""
    q = set(content_terms(question))
    best, best_score = None, 0
    for head, a, b in cells(text):
        if set(content_terms(text[a:b])) & q:
            continue  # what the question names, not what it asks
        score = len(set(content_terms(head)) & q)
        if score > best_score:
            best, best_score = (a, b), score
    return best


def pick_row(question: str, cands: list) -> tuple[object, tuple[int, int] | None] | None:
    """When the best candidate is a table row: the candidate row (of the same article) whose values
    name the most of the question's words (ties: the better scored), and the cell asked for;
    None when the best candidate is not a row or no row names anything the question does."""
    if not cands or not is_row(cands[0].sentence.text):
        return None
    q = set(content_terms(question))
    article = cands[0].sentence.article_id
    rows = [c for c in cands[:30] if c.sentence.article_id == article and is_row(c.sentence.text)]
    scored = [(named_in(q, c.sentence.text), -i, c) for i, c in enumerate(rows)]
    n, _, row = max(scored, key=lambda x: (x[0], x[1]))
    if n == 0:
        return None
    return row, cell_answer(question, row.sentence.text)


__all__ = ["ROW", "cell_answer", "cells", "is_row", "named_in", "pick_row"]

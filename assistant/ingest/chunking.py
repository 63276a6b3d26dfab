"""Sentence-aware chunking with a word-piece budget and a small sentence overlap.

Example::

    from assistant.ingest.chunking import chunk_sentences
    from assistant.ingest.segment import split_sentences
    text = "One. Two. Three."
    chunks = chunk_sentences(text, split_sentences(text), max_tokens=3, overlap=1)
    assert all(text[a:b] for a, b in chunks)
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _piece_tokens(w: str) -> int:
    n = 1 if len(w) <= 6 or not w.isascii() else 1 + (len(w) - 1) // 6
    if not w.isascii():
        n += len(w) // 3
    return n


def estimate_tokens(text: str) -> int:
    """Word pieces a BERT-style tokenizer makes of ``text`` (a fast, slightly high estimate)."""
    return sum(_piece_tokens(m.group()) for m in _PIECE.finditer(text))


_CLAUSE = frozenset(";:")
#: A clause boundary ends a piece of an over-long sentence once it holds this many word pieces.
MIN_CLAUSE_TOKENS = 8
_COMMA = frozenset(",")


def split_long(
    text: str, start: int, end: int, max_tokens: int, min_clause: int = MIN_CLAUSE_TOKENS
) -> list[tuple[int, int]]:
    """Cut an over-long sentence ``text[start:end]`` into pieces of at most ``max_tokens``
    word pieces. Each clause ends a piece (after a ``;`` or ``:`` followed by white space, once
    the piece has ``min_clause`` word pieces), so the units are clause-sized like sentences; a
    clause longer than the budget is cut after its last comma, else at white space, and only a
    giant "word" (a URL, base64) between characters.

    Pieces are trimmed, in order, do not overlap, and together hold every non-space character
    of the sentence; ``text[a:b]`` is each piece. Linear in the sentence's length: a comma cut
    keeps at least a quarter of the budget, so little is scanned twice (a 50 MB line is split
    without a list of its words).
    """
    max_tokens = max(int(max_tokens), 1)
    pieces: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        tokens = 0
        clause = comma = space = None  # (cut position, tokens before it)
        prev_end = pos
        cut = None
        for m in _PIECE.finditer(text, pos, end):
            w = m.group()
            t = _piece_tokens(w)
            if m.start() > prev_end and prev_end > pos:
                space = prev_end  # white space between the previous piece and this one
            if tokens + t > max_tokens:
                floor = max_tokens // 4
                if clause and clause[1] >= floor:
                    cut = clause[0]
                elif comma and comma[1] >= floor:
                    cut = comma[0]
                elif space:
                    cut = space
                elif m.start() > pos:
                    cut = m.start()  # adjacent pieces without white space ("a.b.c...")
                else:  # one piece longer than the budget: cut it between characters
                    per = max(1, max_tokens * (6 if w.isascii() else 2))
                    cut = min(m.start() + per, m.end())
                break
            tokens += t
            prev_end = m.end()
            if w in _CLAUSE and tokens >= min_clause and (m.end() == end or text[m.end()].isspace()):
                cut = m.end()  # the clause ends here
                break
            if w in _CLAUSE:
                clause = (m.end(), tokens)
            elif w in _COMMA:
                comma = (m.end(), tokens)
        if cut is None:  # the rest fits
            cut = end
        piece_end = cut
        while piece_end > pos and text[piece_end - 1].isspace():
            piece_end -= 1
        if piece_end > pos:
            pieces.append((pos, piece_end))
        pos = max(cut, pos + 1)
    return pieces or [(start, end)]


def split_long_sentences(
    text: str, sentences: list[tuple[int, int]], max_tokens: int, piece_tokens: int | None = None
) -> list[tuple[int, int]]:
    """``sentences`` with every one longer than ``max_tokens`` word pieces (a chunk's budget) cut by
    :func:`split_long` into pieces of at most ``piece_tokens`` (default two thirds of the budget),
    so that each unit lies whole in a chunk and can be scored, quoted and cited on its own.

    Clause-sized pieces share chunks (with the usual overlap); pieces cut at commas or spaces
    near the limit fill a chunk each, so a huge run-on text is not indexed twice over."""
    piece_tokens = piece_tokens or max(max_tokens * 2 // 3, 1)
    out: list[tuple[int, int]] = []
    for a, b in sentences:
        if b - a > max_tokens and estimate_tokens(text[a:b]) > max_tokens:
            out.extend(split_long(text, a, b, piece_tokens))
        else:
            out.append((a, b))
    return out


def chunk_sentences(
    text: str, sentences: list[tuple[int, int]], max_tokens: int = 200, overlap: int = 1
) -> list[tuple[int, int]]:
    """Group consecutive sentences into chunks of at most ``max_tokens`` word pieces.

    Each chunk after the first repeats up to ``overlap`` trailing sentences of the previous
    chunk (when they fit in half the budget). Returns (start, end) offsets into ``text``.
    """
    units: list[tuple[int, int, int]] = []
    for a, b in sentences:
        t = estimate_tokens(text[a:b])
        if t > max_tokens:
            units.extend((x, y, estimate_tokens(text[x:y])) for x, y in split_long(text, a, b, max_tokens))
        else:
            units.append((a, b, t))
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][2] <= max_tokens):
            total += units[j][2]
            j += 1
        chunks.append((units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        # Step back for overlap, but always make progress.
        back = 0
        tokens_back = 0
        while back < overlap and j - back - 1 > i and tokens_back + units[j - back - 1][2] <= max_tokens // 2:
            tokens_back += units[j - back - 1][2]
            back += 1
        i = j - back
    return chunks

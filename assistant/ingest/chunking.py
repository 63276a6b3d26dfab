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


def estimate_tokens(text: str) -> int:
    """Word pieces a BERT-style tokenizer makes of ``text`` (a fast, slightly high estimate)."""
    n = 0
    for m in _PIECE.finditer(text):
        w = m.group()
        n += 1 if len(w) <= 6 or not w.isascii() else 1 + (len(w) - 1) // 6
        if not w.isascii():
            n += len(w) // 3
    return n


def _split_long(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at white space into pieces within the budget."""
    pieces = []
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    cur_start, cur_tokens = None, 0
    last_end = start
    for a, b in words:
        t = estimate_tokens(text[a:b])
        if cur_start is not None and cur_tokens + t > max_tokens:
            pieces.append((cur_start, last_end))
            cur_start, cur_tokens = None, 0
        if cur_start is None:
            cur_start = a
        cur_tokens += t
        last_end = b
        if t > max_tokens:  # a single giant "word" (e.g. a URL or base64): cut by characters
            pieces.append((cur_start, b))
            cur_start, cur_tokens = None, 0
    if cur_start is not None:
        pieces.append((cur_start, last_end))
    return pieces or [(start, end)]


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
            units.extend((x, y, estimate_tokens(text[x:y])) for x, y in _split_long(text, a, b, max_tokens))
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

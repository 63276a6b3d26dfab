"""Sentence segmentation that keeps character offsets (blingfire inside paragraphs).

Example::

    from assistant.ingest.segment import split_sentences
    text = "Dr. Smith arrived. He spoke."
    assert [text[s:e] for s, e in split_sentences(text)] == ["Dr. Smith arrived.", "He spoke."]
"""

from __future__ import annotations

import re

_PARAGRAPH = re.compile(r"\n\s*\n")
_LINE_BREAK = re.compile(r"\n")


def split_paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of paragraphs separated by blank lines, trimmed of white space."""
    spans = []
    pos = 0
    for m in _PARAGRAPH.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s]


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


#: Paragraphs longer than this are segmented a window at a time: blingfire allocates about 16
#: bytes of buffers per input character, so a 50 MB line given whole took over 1 GB.
WINDOW_CHARS = 100_000
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*\s")


def _windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut into windows of at most ``WINDOW_CHARS``, each ending after a
    sentence end where the second half of the window has one, else at white space."""
    out = []
    pos = start
    while end - pos > WINDOW_CHARS:
        limit = pos + WINDOW_CHARS
        cut = None
        for m in _SENTENCE_END.finditer(text, pos + WINDOW_CHARS // 2, limit):
            cut = m.end()
        if cut is None:
            space = max(
                text.rfind(" ", pos + WINDOW_CHARS // 2, limit), text.rfind("\n", pos + WINDOW_CHARS // 2, limit)
            )
            cut = space + 1 if space >= 0 else limit
        out.append((pos, cut))
        pos = cut
    out.append((pos, end))
    return out


def _segment_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of one paragraph, as offsets into ``text``."""
    if end - start > WINDOW_CHARS:
        return [s for a, b in _windows(text, start, end) for s in _segment_window(text, a, b)]
    return _segment_window(text, start, end)


def _segment_window(text: str, start: int, end: int) -> list[tuple[int, int]]:
    import blingfire

    block = text[start:end]
    try:
        _, offsets = blingfire.text_to_sentences_and_offsets(block)
    except Exception:  # blingfire rejects some inputs (e.g. lone surrogates): keep the block whole
        offsets = []
    spans: list[tuple[int, int]] = []
    cursor = 0
    for a, b in offsets or []:
        if not (cursor <= a < b <= len(block)):
            spans = []
            break
        spans.append((a, b))
        cursor = b
    if not spans:
        spans = [(0, len(block))]
    # Sentences must tile the paragraph: extend each to the next one's start.
    out = []
    for i, (a, b) in enumerate(spans):
        a = 0 if i == 0 else a
        b = spans[i + 1][0] if i + 1 < len(spans) else len(block)
        trimmed = _trim(block, a, b)
        if trimmed:
            out.append((start + trimmed[0], start + trimmed[1]))
    return out


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence in ``text``: paragraphs and single-line headings
    are hard boundaries; spans are trimmed and ``text[start:end]`` is the sentence."""
    out: list[tuple[int, int]] = []
    for p_start, p_end in split_paragraphs(text):
        # A paragraph of short lines (lists, headings) is split at line breaks too.
        lines = [(p_start + m.start(), p_start + m.end()) for m in re.finditer(r"[^\n]+", text[p_start:p_end])]
        if len(lines) > 1 and all(b - a < 100 or not re.search(r"[.!?]", text[a:b]) for a, b in lines[:-1]):
            blocks = [s for s in (_trim(text, a, b) for a, b in lines) if s]
        else:
            blocks = [(p_start, p_end)]
        for a, b in blocks:
            out.extend(_segment_block(text, a, b))
    return out

"""An article's computed parts, the same in every ingest engine (in-process and Ray): its sentence
and chunk spans, and a chunk's vector pooled from its sentences' vectors. Below both engines:
:mod:`.pipeline` and :mod:`.ray_engine` import it, it imports neither.

Example::

    from assistant.ingest.parts import prepare_text, chunk_vectors
    sentences, chunks = prepare_text(article.text, settings)
    chunk_vecs = chunk_vectors(sentence_vecs, sentences, chunks)
"""

from __future__ import annotations

import numpy as np

from ..records import Article
from ..settings import Settings
from .chunking import chunk_sentences, split_long_sentences
from .segment import split_sentences

#: How sentence vectors are made: each sentence encoded on its own (``per-sentence``, the default),
#: or one encoder pass per chunk with each sentence pooled from its tokens (``chunk-pooled-v1``, opt-in).
#: An index keeps the method it was built with.
POOLED = "chunk-pooled-v1"
PER_SENTENCE = "per-sentence"
#: One article's computed parts: (article, sentence spans, chunk spans, sentence vectors, chunk vectors).
Embedded = tuple[Article, list[tuple[int, int]], list[tuple[int, int]], np.ndarray, np.ndarray]


def prepare_text(text: str, settings: Settings) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Sentence and chunk spans of an article's text (what ingest embeds and stores)."""
    # A sentence longer than a chunk is cut at clause boundaries into units that fit: every
    # character of the article lies in some sentence that a chunk holds whole, so it can be cited.
    sentences = split_long_sentences(text, split_sentences(text), settings.chunk_tokens)
    chunks = chunk_sentences(text, sentences, settings.chunk_tokens, settings.chunk_overlap_sentences)
    if len(chunks) > settings.max_article_passages:  # the rest of the text is kept but not indexed
        chunks = chunks[: settings.max_article_passages]
        end = chunks[-1][1]
        sentences = [s for s in sentences if s[1] <= end]
    return sentences, chunks


def chunk_vectors(
    sentence_vecs: np.ndarray, sentences: list[tuple[int, int]], chunks: list[tuple[int, int]]
) -> np.ndarray:
    """A chunk's vector: the length-weighted mean of its sentences' vectors, re-normalised."""
    out = np.zeros((len(chunks), sentence_vecs.shape[1]), dtype=np.float32)
    starts = np.array([s for s, _ in sentences])
    ends = np.array([e for _, e in sentences])
    lengths = (ends - starts).astype(np.float32)
    for i, (a, b) in enumerate(chunks):
        # Sentences are sorted and do not overlap: the ones inside [a, b) are one slice
        # (a boolean mask over all sentences made large articles quadratic).
        lo, hi = int(np.searchsorted(ends, a, side="right")), int(np.searchsorted(starts, b, side="left"))
        if hi <= lo:
            continue
        mask = slice(lo, hi)
        v = (sentence_vecs[mask] * np.sqrt(lengths[mask])[:, None]).sum(0)
        out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out

"""Word-level text processing shared by BM25 and the answerer: tokens, stopwords, stems."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

# bm25s' English list plus question words, which carry no content for matching.
STOPWORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their then there these
    they this to was will with what which who whom whose when where why how do does did done doing has have had
    having i me my we our you your he him his she her its them those am been being were would should could can
    may might must shall about above after again against all any because before below between both during each
    few from further here more most other own same so some than too very just over under until up down out off
    once only s t don now also many much tell please know""".split()
)


def fold(word: str) -> str:
    """Lower case, with the typographic apostrophe of news text as a plain one ("Russia’s" → "russia's")."""
    return word.lower().replace("’", "'")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits; inner apostrophes kept)."""
    return [fold(w) for w in _WORD.findall(text)]


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball English stem of one lower-cased word (possessive 's removed)."""
    if word.endswith("'s"):
        word = word[:-2]
    return _stemmer().stemWord(word)


def content_words(text: str) -> list[str]:
    """Non-stopword tokens of :func:`words`, in order, not stemmed."""
    return [w for w in words(text) if w not in STOPWORDS]


def content_terms(text: str) -> list[str]:
    """Stemmed non-stopword tokens, in order (duplicates kept): what BM25 indexes."""
    return [stem(w) for w in content_words(text)]


def content_terms_batch(texts: list[str]) -> list[list[str]]:
    """:func:`content_terms` for many texts, using the stemmer's batch call."""
    st = _stemmer()
    out = []
    for text in texts:
        toks = [w[:-2] if w.endswith("'s") else w for w in words(text) if w not in STOPWORDS]
        out.append(st.stemWords(toks))
    return out

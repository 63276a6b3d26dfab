"""Sentences and chunks are always verbatim slices of the article text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.ingest.chunking import chunk_sentences, estimate_tokens
from assistant.ingest.segment import split_sentences

_PIECES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    st.sampled_from(list(" \n.!?\"'“”‘’«»…—–-()[]:;,")),
    st.sampled_from(
        [
            "Dr. ",
            "Mr. Smith. ",
            "U.S. ",
            "e.g. ",
            "\n\n",
            "“Quote.” ",
            "3.14 ",
            "Ünïcödé ",
            "日本語。",
            "😀 ",
            "\t",
            "\r\n",
        ]
    ),
)
ODD_TEXT = st.lists(_PIECES, max_size=80).map("".join)


def _check(text: str, max_tokens: int, overlap: int) -> None:
    sentences = split_sentences(text)
    prev_end = 0
    for a, b in sentences:
        assert 0 <= a < b <= len(text)
        assert a >= prev_end  # in order, no overlap
        assert text[a:b] == text[a:b].strip()
        prev_end = b
    # Every non-space character is in some sentence.
    covered = set()
    for a, b in sentences:
        covered.update(range(a, b))
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)
    chunks = chunk_sentences(text, sentences, max_tokens=max_tokens, overlap=overlap)
    for a, b in chunks:
        assert 0 <= a < b <= len(text)
        assert text[a:b].strip()
    if sentences:
        assert chunks[0][0] == sentences[0][0]
        assert chunks[-1][1] == sentences[-1][1]


@settings(max_examples=300, deadline=None)
@given(ODD_TEXT, st.integers(min_value=4, max_value=60), st.integers(min_value=0, max_value=2))
def test_offsets_are_verbatim_on_odd_text(text, max_tokens, overlap):
    _check(text, max_tokens, overlap)


def test_abbreviations_and_quotes_do_not_split_sentences():
    text = 'Dr. Smith met Mr. Jones in the U.S. on Monday. "It went well," he said. Then they left.'
    sents = [text[a:b] for a, b in split_sentences(text)]
    assert sents[0] == "Dr. Smith met Mr. Jones in the U.S. on Monday."
    assert len(sents) == 3


def test_chunks_respect_the_budget_and_overlap():
    text = " ".join(f"Sentence number {i} says something rather ordinary about topic {i}." for i in range(60))
    sentences = split_sentences(text)
    chunks = chunk_sentences(text, sentences, max_tokens=60, overlap=1)
    assert len(chunks) > 5
    for a, b in chunks:
        assert estimate_tokens(text[a:b]) <= 60
    # consecutive chunks share one sentence
    assert chunks[1][0] < chunks[0][1]


def test_a_giant_sentence_is_cut_at_white_space():
    text = "word " * 1000
    chunks = chunk_sentences(text, split_sentences(text), max_tokens=100, overlap=1)
    assert len(chunks) >= 10
    assert all(text[a:b].split() == ["word"] * len(text[a:b].split()) for a, b in chunks)


def test_estimate_is_at_least_the_real_word_piece_count(embedder):
    tok = embedder.model.tokenizer
    from assistant.ingest.readers import read_paths

    from .conftest import SEEDS

    article = read_paths([SEEDS]).articles[0]
    for a, b in split_sentences(article.text):
        s = article.text[a:b]
        real = len(tok(s, add_special_tokens=False)["input_ids"])
        assert estimate_tokens(s) >= real * 0.9

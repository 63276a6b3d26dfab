"""BM25 on tantivy (assistant/storage/fulltext.py): the tokens ``content_terms`` gives, the ranking of
today's BM25, and the scores of chunks asked for by id (what min-max fusion needs)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.storage.fulltext import FullText, FullTextView, analyzer
from assistant.storage.lexical import Postings, SegmentedLexical
from assistant.terms import content_terms

pytest.importorskip("tantivy")

TEXTS = [
    "Nauru recognized Abkhazia in 2009, after Russia and Nicaragua.",
    "Paris is the capital of France; the Seine runs through it.",
    "Abkhazia's ties with Russia: Russia's troops, Russia's money and Abkhazia's ports.",
    "",
    "The council met on Tuesday to discuss repairs to the harbour road.",
    "O'Brien's boats don't leave the harbour before dawn.",
]


@pytest.fixture
def pair(tmp_path):
    items = [(2 * i + 1, t) for i, t in enumerate(TEXTS)]  # chunk ids are not positions
    FullText.build(items, tmp_path / "lex")
    return FullText.open(tmp_path / "lex"), SegmentedLexical([(Postings.build(items), None)])


def test_tantivy_indexes_the_terms_content_terms_gives():
    for text in TEXTS[:5]:
        assert analyzer().analyze(text) == content_terms(text), text


def test_the_ranking_is_todays_and_scores_of_ids_match_the_search(pair):
    ft, today = pair
    for question in ("Which states recognize Abkhazia?", "harbour road repairs", "Russia Russia troops", "Seine"):
        terms = content_terms(question)
        ids, scores = ft.search_terms(terms, 10)
        want_ids, _ = today.top(today.all_scores(terms), 10)
        assert ids.tolist() == want_ids.tolist(), question
        assert np.all(np.diff(scores) <= 0) and np.all(scores > 0)
        asked = np.array([1001, *ids.tolist()[::-1], 7], np.int64)  # 1001: no such chunk; 7: the empty one
        got = ft.scores_of_terms(terms, asked)
        assert got[0] == 0.0 and got[-1] == 0.0
        assert np.allclose(got[1:-1], scores[::-1])


def test_a_repeated_query_term_counts_again(pair):
    ft, _ = pair
    once = ft.scores_of_terms(["russia", "troop"], np.array([5], np.int64))[0]
    twice = ft.scores_of_terms(["russia", "russia", "troop"], np.array([5], np.int64))[0]
    three = ft.scores_of_terms(["troop"], np.array([5], np.int64))[0]
    assert twice == pytest.approx(once + (once - three), rel=1e-5)


def test_a_word_with_an_apostrophe_is_split_as_tantivy_splits_it(pair):
    ft, _ = pair
    ids, _ = ft.search_terms(content_terms("Where do O'Brien's boats sail?"), 3)
    assert ids.tolist()[0] == 11


def test_the_view_answers_what_hybrid_retrieval_asks(pair):
    ft, today = pair
    view = FullTextView(ft)
    assert len(view) == len(today) == len(TEXTS)
    assert view.all_scores([]) is None and view.top(None, 5)[0].size == 0
    q = view.all_scores(content_terms("Abkhazia Russia"))
    ids, scores = view.top(q, 2)
    assert view.scores_of(ids, q).tolist() == pytest.approx(scores.tolist())
    assert view.idf("abkhazia") == pytest.approx(today.idf("abkhazia"))
    assert view.idf("unseen") > view.idf("abkhazia")

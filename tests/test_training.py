"""The reader's training data (near-miss negatives are the question's own paragraph without its answer)
and the answer model's held-out figures."""

import numpy as np

from assistant.evaluation.datasets import QAItem
from assistant.evaluation.training.train_reader import near_misses

PARAGRAPH = (
    "The Harbour Bridge crosses the estuary between the old town and the docks. "
    "It was designed by the engineer Joseph Strauss, who had built bridges in Chicago. "
    "Construction began in 1933 with steel from Sheffield and a workforce of some 1,400 men. "
    "After four years of work the bridge opened to traffic in May 1937, to a parade of ships."
)


def _item(i: int, answer: str, **kw) -> QAItem:
    return QAItem(f"q{i}", "Who designed the bridge?", "p", [answer], [PARAGRAPH.index(answer)], group="g", **kw)


def test_near_miss_cuts_the_answer_sentence_and_keeps_the_rest():
    texts = {"p": PARAGRAPH}
    out = near_misses(texts, [_item(0, "Joseph Strauss")], share=1.0)
    rest = texts[out["q0"]]
    assert "Strauss" not in rest and "designed" not in rest  # the whole answer sentence is gone
    assert rest.startswith("The Harbour Bridge crosses") and rest.endswith("a parade of ships.")
    assert texts["p"] == PARAGRAPH  # the paragraph itself is untouched


def test_near_misses_skip_unanswerable_repeated_answers_and_respect_the_share():
    texts = {"p": PARAGRAPH}
    items = [
        _item(1, "bridge"),  # the answer is said again in another sentence: not a clean negative
        QAItem("q2", "Who paid for it?", "p", [], [], unanswerable=True, group="g"),
    ]
    assert near_misses(texts, items, share=1.0) == {}
    many = [_item(i, "Joseph Strauss") for i in range(200)]
    picked = near_misses({"p": PARAGRAPH}, many, share=0.2)
    assert 20 < len(picked) < 60  # about a fifth, seeded
    assert picked == near_misses({"p": PARAGRAPH}, many, share=0.2)


def test_swapped_twins_name_something_the_paragraph_never_mentions():
    from assistant.evaluation.training.train_reader import swapped_questions

    texts = {"p": PARAGRAPH, "o": "Gustave Eiffel built a tower in Paris for the fair of 1889."}
    items = [
        QAItem("q1", "When did the Harbour Bridge open?", "p", ["May 1937"], [PARAGRAPH.index("May 1937")], group="g"),
        QAItem("q2", "Who built the tower in Paris?", "o", ["Gustave Eiffel"], [0], group="h"),
        QAItem("q3", "How many men worked from 1933?", "p", ["1,400"], [PARAGRAPH.index("1,400")], group="g"),
    ]
    twins = swapped_questions(texts, items, share=1.0)
    assert twins and all(t.unanswerable and not t.answers for t in twins)
    for t in twins:
        orig = next(it for it in items if it.id == t.id.removesuffix("#sw"))
        assert t.question != orig.question and t.article_id == orig.article_id
        new_words = set(t.question.split()) - set(orig.question.split())
        assert new_words and not any(w.strip("?") in texts[t.article_id] for w in new_words)
    assert twins == swapped_questions(texts, items, share=1.0)  # seeded


def test_best_abstention_at_the_answerable_cap_is_what_some_threshold_reaches():
    from assistant.evaluation.training.train_answerer import best_abstention_at_cap

    answerable = np.array([0.1, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9, 0.95, 0.97, 0.99])
    unanswerable = np.array([0.05, 0.2, 0.3, 0.4, 0.55, 0.65, 0.9, 0.92])
    best = best_abstention_at_cap(answerable, unanswerable, 0.15)
    # Abstaining below 0.5 drops one answerable question (0.10) and four unanswerable ones;
    # any higher threshold also drops 0.5, i.e. 20 % of the answerable ones.
    assert best["abstain_rate_answerable"] <= 0.15
    assert best["abstain_rate_unanswerable"] == 0.5
    t = best["threshold"]
    assert (answerable < t).mean() == best["abstain_rate_answerable"]
    assert (unanswerable < t).mean() == best["abstain_rate_unanswerable"]
    # A confidence that separates perfectly abstains on every unanswerable question.
    assert best_abstention_at_cap(np.array([0.8, 0.9]), np.array([0.1, 0.2]), 0.15)["abstain_rate_unanswerable"] == 1.0

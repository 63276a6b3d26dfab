"""Conversational follow-ups: history forms, dependence detection, what is searched, real answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.search.conversation import (
    FOLLOW_UP,
    NO_HISTORY,
    TOPIC_SWITCH,
    dependence,
    is_follow_up,
    normalise_history,
    plan_query,
)
from assistant.terms import content_terms

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
KARASIN = "Who is Gregory Karasin?"
KARASIN_ANSWER = (
    "Russia’s Deputy Foreign Minister Gregory Karasin admits that Russia-Georgia relations have improved since 2012."
)


# --- history forms ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "history",
    [
        [KARASIN, KARASIN_ANSWER],  # only the first is a question: plain strings are all user turns
        [{"role": "user", "content": KARASIN}, {"role": "assistant", "content": KARASIN_ANSWER}],
        [
            {"role": "user", "content": [{"type": "text", "text": KARASIN}]},
            {"role": "assistant", "content": [{"type": "text", "text": KARASIN_ANSWER}, {"type": "image"}]},
        ],
        [(KARASIN, KARASIN_ANSWER)],
    ],
    ids=["strings", "messages", "message-blocks", "legacy-pairs"],
)
def test_history_forms_are_normalised(history):
    conv = normalise_history(history)
    assert [t.text for t in conv.turns] == [KARASIN, KARASIN_ANSWER]
    roles = [t.role for t in conv.turns]
    if isinstance(history[0], str):
        assert roles == ["user", "user"]
        assert conv.exchanges() == [(KARASIN, ""), (KARASIN_ANSWER, "")]
    else:
        assert roles == ["user", "assistant"]
        assert conv.exchanges() == [(KARASIN, KARASIN_ANSWER)]


def test_empty_and_invalid_histories():
    assert normalise_history(None).turns == []
    assert normalise_history([]).turns == []
    assert normalise_history([{"role": "user", "content": "  "}]).turns == []
    with pytest.raises(TypeError, match="history"):
        normalise_history([42])


# --- does a turn lean on earlier ones? -------------------------------------------------------
@pytest.mark.parametrize(
    "question",
    [
        "Which outlet did he talk to?",
        "What about visas?",
        "And when?",
        "Why?",
        "yes",
        "No, I'm not.",
        "What is his job?",
        "How about Nauru?",
        "What did they say about that?",
        "And the year?",
    ],
)
def test_follow_ups_are_detected(question):
    assert is_follow_up(question), dependence(question)


@pytest.mark.parametrize(
    "question",
    [
        "Which states recognize Abkhazia?",
        KARASIN,
        "When did the Russia-Georgia August War take place?",
        "What did the Georgian Dream government restore with Russia in 2012?",
        "Which book did Tolkien write after The Hobbit?",
    ],
)
def test_standalone_questions_are_not_follow_ups(question):
    assert not is_follow_up(question), dependence(question)


# --- what is searched -------------------------------------------------------------------------
def test_topic_switch_leaves_the_query_unchanged():
    question = "Which states recognize Abkhazia?"
    history = normalise_history(["What is the boiling point of water?", {"role": "assistant", "content": "100 °C."}])
    plan = plan_query(question, history)
    assert plan.mode == TOPIC_SWITCH
    assert plan.text == question
    assert plan.terms == content_terms(question)
    assert plan.weight == 0
    assert plan_query(question, normalise_history(None)).mode == NO_HISTORY


def test_follow_up_borrows_names_from_earlier_questions():
    plan = plan_query("Which outlet did he talk to?", normalise_history([KARASIN]))
    assert plan.mode == FOLLOW_UP
    assert "Karasin" in plan.text
    assert plan.resolved == "Which outlet did Gregory Karasin talk to?"
    assert "karasin" in plan.terms


def test_a_sentence_opening_with_a_typographic_contraction_names_no_one():
    """ "It’s" (curly apostrophe, as news text writes it) is not a name a pronoun could stand for."""
    history = [
        {"role": "user", "content": "Who said that reviewing the recognition is impossible today?"},
        {
            "role": "assistant",
            "content": "It’s impossible today, it’s a new regional reality,” Karasin told Sputnik Belarus.",
        },
    ]
    plan = plan_query("Why does he think so?", normalise_history(history))
    assert plan.resolved == "Why does Karasin think so?"


def test_follow_up_borrows_from_earlier_answers():
    history = [
        {"role": "user", "content": "Who is Russia's deputy foreign minister?"},
        {"role": "assistant", "content": KARASIN_ANSWER},
    ]
    plan = plan_query("What did he say about visas?", normalise_history(history))
    assert "Karasin" in plan.text  # only the answer names him
    assert "karasin" in plan.terms


def test_the_question_weighs_more_than_what_it_borrows():
    plan = plan_query("What about visas?", normalise_history(["Which ties have Russia and Georgia restored?"]))
    own = plan.terms.count("visa")
    borrowed = {t: plan.terms.count(t) for t in ("russia", "georgia", "tie", "restor")}
    assert borrowed and all(0 < n < own for n in borrowed.values()), (own, borrowed)


def test_a_new_topic_replaces_the_old_one():
    history = normalise_history([KARASIN, "How are sourdough loaves baked in Paris bakeries?"])
    plan = plan_query("How long does it take?", history)
    assert plan.mode == FOLLOW_UP
    assert "sourdough" in plan.text.lower()
    assert "Karasin" not in plan.text


# --- real follow-ups on the seed article --------------------------------------------------------
def _same(a, b):
    return (a.text, a.abstained, [(c.article_id, c.start) for c in a.citations]) == (
        b.text,
        b.abstained,
        [(c.article_id, c.start) for c in b.citations],
    )


def test_unrelated_history_does_not_change_a_standalone_answer(seeds_assistant):
    question = "Which states recognize Abkhazia?"
    alone = seeds_assistant.ask(question)
    after = seeds_assistant.ask(
        question,
        history=[
            {"role": "user", "content": "What is the boiling point of water?"},
            {"role": "assistant", "content": "I couldn't find this in the articles."},
        ],
    )
    assert after.search_query == question
    assert _same(alone, after)


def test_a_standalone_question_stays_standalone_after_a_related_one(seeds_assistant):
    """Asked after "What is Russia doing on Georgian land?", a whole question that names its own subject is
    searched and answered exactly as when asked fresh (it used to borrow "Russia land" and answer Karasin)."""
    question = "Who is the president of Georgia?"
    after = seeds_assistant.ask(
        question,
        history=[
            {"role": "user", "content": "What is Russia doing on Georgian land?"},
            {"role": "assistant", "content": "Russia occupies Georgian territories."},
        ],
    )
    assert after.search_query == question
    assert _same(seeds_assistant.ask(question), after)
    assert after.abstained  # the article never says who Georgia's president is


def test_pronoun_follow_up_is_answered_from_the_earlier_question(seeds_assistant):
    ans = seeds_assistant.ask("What is his job?", history=[KARASIN])
    assert not ans.abstained
    assert "Deputy Foreign Minister" in ans.text
    assert ans.search_query.startswith("What is Gregory Karasin's job?")


def test_ellipsis_follow_up_cites_the_visa_sentence(seeds_assistant):
    history = [
        {"role": "user", "content": "Which ties have Russia and Georgia restored?"},
        {
            "role": "assistant",
            "content": "“We are pleased we have restored our humanitarian, transport and trade ties,”",
        },
    ]
    ans = seeds_assistant.ask("What about visas?", history=history)
    assert not ans.abstained
    assert "visas for Georgian citizens" in ans.text
    assert "visas for Georgian citizens" in ans.citations[0].quote
    assert "Russia" in ans.search_query


# --- benchmarks ---------------------------------------------------------------------------------
@pytest.mark.skipif(not (DATA / "doc2dial").exists(), reason="public datasets not present")
def test_doc2dial_bench_smoke(embedder, tmp_path):
    from assistant.evaluation.bench_doc2dial import run_doc2dial

    r = run_doc2dial(DATA, limit=4, modes=("hybrid",), sections=2, embedder=embedder, cache=tmp_path, progress=False)
    assert r["turns"] == 4
    for key in ("hybrid/history", "hybrid/question"):
        assert 0 <= r["results"][key]["hit@1"] <= r["results"][key]["hit@5"] <= 1
    for key in ("answer/history", "answer/question"):
        assert set(r["results"][key]) >= {"answer_in_text", "answer_within_gold", "abstained"}


@pytest.mark.skipif(not (DATA / "squad-v1.1").exists(), reason="public datasets not present")
def test_topic_switch_history_comes_from_another_article():
    import random

    from assistant.evaluation.bench_doc2dial import unrelated_history
    from assistant.evaluation.datasets import load_squad

    articles, items = load_squad(DATA / "squad-v1.1" / "dev-tune.json")
    by_id = {a.id: a for a in articles}
    item = items[0]
    history = unrelated_history(items, by_id, item, random.Random(0))
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    asked = {m["content"] for m in history[::2]}
    other = {q.question: q for q in items if q.question in asked}
    assert other and all(q.group != item.group for q in other.values())
    for q, a in zip(history[::2], history[1::2]):
        assert other[q["content"]].answers[0] in a["content"]


def test_a_not_found_reply_lends_no_words_to_the_follow_up(seeds_assistant):
    from assistant.core import NOT_FOUND

    history = [
        {"role": "user", "content": "Which ties have Russia and Georgia restored?"},
        {"role": "assistant", "content": NOT_FOUND},
    ]
    ans = seeds_assistant.ask("What about visas?", history=history)
    assert "Russia" in ans.search_query
    assert "articles" not in ans.search_query and "find" not in ans.search_query


def test_the_reader_reads_the_resolved_or_the_joined_question():
    resolved = plan_query("Who did he speak to?", normalise_history(["Who is Gregory Karasin?"]))
    assert resolved.reader_text == "Who did Gregory Karasin speak to?"
    elliptic = plan_query("And when?", normalise_history(["Which government replaced the United National Movement?"]))
    assert elliptic.reader_text == "Which government replaced the United National Movement? And when?"
    own_words = plan_query("What about visas?", normalise_history(["Which ties have Russia and Georgia restored?"]))
    assert own_words.reader_text == "What about visas?"
    alone = plan_query("Which states recognize Abkhazia?", None)
    assert alone.reader_text == "Which states recognize Abkhazia?"


def test_the_answerer_compares_sentences_with_what_a_follow_up_borrowed():
    def encode(text: str) -> np.ndarray:  # a stand-in encoder: which text was encoded is what counts
        return np.array([len(text)], dtype=np.float32)

    elliptic = plan_query(
        "What else is it putting up?", normalise_history(["Is Russia building fences on Georgian land?"])
    )
    assert "fences" in elliptic.text
    assert elliptic.answer_vector(encode)[0] == len(elliptic.text)
    # A pronoun replaced by a name: the question as asked (the name would pull towards the introduction).
    named = plan_query("What did he say about visas?", normalise_history(["Who is Gregory Karasin?"]))
    assert named.resolved == "What did Gregory Karasin say about visas?"
    assert named.answer_vector(encode)[0] == len("What did he say about visas?")
    alone = plan_query("Which states recognize Abkhazia?", None)
    assert alone.answer_vector(encode)[0] == len("Which states recognize Abkhazia?")


def test_an_it_that_names_nothing_in_the_question_is_a_follow_up():
    history = normalise_history(["Who invented the mouse adapter for people with shaky hands?"])
    plan = plan_query("Which company is going to make it?", history)
    assert plan.mode == "follow-up"
    assert "mouse" in plan.text.lower()
    assert plan_query("How long did it take to build the bridge?", history).mode != "follow-up"

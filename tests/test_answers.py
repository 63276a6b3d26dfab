"""Answers on the shipped seed article: verbatim, cited by offsets, abstaining when unsupported."""

import pytest

from assistant import NOT_FOUND
from assistant.errors import EmptyQuestionError

from .conftest import SEED_ID


def _check_citations(assistant, ans):
    for c in ans.citations:
        text = assistant.article(c.article_id).text
        assert text[c.start : c.end] == c.quote
        assert 0.0 <= c.score <= 1.0
    assert 0.0 <= ans.confidence <= 1.0
    if not ans.abstained:
        assert any(ans.text in c.quote for c in ans.citations)


def test_list_question_returns_the_sentence_with_the_whole_list(seeds_assistant):
    ans = seeds_assistant.ask("Which states recognize Abkhazia?")
    assert not ans.abstained
    for name in ("Russia", "Nicaragua", "Nauru"):
        assert name in ans.text
    c = ans.citations[0]
    assert c.article_id == SEED_ID
    assert c.title == "Russia will not withdraw its recognition of Georgia’s de-facto regions"
    assert c.date == "Wednesday, November 23"
    assert ans.span_text == "Russia, Nicaragua and Nauru"
    _check_citations(seeds_assistant, ans)


def test_who_question(seeds_assistant):
    ans = seeds_assistant.ask("Who is Gregory Karasin?")
    assert not ans.abstained
    assert "Deputy Foreign Minister" in ans.text
    assert "Deputy Foreign Minister" in ans.span_text
    _check_citations(seeds_assistant, ans)


def test_off_topic_question_abstains_but_shows_closest_passages(seeds_assistant):
    ans = seeds_assistant.ask("What is the capital of France?")
    assert ans.abstained
    assert ans.text == NOT_FOUND
    assert ans.citations  # the closest passages, for the user to look at
    assert ans.confidence < 0.5
    _check_citations(seeds_assistant, ans)


def test_history_forms_are_accepted(seeds_assistant):
    plain = seeds_assistant.ask("Which outlet did he talk to?", history=["Who is Gregory Karasin?"])
    messages = seeds_assistant.ask(
        "Which outlet did he talk to?",
        history=[
            {"role": "user", "content": "Who is Gregory Karasin?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Russia’s Deputy Foreign Minister ..."}]},
        ],
    )
    for ans in (plain, messages):
        assert "Karasin" in ans.search_query
        _check_citations(seeds_assistant, ans)


@pytest.mark.parametrize("question", ["", "   ", "?!...", "\x00\x01"])
def test_empty_questions_are_refused_clearly(seeds_assistant, question):
    with pytest.raises(EmptyQuestionError, match="question"):
        seeds_assistant.ask(question)


def test_very_long_question_is_truncated_with_a_note(seeds_assistant):
    ans = seeds_assistant.ask("Which states recognize Abkhazia? " * 5000)
    assert any("truncated" in n for n in ans.notes)


def test_list_of_common_words_is_an_answer_span(seeds_assistant):
    ans = seeds_assistant.ask("Which ties did Karasin say were restored?")
    assert not ans.abstained
    assert ans.text.startswith("“We are pleased we have restored")
    assert "humanitarian, transport and trade" in ans.text
    _check_citations(seeds_assistant, ans)


def test_how_many_question_without_a_number_in_the_article_abstains(seeds_assistant):
    # The visas sentence matches every content word, but gives no number.
    ans = seeds_assistant.ask("How many visas has Russia issued to Georgian citizens?")
    assert ans.abstained
    assert any("visas" in c.quote for c in ans.citations)  # still shown as the closest passage

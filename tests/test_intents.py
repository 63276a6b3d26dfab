"""Question kinds, story descriptors and speakers, by rules (assistant/answer/intents.py, assistant/ingest/quotes.py)."""

from __future__ import annotations

import pytest

from assistant.answer.intents import classify, speaker_name, split_story
from assistant.answer.typecheck import COUNT, MONEY, NAME, fits, fitting_span, wanted
from assistant.ingest.quotes import attribute, same_person


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Summarise the story about the harbour bridge", "summary"),
        ("Give me the gist of the report on the ferry strike", "summary"),
        ("What's the story about the ferry strike?", "summary"),
        ("What is the ferry strike story about?", "summary"),
        ("What's happening with the ferry strike in Velmora?", "summary"),
        ("Which articles mention Nauru?", "articles"),
        ("Which stories talk about Tony Blair?", "articles"),
        ("What did Arsene Wenger say about the size of the fine?", "quote"),
        ("Who said the fine was too small?", "quote"),
        ("What was Wenger's reaction to the fine?", "quote"),
        ("What does the article on the bridge say about the budget?", "topic"),
        ("What does the harbour bridge story say about the budget?", "topic"),
        ("Tell me about visas", "topic"),
        ("What happened in 2012?", "topic"),
        ("Why did the committee stop short of suspending him?", "why"),
        ("How did the strike end?", "why"),
        ("How did the ferry company respond?", "quote"),
        ("Did the US fund the ink?", "yesno"),
        ("Has Seattle threatened to knock down the house?", "yesno"),
        ("How much will the console cost in the UK?", "factoid"),
        ("Who is Gregory Karasin?", "factoid"),
        ("When will it go on sale?", "factoid"),
    ],
)
def test_question_kinds(question, kind):
    assert classify(question).kind == kind


@pytest.mark.parametrize(
    "question, rest, story",
    [
        (
            "According to the story about Delta's blogging attendant, how much was she paid?",
            "How much was she paid?",
            "Delta's blogging attendant",
        ),
        ("In the report on the DS launch, when will it go on sale?", "When will it go on sale?", "DS launch"),
        ("In the feta row, who said the label is clear?", "Who said the label is clear?", "feta row"),
        ("How much will it cost, according to the Nintendo story?", "How much will it cost?", "Nintendo"),
        ("How much will the console cost?", "How much will the console cost?", ""),
    ],
)
def test_a_story_descriptor_is_cut_out_of_the_question(question, rest, story):
    assert split_story(question) == (rest, story)


def test_the_parts_of_a_quote_and_a_topic_question():
    q = classify("What did Mike Hobday of the League Against Cruel Sports say hunts should do?")
    assert (q.speaker, q.about) == ("Mike Hobday", "hunts should do")
    t = classify("What does the article on Kyrgyz elections say about the US government?")
    assert (t.story, t.about) == ("Kyrgyz elections", "US government")
    assert classify("Summarise the story about the Kyrgyz election ink").story == "Kyrgyz election ink"
    assert classify("Which stories mention the US network NBC?").about == "US network NBC"


@pytest.mark.parametrize(
    "phrase, name",
    [
        ("commuter Jose Lopez", "Jose Lopez"),
        ("Wal-Mart's spokesman", "Wal-Mart"),
        ("Mike Hobday of the League Against Cruel Sports", "Mike Hobday"),
        ("Steve Jobs", "Steve Jobs"),
    ],
)
def test_speaker_names(phrase, name):
    assert speaker_name(phrase) == name


def test_speakers_follow_pronouns_and_long_quotes():
    sentences = [
        "Arsene Wenger was fined £15,000 by the FA on Monday.",
        '"It is far too much for what I said," he said.',
        '"I will not appeal.',
        'But I think the rules are unfair."',
        "The FA declined to comment.",
        'Chief executive Ann Lee told the BBC: "We are happy with the result."',
        "A Wal-Mart spokesman said the store would not pull the CD.",
    ]
    got = attribute(sentences)
    assert [a.speaker for a in got] == [
        None,
        "Arsene Wenger",
        "Arsene Wenger",
        "Arsene Wenger",
        None,
        "Ann Lee",
        "Wal-Mart",
    ]
    assert not got[0].quoted and got[1].quoted
    assert same_person("Wenger", "Arsene Wenger") and same_person("Mr Wenger", "Arsene Wenger")
    assert not same_person("Lee", "Arsene Wenger") and not same_person("Russian leadership", "Russian")


def test_typed_spans():
    assert wanted("How much did Intel spend on the network?") == MONEY
    assert wanted("How many people play the game?") == COUNT
    assert wanted("What is the real name of the gamer?") == NAME
    assert wanted("Why did it fail?") is None
    assert not fits(MONEY, "802.11", "How much did Intel spend?")
    assert fits(MONEY, "$2m (£1.1m)", "How much did Intel spend?")
    assert not fits(COUNT, "0800 028 9276", "How many cables?")
    assert not fits(NAME, "rock group", "What is the name of the girl?")
    assert not fits(None, "-", "Who is he?") and not fits(None, "Mr", "Who is he?")
    s = "The firm said the adapter will cost about £70 when it goes on sale."
    a, b = fitting_span(MONEY, s, "How much will the adapter cost?")
    assert s[a:b] == "£70"


def test_a_person_name_is_not_an_acronym_a_nationality_or_a_phone_number():
    q = "What is the name of the 13-year-old girl whose parents are suing Wal-Mart?"
    assert wanted(q) == NAME
    assert not fits(NAME, "US", q) and not fits(NAME, "Australian gamer", q)
    assert fits(NAME, "Amber Trevin", q)
    s = "Consumers can call 0800 028 9276 in the UK."
    assert not fits(COUNT, "9276", "How many incidents?", s)
    assert fitting_span(NAME, "The parents of a girl are suing US giant Wal-Mart.", q) is None


def test_a_leading_context_clause_is_not_a_story():
    for q in (
        "In the Philippines, what percentage of students attend private schools?",
        "In the mid 18th century, who did?",
    ):
        assert classify(q).story == ""

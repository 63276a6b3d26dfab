"""The focused span names what was asked: designer vs builder, a person vs their title, the one
item asked for (on a short article the reader never trained on)."""

from __future__ import annotations

import pytest

from .conftest import ROOT

ARTICLE = ROOT / "tests" / "fixtures" / "harbor-bridge.md"


@pytest.fixture(scope="module")
def bridge(tmp_path_factory, embedder):
    from assistant import Assistant

    return Assistant.build([ARTICLE], tmp_path_factory.mktemp("bridge") / "index", embedder=embedder)


@pytest.mark.parametrize(
    "question, span",
    [
        ("Who designed the bridge?", "Mira Solberg"),
        ("Who built the bridge?", "Castellan Engineering"),
        ("How much did the bridge cost?", "410 million euros"),
        ("Who is the mayor of Velmora?", "Farrow"),
        ("How many vehicles can the bridge carry a day?", "40,000"),
    ],
)
def test_the_span_is_what_the_question_asks_for(bridge, question, span):
    ans = bridge.ask(question)
    assert not ans.abstained, (question, ans.confidence)
    assert span in ans.span_text and len(ans.span_text) <= len(span) + 25, (question, ans.span_text)


def test_who_is_someone_gives_their_role_not_their_name(bridge):
    ans = bridge.ask("Who is Pavel Hrubý?")
    assert not ans.abstained
    assert "engineer" in ans.span_text.lower() and "Hrubý" not in ans.span_text


def test_header_questions_on_a_markdown_article(bridge):
    assert bridge.ask("Who wrote the article about the Harbor Bridge?").text == "Talia Okonkwo-Reyes"
    assert "2031-03-14" in bridge.ask("When was the article published?").text


@pytest.mark.parametrize(
    "question",
    [
        "Who is the president of Denmark?",
        "How many people live in Velmora?",
        "What is the capital of Velmora?",  # answered from the mayor's sentence until reader stage 2
    ],
)
def test_near_misses_on_the_article_abstain(bridge, question):
    assert bridge.ask(question).abstained, question

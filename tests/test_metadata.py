"""Questions about an article itself (who wrote it, when, which outlet): answered from its header,
cited by the header field and its characters; questions about the text are not taken for them."""

import pytest

from assistant.answer.metadata import field_answer, metadata_field

from .conftest import SEED_ID


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Who wrote the article about Abkhazia?", "author"),
        ("Who is the author of the story?", "author"),
        ("Whose byline is on this piece?", "author"),
        ("When was it published?", "date"),
        ("What is the publication date of the article?", "date"),
        ("Which outlet published the story about Karasin?", "outlet"),
        ("Which newspaper ran this article?", "outlet"),
        ("Who wrote the novel War and Peace?", None),
        ("When did Russia recognize Abkhazia?", None),
        ("Which outlet did Karasin talk to?", None),
        ("When was the treaty published?", None),
    ],
)
def test_questions_about_the_article_are_told_from_questions_about_its_text(question, kind):
    assert metadata_field(question) == kind


def test_outlet_is_read_from_a_staff_byline_or_a_url():
    assert field_answer("outlet", "Messenger Staff", "", "").span == (0, 9)
    fa = field_answer("outlet", "", "", "https://www.example.org/news/1")
    assert fa.field == "source" and fa.quote[fa.span[0] : fa.span[1]] == "example.org"
    assert field_answer("outlet", "Talia Okonkwo-Reyes", "", "notes/a.txt") is None
    assert field_answer("date", "", "", "") is None


def _check_field_citation(assistant, ans, field):
    c = ans.citations[0]
    assert c.field == field
    article = assistant.article(c.article_id)
    assert getattr(article, field)[c.start : c.end] == c.quote
    assert ans.text in c.quote


def test_who_wrote_it_is_answered_from_the_byline(seeds_assistant):
    ans = seeds_assistant.ask("Who wrote the article about Abkhazia?")
    assert not ans.abstained and ans.text == "Messenger Staff"
    assert ans.citations[0].article_id == SEED_ID
    _check_field_citation(seeds_assistant, ans, "author")


def test_when_was_it_published_is_answered_from_the_date(seeds_assistant):
    ans = seeds_assistant.ask("When was it published?", history=["What did Karasin say about visas?"])
    assert not ans.abstained and "November 23" in ans.text
    _check_field_citation(seeds_assistant, ans, "date")


def test_which_outlet_focuses_the_outlet_in_a_staff_byline(seeds_assistant):
    ans = seeds_assistant.ask("Which outlet published the story about Karasin?")
    assert not ans.abstained and ans.span_text == "Messenger"
    _check_field_citation(seeds_assistant, ans, "author")


def test_a_header_question_about_an_article_that_is_not_there_abstains(seeds_assistant):
    ans = seeds_assistant.ask("Who wrote the article about the Harbor Bridge?")
    assert ans.abstained


def test_an_article_without_a_byline_says_so(tmp_path, embedder):
    from assistant import Assistant

    (tmp_path / "a.txt").write_text("The harbor bridge opened in March after four years of work.\n")
    a = Assistant.build([tmp_path / "a.txt"], tmp_path / "index", embedder=embedder)
    ans = a.ask("Who wrote the article about the harbor bridge?")
    assert ans.abstained
    assert any("byline" in n for n in ans.notes)

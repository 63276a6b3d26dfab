"""Answers by intent on a small news archive written for these tests: summaries, what a story says
about a topic, who said what, which articles mention a name, a story named in the question, and
near-misses that abstain. Every answer stays verbatim and cited."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.records import Answer

STORIES = {
    "ferry.txt": """Ferry strike strands thousands in Velmora

A strike by ferry crews in the island state of Velmora has left thousands of travellers stranded at the port of Corran.

The crews walked out on Tuesday demanding a 12% pay rise and protesting against plans to cut night sailings.

The operator, Bluewater Lines, has offered a 4% increase.

"We cannot afford more than that without raising fares," said Bluewater chief executive Marta Quell.

She added that the company had lost money for three years.

"Passengers are being held hostage by a small group," she said.

Union leader Tomas Brandt said the night sailings were essential for island families.

"Without them, people on the outer islands are cut off after dark," Mr Brandt told reporters.

Talks are due to resume on Friday.
""",
    "console.txt": """Handheld console to launch in Europe in March

The Kestrel handheld games console will go on sale in Europe on 11 March, its maker Orrin Games has announced.

The console will cost £99 in the UK, while games for it will be priced between £19 and £29.

Orrin Games said it expected to sell two million units in Europe by the end of the year.

The device has two screens, one of them touch-sensitive, and wireless play for up to 16 people.

Analyst Ruth Calder said the price was "aggressive" and would put pressure on rivals.

A rival handheld from Sarto is due out in Japan later this year.
""",
    "museum.txt": """City museum to reopen after repairs

The Corran city museum will reopen next month after a two-year repair programme costing £8m.

The roof was replaced after storm damage in 2003, and the galleries were rewired.

Curator Ines Vogt said the museum would show a new collection of island maps.

"These maps have never been seen by the public," she said.

Entry will remain free for children.
""",
    "bridge.txt": """Bridge plan approved by council

Councillors in Corran have approved plans for a new road bridge to the outer islands.

The bridge will replace the night ferry sailings, which the council says are too costly to run.

Bluewater Lines said it welcomed the decision.

Construction is expected to start in 2006.
""",
}


@pytest.fixture(scope="module")
def news(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("news-archive")
    for name, text in STORIES.items():
        (folder / name).write_text(text, encoding="utf-8")
    index = tmp_path_factory.mktemp("news-index") / "index"
    return Assistant.build([folder], index, embedder=embedder)


def _verbatim(a: Answer, news: Assistant) -> None:
    """Every sentence of the answer is a citation of the article's own text."""
    assert a.sentences, a
    for c in a.sentences:
        assert news.article(c.article_id).text[c.start : c.end] == c.quote
    assert a.text == " ".join(c.quote for c in a.sentences)
    n = len(a.sentences)  # the citations start with the answer's sentences (strongest first)
    assert {(c.article_id, c.start) for c in a.sentences} == {(c.article_id, c.start) for c in a.citations[:n]}


def test_summary_is_the_story_lead_in_order(news):
    a = news.ask("Summarise the story about the ferry strike")
    assert a.intent == "summary" and not a.abstained
    assert 2 <= len(a.sentences) <= 4
    assert all(c.article_id == "ferry" for c in a.sentences)
    assert a.sentences[0].quote.startswith("A strike by ferry crews")
    assert [c.start for c in a.sentences] == sorted(c.start for c in a.sentences)
    _verbatim(a, news)
    again = Answer.from_dict(a.to_dict())
    assert again.sentences == a.sentences and again.intent == "summary"


def test_what_a_story_says_about_a_topic(news):
    a = news.ask("What does the article on the ferry strike say about night sailings?")
    assert a.intent == "topic" and not a.abstained
    assert all(c.article_id == "ferry" for c in a.sentences)
    assert any("night sailings" in c.quote for c in a.sentences)
    _verbatim(a, news)


def test_what_someone_said_about_something(news):
    a = news.ask("What did Marta Quell say about fares?")
    assert a.intent == "quote" and not a.abstained
    assert "raising fares" in a.text
    _verbatim(a, news)
    b = news.ask("What did Tomas Brandt say about the outer islands?")
    assert "cut off after dark" in b.text


def test_who_said_names_the_speaker_of_a_pronoun_quote(news):
    a = news.ask("Who said passengers are being held hostage?")
    assert not a.abstained
    assert "held hostage" in a.text
    assert a.span_text in ("Marta Quell", "Quell")  # named in the sentence before "…," she said
    _verbatim(a, news)


def test_which_articles_mention_a_name(news):
    a = news.ask("Which articles mention Bluewater Lines?")
    assert a.intent == "articles" and not a.abstained
    assert {c.article_id for c in a.sentences} == {"ferry", "bridge"}
    assert all("Bluewater Lines" in c.quote for c in a.sentences)
    assert news.ask("Which stories mention the operator Bluewater Lines?").intent == "articles"
    none = news.ask("Which articles mention Zanzibar?")
    assert none.abstained and none.citations == []


def test_a_named_story_picks_the_article(news):
    a = news.ask("According to the story about the Kestrel console, how much will it cost in the UK?")
    assert not a.abstained
    assert a.citations[0].article_id == "console"
    assert "£99" in a.text


def test_a_question_asking_for_a_price_the_story_never_gives_abstains(news):
    a = news.ask("How much does a ferry ticket from Corran cost?")
    assert a.abstained
    assert a.text == "I couldn't find this in the articles."


def test_why_questions_cite_the_reason_not_the_lead(news):
    a = news.ask("Why did the ferry crews walk out?")
    assert not a.abstained
    assert "12% pay rise" in a.text


def test_which_articles_quote_a_speaker(news):
    a = news.ask("Which articles quote Marta Quell?")
    assert a.intent == "articles" and not a.abstained
    assert [c.article_id for c in a.sentences] == ["ferry"]
    assert "Quell" in a.sentences[0].quote  # the quoted sentence that names her
    _verbatim(a, news)
    assert [c.article_id for c in news.ask("Where has Ines Vogt been quoted?").sentences] == ["museum"]
    # Named but never quoted: the bridge story names Bluewater Lines' plans, not the council's words.
    none = news.ask("Which articles quote Zanzibar Smith?")
    assert none.abstained and none.citations == []


def test_speakers_are_recorded_at_ingest_and_follow_removal_and_compaction(tmp_path, embedder):
    from assistant.ingest.pipeline import compact_index

    folder = tmp_path / "news"
    folder.mkdir()
    for name in ("ferry.txt", "museum.txt"):
        (folder / name).write_text(STORIES[name], encoding="utf-8")
    index = tmp_path / "index"
    first = Assistant.build([folder], index, embedder=embedder)
    quotes = {who for _, _, who, quoted in first.index.store.quotes_in("ferry") if quoted}
    assert {"Marta Quell", "Tomas Brandt"} <= quotes  # "…," she said → the last speaker named
    (folder / "console.txt").write_text(STORIES["console.txt"], encoding="utf-8")
    first.ingest([folder])
    first.remove(["museum"])
    assert [c.article_id for c in first.ask("Which articles quote Ruth Calder?").sentences] == ["console"]
    assert first.ask("Which articles quote Ines Vogt?").abstained  # removed with its article
    first.close()
    compact_index(index)  # the segments merge: their speakers with them
    again = Assistant.load(index, embedder=embedder)
    assert [c.article_id for c in again.ask("Which articles quote Quell?").sentences] == ["ferry"]
    assert again.ask("Which articles quote Ines Vogt?").abstained
    again.close()


def test_an_index_from_before_speakers_were_recorded_still_finds_quotes(tmp_path):
    from assistant.records import Article
    from assistant.storage.store import Store

    text = STORIES["ferry.txt"]
    sents = [(m, m + len(line)) for line in text.splitlines() if line for m in [text.index(line)]]
    for name, speakers in (("old", False), ("new", True)):
        (tmp_path / name).mkdir()
        store = Store(tmp_path / name / "store.sqlite", first_chunk_id=0 if name == "old" else 1000)
        if not speakers:  # what a store written before this version holds: no speakers table
            store.connect().execute("DROP TABLE quotes")
        store.add_article(Article(name, "Ferry", text), [(0, len(text))], sents, None, [(0, 5, "X Y", "y", True)])
        store.commit()
        assert (store.quotes_in(name) is None) is not speakers
        store.close()
    assert Store(tmp_path / "new" / "store.sqlite", readonly=True).quoted_by("y") == [("new", "X Y")]
    assert Store(tmp_path / "old" / "store.sqlite", readonly=True).quoted_by("y") is None


def test_a_summary_naming_no_story_asks_which_or_follows_the_conversation(news):
    a = news.ask("Summarise the article")
    assert a.abstained and a.intent == "summary" and a.citations == []
    assert any("name the one you mean" in n for n in a.notes)
    b = news.ask("Give me the gist", history=["How much will the Kestrel console cost in the UK?"])
    assert not b.abstained and b.intent == "summary"
    assert {c.article_id for c in b.sentences} == {"console"}
    _verbatim(b, news)


def test_the_only_article_is_summarised_without_naming_it(seeds_assistant):
    for question in ("Summarise the article", "What is this about?", "TL;DR"):
        a = seeds_assistant.ask(question)
        assert not a.abstained and a.intent == "summary" and len(a.sentences) >= 2, question
        assert [c.start for c in a.sentences] == sorted(c.start for c in a.sentences)

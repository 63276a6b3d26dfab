"""The eval gate: the question set is well formed, and the assistant meets eval/thresholds.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.news_eval import NEWS_SET
from assistant.evaluation.seeds_eval import DEFAULT_SET, check, load_set, matches, run_gate

from .conftest import SEED_ID, SEEDS


def test_question_set_is_well_formed():
    items = load_set(DEFAULT_SET)
    text = (SEEDS / f"{SEED_ID}.txt").read_text(encoding="utf-8")
    assert len(items) >= 60
    assert sum(i.unanswerable for i in items) >= 15
    assert sum(bool(i.history) for i in items) >= 10
    assert all(i.standalone for i in items if i.history and not i.unanswerable)  # follow-ups have standalone twins
    for item in items:
        if item.unanswerable:
            continue
        assert item.article_id == SEED_ID
        if item.field:  # answered from the article's header: the gold answer is in that field
            from assistant.ingest.readers import read_paths

            [article] = read_paths([SEEDS]).articles
            assert matches(getattr(article, item.field), item.answers), item.id
            continue
        for sentence in item.sentences:
            assert sentence in text, item.id
        assert any(matches(s, item.answers) for s in item.sentences), f"{item.id}: no answer in its gold sentence"


def test_answer_matching_is_drqa_style():
    assert matches("It’s impossible today, it’s a new regional reality,” Karasin said.", ["new regional reality"])
    assert matches("Russia, Nicaragua and Nauru recognized Abkhazia", ["russia, nicaragua and nauru"])
    assert matches("steps to simplify the issuing of visas", ["re:simplif\\w+ .* visas"])
    assert not matches("Russia recognized Abkhazia", ["Nauru"])


def test_check_reports_each_metric_outside_its_threshold():
    metrics = {"answer_accuracy": 0.7, "ece": 0.2, "latency_ms": {"p95": 40.0}}
    assert check(metrics, {"min": {"answer_accuracy": 0.7}, "max": {"ece": 0.25}}) == []
    failures = check(metrics, {"min": {"answer_accuracy": 0.71, "missing_metric": 0.1}, "max": {"ece": 0.1}})
    assert len(failures) == 3
    assert check(metrics, {"max": {"latency_ms.p95": 30.0}}) == ["latency_ms.p95 = 40.0 is above 30.0"]


def test_seeds_eval_gate_passes(seeds_assistant, tmp_path):
    """The CI gate: every metric of the shipped question set meets eval/thresholds.json."""
    report, failures = run_gate(seeds_assistant, out_dir=tmp_path)
    assert failures == [], "\n".join(failures)
    saved = json.loads((tmp_path / "seeds.json").read_text())
    assert saved["metrics"]["questions"] == len(load_set(DEFAULT_SET))
    follow = saved["metrics"]["follow_up"]
    assert follow["n"] == sum(bool(i.standalone) for i in load_set(DEFAULT_SET))
    assert saved["metrics"]["follow_up_gap"] == round(follow["standalone"] - follow["as_asked"], 4)
    assert (tmp_path / "seeds.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the news set (eval/news.jsonl) on every bbc-news article plus seeds/ ---------------------------------
NEWS_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_news = pytest.mark.skipif(not (NEWS_DATA / "bbc-news").is_dir(), reason="../shared/data/bbc-news not present")


def test_news_set_covers_every_intent():
    from assistant.evaluation.news_eval import INTENTS, load_news_set

    items = load_news_set(NEWS_SET)
    assert len(items) >= 240
    assert len({i.article_id for i in items}) >= 30
    for intent in INTENTS:
        assert sum(i.intent == intent for i in items) >= 25, intent
    assert all(i.history for i in items if i.intent == "followup")
    assert all(i.unanswerable for i in items if i.intent == "nearmiss")
    assert {i.fold for i in items} == {0, 1}


def _bbc_texts() -> dict[str, str]:
    out = {}
    for f in sorted((NEWS_DATA / "bbc-news").glob("*/*.txt")):
        raw = f.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        out[f"{f.parent.name}/{f.stem}"] = text
    return out


@needs_news
def test_news_set_anchors_are_in_their_articles():
    """Each evidence anchor is in its article once; each 'across' list is every article naming the name."""
    from assistant.answer.compose import name_pattern
    from assistant.evaluation.news_eval import load_news_set

    texts = _bbc_texts()
    for item in load_news_set(NEWS_SET):
        assert item.article_id in texts, item.id
        body = texts[item.article_id].split("\n", 1)[1]  # the headline is the title, not a passage
        for anchor in item.evidence:
            assert body.count(anchor) == 1, (item.id, anchor)
        if item.intent in ("factoid", "quote", "followup"):
            assert item.answers, item.id
        if item.intent == "across":
            pattern = name_pattern(item.answers[0])
            naming = {aid for aid, text in texts.items() if pattern.search(text)}
            assert naming == set(item.articles), item.id


@needs_news
def test_news_eval_gate_passes(embedder, tmp_path):
    """The CI gate on news: every figure of eval/news.jsonl meets eval/thresholds-news.json (index of all
    1,112 bbc-news articles plus seeds/, built once and cached)."""
    from assistant.evaluation.news_eval import format_news_table, news_assistant, run_news_gate

    assistant = news_assistant(NEWS_DATA, embedder=embedder)
    report, failures = run_news_gate(assistant, out_dir=tmp_path)
    assert failures == [], format_news_table(report["metrics"]) + "\n" + "\n".join(failures)
    saved = json.loads((tmp_path / "news.json").read_text())
    assert saved["metrics"]["questions"] == len(saved["rows"]) >= 240

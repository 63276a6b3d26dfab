"""The eval gate: the question set is well formed, and the assistant meets eval/thresholds.json."""

from __future__ import annotations

import json

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

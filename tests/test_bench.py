"""Smoke runs of the public benchmarks (small samples and corpora) so the code cannot rot.

The full runs take minutes and are recorded in eval/README.md; these need ../shared/data.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from .conftest import ROOT

DATA = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not (DATA / "squad-v1.1").is_dir(), reason="public datasets not present")


def _args(tmp_path: Path, embedder, **kw) -> argparse.Namespace:
    base = dict(data=DATA, out=tmp_path / "report.json", modes="bm25,dense,hybrid", no_answers=False, seed=0,
                quiet=True, fusion=None, dense_rescore=None, embedder=embedder)  # fmt: skip
    base.update(kw)
    return argparse.Namespace(**base)


def test_squad_smoke(tmp_path, embedder, capsys):
    from assistant.evaluation.bench_squad import squad

    assert squad(_args(tmp_path, embedder, limit=12, corpus_limit=50)) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["retrieval"]) == {"bm25", "dense", "hybrid"}
    assert report["corpus_articles"] == 50 and report["questions"] == 12
    for m in report["retrieval"].values():
        assert 0.0 <= m["hit@1"] <= m["hit@5"] <= m["hit@20"] <= 1.0
    assert report["retrieval"]["hybrid"]["hit@5"] >= 0.75  # 50 paragraphs: the gold one is easy to find
    assert report["answers"]["answer_in_best_candidate"] >= 0.25
    assert "hybrid" in capsys.readouterr().out


def test_squad2_smoke_reports_abstention(tmp_path, embedder):
    from assistant.evaluation.bench_squad import squad2

    assert squad2(_args(tmp_path, embedder, limit=16, corpus_limit=40, modes="hybrid")) == 0
    a = json.loads((tmp_path / "report.json").read_text())["answers"]
    assert a["unanswerable"] > 0 and a["answerable"] > 0
    assert 0.0 <= a["abstention_recall"] <= 1.0 and 0.0 <= a["confidence_auroc"] <= 1.0


def test_scifact_smoke(tmp_path, embedder):
    from assistant.evaluation.bench_scifact import scifact

    assert scifact(_args(tmp_path, embedder, limit=6, corpus_limit=40, candidates=100)) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["corpus_articles"] == 40
    for m in report["retrieval"].values():
        assert 0.0 <= m["ndcg@10"] <= 1.0 and 0.0 <= m["recall@100"] <= 1.0
    assert report["retrieval"]["hybrid"]["recall@100"] == 1.0  # 40 abstracts: every judged one is within 100
    assert report["retrieval"]["hybrid"]["ndcg@10"] >= 0.5


def test_grown_smoke_reports_both_collections_and_flips(tmp_path, capsys):
    from assistant.evaluation.bench_grown import run

    lines = (ROOT / "eval" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
    pick = [ln for ln in lines if '"direct-02"' in ln or '"none-21"' in ln or '"meta-01"' in ln]
    (tmp_path / "set.jsonl").write_text("\n".join(pick) + "\n", encoding="utf-8")
    args = argparse.Namespace(data=DATA, paragraphs=20, set=tmp_path / "set.jsonl", out=tmp_path / "g.json",
                              reader=None, quiet=True, limit=None)  # fmt: skip
    assert run(args) == 0
    report = json.loads((tmp_path / "g.json").read_text())
    assert list(report["metrics"]) == ["seeds", "seeds+20"]
    assert report["paragraphs"] == 20
    for m in report["metrics"].values():
        assert 0.0 <= m["answer_accuracy"] <= 1.0
    assert isinstance(report["flipped"], list)
    # "Who wrote the article?" names no article: among 21 it asks which one, by design, and the
    # change is also reported without it
    which = report["without_which_article"]
    assert which["ids"] == ["meta-01"] and "meta-01" in {f["id"] for f in report["flipped"]}
    assert which["seeds"] == 1.0 and which["change"] == round(which["grown"] - which["seeds"], 4)
    out = capsys.readouterr().out
    assert "decisions flipped" in out and "without the 1 header question(s) that ask which article" in out


def test_scale_smoke(tmp_path, embedder, capsys, monkeypatch):
    """``assistant bench scale`` end to end on tiny sizes: IVF-PQ with re-ranking, IVFFlat, BM25."""
    from assistant.evaluation import bench_scale
    from assistant.evaluation.bench_scale import _run

    monkeypatch.setattr(bench_scale, "NPROBES", (16,))
    monkeypatch.setattr(bench_scale, "RERANKS", (0, 100))

    args = argparse.Namespace(data=DATA, limit=None, out=tmp_path / "scale.json", sizes="3000", ivf_sizes="3000",
                              bm25_sizes="3000", passages=30, queries=10, seed=3, workdir=tmp_path / "work",
                              figure=tmp_path / "scale.png", quiet=True, pq_m=None, embedder=embedder,
                              embed_cache=tmp_path)  # fmt: skip
    assert _run(args) == 0
    (row,) = json.loads(args.out.read_text())["rows"]
    pq = row["ivfpq"]
    assert pq["index"].startswith("ivfpq") and pq["memory_bytes_per_vector"] <= 64 + 40  # + the lists' centroids
    assert 0.5 <= pq["recall_at_10"] <= 1.0 and row["ivfflat"]["recall_at_10"] == 1.0  # 3,000 vectors: exact
    assert row["bm25"]["search_ms"]["p50"] > 0 and args.figure.stat().st_size > 0
    assert "ivfpq" in capsys.readouterr().out
    assert _run(args) == 0  # every part cached: the second run only reports


def test_lexical_smoke(tmp_path, capsys):
    """``assistant bench lexical`` end to end on a tiny size: tantivy and a baseline checkout's engine (here
    this checkout, run as another version is: its own code, in its own folder) build, load and answer the
    same real questions, and agree on the top 10."""
    from assistant.evaluation.bench_lexical import run
    from assistant.settings import PROJECT_ROOT

    args = argparse.Namespace(data=DATA, limit=None, out=tmp_path / "lexical.json", sizes="2000",
                              engines="tantivy,baseline", queries=30, seed=3, workdir=tmp_path / "work",
                              keep=False, quality="", news=None, news_index=None, baseline=PROJECT_ROOT,
                              figure=tmp_path / "lexical.png", quiet=True)  # fmt: skip
    assert run(args) == 0
    (row,) = json.loads(args.out.read_text())["rows"]
    for engine in ("tantivy", "baseline"):
        r = row[engine]
        assert r["build_s"] > 0 and r["disk_mb"] > 0 and r["bm25_ms"]["p50"] > 0, engine
    assert row["baseline"]["top10_overlap_with_tantivy"] == 1.0
    assert "tantivy" in capsys.readouterr().out and args.figure.stat().st_size > 0

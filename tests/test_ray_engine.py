"""``assistant ingest --engine ray``: the Ray Data pipeline publishes the generation the in-process ingest does.

The comparisons need Ray (``pip install ".[ray]"``) and are skipped without it; they are marked slow
because a local Ray takes longer than ~15 s to start here (20–50 s on this shared 2-core machine).
The missing-Ray error runs everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import EngineError
from assistant.evaluation.bench_ingest_engines import compare_generations, squad_corpus
from assistant.ingest.pipeline import ingest_paths

from .conftest import ROOT, SEEDS

HAS_RAY = importlib.util.find_spec("ray") is not None
DATA = ROOT.parent / "shared" / "data"
needs_ray = pytest.mark.skipif(not HAS_RAY, reason='needs Ray: pip install ".[ray]"')
QUESTIONS = ["Which states recognize Abkhazia?", "Who is Gregory Karasin?", "When was the lighthouse built?"]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (the engine uses a Ray already running as it is)."""
    import ray

    ray.init(num_cpus=1, object_store_memory=1_000_000_000, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _same(a: Path, b: Path) -> dict:
    diff = compare_generations(a, b)
    assert diff["counts"][0] == diff["counts"][1], diff
    assert diff["same_articles"] and diff["same_chunk_ids"] and diff["same_chunks"] and diff["same_sentences"], diff
    assert diff["max_chunk_vector_diff"] <= 1e-5, diff
    assert diff["max_sentence_vector_diff"] <= 1e-3, diff  # stored as float16: one step of its rounding
    return diff


def _answers(index: Path, embedder) -> list[tuple]:
    a = Assistant.load(index, embedder=embedder)
    try:
        out = []
        for q in QUESTIONS:
            ans = a.ask(q)
            out.append(
                (ans.text, ans.span_text, ans.abstained, [(c.article_id, c.start, c.end) for c in ans.citations])
            )
        return out
    finally:
        a.close()


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    (folder / "lighthouse.txt").write_text(
        "Harbour lighthouse restored\n\nBy Ana Lopes\n\nThe lighthouse was built in 1874 by the harbour board. "
        "Its lamp was electrified in 1921; the keeper's cottage became a museum in 1990.\n"
    )
    (folder / "notes.md").write_text(
        "---\ntitle: Council notes\nauthor: J. Smith\n---\n\nThe council met on Tuesday.\n"
    )
    rows = [{"id": f"p{i}", "title": f"Paragraph {i}", "text": f"Paragraph {i} says that item {i} costs {i * 3} euros."}
            for i in range(12)]  # fmt: skip
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder


@needs_ray
@pytest.mark.slow
def test_ray_engine_publishes_the_same_generation_and_skips_unchanged_articles(tmp_path, embedder, local_ray):
    corpus = _corpus(tmp_path / "corpus")
    paths = [SEEDS, corpus]
    here, there = tmp_path / "inprocess", tmp_path / "ray"
    r1 = ingest_paths(here, paths, embedder)
    r2 = ingest_paths(there, paths, embedder, engine="ray")
    assert (r2.added, r2.chunks_added, r2.sentences_embedded) == (r1.added, r1.chunks_added, r1.sentences_embedded)
    _same(here, there)
    assert _answers(here, embedder) == _answers(there, embedder)
    # Incremental: one article changed, one added; the rest are skipped by both engines alike.
    (corpus / "lighthouse.txt").write_text((corpus / "lighthouse.txt").read_text() + "It was painted red in 2001.\n")
    (corpus / "new.txt").write_text("Ferry timetable\n\nThe ferry leaves at nine.\n")
    r1 = ingest_paths(here, paths, embedder)
    r2 = ingest_paths(there, paths, embedder, engine="ray")
    assert (r2.added, r2.updated, r2.unchanged) == (r1.added, r1.updated, r1.unchanged)
    assert r2.updated == ["lighthouse"] and r2.added == ["new"] and r2.chunks_added == r1.chunks_added
    _same(here, there)
    keys = ("model", "encoder", "chunking", "counts", "articles", "origins")
    here_m, there_m = (
        json.loads((d / (d / "CURRENT").read_text().strip() / "manifest.json").read_text()) for d in (here, there)
    )
    assert {k: here_m.get(k) for k in keys} == {k: there_m.get(k) for k in keys}
    # Nothing new: no generation published, as in-process.
    before = (there / "CURRENT").read_text()
    assert not ingest_paths(there, paths, embedder, engine="ray").changed
    assert (there / "CURRENT").read_text() == before


@needs_ray
@pytest.mark.slow
@pytest.mark.timeout(3600)  # two ingests of 2,000 paragraphs: 4 min on a free core, 30 on this shared one
@pytest.mark.skipif(not (DATA / "squad-v1.1" / "dev-tune.json").exists(), reason="needs ../shared/data")
def test_ray_engine_on_two_thousand_squad_paragraphs(tmp_path, embedder, local_ray):
    corpus = tmp_path / "squad"
    assert squad_corpus(DATA, 2000, corpus) == 2000
    here, there = tmp_path / "inprocess", tmp_path / "ray"
    r1 = ingest_paths(here, [corpus], embedder)
    r2 = ingest_paths(there, [corpus], embedder, engine="ray")
    assert len(r2.added) == len(r1.added) == 2000 and r2.chunks_added == r1.chunks_added
    diff = _same(here, there)
    assert diff["counts"][0]["articles"] == 2000
    a = Assistant.load(there, embedder=embedder)
    b = Assistant.load(here, embedder=embedder)
    try:
        for q in ("Which NFL team represented the AFC at Super Bowl 50?", "What is the capital of Normandy?"):
            x, y = a.ask(q), b.ask(q)
            assert (x.text, x.span_text, [c.article_id for c in x.citations]) == (
                y.text,
                y.span_text,
                [c.article_id for c in y.citations],
            )
    finally:
        a.close()
        b.close()


def test_ray_engine_without_ray_is_one_line_telling_what_to_install(tmp_path, monkeypatch):
    """Without Ray (hidden here when it is installed), ``--engine ray`` names the extra and exits 1."""
    code = "import sys; sys.modules['ray'] = None; from assistant.cli import main; sys.exit(main(sys.argv[1:]))"
    index = tmp_path / "index"
    proc = subprocess.run(
        [sys.executable, "-c", code, "ingest", str(SEEDS), "--index", str(index), "--engine", "ray"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and 'pip install ".[ray]"' in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not index.exists()
    # The Python API says the same, as an AssistantError.
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(EngineError, match=r'pip install "\.\[ray\]"'):
        ingest_paths(index, [SEEDS], None, engine="ray")
    assert not index.exists()

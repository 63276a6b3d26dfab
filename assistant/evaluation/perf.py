"""Performance benchmark: every speed figure as a ratio to a baseline measured in the same run.

``assistant bench perf [--data DIR] [--sizes 10000,100000,1000000] [--limit N] [--out FILE]``
measures, in one run (timings on a shared machine are noisy, so the verdicts are ratios and
percentiles measured side by side):

- **ingest** — the SQuAD v1.1 tuning paragraphs written as a ``.jsonl`` file, ingested from scratch
  (twice): chunks/s of the whole pipeline (parse → segment → embed → index → store → BM25 → publish)
  against a bare sentence-transformers ``model.encode(chunk_texts, batch_size=32)`` of the same chunk
  texts between the two (target ratio ≥ 1.5), the time of each stage, and re-ingesting the unchanged
  file (target ≤ 2 % of the first ingest);
- **query** — ``ask()`` (with the reader unless ``ASSISTANT_READER=none``) over ``--limit`` (default
  500) SQuAD questions after a warm-up: p50/p95/p99 of every stage against a bare
  sentence-transformers ``model.encode([question])`` (target: ask() p50 ≤ 3× its p50), then the same
  questions again (cached question vectors);
- **concurrent** — ``ask()`` p95 while ``Assistant.ingest_articles`` adds ``--upload-articles`` (800)
  articles from another thread, as the chat's upload does, against ``ask()`` p95 idle (target ≤ 3×);
- **memory** — RSS of a fresh process after answering ``--memory-questions`` (2,000) questions
  (target ≤ 400 MB);
- **scale** — synthetic corpora of ``--sizes`` chunks (clustered random unit vectors of the model's
  dimension, Zipf-distributed generated text): dense index type and build time, search p50/p95,
  recall@10 against exact search, RSS and disk bytes per chunk, BM25 build and search p50/p95
  (targets at 1M: dense p50 ≤ 10 ms with recall@10 ≥ 0.95, BM25 p50 ≤ 50 ms);
- **start-up** — a new process that loads an index of ``seeds/`` and answers one question: time to the
  first answer (target ≤ 0.8 s) and its RSS, plus the time of ``assistant --help``.

It prints a table, writes the JSON report (``--out``, default ``eval/reports/perf.json``) and a plot of
search latency against corpus size (``--figure``, default ``eval/figures/perf_scale.png``).

Example::

    assistant bench perf --limit 500 --ingest-articles 300     # the full run (~45 min loaded, ~8 GB RAM)
    assistant bench perf --sizes 2000 --limit 20 --corpus-limit 40 --ingest-articles 15 --out /tmp/p.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..settings import PROJECT_ROOT, Settings
from .commands import benchmark
from .metrics import percentiles

SECTIONS = ("ingest", "query", "concurrent", "memory", "scale", "startup")
DEFAULT_OUT = PROJECT_ROOT / "eval" / "reports" / "perf.json"
DEFAULT_FIGURE = PROJECT_ROOT / "eval" / "figures" / "perf_scale.png"
STARTUP_QUESTION = "Which states recognize Abkhazia?"


# --- helpers ------------------------------------------------------------------------------
def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def dir_bytes(path: Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return ""


def machine() -> dict:
    """What the numbers were measured on."""
    import torch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    import faiss

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem / 2**30, 1),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "query_threads": 1,
        "onnxruntime": _version("onnxruntime"),
        "faiss": faiss.__version__,
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in load],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
    }


def _ms(values_s: list[float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in percentiles(values_s).items()}


# --- ingest -------------------------------------------------------------------------------
def _bare_model(embedder):
    """The plain sentence-transformers model of the embedder's weights: what the ratios compare with."""
    return embedder.model


def bench_ingest(articles, embedder, settings: Settings, workdir: Path) -> dict:
    """Whole-pipeline ingest against a bare sentence-transformers ``model.encode(chunk_texts,
    batch_size=32)`` of the same chunk texts, measured before and after it in the same run."""
    from ..ingest.pipeline import ingest_paths
    from ..storage.index import Index

    src = workdir / "corpus.jsonl"
    with src.open("w") as f:
        for a in articles:
            f.write(json.dumps({"id": a.id, "title": a.title, "text": a.text}) + "\n")
    index_dir = workdir / "index"
    model = _bare_model(embedder)
    model.encode(["warm up the encoder"] * 8)
    embedder.encode(["warm up the encoder"] * 8)

    t = time.perf_counter()
    ingest_paths(index_dir, [src], embedder, settings)
    first_s = time.perf_counter() - t
    loaded = Index.load(index_dir, verify=False)
    store = loaded.store
    chunks = store.chunks(sorted(cid for cid, _ in store.iter_chunk_texts()))
    chunk_texts = [chunks[cid].text for cid in sorted(chunks)]
    sentences = store.count("sentences")
    loaded.close()

    bare = []
    for _ in range(2):  # once after the pipeline, once before the second pipeline run
        t = time.perf_counter()
        model.encode(chunk_texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        bare.append(time.perf_counter() - t)
        if len(bare) == 1:
            shutil.rmtree(index_dir)
            t = time.perf_counter()
            second = ingest_paths(index_dir, [src], embedder, settings)
            second_s = time.perf_counter() - t
    pipeline_s = (first_s + second_s) / 2
    encode_s = sum(bare) / len(bare)

    t = time.perf_counter()
    again = ingest_paths(index_dir, [src], embedder, settings)
    reingest_s = time.perf_counter() - t
    if again.changed:
        raise RuntimeError("re-ingesting an unchanged corpus changed the index")

    n = len(chunk_texts)
    stages = {k: round(v, 3) for k, v in second.timings.items()}
    stages["parse"] = round(max(second_s - second.timings.get("total", 0.0), 0.0), 3)
    return {
        "articles": len(articles),
        "chunks": n,
        "sentences": sentences,
        "encoder": manifest_encoder(index_dir),
        "pipeline_s": [round(first_s, 3), round(second_s, 3)],
        "bare_encode_chunks_s": [round(x, 3) for x in bare],
        "pipeline_chunks_per_s": round(n / pipeline_s, 1),
        "bare_encode_chunks_per_s": round(n / encode_s, 1),
        "ratio": round(encode_s / pipeline_s, 3),
        "embed_share": round(second.timings.get("embed", 0.0) / second_s, 3),
        "stages_s": stages,
        "reingest_s": round(reingest_s, 4),
        "reingest_fraction": round(reingest_s / pipeline_s, 4),
        "targets": {"ratio": 1.5, "reingest_fraction": 0.02},
    }


def manifest_encoder(index_dir: Path) -> dict:
    from ..storage.generations import IndexDir

    return IndexDir(index_dir).read_manifest().get("encoder", {})


# --- query --------------------------------------------------------------------------------
QUERY_STAGES = ("embed", "dense", "bm25", "fusion", "answer", "other", "total")


def bench_query(assistant, questions: list[str], warmup: int = 20) -> dict:
    """``ask()`` latency per stage against a bare sentence-transformers ``model.encode([question])``
    (default torch threads), both measured here; question embedding is timed around ``encode_query``."""
    embedder = assistant.embedder
    model = _bare_model(embedder)
    for q in questions[:warmup]:
        assistant.ask(q)
        model.encode([q])
    embedder._cache.clear()

    alone, bare = [], []
    for q in questions:
        t = time.perf_counter()
        embedder.encode([q])
        alone.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
        bare.append(time.perf_counter() - t)

    spent = [0.0]
    real = embedder.encode_query

    def timed_encode_query(text: str) -> np.ndarray:  # benchmark instrumentation only
        t = time.perf_counter()
        try:
            return real(text)
        finally:
            spent[0] += time.perf_counter() - t

    def run(label: str) -> dict:
        stages: dict[str, list[float]] = {k: [] for k in QUERY_STAGES}
        abstained = 0
        for q in questions:
            spent[0] = 0.0
            ans = assistant.ask(q)
            abstained += ans.abstained
            tm = dict(ans.timings)
            tm["embed"] = spent[0]
            known = sum(tm.get(k, 0.0) for k in ("embed", "dense", "bm25", "fusion", "answer"))
            tm["other"] = max(tm["total"] - known, 0.0)
            for k in QUERY_STAGES:
                stages[k].append(tm.get(k, 0.0))
        return {"label": label, "stages_ms": {k: _ms(v) for k, v in stages.items()}, "abstained": abstained}

    embedder._cache.clear()
    embedder.encode_query = timed_encode_query
    try:
        cold = run("new questions")
        warm = run("repeated questions (cached embeddings)")
    finally:
        del embedder.encode_query
    bare_p50 = percentiles(bare)["p50"]
    p50 = cold["stages_ms"]["total"]["p50"]
    return {
        "questions": len(questions),
        "chunks": int(assistant.index.manifest.get("counts", {}).get("chunks", 0)),
        "dense_index": assistant.index.dense.kind,
        "reader": assistant.answerer.reader is not None,
        "question_embedding_alone_ms": _ms(alone),
        "bare_model_encode_ms": _ms(bare),
        "new": cold,
        "repeated": warm,
        "p50_over_bare_encode": round(p50 / bare_p50, 2) if bare_p50 else None,
        "targets": {"p50_over_bare_encode": 3.0},
    }


# --- answering while an upload runs ----------------------------------------------------------
def bench_concurrent(assistant, questions: list[str], upload, idle_questions: int = 60) -> dict:
    """``ask()`` p95 while ``Assistant.ingest_articles(upload)`` runs in another thread (what the chat's
    upload does), against ``ask()`` p95 idle, same assistant, same questions, measured here."""
    import threading

    for q in questions[:10]:
        assistant.ask(q)

    def ask_all(qs, stop=None) -> list[float]:
        out = []
        for i, q in enumerate(qs):
            if stop is not None and stop.is_set() and i >= 20:
                break
            assistant.embedder._cache.pop(q, None)  # every ask embeds its question
            t = time.perf_counter()
            assistant.ask(q)
            out.append(time.perf_counter() - t)
        return out

    idle = ask_all(questions[:idle_questions])
    done = threading.Event()
    result: dict = {}

    def upload_thread() -> None:
        t = time.perf_counter()
        try:
            report = assistant.ingest_articles(upload)
            result["chunks"] = report.chunks_added
        except Exception as exc:  # reported, not raised: the measurement is still useful
            result["error"] = f"{type(exc).__name__}: {exc}"
        result["upload_s"] = time.perf_counter() - t
        done.set()

    th = threading.Thread(target=upload_thread, daemon=True)
    th.start()
    during = []
    while not done.is_set():
        during += ask_all(questions, stop=done)
    th.join()
    after = ask_all(questions[:idle_questions])
    idle_p95 = percentiles(idle + after)["p95"]
    during_p95 = percentiles(during)["p95"] if during else float("nan")
    return {
        "upload_articles": len(upload),
        "upload_chunks": result.get("chunks"),
        "upload_s": round(result.get("upload_s", 0.0), 2),
        "upload_error": result.get("error"),
        "asked_during": len(during),
        "idle_ms": _ms(idle + after),
        "during_ms": _ms(during),
        "p95_during_over_idle": round(during_p95 / idle_p95, 2) if idle_p95 else None,
        "targets": {"p95_during_over_idle": 3.0},
    }


# --- memory ---------------------------------------------------------------------------------
_MEMORY_CHILD = """
import json, sys
from assistant import Assistant
from assistant.evaluation.perf import rss_bytes
a = Assistant.load(sys.argv[1])
qs = json.loads(open(sys.argv[2]).read())
n = int(sys.argv[3])
marks = {}
for i in range(n):
    a.ask(qs[i % len(qs)] + ("" if i < len(qs) else f" ({i // len(qs)})"))
    if i + 1 in (1, n // 2, n):
        marks[i + 1] = rss_bytes()
print(json.dumps({"rss_bytes": marks}))
"""


def bench_memory(index_dir: Path, questions: list[str], n: int, workdir: Path) -> dict:
    """RSS of a fresh process serving ``n`` questions (each new to its question cache)."""
    qfile = workdir / "questions.json"
    qfile.write_text(json.dumps(questions))
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    res = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(index_dir), str(qfile), str(n)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    marks = json.loads(res.stdout.strip().splitlines()[-1])["rss_bytes"]
    return {
        "questions": n,
        "rss_mb": {k: round(v / 2**20, 1) for k, v in marks.items()},
        "rss_mb_end": round(marks[str(n)] / 2**20, 1),
        "targets": {"rss_mb_end": 400},
    }


# --- scale --------------------------------------------------------------------------------
def synthetic_vectors(n: int, dim: int, seed: int = 0, per_cluster: int = 200) -> np.ndarray:
    """Unit vectors around random topic centres (noise norm ≈ 1.2 × the centre's, like real
    embeddings: same-topic cosine ≈ 0.4, unrelated ≈ 0)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(16, n // per_cluster), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), dtype=np.float32)
    sigma = 1.2 / np.sqrt(dim)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        x = centres[rng.integers(0, len(centres), b - a)] + rng.standard_normal((b - a, dim)).astype(np.float32) * sigma
        out[a:b] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def synthetic_queries(vectors: np.ndarray, m: int, seed: int = 1) -> np.ndarray:
    """Queries near stored vectors (cosine ≈ 0.85 to their source)."""
    rng = np.random.default_rng(seed)
    dim = vectors.shape[1]
    q = vectors[rng.integers(0, len(vectors), m)] + rng.standard_normal((m, dim)).astype(np.float32) * (
        0.6 / np.sqrt(dim)
    )
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def synthetic_texts(n: int, words: int = 80, vocab: int = 50_000, seed: int = 2):
    """(id, text) of ``n`` chunks of Zipf-distributed generated words (what BM25 indexes)."""
    rng = np.random.default_rng(seed)
    consonants, vowels = list("bcdfghklmnprstvz"), list("aeiou")
    lexicon = np.array(
        [
            "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(int(rng.integers(2, 5))))
            for _ in range(vocab)
        ]
    )
    weights = 1.0 / np.arange(1, vocab + 1)
    weights /= weights.sum()
    for a in range(0, n, 20_000):
        b = min(n, a + 20_000)
        draws = lexicon[rng.choice(vocab, size=(b - a, words), p=weights)]
        for i, row in enumerate(draws):
            yield a + i, " ".join(row)


_LOAD_CHILD = """
import sys
import faiss  # imported before measuring: only the index's own memory counts
from assistant.evaluation.perf import rss_bytes
from assistant.storage.dense import DenseIndex
from assistant.storage.fulltext import FullText
before = rss_bytes()
obj = DenseIndex.load(sys.argv[2]) if sys.argv[1] == "dense" else FullText.open(sys.argv[2])
print(rss_bytes() - before)
"""


def loaded_rss(kind: str, path: Path) -> int:
    """RSS that loading a saved index adds to a fresh process (what serving it costs)."""
    res = subprocess.run(
        [sys.executable, "-c", _LOAD_CHILD, kind, str(path)], capture_output=True, text=True, check=True
    )
    return int(res.stdout.strip().splitlines()[-1])


def bench_scale(sizes: list[int], dim: int, queries: int, workdir: Path, log=print) -> list[dict]:
    import faiss

    from ..storage.dense import DenseIndex
    from ..storage.fulltext import FullText
    from ..terms import content_terms

    out = []
    for n in sizes:
        log(f"  scale {n:,}: vectors…")
        vecs = synthetic_vectors(n, dim, seed=n)
        qs = synthetic_queries(vecs, queries, seed=n + 1)
        ids = np.arange(n, dtype=np.int64) * 2 + 1  # chunk ids are not positions
        exact = faiss.IndexFlatIP(dim)
        exact.add(vecs)
        _, truth = exact.search(qs, 10)
        del exact
        truth_ids = ids[truth]

        t = time.perf_counter()
        dense = DenseIndex.build(ids, vecs)
        build_s = time.perf_counter() - t
        del vecs
        path = workdir / f"dense-{n}.faiss"
        dense.save(path)
        disk_dense = path.stat().st_size
        rss_dense = loaded_rss("dense", path)
        path.unlink()
        lat, recall = [], []
        for q, want in zip(qs, truth_ids):
            t = time.perf_counter()
            got, _ = dense.search(q, 50)
            lat.append(time.perf_counter() - t)
            recall.append(len(set(got[:10].tolist()) & set(want.tolist())) / 10)
        dense_kind = dense.kind
        del dense

        log(f"  scale {n:,}: BM25…")
        texts = list(synthetic_texts(n, seed=n + 2))
        rng = np.random.default_rng(n + 3)
        bm25_queries = []
        for i in rng.integers(0, n, queries):
            terms = content_terms(texts[i][1])
            bm25_queries.append([terms[j] for j in rng.choice(len(terms), 5, replace=False)])
        lex_dir = workdir / f"lexical-{n}"
        shutil.rmtree(lex_dir, ignore_errors=True)
        t = time.perf_counter()
        lex = FullText.build(iter(texts), lex_dir)
        bm25_build_s = time.perf_counter() - t
        del texts
        disk_bm25 = dir_bytes(lex_dir)
        rss_bm25 = loaded_rss("lexical", lex_dir)
        others = np.random.default_rng(n + 4).integers(0, n, (len(bm25_queries), 50))
        bm25_lat, bm25_fusion = [], []
        for terms, extra in zip(bm25_queries, others):
            t = time.perf_counter()
            lex.search_terms(terms, 50)
            bm25_lat.append(time.perf_counter() - t)
            lex.scores_of_terms(terms, np.sort(extra))  # what min-max fusion adds: chunks only FAISS found
            bm25_fusion.append(time.perf_counter() - t)
        del lex
        shutil.rmtree(lex_dir)
        row = {
            "chunks": n,
            "dense_index": dense_kind,
            "dense_build_s": round(build_s, 2),
            "dense_search_ms": _ms(lat),
            "recall_at_10": round(float(np.mean(recall)), 4),
            "dense_rss_bytes_per_chunk": round(rss_dense / n, 1),
            "dense_disk_bytes_per_chunk": round(disk_dense / n, 1),
            "bm25_build_s": round(bm25_build_s, 2),
            "bm25_search_ms": _ms(bm25_lat),
            "bm25_fusion_ms": _ms(bm25_fusion),
            "bm25_rss_bytes_per_chunk": round(rss_bm25 / n, 1),
            "bm25_disk_bytes_per_chunk": round(disk_bm25 / n, 1),
        }
        log(f"  scale {n:,}: {json.dumps(row)}")
        out.append(row)
    return out


# --- start-up -----------------------------------------------------------------------------
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from assistant import Assistant
t1 = time.perf_counter()
a = Assistant.load(sys.argv[1])
t2 = time.perf_counter()
ans = a.ask(sys.argv[2])
t3 = time.perf_counter()
rss = 0
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        rss = int(line.split()[1]) * 1024
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_ask_s": t3 - t2, "rss_bytes": rss,
                  "answered": not ans.abstained}))
"""


def bench_startup(index_dir: Path, repeats: int = 2) -> dict:
    """A fresh interpreter: import, load the index and model, answer one question."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-c", _CHILD, str(index_dir), STARTUP_QUESTION],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        wall = time.perf_counter() - t
        child = json.loads(res.stdout.strip().splitlines()[-1])
        child["wall_s"] = wall
        runs.append(child)
    best = min(runs, key=lambda r: r["wall_s"])
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant", "--help"], capture_output=True, env=env, check=True)
    help_s = time.perf_counter() - t
    return {
        "process_to_first_answer_s": round(best["wall_s"], 3),
        "import_s": round(best["import_s"], 3),
        "load_s": round(best["load_s"], 3),
        "first_ask_s": round(best["first_ask_s"], 3),
        "rss_mb": round(best["rss_bytes"] / 2**20, 1),
        "answered": best["answered"],
        "cli_help_s": round(help_s, 3),
        "runs": len(runs),
    }


# --- report -------------------------------------------------------------------------------
def plot_scale(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for key, label, style in (
        ("dense_search_ms", "dense (FAISS)", "o-"),
        ("bm25_search_ms", "BM25 top-50", "s-"),
        ("bm25_all_scores_ms", "BM25 all scores (min-max fusion; before tantivy)", "^--"),
        ("bm25_fusion_ms", "BM25 top-50 + 50 fusion scores", "^--"),
    ):
        have = [r for r in rows if key in r]  # a series may be missing for some sizes
        n = [r["chunks"] for r in have]
        ax.plot(n, [r[key]["p50"] for r in have], style, label=f"{label} p50")
        ax.fill_between(n, [r[key]["p50"] for r in have], [r[key]["p95"] for r in have], alpha=0.15)
    for r in rows:
        ax.annotate(
            r["dense_index"],
            (r["chunks"], r["dense_search_ms"]["p50"]),
            fontsize=7,
            xytext=(3, -10),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("corpus size (chunks)")
    ax.set_ylabel("search latency per query (ms; band to p95)")
    ax.set_title("Search latency vs corpus size (one query, one thread)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def verdicts(report: dict) -> dict[str, bool]:
    v = {}
    if "ingest" in report:
        ing = report["ingest"]
        v["ingest / bare model.encode(chunks) ≥ 1.5"] = ing["ratio"] >= 1.5
        v["re-ingest ≤ 2%"] = ing["reingest_fraction"] <= 0.02
    if "query" in report:
        q = report["query"]
        v["ask p50 ≤ 3× bare model.encode([q])"] = (q["p50_over_bare_encode"] or 99) <= 3.0
    if "concurrent" in report:
        v["ask p95 during upload ≤ 3× idle"] = (report["concurrent"]["p95_during_over_idle"] or 99) <= 3.0
    if "memory" in report:
        m = report["memory"]
        v[f"RSS after {m['questions']} questions ≤ 400 MB"] = m["rss_mb_end"] <= 400
    for r in report.get("scale", []):
        if r["chunks"] >= 1_000_000:
            v["1M dense p50 ≤ 10 ms"] = r["dense_search_ms"]["p50"] <= 10.0
            v["1M recall@10 ≥ 0.95"] = r["recall_at_10"] >= 0.95
            v["1M BM25 p50 ≤ 50 ms"] = r["bm25_search_ms"]["p50"] <= 50.0
    if "startup" in report:
        v["new process → first answer ≤ 0.8 s"] = report["startup"]["process_to_first_answer_s"] <= 0.8
    return v


def print_table(report: dict) -> None:
    m = report["machine"]
    print(
        f"machine: {m['nproc']} cores {m['cpu']}, {m['ram_gb']} GB, torch {m['torch']} ({m['torch_threads']} threads),"
        f" load {m['load_average']}"
    )
    if "ingest" in report:
        i = report["ingest"]
        print(f"\ningest {i['articles']} articles → {i['chunks']} chunks, {i['sentences']} sentences ({i['encoder']})")
        print(
            f"  pipeline {i['pipeline_chunks_per_s']:.1f} chunks/s   bare model.encode(chunks, batch_size=32) "
            f"{i['bare_encode_chunks_per_s']:.1f} chunks/s   ratio {i['ratio']:.2f}"
        )
        print(f"  embedding share of the pipeline {i['embed_share']:.3f} (the rest is parse/segment/index/store)")
        print("  stages (s): " + "  ".join(f"{k} {v:.3f}" for k, v in i["stages_s"].items()))
        print(f"  re-ingest unchanged: {i['reingest_s']:.3f} s = {100 * i['reingest_fraction']:.2f}% of first")
    if "query" in report:
        q = report["query"]
        print(f"\nask() over {q['questions']} questions, {q['chunks']} chunks ({q['dense_index']}); ms p50/p95/p99")
        e = q["question_embedding_alone_ms"]
        print(f"  {'question embedding (ONNX)':<28}{e['p50']:8.2f}{e['p95']:8.2f}{e['p99']:8.2f}")
        e = q["bare_model_encode_ms"]
        print(f"  {'bare model.encode([q])':<28}{e['p50']:8.2f}{e['p95']:8.2f}{e['p99']:8.2f}")
        for part in ("new", "repeated"):
            print(f"  {q[part]['label']}:")
            for k, s in q[part]["stages_ms"].items():
                print(f"    {k:<26}{s['p50']:8.2f}{s['p95']:8.2f}{s['p99']:8.2f}")
        print(f"  ask() p50 / bare model.encode([q]) p50 = {q['p50_over_bare_encode']} (reader: {q['reader']})")
    if "concurrent" in report:
        c = report["concurrent"]
        print(
            f"\nask() while uploading {c['upload_articles']} articles ({c['upload_chunks']} chunks, {c['upload_s']} s): "
            f"{c['asked_during']} asked, p50/p95 {c['during_ms']['p50']:.1f}/{c['during_ms']['p95']:.1f} ms vs idle "
            f"{c['idle_ms']['p50']:.1f}/{c['idle_ms']['p95']:.1f} ms; p95 ratio {c['p95_during_over_idle']}"
        )
    if "memory" in report:
        m = report["memory"]
        print(f"\nRSS of a process that answered {m['questions']} questions: {m['rss_mb']} MB")
    if report.get("scale"):
        print(
            "\nscale      index      build s  dense p50/p95 ms  recall@10  B/chunk RSS/disk   "
            "BM25 build s  BM25 p50/p95 ms  + fusion p50  B/chunk RSS/disk"
        )
        for r in report["scale"]:
            print(
                f"{r['chunks']:>9,}  {r['dense_index']:<9}{r['dense_build_s']:9.1f}  "
                f"{r['dense_search_ms']['p50']:7.2f}/{r['dense_search_ms']['p95']:<7.2f}  {r['recall_at_10']:9.3f}  "
                f"{r['dense_rss_bytes_per_chunk']:7.0f}/{r['dense_disk_bytes_per_chunk']:<7.0f}  "
                f"{r['bm25_build_s']:12.1f}  {r['bm25_search_ms']['p50']:7.2f}/{r['bm25_search_ms']['p95']:<7.2f}  "
                f"{r.get('bm25_fusion_ms', r.get('bm25_all_scores_ms', {})).get('p50', float('nan')):14.2f}  "
                f"{r['bm25_rss_bytes_per_chunk']:7.0f}/{r['bm25_disk_bytes_per_chunk']:<7.0f}"
            )
    if "startup" in report:
        s = report["startup"]
        print(
            f"\nstart-up: new process → first answer {s['process_to_first_answer_s']:.2f} s (import "
            f"{s['import_s']:.2f}, load {s['load_s']:.2f}, first ask {s['first_ask_s']:.2f}); RSS {s['rss_mb']} MB; "
            f"`assistant --help` {s['cli_help_s']:.2f} s"
        )
    print()
    for name, ok in report["verdicts"].items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")


# --- the command --------------------------------------------------------------------------
def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default="10000,100000,1000000", help="synthetic corpus sizes (chunks), comma-separated")
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"which parts to run ({', '.join(SECTIONS)})")
    p.add_argument("--ingest-articles", type=int, help="ingest only the first N SQuAD paragraphs")
    p.add_argument(
        "--corpus-limit", type=int, help="query a corpus of the questions' paragraphs plus others up to N (smoke runs)"
    )
    p.add_argument("--startup-runs", type=int, default=2, help="fresh processes to time (the fastest is reported)")
    p.add_argument("--scale-queries", type=int, default=200, help="queries per synthetic corpus")
    p.add_argument("--upload-articles", type=int, default=800, help="articles ingested while ask() is timed")
    p.add_argument("--memory-questions", type=int, default=2000, help="questions a fresh process answers (RSS)")
    p.add_argument("--figure", type=Path, default=DEFAULT_FIGURE, help="latency-vs-size plot (PNG)")


def run(args: argparse.Namespace) -> int:
    from ..models.embedding import Embedder
    from .bench_squad import dataset_file, limit_corpus
    from .corpus import open_corpus
    from .datasets import load_squad

    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        print(f"unknown section(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()] if args.sizes else []
    settings = Settings.from_env()
    embedder = Embedder.load(settings.model, settings.allow_download)
    report: dict = {"machine": machine(), "command": " ".join(sys.argv[1:])}
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    articles = items = None
    if {"ingest", "query", "concurrent", "memory"} & set(sections):
        articles, items = load_squad(dataset_file(args.data, "squad-v1.1"), limit=args.limit or 500)
    with tempfile.TemporaryDirectory(prefix="perf-") as tmp:
        work = Path(tmp)
        if "ingest" in sections:
            log("ingest…")
            chosen = articles[: args.ingest_articles] if args.ingest_articles else articles
            (work / "ingest").mkdir()
            report["ingest"] = bench_ingest(chosen, embedder, settings, work / "ingest")
        corpus = limit_corpus(articles, items, args.corpus_limit) if articles else None
        questions = [it.question for it in items] if items else []
        if "query" in sections:
            log("query…")
            assistant = open_corpus("squad11", corpus, embedder, settings, progress=False)
            report["query"] = bench_query(assistant, questions)
            del assistant
        if {"concurrent", "memory"} & set(sections):
            from ..core import Assistant

            assistant = open_corpus("squad11", corpus, embedder, settings, progress=False)
            served = work / "served"
            shutil.copytree(assistant.index.folder.path, served, ignore=shutil.ignore_patterns(".lock"))
            del assistant
            if "memory" in sections:
                log("memory…")
                report["memory"] = bench_memory(served, questions, args.memory_questions, work)
            if "concurrent" in sections:
                log("ask() during an upload…")
                upload = [dataclasses.replace(a, id=f"upload-{a.id}") for a in articles[: args.upload_articles]]
                assistant = Assistant.load(served, embedder=embedder, settings=settings.with_(index_dir=served))
                report["concurrent"] = bench_concurrent(assistant, questions, upload)
                assistant.index.close()
                del assistant
        if "scale" in sections and sizes:
            log("scale…")
            report["scale"] = bench_scale(sizes, embedder.dim, args.scale_queries, work, log=log)
        if "startup" in sections:
            log("start-up…")
            from ..ingest.pipeline import ingest_paths

            seeds = work / "seeds-index"
            ingest_paths(seeds, [settings.seeds_dir], embedder, settings)
            report["startup"] = bench_startup(seeds, repeats=max(1, args.startup_runs))
    report["verdicts"] = verdicts(report)
    print_table(report)
    out = args.out or DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report: {out}")
    if report.get("scale"):
        plot_scale(report["scale"], args.figure)
        print(f"figure: {args.figure}")
    return 0


run.arguments = _arguments  # type: ignore[attr-defined]
benchmark(
    "perf", "speed as ratios: ask() and ingest vs bare model.encode, ask() during an upload, RSS, scale, start-up"
)(run)

"""``assistant bench scale``: the dense index and BM25 at 100k, 1M and 10M chunks, on one core.

::

    assistant bench scale --data ../shared/data --sizes 100000,1000000,10000000 \\
        --out eval/reports/scale.json --figure eval/figures/scale.png

Vectors: ``--passages`` real SQuAD v1.1 train paragraphs embedded with the project's encoder, and
synthetic chunk vectors around them, made block by block from a seed (never all in memory):
``normalise(p_i + β·p_j + noise)`` with two random real vectors, β ~ U(0, 0.5) and gaussian noise of
norm ≈ 0.5 (cosine ≈ 0.85 to ``p_i``). Queries: ``--queries`` real SQuAD questions about those
paragraphs, embedded the same way. Ground truth: exact top 10 by inner product, streamed over the
blocks. For each size it reports, for IVF-PQ (the index :class:`DenseIndex` uses above
``PQ_MIN``; built with :meth:`DenseIndex.build_large`) and for ``IndexIVFFlat`` at ``--ivf-sizes``:
build time (train + add), in-memory bytes per vector (the FAISS index serialised, and the RSS that
loading it adds to a fresh process; the float16 vectors for re-ranking stay on disk, memory-mapped,
and are reported apart), single-query p50/p95 on one thread with warm and with cold page cache,
and recall@10, plus a sweep of ``nprobe`` × re-ranking depth. BM25 (``--bm25-sizes``): passages
of 4–6 real SQuAD sentences drawn at random; build time, bytes per passage, query p50/p95.

Each measured part is kept in ``--workdir`` (per size), so a killed run resumes where it stopped:
run the 10M size in the background (``nohup … &``); a later call that finds every part done only
writes the report, the table and the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..settings import PROJECT_ROOT
from .commands import benchmark
from .corpus import CACHE
from .metrics import percentiles
from .perf import dir_bytes, loaded_rss

DEFAULT_OUT = PROJECT_ROOT / "eval" / "reports" / "scale.json"
DEFAULT_FIGURE = PROJECT_ROOT / "eval" / "figures" / "scale.png"
BLOCK = 65_536
NOISE_NORM = 0.5
BANK = 65_536
NPROBES = (8, 16, 32, 64)
RERANKS = (0, 100, 200, 400, 1000)


def real_vectors(data: Path, passages: int, queries: int, cache: Path, seed: int = 19, embedder=None) -> dict:
    """Embeddings of ``passages`` SQuAD v1.1 train paragraphs and of ``queries`` questions about them
    (seeded samples, the project's encoder), cached in ``cache``, with the paragraphs' texts."""
    doc = json.loads((data / "squad-v1.1" / "train.json").read_text())
    paras = [(p["context"], [qa["question"] for qa in p["qas"]]) for d in doc["data"] for p in d["paragraphs"]]
    rng = random.Random(seed)
    picked = rng.sample(paras, min(passages, len(paras)))
    texts = [p for p, _ in picked]
    qtexts = [rng.choice(qs) for _, qs in rng.sample(picked, min(queries, len(picked))) if qs]
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"scale-real-{passages}-{queries}-{seed}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            if (z["passages"].shape[0], z["queries"].shape[0]) == (len(texts), len(qtexts)):
                return {
                    "passages": z["passages"],
                    "queries": z["queries"],
                    "texts": np.array(texts),
                    "questions": np.array(qtexts),
                    "embed_s": z["embed_s"],
                }
    from ..models.embedding import Embedder
    from ..settings import Settings

    settings = Settings.from_env()
    emb = embedder or Embedder.load(settings.model, settings.allow_download)
    t = time.perf_counter()
    out = {
        "passages": emb.encode(texts, batch_size=32).astype(np.float32),
        "queries": emb.encode(qtexts, batch_size=32).astype(np.float32),
        "texts": np.array(texts),
        "questions": np.array(qtexts),
    }
    out["embed_s"] = np.array(time.perf_counter() - t)
    np.savez(path, **out)
    return out


def synthetic_blocks(
    base: np.ndarray, n: int, seed: int, block: int = BLOCK
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``n`` unit vectors around the real ones, ``block`` at a time, as (chunk ids, vectors); the
    same seed gives the same vectors. Chunk ids are ``2·i + 1`` (ids are not positions)."""
    dim = base.shape[1]
    bank = np.random.default_rng([seed, 0]).standard_normal((BANK, dim), dtype=np.float32)
    bank *= NOISE_NORM / np.sqrt(2 * dim)
    for b, a in enumerate(range(0, n, block)):
        m = min(block, n - a)
        rng = np.random.default_rng([seed, 1, b])
        i, j = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
        beta = rng.random(m, dtype=np.float32)[:, None] * 0.5
        v = base[i] + beta * base[j] + bank[rng.integers(0, BANK, m)] + bank[rng.integers(0, BANK, m)]
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        yield np.arange(a, a + m, dtype=np.int64) * 2 + 1, v


def exact_top(base: np.ndarray, n: int, seed: int, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """The exact top-``k`` chunk ids of each query over the ``n`` synthetic vectors (streamed)."""
    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_i = np.zeros((len(queries), k), np.int64)
    for ids, vecs in synthetic_blocks(base, n, seed):
        s = queries @ vecs.T
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, top, 1)], 1)
        cand_i = np.concatenate([best_i, ids[top]], 1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    return best_i


def _recall(got: np.ndarray, want: np.ndarray) -> float:
    return len(set(got[:10].tolist()) & set(want[:10].tolist())) / 10


def _evict(path: Path) -> None:
    """Drop a file's pages from the page cache (no root needed for clean pages)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def measure_search(dense, queries: np.ndarray, truth: np.ndarray, cold: Path | None = None) -> dict:
    """p50/p95 (ms) and recall@10 of single queries through :meth:`DenseIndex.search` (k=10)."""
    for q in queries[:10]:
        dense.search(q, 10)
    lat, rec = [], []
    for q, want in zip(queries, truth):
        if cold is not None:
            _evict(cold)
        t = time.perf_counter()
        got, _ = dense.search(q, 10)
        lat.append(time.perf_counter() - t)
        rec.append(_recall(got, want))
    return {"ms": {k: v for k, v in percentiles(lat).items()}, "recall_at_10": round(float(np.mean(rec)), 4)}


def bench_pq(
    n: int, base: np.ndarray, queries: np.ndarray, truth: np.ndarray, work: Path, seed: int, m: int, log
) -> dict:
    """Build (or reuse) the IVF-PQ index of ``n`` synthetic vectors and measure it."""
    from ..storage import dense as dense_mod
    from ..storage.dense import DenseIndex, pq_lists, sidecar_paths

    path = work / f"pq{m}-{n}.faiss"
    done = work / f"pq{m}-{n}.build.json"
    if done.exists() and path.exists():
        build = json.loads(done.read_text())
        log(f"  {n:,}: reusing the IVF-PQ index built in {build['build_s']:.0f} s")
    else:
        nlist = pq_lists(n)
        ntrain = min(n, max(nlist, 1024) * dense_mod.TRAIN_PER_LIST)
        sample = next(synthetic_blocks(base, ntrain, seed + 7, block=ntrain))[1]
        gen_s = [0.0]

        def timed():
            it = synthetic_blocks(base, n, seed)
            for b in range(-(-n // BLOCK)):
                t = time.perf_counter()
                item = next(it)
                gen_s[0] += time.perf_counter() - t
                if b % 16 == 0:
                    log(f"  {n:,}: adding at {b * BLOCK:,} ({time.strftime('%H:%M:%S')})")
                yield item

        log(f"  {n:,}: training IVF{nlist},PQ{m}x4 on {ntrain:,} vectors, adding…")
        t = time.perf_counter()
        idx = DenseIndex.build_large(path, n, sample, timed(), m=m)
        total = time.perf_counter() - t
        build = {"build_s": round(total - gen_s[0], 1), "generate_s": round(gen_s[0], 1), "train_vectors": ntrain}
        del idx
        done.write_text(json.dumps(build))
    ids_path, vec_path = sidecar_paths(path)
    rss = loaded_rss("dense", path)
    dense = DenseIndex.load(path)
    mem = dense.memory_bytes()
    default_nprobe, default_rerank = dense.nprobe, dense.rerank
    sweep = []
    for nprobe in [p for p in NPROBES if p <= int(dense.kind[5:])]:
        for rerank in RERANKS:
            dense.nprobe, dense.rerank = nprobe, rerank
            r = measure_search(dense, queries, truth)
            sweep.append({"nprobe": nprobe, "rerank": rerank, **r})
            log(f"  {n:,}: nprobe {nprobe} rerank {rerank}: {r}")
    dense.nprobe, dense.rerank = default_nprobe, default_rerank
    warm = measure_search(dense, queries, truth)
    cold = measure_search(dense, queries, truth, cold=vec_path)
    return {
        "index": dense.kind,
        "pq": f"PQ{m}x4fs",
        "nprobe": default_nprobe,
        "rerank": default_rerank,
        **build,
        "memory_bytes_per_vector": round(mem / n, 1),
        "rss_bytes_per_vector": round(rss / n, 1),
        "disk_bytes_per_vector": round((path.stat().st_size + dir_bytes(ids_path) + dir_bytes(vec_path)) / n, 1),
        "rerank_file_bytes_per_vector": round(dir_bytes(vec_path) / n, 1),
        "search_ms": warm["ms"],
        "recall_at_10": warm["recall_at_10"],
        "cold_search_ms": cold["ms"],
        "cold_recall_at_10": cold["recall_at_10"],
        "sweep": sweep,
    }


def bench_ivf(n: int, base: np.ndarray, queries: np.ndarray, truth: np.ndarray, work: Path, seed: int, log) -> dict:
    """Today's ``IndexIVFFlat`` over the same vectors (materialised: 1,536 B per vector)."""
    from ..storage.dense import DenseIndex

    log(f"  {n:,}: IndexIVFFlat…")
    parts = list(synthetic_blocks(base, n, seed))
    ids = np.concatenate([p[0] for p in parts])
    vecs = np.concatenate([p[1] for p in parts])
    del parts
    t = time.perf_counter()
    dense = DenseIndex.build(ids, vecs, pq_min=n)
    build_s = time.perf_counter() - t
    del vecs
    path = work / f"ivf-{n}.faiss"
    dense.save(path)
    rss = loaded_rss("dense", path)
    disk = path.stat().st_size
    path.unlink()
    r = measure_search(dense, queries, truth)
    return {
        "index": dense.kind,
        "nprobe": dense.nprobe,
        "build_s": round(build_s, 1),
        "memory_bytes_per_vector": round(dense.memory_bytes() / n, 1),
        "rss_bytes_per_vector": round(rss / n, 1),
        "disk_bytes_per_vector": round(disk / n, 1),
        "search_ms": r["ms"],
        "recall_at_10": r["recall_at_10"],
    }


def bm25_passages(texts: np.ndarray, n: int, seed: int) -> Iterator[tuple[int, str]]:
    """``n`` (chunk id, passage) of 4–6 random real SQuAD sentences each."""
    from ..ingest.segment import split_sentences

    sents = [t[a:b] for t in texts.tolist() for a, b in split_sentences(t)]
    rng = np.random.default_rng(seed)
    for a in range(0, n, BLOCK):
        m = min(BLOCK, n - a)
        counts = rng.integers(4, 7, m)
        picks = rng.integers(0, len(sents), int(counts.sum()))
        at = 0
        for i, c in enumerate(counts.tolist()):
            yield 2 * (a + i) + 1, " ".join(sents[p] for p in picks[at : at + c])
            at += c


def bench_bm25(n: int, real: dict, work: Path, seed: int, log) -> dict:
    import shutil

    from ..storage.fulltext import FullText
    from ..terms import content_terms

    log(f"  {n:,}: BM25 build…")
    folder = work / f"bm25-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    FullText.build(bm25_passages(real["texts"], n, seed), folder)
    build_s = time.perf_counter() - t
    disk = dir_bytes(folder)
    rss = loaded_rss("lexical", folder)
    lex = FullText.open(folder)
    terms = [content_terms(q) for q in real["questions"].tolist()]
    for tq in terms[:10]:
        lex.search_terms(tq, 50)
    lat = []
    for tq in terms:
        t = time.perf_counter()
        lex.search_terms(tq, 50)  # what hybrid retrieval asks for
        lat.append(time.perf_counter() - t)
    del lex
    shutil.rmtree(folder)
    return {
        "build_s": round(build_s, 1),
        "rss_bytes_per_passage": round(rss / n, 1),
        "disk_bytes_per_passage": round(disk / n, 1),
        "search_ms": percentiles(lat),
    }


def _cached(path: Path, make, *args) -> dict:
    """``make(*args)``, or what it returned when a run before this one finished it."""
    if path.exists():
        return json.loads(path.read_text())
    row = make(*args)
    path.write_text(json.dumps(row))
    return row


def run(args: argparse.Namespace) -> int:
    import faiss

    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    faiss.omp_set_num_threads(1)
    if not (args.data / "squad-v1.1" / "train.json").exists():
        print(f"error: no SQuAD v1.1 under {args.data} (pass --data DIR)", file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.sizes.split(",") if s]
    ivf_sizes = {int(s) for s in args.ivf_sizes.split(",") if s}
    bm25_sizes = {int(s) for s in args.bm25_sizes.split(",") if s}
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    log(f"real vectors: {args.passages} paragraphs, {args.limit or args.queries} questions…")
    cache = getattr(args, "embed_cache", None) or CACHE
    embed_q = max(args.queries, min(400, args.passages))  # questions embedded (and cached); the first are used
    real = real_vectors(args.data, args.passages, embed_q, cache, embedder=getattr(args, "embedder", None))
    base, queries = real["passages"], real["queries"][: args.limit or args.queries]
    real["questions"] = real["questions"][: len(queries)]
    rows = []
    for n in sizes:
        tag = f"{n}-s{args.seed}-q{len(queries)}"
        truth_path = work / f"truth-{tag}.npy"
        if not truth_path.exists():
            log(f"  {n:,}: exact top 10 of {len(queries)} queries…")
            t = time.perf_counter()
            np.save(truth_path, exact_top(base, n, args.seed, queries))
            log(f"  {n:,}: ground truth in {time.perf_counter() - t:.0f} s")
        truth = np.load(truth_path, allow_pickle=False)
        row: dict = {"chunks": n}
        jobs = [("ivfpq", f"row-pq{args.pq_m}-{tag}.json", bench_pq, (args.pq_m,))]
        if n in ivf_sizes:
            jobs.append(("ivfflat", f"row-ivf-{tag}.json", bench_ivf, ()))
        for key, name, fn, extra in jobs:
            row[key] = _cached(work / name, fn, n, base, queries, truth, work, args.seed, *extra, log)
        if n in bm25_sizes:
            row["bm25"] = _cached(work / f"row-bm25-{n}-s{args.seed}.json", bench_bm25, n, real, work, args.seed, log)
        rows.append(row)
        log(f"  {n:,}: done")
    rows.sort(key=lambda r: r["chunks"])
    report = {
        "command": "assistant bench scale " + " ".join(sys.argv[3:]),
        "machine": {"cpus_used": 1, "affinity": sorted(os.sched_getaffinity(0)), "faiss": faiss.__version__},
        "real_passages": int(len(base)),
        "queries": int(len(queries)),
        "noise_norm": NOISE_NORM,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(rows)
    try:
        plot(rows, args.figure)
        print(f"figure: {args.figure}")
    except ImportError:
        print("note: matplotlib is not installed; no figure")
    print(f"report: {args.out}")
    return 0


def print_table(rows: list[dict]) -> None:
    print(
        f"\n{'chunks':>11}  {'index':<14}{'build s':>8}  {'B/vec mem':>9}  {'B/vec RSS':>9}  "
        f"{'p50/p95 ms':>12}  {'cold p50/p95':>13}  {'recall@10':>9}"
    )
    for r in rows:
        for key in ("ivfpq", "ivfflat"):
            d = r.get(key)
            if not d:
                continue
            name = f"{d['index']}" + (f"+rr{d['rerank']}" if key == "ivfpq" and d["rerank"] else "")
            cold = (
                f"{d['cold_search_ms']['p50']:.2f}/{d['cold_search_ms']['p95']:.2f}" if "cold_search_ms" in d else "-"
            )
            print(
                f"{r['chunks']:>11,}  {name:<14}{d['build_s']:>8.0f}  {d['memory_bytes_per_vector']:>9.1f}  "
                f"{d['rss_bytes_per_vector']:>9.1f}  {d['search_ms']['p50']:>5.2f}/{d['search_ms']['p95']:<6.2f}  "
                f"{cold:>13}  {d['recall_at_10']:>9.3f}"
            )
        if r.get("bm25"):
            b = r["bm25"]
            print(
                f"{r['chunks']:>11,}  {'bm25':<14}{b['build_s']:>8.0f}  {'':>9}  {b['rss_bytes_per_passage']:>9.1f}  "
                f"{b['search_ms']['p50']:>5.2f}/{b['search_ms']['p95']:<6.2f}"
            )


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    n = [r["chunks"] for r in rows]

    def series(key, f):
        pts = [(r["chunks"], f(r[key])) for r in rows if r.get(key)]
        return [p[0] for p in pts], [p[1] for p in pts]

    ax = axes[0]
    ax.plot(*series("ivfpq", lambda d: d["search_ms"]["p50"]), "o-", label="IVF-PQ + re-rank, p50 (warm)")
    ax.plot(*series("ivfpq", lambda d: d["search_ms"]["p95"]), "o--", label="IVF-PQ + re-rank, p95 (warm)")
    ax.plot(*series("ivfpq", lambda d: d["cold_search_ms"]["p50"]), "s:", label="IVF-PQ, p50 (cold page cache)")
    ax.plot(*series("ivfflat", lambda d: d["search_ms"]["p50"]), "^-", label="IVFFlat p50")
    ax.plot(*series("bm25", lambda d: d["search_ms"]["p50"]), "d-", label="BM25 p50")
    ax.axhline(20, color="grey", lw=0.8, ls="--")
    ax.set(xscale="log", yscale="log", xlabel="chunks", ylabel="ms per query (1 thread)", title="latency")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(*series("ivfpq", lambda d: d["recall_at_10"]), "o-", label="IVF-PQ + re-rank (default)")
    for rr in (0,):
        ax.plot(
            *series(
                "ivfpq",
                lambda d, rr=rr: max(
                    (s["recall_at_10"] for s in d["sweep"] if s["rerank"] == rr and s["nprobe"] == d["nprobe"]),
                    default=float("nan"),
                ),
            ),
            "x--",
            label="IVF-PQ, no re-rank",
        )
    ax.plot(*series("ivfflat", lambda d: d["recall_at_10"]), "^-", label="IVFFlat")
    ax.axhline(0.9, color="grey", lw=0.8, ls="--")
    ax.set(xscale="log", xlabel="chunks", ylabel="recall@10 vs exact", title="recall", ylim=(0, 1.02))
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.plot(*series("ivfpq", lambda d: d["memory_bytes_per_vector"]), "o-", label="IVF-PQ in memory")
    ax.plot(*series("ivfpq", lambda d: d["rerank_file_bytes_per_vector"]), "o:", label="IVF-PQ re-rank file (disk)")
    ax.plot(*series("ivfflat", lambda d: d["memory_bytes_per_vector"]), "^-", label="IVFFlat in memory")
    ax.plot(*series("bm25", lambda d: d["rss_bytes_per_passage"]), "d-", label="BM25 RSS")
    ax.axhline(64, color="grey", lw=0.8, ls="--")
    ax.set(xscale="log", yscale="log", xlabel="chunks", ylabel="bytes per chunk", title="memory")
    ax.legend(fontsize=7)
    for a in axes:
        a.set_xticks(n)
        a.set_xticklabels([f"{x / 1e6:g}M" for x in n])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default="100000,1000000,10000000", help="corpus sizes (chunks), comma-separated")
    p.add_argument("--ivf-sizes", default="100000", help="sizes also measured with today's IndexIVFFlat")
    p.add_argument("--bm25-sizes", default="100000,1000000", help="sizes also measured with BM25")
    p.add_argument("--passages", type=int, default=4000, help="real SQuAD paragraphs embedded")
    p.add_argument("--queries", type=int, default=200, help="real SQuAD questions used as queries")
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--pq-m", type=int, default=None, help="PQ sub-quantisers of 4 bits (default: the index's PQ_M)")
    p.add_argument("--workdir", type=Path, default=CACHE / "scale", help="indexes and finished parts (resumable)")
    p.add_argument("--figure", type=Path, default=DEFAULT_FIGURE)
    p.add_argument("--quiet", action="store_true")


def _run(args: argparse.Namespace) -> int:
    from ..storage.dense import PQ_M

    args.out = args.out or DEFAULT_OUT
    args.pq_m = args.pq_m or PQ_M
    return run(args)


_run.arguments = _arguments  # type: ignore[attr-defined]
benchmark("scale", "dense index (IVF-PQ + re-rank vs IVFFlat) and BM25 at 100k/1M/10M chunks, one core")(_run)

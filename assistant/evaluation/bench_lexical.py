"""``assistant bench lexical``: BM25 engines side by side on the same passages and queries, one core.

::

    nice -n 10 assistant bench lexical --data ../shared/data --sizes 100000,1000000 \\
        --engines tantivy,baseline --baseline /tmp/base --out eval/reports/lexical.json

Passages: 4–6 real SQuAD v1.1 train sentences drawn at random (as ``assistant bench scale``), so
term statistics are those of real text at any size. Queries: ``--queries`` real SQuAD train
questions, tokenised by :func:`~assistant.terms.content_terms` as retrieval does. Engines:

- ``tantivy``: :class:`~assistant.storage.fulltext.FullText`, the index's BM25 (inverted index on
  disk, memory-mapped, block-max WAND top-k; one indexing thread);
- ``baseline``: the engine of another version, built and queried by that version's own copy of this
  module (``--baseline DIR``: ``git archive REV assistant | tar -x -C DIR``); for a ``REV`` from before
  the switch to tantivy (``7b6b823``), its ``postings`` engine: format-2 segment postings scored for
  every chunk per query.

Per engine and size, each in a fresh child process: build time and peak RSS; load time of the saved
index and the RSS it adds; query p50/p95 of the top 50 (what hybrid retrieval asks for) plus, for
hybrid, the scores of 50 further chunks (what min-max fusion asks for chunks only FAISS found);
disk size; and the agreement of each engine's top 10 with the first engine's. Finished parts are
kept in ``--workdir``, so a killed run resumes.

``--quality squad,scifact,news`` measures retrieval instead: on SQuAD v1.1 dev-tune, SciFact and BBC
news (``--news``: questions with an ``article_id`` about ``../shared/data/bbc-news``), hit@1/5 of the
gold article for ``bm25`` and ``hybrid`` retrieval with the index's BM25 (run it from an older
checkout for the engine before).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..settings import PROJECT_ROOT
from .commands import benchmark
from .corpus import CACHE
from .metrics import percentiles
from .perf import dir_bytes

DEFAULT_OUT = PROJECT_ROOT / "eval" / "reports" / "lexical.json"
DEFAULT_FIGURE = PROJECT_ROOT / "eval" / "figures" / "lexical.png"
ENGINES = ("tantivy", "baseline")
TOP = 50


def squad_texts(data: Path, queries: int, seed: int = 19) -> tuple[list[str], list[str]]:
    """Every SQuAD v1.1 train paragraph and ``queries`` of its questions (a seeded sample)."""
    doc = json.loads((data / "squad-v1.1" / "train.json").read_text())
    paras = [p for d in doc["data"] for p in d["paragraphs"]]
    rng = random.Random(seed)
    qs = [rng.choice(p["qas"])["question"] for p in rng.sample(paras, min(queries, len(paras))) if p["qas"]]
    return [p["context"] for p in paras], qs


def _rss() -> tuple[int, int, int]:
    """(current, peak, anonymous) resident bytes of this process (anonymous: not pages of mapped files)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM", "RssAnon"))  # type: ignore[return-value]


def child_build(engine: str, data: Path, n: int, seed: int, folder: Path) -> dict:
    """Build a tantivy index of ``n`` passages into ``folder``; time and peak RSS. (An older version's copy
    of this function builds its own engines: ``engine`` is kept for that call.)"""
    from .bench_scale import bm25_passages

    texts, _ = squad_texts(data, 0, seed)
    passages = bm25_passages(np.array(texts), n, seed)
    items = itertools.chain([next(passages)], passages)  # sentences split before the clock starts
    from ..storage.fulltext import FullText

    t = time.perf_counter()
    FullText.build(items, folder)
    return {"build_s": round(time.perf_counter() - t, 1), "build_peak_rss_mb": round(_rss()[1] / 2**20)}


def child_query(engine: str, folder: Path, questions: list[str]) -> dict:
    """Load the saved index, then time the queries; the top 10 of each for the agreement."""
    from ..terms import content_terms

    terms = [content_terms(q) for q in questions]
    base, _, base_anon = _rss()
    from ..storage.fulltext import FullText

    t = time.perf_counter()
    lex = FullText.open(folder)

    def search(tq):
        return lex.search_terms(tq, TOP), None

    def extra(tq, s, ids):
        return lex.scores_of_terms(tq, ids)

    load_s = time.perf_counter() - t
    rss, peak, anon = _rss()
    rng = np.random.default_rng(0)
    others = [np.sort(rng.integers(0, len(lex), TOP)) * 2 + 1 for _ in terms]  # chunk ids are 2i + 1
    for tq in terms[:10]:
        search(tq)
    bm25, hybrid, tops = [], [], []
    for tq, ids in zip(terms, others):
        t = time.perf_counter()
        (found, _), s = search(tq)
        bm25.append(time.perf_counter() - t)
        extra(tq, s, ids)
        hybrid.append(time.perf_counter() - t)
        tops.append(found[:10].tolist())
    return {
        "load_s": round(load_s, 3),
        "load_rss_mb": round((rss - base) / 2**20),
        "load_anon_rss_mb": round((anon - base_anon) / 2**20),
        "load_peak_rss_mb": round(peak / 2**20),
        "bm25_ms": percentiles(bm25),
        "bm25_plus_fusion_scores_ms": percentiles(hybrid),
        "top10": tops,
    }


def _child(code: Path | None, *argv: str) -> dict:
    """Run a ``child_*`` step in a fresh interpreter on one CPU, with the ``assistant`` package of
    ``code`` (another checkout) or of this one; its JSON result."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(code or PROJECT_ROOT))
    cmd = [sys.executable, "-m", "assistant.evaluation.bench_lexical", *argv]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(code or PROJECT_ROOT))  # -m: cwd first
    if res.returncode:
        raise RuntimeError(f"{' '.join(argv[:3])} failed: {res.stderr.strip()[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _overlap(a: list[list[int]], b: list[list[int]]) -> float:
    """Mean share of one top 10 found in the other."""
    return round(float(np.mean([len(set(x) & set(y)) / max(len(x), 1) for x, y in zip(a, b) if x])), 3)


def _quality_sets(args: argparse.Namespace, embedder, settings) -> dict:
    """name → (assistant, [(question, relevant article ids)]) for each ``--quality`` set."""
    from ..core import Assistant
    from ..ingest.pipeline import ingest_paths
    from ..storage.generations import IndexDir
    from .corpus import open_corpus
    from .datasets import load_scifact, load_squad

    out = {}
    for name in [q for q in args.quality.split(",") if q]:
        if name == "squad":
            articles, items = load_squad(args.data / "squad-v1.1" / "dev-tune.json", limit=args.limit)
            pairs = [(it.question, {it.article_id}) for it in items if not it.unanswerable]
            out[name] = (open_corpus("squad", articles, embedder, settings, progress=False), pairs)
        elif name == "scifact":
            articles, items = load_scifact(args.data / "scifact", limit=args.limit)
            pairs = [(it.question, set(it.relevant)) for it in items]
            tag = "scifact"
            if args.corpus_limit and args.corpus_limit < len(articles):  # as bench scifact --corpus-limit
                judged = {d for it in items for d in it.relevant}
                others = [a.id for a in articles if a.id not in judged]
                extra = random.Random(0).sample(others, max(0, min(len(others), args.corpus_limit - len(judged))))
                keep = judged | set(extra)
                articles, tag = [a for a in articles if a.id in keep], f"scifact-c{args.corpus_limit}-s0"
            out[name] = (open_corpus(tag, articles, embedder, settings, progress=False), pairs)
        elif name == "news":
            rows = [json.loads(line) for line in args.news.read_text().splitlines() if line.strip()]
            pairs = [(r["question"], {r["article_id"]}) for r in rows if r.get("article_id")][: args.limit]
            folder = args.news_index or CACHE / "bbc-news-lexical"
            if not IndexDir(folder).exists():
                ingest_paths(folder, [args.data / "bbc-news"], embedder, settings)
            out[name] = (Assistant.load(folder, embedder=embedder, settings=settings.with_(index_dir=folder)), pairs)
        else:
            raise SystemExit(f"error: --quality takes squad, scifact, news, not {name!r}")
    return out


def quality(args: argparse.Namespace, log) -> dict:
    """hit@1/5 of bm25 and hybrid retrieval with the index's BM25, per data set."""
    from ..answer.question import analyse
    from ..models.embedding import Embedder
    from ..settings import Settings

    settings = Settings.from_env()
    embedder = Embedder.load(settings.model, settings.allow_download)
    report = {}
    for name, (assistant, pairs) in _quality_sets(args, embedder, settings).items():
        index = assistant.index
        vectors = embedder.encode([q for q, _ in pairs], batch_size=settings.batch_size)
        terms = [analyse(q).terms for q, _ in pairs]
        row: dict = {"questions": len(pairs), "chunks": len(index.lexical)}
        for mode in ("bm25", "hybrid"):
            ranks = []
            for (q, gold), vec, tq in zip(pairs, vectors, terms):
                hits = assistant.retriever.search(q, 20, mode=mode, query_vector=vec, terms=tq)
                chunks = index.store.chunks([h.chunk_id for h in hits])
                ranked = list(dict.fromkeys(chunks[h.chunk_id].article_id for h in hits if h.chunk_id in chunks))
                ranks.append(next((i for i, a in enumerate(ranked) if a in gold), None))
            n = max(len(ranks), 1)
            row[mode] = {f"hit@{k}": round(sum(r is not None and r < k for r in ranks) / n, 4) for k in (1, 5)}
        log(f"  quality {name}: {json.dumps(row)}")
        report[name] = row
    return report


def run(args: argparse.Namespace) -> int:
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    if args.quality:
        out = args.out or DEFAULT_OUT.with_name("lexical-quality.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        args.workdir.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"command": "assistant bench lexical " + " ".join(sys.argv[3:]),
                                   "quality": quality(args, log)}, indent=2) + "\n")  # fmt: skip
        print(f"report: {out}")
        return 0
    if not (args.data / "squad-v1.1" / "train.json").exists():
        print(f"error: no SQuAD v1.1 under {args.data} (pass --data DIR)", file=sys.stderr)
        return 2
    engines = [e for e in args.engines.split(",") if e]
    if any(e not in ENGINES for e in engines) or ("baseline" in engines and not args.baseline):
        print(f"error: --engines takes {', '.join(ENGINES)} (baseline with --baseline DIR)", file=sys.stderr)
        return 2
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    qfile = work / f"questions-{args.queries}-s{args.seed}.json"
    if not qfile.exists():
        qfile.write_text(json.dumps(squad_texts(args.data, args.queries, args.seed)[1]))
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        row: dict = {"passages": n}
        built: dict[str, Path] = {}
        for engine in engines:
            done = work / f"row-{engine}-{n}-s{args.seed}-q{args.queries}.json"
            if done.exists():
                row[engine] = json.loads(done.read_text())
                continue
            kind = "postings" if engine == "baseline" else engine  # the older version's own engine
            code = args.baseline if engine == "baseline" else None
            folder = work / f"{kind}-{n}-s{args.seed}"
            record = folder / "built.json"
            if not record.exists():
                if folder.exists():
                    shutil.rmtree(folder)
                log(f"  {n:,} {kind}: build…")
                part = _child(code, "build", kind, str(args.data), str(n), str(args.seed), str(folder))
                part["disk_mb"] = round(dir_bytes(folder) / 2**20, 1)
                record.write_text(json.dumps(part))
            part = json.loads(record.read_text())
            built[kind] = folder
            log(f"  {n:,} {engine}: built in {part['build_s']} s; load and {args.queries} queries…")
            part.update(_child(code, "query", kind, str(folder), str(qfile)))
            done.write_text(json.dumps(part))
            row[engine] = part
        if not args.keep:
            for folder in built.values():
                shutil.rmtree(folder)
        first = row[engines[0]]["top10"]
        for engine in engines:
            row[engine]["top10_overlap_with_" + engines[0]] = _overlap(first, row[engine]["top10"])
        rows.append(row)
        print_rows([row], engines)
    report = {
        "command": "assistant bench lexical " + " ".join(sys.argv[3:]),
        "machine": {"cpus": os.cpu_count(), "note": "one thread per engine; shared machine"},
        "queries": args.queries,
        "rows": [
            {k: ({kk: vv for kk, vv in v.items() if kk != "top10"} if isinstance(v, dict) else v) for k, v in r.items()}
            for r in rows
        ],
    }
    out = args.out or DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report: {out}")
    if args.figure:
        try:
            plot(report["rows"], engines, args.figure)
            print(f"figure: {args.figure}")
        except ImportError:
            print("note: matplotlib is not installed; no figure")
    return 0


def plot(rows: list[dict], engines: list[str], path: Path) -> None:
    """Query p50/p95, load time and loaded RSS against the number of passages, per engine."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = [
        ("BM25 top 50, ms (one core)", [("p50", lambda d: d["bm25_ms"]["p50"], "o-"),
                                        ("p95", lambda d: d["bm25_ms"]["p95"], "o:")]),
        ("load a saved index, s", [("", lambda d: d["load_s"], "s-")]),
        ("RSS added by loading, MB", [("", lambda d: max(d["load_rss_mb"], 1), "d-")]),
    ]  # fmt: skip
    for ax, (title, series) in zip(axes, panels):
        for i, engine in enumerate(engines):
            for label, value, style in series:
                pts = [(r["passages"], value(r[engine])) for r in rows if engine in r]
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                ax.plot(xs, ys, style, color=f"C{i}", label=f"{engine} {label}".strip())
        ax.set(xscale="log", yscale="log", xlabel="passages", title=title)
        ax.set_xticks([r["passages"] for r in rows])
        ax.set_xticklabels([f"{r['passages'] / 1e6:g}M" for r in rows])
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_rows(rows: list[dict], engines: list[str]) -> None:
    print(
        f"{'passages':>10}  {'engine':<9}{'build s':>8}{'build MB':>9}{'load s':>8}{'load MB':>8}{'disk MB':>8}"
        f"  {'bm25 p50/p95 ms':>16}  {'+fusion p50/p95':>16}  {'top10 overlap':>13}"
    )
    for r in rows:
        for e in engines:
            d = r[e]
            print(
                f"{r['passages']:>10,}  {e:<9}{d['build_s']:>8.1f}{d['build_peak_rss_mb']:>9}{d['load_s']:>8.2f}"
                f"{d['load_rss_mb']:>8}{d['disk_mb']:>8.0f}  {d['bm25_ms']['p50']:>7.2f}/{d['bm25_ms']['p95']:<8.2f}"
                f"  {d['bm25_plus_fusion_scores_ms']['p50']:>7.2f}/{d['bm25_plus_fusion_scores_ms']['p95']:<8.2f}"
                f"  {d.get('top10_overlap_with_' + engines[0], float('nan')):>13.3f}",
                flush=True,
            )


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default="100000,1000000", help="passages, comma-separated")
    p.add_argument("--engines", default="tantivy", help="BM25 engines: tantivy, baseline (with --baseline DIR)")
    p.add_argument("--queries", type=int, default=400, help="real SQuAD questions used as queries")
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--workdir", type=Path, default=CACHE / "lexical", help="indexes and finished parts (resumable)")
    p.add_argument("--baseline", type=Path, help="checkout whose code the baseline engine runs")
    p.add_argument("--figure", type=Path, default=DEFAULT_FIGURE, help="plot of the rows")
    p.add_argument("--keep", action="store_true", help="keep the built indexes in --workdir")
    p.add_argument("--quality", default="", help="retrieval hit@1/5 with each engine instead: squad,scifact,news")
    p.add_argument("--news", type=Path, default=PROJECT_ROOT / "eval" / "news.jsonl", help="BBC news questions")
    p.add_argument("--corpus-limit", type=int, help="--quality scifact: the judged abstracts + others up to N")
    p.add_argument("--news-index", type=Path, help="an index of ../shared/data/bbc-news to reuse (else built)")
    p.add_argument("--quiet", action="store_true")


run.arguments = _arguments  # type: ignore[attr-defined]
benchmark("lexical", "BM25 engines (tantivy vs an older version's): build, load, RSS, query p50/p95, disk")(run)


def main(argv: list[str]) -> int:
    """The child steps: ``build ENGINE DATA N SEED FOLDER`` and ``query ENGINE FOLDER QUESTIONS``."""
    if argv[0] == "build":
        out = child_build(argv[1], Path(argv[2]), int(argv[3]), int(argv[4]), Path(argv[5]))
    else:
        out = child_query(argv[1], Path(argv[2]), json.loads(Path(argv[3]).read_text()))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

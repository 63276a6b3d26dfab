"""BEIR SciFact (retrieval only): nDCG@10 and recall@100 of the judged abstracts, per retrieval mode.

``assistant bench scifact [--data DIR] [--limit N] [--corpus-limit M] [--candidates C]``. The corpus
is every abstract (5,183); ``--corpus-limit`` keeps the judged abstracts of the sampled claims plus
random others (a smoke run that does not have to embed the whole corpus).

Example::

    assistant bench scifact --data ../shared/data --out eval/reports/scifact.json
    assistant bench scifact --limit 10 --corpus-limit 60          # smoke
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from .bench_squad import report_header
from .commands import benchmark
from .datasets import load_scifact
from .metrics import ndcg_at, recall_at

MODES = ("bm25", "dense", "hybrid")


def ranked_articles(assistant, question: str, vector, mode: str, depth: int) -> list[str]:
    """Article ids of the top chunks, deduplicated, best first (at most ``depth``)."""
    from ..answer.question import analyse

    hits = assistant.retriever.search(
        question, depth * 3, mode=mode, query_vector=vector, terms=analyse(question).terms
    )
    chunks = assistant.index.store.chunks([h.chunk_id for h in hits])
    return list(dict.fromkeys(chunks[h.chunk_id].article_id for h in hits if h.chunk_id in chunks))[:depth]


def scifact(args: argparse.Namespace) -> int:
    from ..models.embedding import Embedder
    from ..settings import Settings
    from .corpus import open_corpus

    folder = Path(args.data)
    folder = folder if (folder / "corpus.jsonl").exists() else folder / "scifact"
    articles, items = load_scifact(folder, limit=args.limit, seed=args.seed)
    if args.corpus_limit is not None and args.corpus_limit < len(articles):
        judged = {d for it in items for d in it.relevant}
        others = [a.id for a in articles if a.id not in judged]
        extra = random.Random(args.seed).sample(others, max(0, min(len(others), args.corpus_limit - len(judged))))
        keep = judged | set(extra)
        articles = [a for a in articles if a.id in keep]
    settings = Settings.from_env(candidates=args.candidates, fusion=args.fusion, dense_rescore=args.dense_rescore)
    embedder = getattr(args, "embedder", None) or Embedder.load(settings.model, settings.allow_download)
    name = "scifact" if args.corpus_limit is None else f"scifact-c{args.corpus_limit}-s{args.seed}"
    t = time.perf_counter()
    assistant = open_corpus(name, articles, embedder, settings, progress=not args.quiet)
    t_index = time.perf_counter() - t
    vectors = embedder.encode([it.question for it in items], batch_size=settings.batch_size)
    report: dict = {
        **report_header("scifact", folder, embedder, settings, len(items), len(articles)),
        "seconds": {"index": round(t_index, 1)},
        "retrieval": {},
    }
    for mode in [m for m in args.modes.split(",") if m]:
        t = time.perf_counter()
        ndcg, recall = [], []
        for it, vec in zip(items, vectors):
            ranked = ranked_articles(assistant, it.question, vec, mode, 100)
            ndcg.append(ndcg_at(ranked, it.relevant, 10))
            recall.append(recall_at(ranked, it.relevant, 100))
        n = max(len(items), 1)
        report["retrieval"][mode] = {"ndcg@10": round(sum(ndcg) / n, 4), "recall@100": round(sum(recall) / n, 4)}
        report["seconds"][f"retrieval_{mode}"] = round(time.perf_counter() - t, 1)
    print(f"scifact: {len(items)} claims, {len(articles)} abstracts, model {embedder.spec.name}")
    print(f"{'mode':<8}{'nDCG@10':>10}{'R@100':>10}")
    for mode, m in report["retrieval"].items():
        print(f"{mode:<8}{m['ndcg@10']:>10.3f}{m['recall@100']:>10.3f}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1))
    return 0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus-limit", type=int, help="keep the judged abstracts plus others up to this many (smoke)")
    p.add_argument("--candidates", type=int, default=300, help="candidates per retriever (recall@100 needs depth)")
    p.add_argument("--modes", default=",".join(MODES), help="retrieval modes to compare (default: bm25,dense,hybrid)")
    p.add_argument("--fusion", choices=("minmax", "rrf"), help="override settings.fusion (comparisons)")
    p.add_argument("--dense-rescore", choices=("max_sentence", "chunk"), help="override settings.dense_rescore")
    p.add_argument("--seed", type=int, default=0, help="sampling seed for --limit / --corpus-limit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


scifact.arguments = _arguments  # type: ignore[attr-defined]
benchmark("scifact", "BEIR SciFact retrieval: nDCG@10 and recall@100 (bm25/dense/hybrid)")(scifact)

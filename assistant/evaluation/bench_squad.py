"""SQuAD v1.1 and 2.0 as open-corpus benchmarks: every paragraph of the file is an article.

``assistant bench squad [--data DIR|FILE] [--limit N] [--corpus-limit M] [--modes bm25,dense,hybrid]``
(and ``squad2``) report, for each retrieval mode, hit@1/5/20 and MRR@10 of the gold paragraph
(the ranked chunks' article ids, deduplicated), then run ``ask()`` (hybrid) on every question for
answer-in-answer-text accuracy and exact match / token F1 of the focused span (official SQuAD
normalisation). ``squad2`` adds abstention precision/recall on the unanswerable questions and the
AUROC of the confidence (answerable vs unanswerable).

Example::

    assistant bench squad --data ../shared/data --out eval/reports/squad.json
    assistant bench squad2 --limit 200 --corpus-limit 100     # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from ..records import Article
from .commands import benchmark
from .datasets import QAItem, load_squad
from .metrics import (
    answer_in_text,
    auroc,
    exact_match,
    first_rank,
    hit_at,
    percentiles,
    reciprocal_rank,
    token_f1,
)

MODES = ("bm25", "dense", "hybrid")
KS = (1, 5, 20)


def command_line(name: str) -> str:
    """The command that produced a report (for the results tables)."""
    if sys.argv[1:2] == ["bench"]:
        return " ".join(["assistant", *sys.argv[1:]])
    return f"assistant bench {name} (in-process)"


RETRIEVAL_SETTINGS = (
    "candidates",
    "passages",
    "fusion",
    "dense_rescore",
    "dense_weight",
    "bm25_weight",
    "rrf_k",
    "chunk_tokens",
)


def report_header(
    name: str, data: Path, embedder, settings, n_questions: int, n_articles: int, verb: str | None = None
) -> dict:
    """What every benchmark report starts with: what ran, on what, with which settings."""
    return {
        "benchmark": name,
        "data": str(data),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "model": embedder.spec.name,
        "questions": n_questions,
        "corpus_articles": n_articles,
        "settings": {k: getattr(settings, k) for k in RETRIEVAL_SETTINGS},
        "command": command_line(verb or name),
    }


def dataset_file(data: Path, folder: str) -> Path:
    """``--data`` may be the shared data folder or the JSON file itself."""
    data = Path(data)
    return data if data.is_file() else data / folder / "dev-tune.json"


def limit_corpus(
    articles: list[Article], items: list[QAItem], corpus_limit: int | None, seed: int = 0
) -> list[Article]:
    """Every gold article of ``items`` plus others up to ``corpus_limit`` articles (random, seeded)."""
    if corpus_limit is None or corpus_limit >= len(articles):
        return articles
    gold = {it.article_id for it in items}
    others = [a for a in articles if a.id not in gold]
    keep = gold | {a.id for a in random.Random(seed).sample(others, max(0, min(len(others), corpus_limit - len(gold))))}
    return [a for a in articles if a.id in keep]


def retrieval_ranks(
    assistant, items: list[QAItem], vectors: np.ndarray, mode: str, depth: int = 20
) -> list[int | None]:
    """0-based rank of each item's gold article among the deduplicated article ids of the top chunks."""
    from ..answer.question import analyse

    out = []
    store = assistant.index.store
    for it, vec in zip(items, vectors):
        hits = assistant.retriever.search(
            it.question, depth, mode=mode, query_vector=vec, terms=analyse(it.question).terms
        )
        chunks = store.chunks([h.chunk_id for h in hits])
        ranked = list(dict.fromkeys(chunks[h.chunk_id].article_id for h in hits if h.chunk_id in chunks))
        out.append(first_rank(ranked, it.article_id))
    return out


def rank_metrics(ranks: list[int | None]) -> dict[str, float]:
    n = max(len(ranks), 1)
    m = {f"hit@{k}": round(sum(hit_at(r, k) for r in ranks) / n, 4) for k in KS}
    m["mrr@10"] = round(sum(reciprocal_rank(r, 10) for r in ranks) / n, 4)
    return m


def answer_rows(assistant, items: list[QAItem]) -> list[dict]:
    """``ask()`` every question, as a user would (latency includes embedding the question)."""
    rows = []
    for it in items:
        t = time.perf_counter()
        ans = assistant.ask(it.question)
        latency = time.perf_counter() - t
        pred = "" if ans.abstained else (ans.span_text or ans.text)
        top = ans.citations[0].quote if ans.citations else ""
        rows.append(
            {
                "id": it.id,
                "unanswerable": it.unanswerable,
                "abstained": ans.abstained,
                "confidence": ans.confidence,
                "in_answer": (not ans.abstained) and answer_in_text(ans.text, it.answers),
                "in_top_candidate": answer_in_text(ans.text if not ans.abstained else top, it.answers),
                "em": exact_match(pred, it.answers) if it.answers else 0.0,
                "f1": token_f1(pred, it.answers) if it.answers else 0.0,
                "latency_s": latency,
            }
        )
    return rows


def answer_metrics(rows: list[dict]) -> dict:
    ans = [r for r in rows if not r["unanswerable"]]
    una = [r for r in rows if r["unanswerable"]]
    n = max(len(ans), 1)
    m = {
        "answerable": len(ans),
        "answer_in_answer_text": round(sum(r["in_answer"] for r in ans) / n, 4),
        "answer_in_best_candidate": round(sum(r["in_top_candidate"] for r in ans) / n, 4),
        "exact_match": round(sum(r["em"] for r in ans) / n, 4),
        "f1": round(sum(r["f1"] for r in ans) / n, 4),
        "abstained_answerable": round(sum(r["abstained"] for r in ans) / n, 4),
        "latency_ms": percentiles([r["latency_s"] for r in rows], (50, 95)),
    }
    if una:
        abstained = [r for r in rows if r["abstained"]]
        m["unanswerable"] = len(una)
        m["abstention_precision"] = (
            round(sum(r["unanswerable"] for r in abstained) / len(abstained), 4) if abstained else 0.0
        )
        m["abstention_recall"] = round(sum(r["abstained"] for r in una) / len(una), 4)
        m["confidence_auroc"] = round(auroc([r["confidence"] for r in ans], [r["confidence"] for r in una]), 4)
        m["overall_em"] = round(
            (sum(r["em"] for r in ans) + sum(r["abstained"] for r in una)) / len(rows), 4
        )  # SQuAD 2.0 convention: abstaining on an unanswerable question is an exact match
    return m


def run_squad(args: argparse.Namespace, name: str, folder: str) -> int:
    from ..models.embedding import Embedder
    from ..settings import Settings
    from .corpus import open_corpus

    path = dataset_file(args.data, folder)
    articles, items = load_squad(path, limit=args.limit, seed=args.seed)
    if getattr(args, "unseen", False) and args.limit:  # questions outside the default sample (seed 0)
        seen = {it.id for it in load_squad(path, limit=args.limit, seed=0)[1]}
        rest = [it for it in load_squad(path)[1] if it.id not in seen]
        items = random.Random(args.seed or 1).sample(rest, min(args.limit, len(rest)))
    articles = limit_corpus(articles, items, args.corpus_limit, args.seed)
    settings = Settings.from_env(fusion=args.fusion, dense_rescore=args.dense_rescore)
    embedder = getattr(args, "embedder", None) or Embedder.load(settings.model, settings.allow_download)
    t = time.perf_counter()
    assistant = open_corpus(name if args.corpus_limit is None else f"{name}-c{args.corpus_limit}", articles, embedder,
                            settings, progress=not args.quiet)  # fmt: skip
    t_index = time.perf_counter() - t
    t = time.perf_counter()
    vectors = embedder.encode([it.question for it in items], batch_size=settings.batch_size)
    t_encode = time.perf_counter() - t
    answerable = [i for i, it in enumerate(items) if not it.unanswerable]
    modes = [m for m in args.modes.split(",") if m]
    report: dict = {
        **report_header(
            name, path, embedder, settings, len(items), len(articles), "squad" if folder == "squad-v1.1" else "squad2"
        ),
        "seconds": {"index": round(t_index, 1), "encode_questions": round(t_encode, 1)},
        "retrieval": {},
    }
    ans_items = [items[i] for i in answerable]
    ans_vecs = vectors[answerable] if len(answerable) else vectors[:0]
    for mode in modes:
        t = time.perf_counter()
        ranks = retrieval_ranks(assistant, ans_items, ans_vecs, mode)
        report["retrieval"][mode] = rank_metrics(ranks)
        report["seconds"][f"retrieval_{mode}"] = round(time.perf_counter() - t, 1)
    if not args.no_answers:
        t = time.perf_counter()
        rows = answer_rows(assistant, items)
        report["answers"] = answer_metrics(rows)
        report["seconds"]["answers"] = round(time.perf_counter() - t, 1)
    print(format_report(report))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1))
    return 0


def format_report(report: dict) -> str:
    lines = [f"{report['benchmark']}: {report['questions']} questions, {report['corpus_articles']} paragraphs, "
             f"model {report['model']}"]  # fmt: skip
    lines.append(f"{'mode':<8}" + "".join(f"{k:>9}" for k in ("hit@1", "hit@5", "hit@20", "mrr@10")))
    for mode, m in report["retrieval"].items():
        lines.append(f"{mode:<8}" + "".join(f"{m[k]:>9.3f}" for k in ("hit@1", "hit@5", "hit@20", "mrr@10")))
    a = report.get("answers")
    if a:
        lines.append(
            f"answers (hybrid, ask()): in answer text {a['answer_in_answer_text']:.3f}, in best candidate "
            f"{a['answer_in_best_candidate']:.3f}, EM {a['exact_match']:.3f}, F1 {a['f1']:.3f}, "
            f"abstained on answerable {a['abstained_answerable']:.3f}"
        )
        if "abstention_recall" in a:
            lines.append(
                f"unanswerable: abstention precision {a['abstention_precision']:.3f}, recall "
                f"{a['abstention_recall']:.3f}, confidence AUROC {a['confidence_auroc']:.3f}, overall EM {a['overall_em']:.3f}"
            )
        lines.append(f"latency ms p50 {a['latency_ms']['p50']} p95 {a['latency_ms']['p95']}")
    return "\n".join(lines)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus-limit", type=int, help="keep the gold paragraphs plus others up to this many (smoke runs)")
    p.add_argument("--modes", default=",".join(MODES), help="retrieval modes to compare (default: bm25,dense,hybrid)")
    p.add_argument("--no-answers", action="store_true", help="retrieval only: skip ask()")
    p.add_argument("--fusion", choices=("minmax", "rrf"), help="override settings.fusion (comparisons)")
    p.add_argument("--dense-rescore", choices=("max_sentence", "chunk"), help="override settings.dense_rescore")
    p.add_argument("--seed", type=int, default=0, help="sampling seed for --limit / --corpus-limit")
    p.add_argument(
        "--unseen",
        action="store_true",
        help="with --limit: sample from the questions outside the default (seed 0) sample, i.e. ones not looked at",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def squad(args: argparse.Namespace) -> int:
    return run_squad(args, "squad11", "squad-v1.1")


def squad2(args: argparse.Namespace) -> int:
    return run_squad(args, "squad20", "squad-v2.0")


squad.arguments = _arguments  # type: ignore[attr-defined]
squad2.arguments = _arguments  # type: ignore[attr-defined]
benchmark("squad", "SQuAD v1.1 open corpus: retrieval hit@k (bm25/dense/hybrid), answer accuracy, EM/F1")(squad)
benchmark("squad2", "SQuAD 2.0: as squad, plus abstention precision/recall and confidence AUROC")(squad2)

"""``assistant bench grown``: does an answer about one article hold when the collection grows?

The seed question set (``eval/seeds.jsonl``) is run twice through ``ask()``: on ``seeds/`` alone
and on ``seeds/`` plus ``--paragraphs`` unrelated SQuAD v1.1 tuning paragraphs (a seeded sample,
each its own article). Every figure of ``assistant eval`` is reported for both, with the change,
the questions whose decision (answer vs abstain) flipped are listed, and the answer-accuracy change
is also given without the header questions that name no article, which by design ask "which
article?" once several are indexed::

    assistant bench grown --data ../shared/data --paragraphs 1000 --out eval/reports/grown.json

Both indexes are cached (rebuilt only when the articles or the settings change).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from .commands import benchmark
from .datasets import load_squad
from .seeds_eval import DEFAULT_SET, evaluate, load_set

KEYS = (
    "answer_accuracy",
    "citation_accuracy",
    "abstention_precision",
    "abstention_recall",
    "false_abstention_rate",
    "overall_accuracy",
    "confidence_auroc",
    "ece",
)


def grown_articles(data: Path, paragraphs: int, seed: int = 13):
    """``paragraphs`` SQuAD v1.1 tuning paragraphs (seeded sample), each as its own article."""
    articles, _ = load_squad(data / "squad-v1.1" / "dev-tune.json")
    rng = random.Random(seed)
    return rng.sample(articles, min(paragraphs, len(articles)))


def without_which_article(small: list[dict], grown: list[dict]) -> dict:
    """Answer accuracy on both runs over the answerable questions, leaving out those the grown
    run answered by asking which article is meant (``core.WHICH_ARTICLE``): by design, not a flip."""
    from ..core import WHICH_ARTICLE

    ids = sorted(r["id"] for r in grown if WHICH_ARTICLE in r.get("notes", []))

    def accuracy(run: list[dict]) -> float:
        kept = [r for r in run if not r["unanswerable"] and r["id"] not in ids]
        return round(sum(bool(r.get("answer_correct")) for r in kept) / len(kept), 4) if kept else float("nan")

    first, second = accuracy(small), accuracy(grown)
    return {"ids": ids, "seeds": first, "grown": second, "change": round(second - first, 4)}


def run(args: argparse.Namespace) -> int:
    from ..ingest.readers import read_paths
    from ..models.embedding import Embedder
    from ..settings import Settings
    from .corpus import open_corpus

    settings = Settings.from_env(reader=getattr(args, "reader", None))
    seeds = read_paths([settings.seeds_dir]).articles
    if not (args.data / "squad-v1.1" / "dev-tune.json").exists():
        print(f"error: no SQuAD data under {args.data} (pass --data DIR)", file=sys.stderr)
        return 2
    extra = grown_articles(args.data, args.paragraphs)
    embedder = Embedder.load(settings.model, settings.allow_download)
    items = load_set(args.set)
    rows = {}
    answers = {}
    for name, arts in (("seeds", seeds), (f"seeds+{len(extra)}", seeds + extra)):
        assistant = open_corpus(f"grown-{len(arts)}", arts, embedder, settings, progress=not args.quiet)
        report = evaluate(assistant, items)
        rows[name] = {k: report["metrics"].get(k) for k in KEYS}
        answers[name] = report["rows"]
    decisions = {name: {r["id"]: (r["abstained"], r.get("confidence")) for r in run} for name, run in answers.items()}
    a, b = list(rows)
    delta = {k: round(rows[b][k] - rows[a][k], 4) for k in KEYS if rows[a][k] is not None and rows[b][k] is not None}
    flipped = [
        {"id": i, a: decisions[a][i], b: decisions[b].get(i)}
        for i in decisions[a]
        if decisions[b].get(i, (None,))[0] != decisions[a][i][0]
    ]
    print(f"{'metric':24} {a:>10} {b:>12} {'change':>8}")
    for k in KEYS:
        va, vb = rows[a][k], rows[b][k]
        if va is None or vb is None:
            continue
        print(f"{k:24} {va:10.3f} {vb:12.3f} {vb - va:+8.3f}")
    print(f"decisions flipped: {len(flipped)} of {len(items)}")
    for f in flipped:
        print(f"  {f['id']}: {f[a]} → {f[b]}")
    which = without_which_article(answers[a], answers[b])
    print(
        f"answer accuracy without the {len(which['ids'])} header question(s) that ask which article: "
        f"{which['seeds']:.3f} → {which['grown']:.3f} ({which['change']:+.3f})"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        out = {
            "set": str(args.set),
            "paragraphs": len(extra),
            "metrics": rows,
            "change": delta,
            "flipped": flipped,
            "without_which_article": which,
        }
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    return 0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--paragraphs", type=int, default=1000, help="unrelated paragraphs added to seeds/")
    p.add_argument("--set", type=Path, default=DEFAULT_SET, help="question set (JSONL)")
    p.add_argument("--reader", help="answer reader (default: the setting)")
    p.add_argument("--quiet", action="store_true")


run.arguments = _arguments  # type: ignore[attr-defined]
benchmark("grown", "the seed question set on seeds/ alone vs seeds/ + 1,000 unrelated paragraphs")(run)

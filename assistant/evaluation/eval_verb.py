"""The ``assistant eval`` verb: the seed set (``eval/seeds.jsonl``, :mod:`.seeds_eval`) or, with ``--news``, the
news set on every bbc-news article (:mod:`.news_eval`), each checked against its thresholds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..verbs import command
from .news_eval import (
    NEWS_SET,
    NEWS_THRESHOLDS,
    format_news_table,
    load_news_set,
    news_assistant,
    reader_latency_ratio,
    run_news_gate,
)
from .seeds_eval import DEFAULT_OUT, DEFAULT_SET, DEFAULT_THRESHOLDS, format_table, run_gate
from .seeds_eval import _default_assistant as default_assistant


def cmd_eval(args: argparse.Namespace) -> int:
    if args.news:
        return _cmd_news(args)
    assistant = _assistant(args, default_assistant)
    report, failures = run_gate(assistant, args.set, args.thresholds, None if args.no_write else args.out)
    print(format_table(report["metrics"], report["thresholds"]))
    if not args.no_write:
        print(f"\nreport: {args.out / 'seeds.json'}, figure: {args.out / 'seeds.png'}")
    return _verdict(failures)


def _verdict(failures: list[str]) -> int:
    """Say whether the gate passed; the exit status."""
    if failures:
        print("\nFAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("\npassed: every metric meets its threshold")
    return 0


def _assistant(args: argparse.Namespace, build):
    """The assistant over ``--index``, else the set's own cached index (``build()``)."""
    if args.index is None:
        return build()
    from ..core import Assistant

    return Assistant.load(args.index)


def _cmd_news(args: argparse.Namespace) -> int:
    try:
        assistant = _assistant(args, lambda: news_assistant(args.data, progress=True))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    set_path = args.set if args.set != DEFAULT_SET else NEWS_SET
    if args.reader_ratio:
        print(json.dumps(reader_latency_ratio(assistant, load_news_set(set_path)), indent=1))
        return 0
    thresholds = args.thresholds if args.thresholds != DEFAULT_THRESHOLDS else NEWS_THRESHOLDS
    report, failures = run_news_gate(assistant, set_path, thresholds, None if args.no_write else args.out)
    print(format_news_table(report["metrics"]))
    if not args.no_write:
        print(f"\nreport: {args.out / 'news.json'}")
    return _verdict(failures)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", type=Path, default=DEFAULT_SET, help="question set (JSONL)")
    p.add_argument(
        "--news",
        action="store_true",
        help="the news set (eval/news.jsonl) on an index of every bbc-news article plus seeds/, by intent",
    )
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="shared data folder (with --news)")
    p.add_argument(
        "--reader-ratio",
        action="store_true",
        help="with --news: time ask() with the reader and without it, question by question, and print the p50 ratio",
    )
    p.add_argument("--index", type=Path, help="index folder (default: a cached index of seeds/)")
    p.add_argument("--thresholds", type=Path, default=DEFAULT_THRESHOLDS, help="thresholds (JSON)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for seeds.json and seeds.png")
    p.add_argument("--no-write", action="store_true", help="do not write the report files")


cmd_eval.arguments = _arguments  # type: ignore[attr-defined]
command("eval", "run the question set in eval/ through ask() and check it against eval/thresholds.json")(cmd_eval)

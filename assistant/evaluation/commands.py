"""The ``assistant bench NAME`` verb: each benchmark module registers itself with :func:`benchmark`.

A benchmark is ``run(args) -> int`` plus an optional ``arguments(parser)`` attribute, like
the CLI verbs. Modules listed in ``BENCH_MODULES`` are imported when the verb is built.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from ..verbs import Registry, command, registrar

BENCH_MODULES = (
    "assistant.evaluation.bench_squad",
    "assistant.evaluation.bench_doc2dial",
    "assistant.evaluation.bench_scifact",
    "assistant.evaluation.perf",
    "assistant.evaluation.bench_grown",
    "assistant.evaluation.bench_scale",
    "assistant.evaluation.bench_generations",
    "assistant.evaluation.bench_ingest_engines",
    "assistant.evaluation.bench_lexical",
)
BENCHES: Registry = {}
#: Decorator: register ``run(args)`` as ``assistant bench NAME``.
benchmark = registrar(BENCHES)


def _load() -> None:
    for mod in BENCH_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def _arguments(parser: argparse.ArgumentParser) -> None:
    _load()
    sub = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    for name, (help_, add_args, run) in BENCHES.items():
        p = sub.add_parser(name, help=help_)
        p.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder of the public datasets")
        p.add_argument("--limit", type=int, help="only this many questions (a quick smoke run)")
        p.add_argument("--out", type=Path, help="write the JSON report here")
        add_args(p)
        p.set_defaults(run=run)


def _bench(args: argparse.Namespace) -> int:
    """Never called: each benchmark parser sets its own ``run``."""
    return int(args.run(args) or 0)


_bench.arguments = _arguments  # type: ignore[attr-defined]
command(
    "bench", "public benchmarks and performance (squad, squad2, doc2dial, scifact, perf, scale, add, ingest-engines)"
)(_bench)

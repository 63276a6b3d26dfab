"""Command line: ``assistant ingest|ask|remove|compact|repair|info`` (also ``python -m assistant``).

Errors a user can fix print one line and exit with status 1 (2 for bad usage). Nothing a user
can cause prints a traceback: a closed output pipe (``assistant info | head``) ends quietly with
status 141, a missing optional package names what to install, and any other failure is one
``error:`` line (``ASSISTANT_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import AssistantError
from .settings import Settings
from .verbs import COMMANDS


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index", None), model=getattr(args, "model", None), reader=getattr(args, "reader", None)
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, help="index folder (default: $ASSISTANT_INDEX or ./index)")
    p.add_argument("--model", help="sentence-transformers model name or local path (default: the index's model)")
    p.add_argument(
        "--reader", help="answer reader: 'bundled' (default, $ASSISTANT_READER), 'none' (faster) or a reader file"
    )


def _print_answer(ans, color: bool) -> None:
    bold, dim, reset = ("\033[1m", "\033[2m", "\033[0m") if color else ("", "", "")
    if ans.abstained:
        print(f"{bold}{ans.text}{reset}  (confidence {ans.confidence:.2f})")
        if ans.citations:
            print("Closest passages:")
    elif len(ans.sentences) > 1:  # a summary, a topic, who said what at length, the articles naming a name
        where = {(c.article_id, c.start): n for n, c in enumerate(ans.citations, 1)}
        for s in ans.sentences:
            print(f"• {s.quote} {dim}[{where.get((s.article_id, s.start), '?')}]{reset}")
        print(f"{dim}{ans.intent}, {len(ans.sentences)} sentences, confidence {ans.confidence:.2f}{reset}")
    else:
        text = ans.text
        if ans.span:
            a, b = ans.span
            text = f"{text[:a]}{bold}{text[a:b]}{reset}{text[b:]}" if color else f"{text[:a]}[{text[a:b]}]{text[b:]}"
        print(text)
        if ans.span_text:
            print(f"{dim}Answer:{reset} {bold}{ans.span_text}{reset}")
        print(f"{dim}confidence {ans.confidence:.2f}{reset}")
    for n, c in enumerate(ans.citations, 1):
        meta = ", ".join(x for x in (c.author, c.date) if x)
        where = f"{c.article_id}, page {c.page}," if c.page else c.article_id  # PDF articles: the page to open
        print(f"[{n}] {c.title}{f' ({meta})' if meta else ''} — {where} chars {c.start}-{c.end}")
        if len(ans.sentences) > 1 and not ans.abstained and c in ans.sentences:
            continue  # quoted above
        print(f"    {c.quote}" if c.has_own_quotes else f"    “{c.quote}”")
    for note in ans.notes:
        print(f"{dim}note: {note}{reset}")


def cmd_ask(args: argparse.Namespace) -> int:
    from .core import Assistant, clean_question, default_assistant

    clean_question(args.question, Settings().max_question_chars)  # fail fast, before loading a model
    settings = _settings(args)
    from .storage.generations import IndexDir

    if args.index is None and not IndexDir(settings.index_dir).exists():
        assistant = default_assistant()  # first use: build from seeds/
    else:
        assistant = Assistant.load(settings=settings)
    ans = assistant.ask(args.question, history=args.history or None)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=1))
    else:
        _print_answer(ans, color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from .core import encoder_for
    from .ingest.pipeline import ingest_paths
    from .models.embedding import Embedder

    settings = _settings(args)
    engine = args.engine or settings.ingest_engine
    if args.address and engine != "ray":
        print("error: --address is the Ray cluster of --engine ray", file=sys.stderr)
        return 2
    if engine == "ray":  # before loading the model: say at once when Ray is missing
        from .ingest.ray_engine import require_ray

        require_ray()
    model, quant = encoder_for(settings.index_dir, settings, rebuild=args.rebuild)
    embedder = Embedder.load(model, settings.allow_download, quant=quant)
    report = ingest_paths(
        settings.index_dir,
        args.paths,
        embedder,
        settings,
        rebuild=args.rebuild,
        progress=not args.quiet,
        engine=engine,
        address=args.address,
    )
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{settings.index_dir}: {report.summary()}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from .core import Assistant

    assistant = Assistant.load(settings=_settings(args))
    report = assistant.remove(args.ids)
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"removed {len(report.removed)} article(s): {', '.join(report.removed) or '-'}")
    return 0 if report.removed else 1


def cmd_compact(args: argparse.Namespace) -> int:
    from .ingest.pipeline import compact_index
    from .storage.generations import IndexDir

    settings = _settings(args)
    report = compact_index(settings.index_dir)
    n = len(IndexDir(settings.index_dir).read_manifest()["segments"])
    print(f"{settings.index_dir}: {report.generation}, {n} segment{'s' if n != 1 else ''}")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from .storage.generations import IndexDir

    settings = _settings(args)
    before, now = IndexDir(settings.index_dir).repair()
    if before == now:
        print(f"{settings.index_dir}: nothing to repair, CURRENT names {now}, which is complete")
    else:
        print(
            f"{settings.index_dir}: CURRENT now names {now}, the newest complete generation (was {before or 'missing'})"
        )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .storage.index import Index

    index = Index.load(_settings(args).index_dir)
    data = index.info()
    data["articles"] = [
        {"id": a.id, "title": a.title, "date": a.date, "author": a.author} for a in index.store.articles()
    ]
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    c = data["counts"] or {}
    print(f"index      {data['index']} ({data['generation']}, {data['created']})")
    print(
        f"model      {data['model'].get('name')} (dim {data['model'].get('dim')}, sha256 {str(data['model'].get('weights_sha256'))[:12]}…)"
    )
    print(f"contents   {c.get('articles')} articles, {c.get('chunks')} chunks, {c.get('sentences')} sentences")
    print(f"on disk    {data['bytes_on_disk'] / 1e6:.2f} MB in {len(data['segments']) or 1} segment(s)")
    for a in data["articles"][: args.limit]:
        print(f"  {a['id']}  {a['title']}  {a['date']}")
    if len(data["articles"]) > args.limit:
        print(f"  … and {len(data['articles']) - args.limit} more")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Answer questions from your articles, with citations."
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    p = sub.add_parser("ask", help="answer one question")
    p.add_argument("question")
    p.add_argument("--history", action="append", help="an earlier question (repeat for several)")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    _common(p)
    p.set_defaults(run=cmd_ask)
    p = sub.add_parser("ingest", help="add or update articles (.txt .md .html .jsonl .pdf .docx files or folders)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--rebuild", action="store_true", help="start a fresh index (published only when complete)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--engine",
        choices=["inprocess", "ray"],
        help="where reading, chunking and embedding run: here (default, $ASSISTANT_INGEST_ENGINE) or on Ray "
        '(pip install ".[ray]")',
    )
    p.add_argument(
        "--address", help="Ray cluster for --engine ray (ray://HOST:10001, auto; default $RAY_ADDRESS or a local Ray)"
    )
    _common(p)
    p.set_defaults(run=cmd_ingest)
    p = sub.add_parser("remove", help="delete articles by id")
    p.add_argument("ids", nargs="+")
    _common(p)
    p.set_defaults(run=cmd_remove)
    p = sub.add_parser(
        "compact",
        help="merge the index's segments into one (drops deleted rows; writes an older index's BM25 anew; O(corpus))",
    )
    _common(p)
    p.set_defaults(run=cmd_compact)
    p = sub.add_parser(
        "repair", help="point a damaged index's CURRENT at its newest complete generation (deletes nothing)"
    )
    p.add_argument("--index", type=Path, help="index folder (default: $ASSISTANT_INDEX or ./index)")
    p.set_defaults(run=cmd_repair)
    p = sub.add_parser("info", help="what is indexed, with which model, and sizes")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50, help="articles to list")
    _common(p)
    p.set_defaults(run=cmd_info)
    for name, (help_, add_args, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        add_args(p)
        p.set_defaults(run=run)
    return parser


def _load_plugins() -> None:
    """Import the modules that register extra verbs (chat, eval, bench) when they exist."""
    import importlib

    for mod in ("assistant.chat.app", "assistant.evaluation.commands", "assistant.evaluation.eval_verb"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _quiet_stdout() -> None:
    """After the reader of our output went away: send what is left (and Python's final flush)
    to /dev/null, so no "Exception ignored … BrokenPipeError" follows."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor
        pass


#: Verbs that write the index: an interrupted one says whether it published a new generation.
WRITERS = {"ingest", "remove", "compact", "repair"}


def _published_count() -> int:
    return len(getattr(sys.modules.get("assistant.storage.generations"), "PUBLISHED", []))


def interrupted_message(verb: str | None, since: int = 0) -> str:
    """What Ctrl-C ends with: for a writer, whether a new generation was published (after the first
    ``since`` of this process's publishes; ``CURRENT`` names it now) or the index is unchanged."""
    generations = sys.modules.get("assistant.storage.generations")
    attempted = list(getattr(generations, "PUBLISHED", []))[since:]
    if verb not in WRITERS:
        return "interrupted"
    if attempted:
        last = attempted[-1]
        try:
            live = generations.IndexDir(last.parent).current_name()
        except Exception:  # pragma: no cover - the pointer is unreadable: say what is certain
            live = None
        if live == last.name:
            return (
                f"interrupted after the new index generation {last.name} was published: "
                f"the index at {last.parent} holds this {verb}'s changes"
            )
    return f"interrupted before anything was published; the index is unchanged (run `assistant {verb}` again)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C at any moment ends with one line (and status 130), never a traceback.

    While it runs, SIGINT is noted before it raises ``KeyboardInterrupt``: an interrupt that surfaces as
    another exception (one that lands inside a C extension's import becomes an ``ImportError``) is still
    reported as the interrupt, and a second Ctrl-C while ending changes nothing."""
    verb, since = None, _published_count()
    interrupted: list[int] = []

    def on_sigint(signum: int, frame: object) -> None:
        if interrupted:
            return  # already ending
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = _set_sigint(on_sigint)
    try:
        try:
            _load_plugins()
            parser = build_parser()
            args = parser.parse_args(argv)
            verb = args.verb
            return _run(parser, args, interrupted)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt) or (interrupted and not isinstance(exc, SystemExit)):
                interrupted.append(0)
                print(interrupted_message(verb, since), file=sys.stderr)
                return 130
            raise
    finally:
        _set_sigint(previous)


def _set_sigint(handler: object) -> object:
    """Install ``handler`` for SIGINT (in the main thread only); returns the one it replaces."""
    import signal

    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGINT, handler)  # type: ignore[arg-type]
    except ValueError:  # not the main thread: leave signals alone
        return None


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, interrupted: list[int]) -> int:
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at exit
        return code
    except BaseException as exc:
        if interrupted or not isinstance(exc, Exception):
            raise  # Ctrl-C (or what it became): main reports it
        return _report(exc, args)


def _report(exc: Exception, args: argparse.Namespace) -> int:
    """One line on stderr for a failure, and the exit status."""
    if isinstance(exc, BrokenPipeError):
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a command cut off by `| head`
    if isinstance(exc, AssistantError):
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    if os.environ.get("ASSISTANT_DEBUG"):
        raise exc
    if isinstance(exc, ModuleNotFoundError):
        name = (exc.name or "").split(".")[0] or "a package"
        print(
            f"error: `assistant {args.verb}` needs the Python package {name!r}, which is not installed: "
            f"pip install {name} (./run.sh test installs everything)",
            file=sys.stderr,
        )
        return 1
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {_one_line(exc.strerror or exc)}{where}", file=sys.stderr)
        return 1
    # The promise: one line, never a traceback.
    print(
        f"error: {exc.__class__.__name__}: {_one_line(exc)[:300]} (unexpected; ASSISTANT_DEBUG=1 shows details)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""The chat: ``assistant chat`` opens a Gradio 6 app over one index (a thin layer over :class:`Assistant`),
with a JSON HTTP API on the same server.

The page has the conversation (answers with the focused span marked and numbered citations that
open onto the passage in its paragraph), a sources panel, and a panel that lists, searches and adds
articles. The parts, one job each: :mod:`.layout` (the page and its controls), :mod:`.conversation`,
:mod:`.shelf`, :mod:`.uploads` (what the controls do, combined in :class:`.service.ChatApp`),
:mod:`.gradio_api` and :mod:`.http_api` (the two APIs), :mod:`.server` (serving), :mod:`.access`,
:mod:`.limits`, :mod:`.keys`, :mod:`.render` (HTML). Gradio is imported only inside functions, so
``assistant --help`` stays fast.

Access: the app binds to 127.0.0.1 unless ``--host`` says otherwise; a public link only with
``--share``; login with ``--auth user:password`` or ``ASSISTANT_AUTH=user:password``.

API (``gradio_client``)::

    from gradio_client import Client
    c = Client("http://127.0.0.1:7860/")
    ans = c.predict("Which states recognize Abkhazia?", [], api_name="/ask")      # Answer.to_dict()
    c.predict(api_name="/articles")                                             # [{id, title, ...}]
    c.predict(["article-id"], api_name="/remove_articles")                      # {ok, removed, errors}

JSON over HTTP: ``curl -X POST http://127.0.0.1:7860/api/v1/ask -H 'Content-Type: application/json'
-d '{"question": "Which states recognize Abkhazia?"}'`` (docs at ``/api/docs``).

In Python::

    from assistant import Assistant
    from assistant.chat.app import build_app, launch
    demo = build_app(Assistant.load("index"))
    url = launch(demo, port=7860, block=False)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..verbs import command
from .access import AUTH_ENV, LOGIN_FAIL_DELAY, SlowLogin, is_loopback, parse_auth
from .conversation import MAX_HISTORY_MESSAGES, MAX_TURNS
from .gradio_api import ASK_CONCURRENCY
from .layout import EXAMPLES, MAX_QUESTION_CHARS, STORAGE_KEY, build_app
from .limits import MAX_BODY_BYTES, UploadLimit
from .schema import AnswerDict, ArticleDict, CitationDict, RemoveReport
from .server import DEFAULT_HOST, DEFAULT_PORT, launch
from .service import ChatApp
from .upload_checks import (
    ACCEPTED_SUFFIXES,
    MAX_UPLOAD_FILES,
    MAX_UPLOAD_MB,
    MAX_UPLOAD_TOTAL_MB,
    UploadCheck,
    check_uploads,
    sanitize_filename,
)

__all__ = [
    "ACCEPTED_SUFFIXES",
    "ASK_CONCURRENCY",
    "AUTH_ENV",
    "EXAMPLES",
    "LOGIN_FAIL_DELAY",
    "MAX_BODY_BYTES",
    "MAX_HISTORY_MESSAGES",
    "MAX_QUESTION_CHARS",
    "MAX_TURNS",
    "MAX_UPLOAD_FILES",
    "MAX_UPLOAD_MB",
    "MAX_UPLOAD_TOTAL_MB",
    "STORAGE_KEY",
    "AnswerDict",
    "ArticleDict",
    "ChatApp",
    "CitationDict",
    "RemoveReport",
    "SlowLogin",
    "UploadCheck",
    "UploadLimit",
    "build_app",
    "chat_options",
    "check_uploads",
    "cmd_chat",
    "is_loopback",
    "launch",
    "parse_auth",
    "sanitize_filename",
]


# --- the `assistant chat` verb ------------------------------------------------------------------
def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, help="index folder (default: $ASSISTANT_INDEX or ./index, built from seeds/)")
    p.add_argument("--model", help="sentence-transformers model name or local path (default: the index's model)")
    p.add_argument("--reader", help="answer reader: 'bundled' (default), 'none' (faster) or a reader file")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}: this machine only)")
    p.add_argument("--port", type=int, default=None, help=f"port (default {DEFAULT_PORT}, or the next free one)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (needs internet)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help=f"require this login (or set ${AUTH_ENV})")
    p.add_argument("--max-upload-mb", type=float, default=MAX_UPLOAD_MB, help="size limit per uploaded file")
    p.add_argument("--no-upload", action="store_true", help="hide the panel that adds articles (read-only chat)")


def chat_options(args: argparse.Namespace) -> dict[str, Any]:
    """Host, port, share and login from the flags and ``ASSISTANT_AUTH`` (the flag wins)."""
    auth = parse_auth(args.auth if args.auth is not None else os.environ.get(AUTH_ENV))
    return {"host": args.host, "port": args.port, "share": bool(args.share), "auth": auth}


def cmd_chat(args: argparse.Namespace) -> int:
    from ..core import Assistant, default_assistant
    from ..settings import Settings
    from ..storage.generations import IndexDir

    options = chat_options(args)  # fail on a bad login before loading anything
    if not is_loopback(options["host"]) or options["share"]:
        where = "a public link" if options["share"] else f"{options['host']} (other machines can connect)"
        print(f"warning: serving on {where}", file=sys.stderr)
        if options["auth"] is None:
            print(
                f"warning: no login set; anyone who can reach it can ask and add articles (--auth or ${AUTH_ENV})",
                file=sys.stderr,
            )
    settings = Settings.from_env(index_dir=args.index, model=args.model, reader=args.reader)
    if args.index is None and not IndexDir(settings.index_dir).exists():
        print(f"Building the index from {settings.seeds_dir} (first run)…", flush=True)
        assistant = default_assistant()
    else:
        print(f"Loading the index at {settings.index_dir}…", flush=True)
        assistant = Assistant.load(settings=settings)
    demo = build_app(assistant, allow_upload=not args.no_upload, max_upload_mb=args.max_upload_mb)
    launch(demo, max_upload_mb=args.max_upload_mb, block=True, **options)
    return 0


cmd_chat.arguments = _arguments  # type: ignore[attr-defined]
command("chat", "open the chat in your browser (Gradio; http://127.0.0.1:7860 by default)")(cmd_chat)

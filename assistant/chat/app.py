"""The chat: ``assistant chat`` opens a Gradio 6 app over one index (a thin layer over :class:`Assistant`).

The page has the conversation (answers with the focused span marked and numbered citations that
open onto the passage in its paragraph), a sources panel for the latest answer, and a panel that
lists the indexed articles and adds new ones. Gradio is imported only inside functions, so
``assistant --help`` stays fast.

Access: the app binds to 127.0.0.1 unless ``--host`` says otherwise; a public link only with
``--share``; login with ``--auth user:password`` or ``ASSISTANT_AUTH=user:password``.

API (``gradio_client``)::

    from gradio_client import Client
    c = Client("http://127.0.0.1:7860/")
    ans = c.predict("Which states recognize Abkhazia?", [], api_name="/ask")      # Answer.to_dict()
    ans = c.predict("Who did he talk to?", ["Who is Gregory Karasin?"], api_name="/ask")
    c.predict(api_name="/articles")                                             # [{id, title, ...}]

In Python::

    from assistant import Assistant
    from assistant.chat.app import build_app, launch
    demo = build_app(Assistant.load("index"))
    url = launch(demo, port=7860, block=False)
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AssistantError, IngestError
from ..ingest.readers import read_paths
from ..verbs import command
from . import render

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
AUTH_ENV = "ASSISTANT_AUTH"
ACCEPTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")
MAX_UPLOAD_MB = 25  # per file
MAX_UPLOAD_FILES = 50
ASK_CONCURRENCY = 4  # answers computed at once (the rest wait in Gradio's queue)
QUEUE_SIZE = 256  # waiting requests beyond this are refused with "queue full"
# Gradio keeps per-session state for the most recent sessions; every API call without a session
# is a new one (~50-90 kB each), so the default of 10,000 let memory grow by ~0.5-0.9 GB under load.
SESSION_CAPACITY = 1000
MAX_QUESTION_CHARS = 4000  # the textbox refuses more; the API truncates (settings.max_question_chars)
MAX_HISTORY_MESSAGES = 24  # the conversation looks back a few exchanges; older turns are not sent
INGEST_LOCK_WAIT = 60.0  # seconds an upload waits for another ingest (e.g. from the CLI)
EXAMPLES = [
    "Which states recognize Abkhazia?",
    "Who is Gregory Karasin?",
    "What has Russia done about visas for Georgians?",
    "When did relations between Russia and Georgia start to normalize?",
]
EXAMPLES_ARTICLE = "russia-will-not-withdraw-recognition"  # the shipped article the examples are about


# --- access -----------------------------------------------------------------------------------
def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``"user:password"`` → ``(user, password)``; None or "" → None. Raises on a malformed value."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise AssistantError(f"login must look like user:password (from --auth or ${AUTH_ENV}), got {len(value)} chars")
    return user.strip(), password


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    import ipaddress

    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- uploads ----------------------------------------------------------------------------------
def sanitize_filename(name: str) -> str | None:
    """A safe file name for an upload (no folders, no traversal, no hidden files), or None.

    Keeps letters, digits, ``.``, ``-`` and ``_``; the suffix is lower-cased.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.ASCII).strip("._-")
    stem = re.sub(r"\.{2,}", ".", stem)[:100]
    suffix = re.sub(r"[^a-z0-9]", "", suffix.lower())
    if not stem or not suffix:
        return None
    return f"{stem}.{suffix}"


@dataclass
class UploadCheck:
    """Files that passed the checks (source path, safe name) and one reason per refused file."""

    accepted: list[tuple[Path, str]]
    errors: list[str]


def check_uploads(paths: Sequence[str | Path], max_bytes: int, max_files: int = MAX_UPLOAD_FILES) -> UploadCheck:
    """Check uploaded files: count, type by suffix, size, a usable name; nothing is read yet."""
    accepted: list[tuple[Path, str]] = []
    errors: list[str] = []
    if len(paths) > max_files:
        return UploadCheck([], [f"{len(paths)} files at once; the limit is {max_files}"])
    used: set[str] = set()
    for p in paths:
        path = Path(p)
        name = sanitize_filename(path.name)
        shown = name or path.name[:80]
        if name is None or not name.endswith(ACCEPTED_SUFFIXES):
            errors.append(f"{shown}: not an accepted type (accepted: {', '.join(ACCEPTED_SUFFIXES)})")
            continue
        try:
            size = path.stat().st_size
        except OSError:
            errors.append(f"{shown}: the upload could not be read")
            continue
        if size > max_bytes:
            errors.append(f"{shown}: {size / 1e6:.1f} MB, larger than the {max_bytes / 1e6:.0f} MB limit")
            continue
        if size == 0:
            errors.append(f"{shown}: the file is empty")
            continue
        stem, suffix = name.rsplit(".", 1)
        n = 2
        while name in used:
            name = f"{stem}-{n}.{suffix}"
            n += 1
        used.add(name)
        accepted.append((path, name))
    return UploadCheck(accepted, errors)


# --- the app ----------------------------------------------------------------------------------
class ChatApp:
    """What the page does, as plain methods over one shared :class:`Assistant` (thread-safe)."""

    def __init__(self, assistant, *, max_upload_bytes: int = MAX_UPLOAD_MB * 1_000_000) -> None:
        self.assistant = assistant
        self.max_upload_bytes = max_upload_bytes
        self._ingest_lock = threading.Lock()

    def _cited_articles(self, answer) -> dict:
        return {aid: self.assistant.article(aid) for aid in dict.fromkeys(c.article_id for c in answer.citations)}

    def ask(self, question: str, history: list | None = None) -> dict[str, Any]:
        """Answer ``question`` (with earlier turns in ``history``) → ``Answer.to_dict()``."""
        return self.assistant.ask(question, history=_recent(history)).to_dict()

    def respond(self, question: str, chat: list, history: list) -> tuple[str, list, list, str]:
        """One chat turn: (textbox, chat messages, plain history, sources panel)."""
        chat, history = list(chat or []), list(history or [])
        if not (question or "").strip():
            return "", chat, history, self._keep()
        try:
            answer = self.assistant.ask(question, history=_recent(history))
        except AssistantError as exc:  # an empty question, an unreadable index: say so in the chat
            chat += [
                {"role": "user", "content": render.user_html(question)},
                {"role": "assistant", "content": render.notice_html(str(exc))},
            ]
            return "", chat, history, self._keep()
        articles = self._cited_articles(answer)
        chat += [
            {"role": "user", "content": render.user_html(answer.question)},
            {"role": "assistant", "content": render.answer_html(answer, articles)},
        ]
        history += [{"role": "user", "content": answer.question}, {"role": "assistant", "content": answer.text}]
        history = history[-MAX_HISTORY_MESSAGES:]
        return "", chat, history, render.sources_html(answer, articles)

    @staticmethod
    def _keep():
        import gradio as gr

        return gr.skip()

    def articles(self) -> list[dict[str, str]]:
        """Every indexed article: id, title, author, date, source (file name or URL)."""
        return [
            {"id": a.id, "title": a.title, "author": a.author, "date": a.date, "source": a.source}
            for a in self.assistant.articles()
        ]

    def overview(self) -> tuple[str, str]:
        """(header, article list) as they are now."""
        self.assistant.refresh()
        return render.header_html(self.assistant.info().get("counts")), render.articles_html(self.assistant.articles())

    def add_files(
        self, paths: Sequence[str | Path], on_progress: Callable[[int, int], None] | None = None
    ) -> dict[str, Any]:
        """Check and ingest uploaded files; the index is unchanged unless every check passed.

        Returns ``{"ok", "message", "added", "updated", "unchanged", "warnings", "errors"}``.
        """
        result: dict[str, Any] = {
            "ok": False,
            "added": [],
            "updated": [],
            "unchanged": [],
            "warnings": [],
            "errors": [],
        }
        if not paths:
            result.update(message="Choose one or more files first.")
            return result
        check = check_uploads(paths, self.max_upload_bytes)
        if check.errors:
            result.update(message="Nothing was added: fix or remove these files and try again.", errors=check.errors)
            return result
        with self._ingest_lock, tempfile.TemporaryDirectory(prefix="assistant-upload-") as tmp:
            for src, name in check.accepted:
                shutil.copyfile(src, Path(tmp) / name)
            try:
                read = read_paths([Path(tmp) / name for _, name in check.accepted])
                if not read.articles:
                    raise IngestError("no article text found in " + "; ".join(read.warnings[:5]))
                for article in read.articles:  # the temporary folder is gone after this: keep the file name
                    if article.source.startswith(tmp):
                        article.source = f"upload:{Path(article.source).name}"
                report = self.assistant.ingest_articles(
                    read.articles, warnings=read.warnings, on_progress=on_progress, lock_wait=INGEST_LOCK_WAIT
                )
            except AssistantError as exc:
                result.update(message="Nothing was added; the index is unchanged.", errors=[_hide_dir(str(exc), tmp)])
                return result
            except Exception as exc:  # a reader or parser failure on hostile input: report, keep the index
                log.exception("upload failed")
                result.update(
                    message="Nothing was added; the index is unchanged.",
                    errors=[f"ingest failed: {exc.__class__.__name__}: {_hide_dir(str(exc), tmp)}"],
                )
                return result
        result.update(
            ok=True,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            warnings=[_hide_dir(w, tmp) for w in report.warnings],
            message=(
                f"Indexed: {len(report.added)} added, {len(report.updated)} updated, "
                f"{len(report.unchanged)} unchanged ({report.chunks_added} passage"
                f"{'s' if report.chunks_added != 1 else ''} embedded)."
            ),
        )
        return result


def _recent(history: list | None) -> list | None:
    """The last messages of a conversation (bounded, whatever a client sends)."""
    if not history:
        return None
    if not isinstance(history, list):
        raise AssistantError("history must be a list of earlier questions or messages")
    return history[-MAX_HISTORY_MESSAGES:]


def _hide_dir(text: str, folder: str) -> str:
    """Messages name the uploaded file, not the server's temporary folder."""
    return text.replace(folder + os.sep, "").replace(folder, "upload")


def _upload_outputs(app: ChatApp, result: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    if result["ok"]:
        kind = "warn" if result["warnings"] else "ok"
        status = render.status_html(kind, result["message"], result["warnings"])
    else:
        status = render.status_html("error", result["message"], result["errors"])
    header, _ = app.overview()
    listing = render.articles_html(app.assistant.articles(), new_ids=result["added"] + result["updated"])
    return status, header, listing, result


def build_app(assistant, *, allow_upload: bool = True, max_upload_mb: float = MAX_UPLOAD_MB):
    """The Gradio Blocks app over ``assistant``. Launch it with :func:`launch` (it adds the CSS)."""
    import gradio as gr

    app = ChatApp(assistant, max_upload_bytes=int(max_upload_mb * 1_000_000))
    ids = {a.id for a in assistant.articles()}
    examples = EXAMPLES if EXAMPLES_ARTICLE in ids else []

    with gr.Blocks(title="Article Assistant", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        history = gr.State([])
        header = gr.HTML(render.header_html(assistant.info().get("counts")), label="header", elem_id="aa-header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                with gr.Row(equal_height=False, elem_classes="aa-toolbar"):
                    gr.HTML('<div class="aa-toolbar-title">Conversation</div>')
                    clear_btn = gr.Button("New chat", size="sm", scale=0, min_width=100, elem_id="aa-clear")
                chatbot = gr.Chatbot(
                    label="Conversation",
                    show_label=False,
                    elem_id="aa-chat",
                    height=560,
                    render_markdown=False,  # messages are HTML built (and escaped) by ui_render
                    sanitize_html=True,
                    latex_delimiters=[],
                    allow_tags=False,
                    feedback_options=None,
                    group_consecutive_messages=False,
                    buttons=[],
                    placeholder=(
                        "<div class='aa-empty'><b>Ask about the articles in plain language.</b><br>"
                        "Every answer is a sentence copied from an article; open a citation to see it in its "
                        "paragraph. Follow-up questions (“who did he talk to?”) use the conversation.</div>"
                    ),
                )
                question = gr.Textbox(
                    placeholder="Ask a question about the articles…",
                    show_label=False,
                    lines=1,
                    max_lines=4,
                    max_length=MAX_QUESTION_CHARS,
                    autofocus=True,
                    submit_btn="Ask",
                    elem_id="aa-question",
                )
                if examples:
                    gr.Examples(examples, inputs=question, label="Try asking", examples_per_page=len(examples))
            with gr.Column(scale=2, min_width=360):
                with gr.Tabs():
                    with gr.Tab("Sources", id="sources"):
                        sources = gr.HTML(render.SOURCES_EMPTY, label="sources", elem_id="aa-sources")
                    with gr.Tab("Articles", id="articles"):
                        if allow_upload:
                            files = gr.File(
                                label=f"Add articles ({' '.join(ACCEPTED_SUFFIXES)}; up to {max_upload_mb:g} MB each)",
                                file_count="multiple",
                                file_types=list(ACCEPTED_SUFFIXES),
                                type="filepath",
                                elem_id="aa-files",
                            )
                            add_btn = gr.Button("Add to the index", variant="primary", elem_id="aa-add")
                            status = gr.HTML("", label="status", elem_id="aa-status")
                            report = gr.JSON(visible=False, label="report")
                        listing = gr.HTML(
                            render.articles_html(assistant.articles()), label="articles", elem_id="aa-articles"
                        )

        turn = {
            "fn": app.respond,
            "inputs": [question, chatbot, history],
            "outputs": [question, chatbot, history, sources],
            "concurrency_id": "ask",
            "concurrency_limit": ASK_CONCURRENCY,
            "api_visibility": "private",
            "show_progress": "minimal",
            "show_progress_on": [chatbot],
        }
        question.submit(**turn)
        new_chat = {"fn": lambda: ("", [], [], render.SOURCES_EMPTY), "queue": False, "api_visibility": "private"}
        clear_btn.click(inputs=None, outputs=[question, chatbot, history, sources], **new_chat)
        chatbot.clear(inputs=None, outputs=[question, chatbot, history, sources], **new_chat)

        def ask(question: str, history: list | None = None) -> dict:
            """Answer a question from the articles.

            history: earlier questions (strings) or {"role", "content"} messages, oldest first.
            Returns the Answer as a dict: text, abstained, confidence, span, span_text, question,
            search_query, notes, timings, and citations (article_id, title, author, date, source,
            start, end, quote, score) where quote == article.text[start:end].
            """
            try:
                return app.ask(question, history)
            except AssistantError as exc:
                raise gr.Error(str(exc)) from exc

        def articles() -> list[dict]:
            """Every indexed article: id, title, author, date, source."""
            return app.articles()

        gr.api(ask, api_name="ask", concurrency_id="ask", concurrency_limit=ASK_CONCURRENCY)
        gr.api(articles, api_name="articles", concurrency_limit=None)

        if allow_upload:

            def add_articles(paths: list[str] | None, progress=gr.Progress()):
                progress(0.0, desc="Checking files")

                def step(done: int, total: int) -> None:
                    progress((done, total), desc="Embedding articles", unit="articles")

                result = app.add_files(list(paths or []), on_progress=step)
                return (*_upload_outputs(app, result), None if result["ok"] else gr.skip())

            add_btn.click(
                add_articles,
                [files],
                [status, header, listing, report, files],
                api_name="add_articles",
                show_progress_on=[status],
                concurrency_id="ingest",
                concurrency_limit=1,
            )

        demo.load(app.overview, None, [header, listing], api_visibility="private", queue=False, show_progress="hidden")
    demo.queue(default_concurrency_limit=ASK_CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


def launch(
    demo,
    *,
    host: str = DEFAULT_HOST,
    port: int | None = None,
    share: bool = False,
    auth: tuple[str, str] | None = None,
    max_upload_mb: float = MAX_UPLOAD_MB,
    block: bool = True,
    quiet: bool = True,
) -> str:
    """Serve ``demo``; returns the local URL (blocks until Ctrl-C when ``block``)."""
    import gradio as gr

    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", radius_size="md")
    _, local_url, share_url = demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=auth,
        auth_message="Log in to the Article Assistant." if auth else None,
        max_file_size=f"{max_upload_mb:g}mb",
        state_session_capacity=SESSION_CAPACITY,
        prevent_thread_lock=True,
        quiet=quiet,
        show_error=True,
        ssr_mode=False,
        footer_links=["api"],
        theme=theme,
        css=render.CSS,
        inbrowser=False,
    )
    if block:
        print(f"Chat running at {local_url}" + (f"  (public link: {share_url})" if share_url else ""), flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            demo.block_thread()
        except KeyboardInterrupt:
            pass
    return local_url


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

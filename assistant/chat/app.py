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
    c.predict(["article-id"], api_name="/remove_articles")                      # {ok, removed, errors}

In Python::

    from assistant import Assistant
    from assistant.chat.app import build_app, launch
    demo = build_app(Assistant.load("index"))
    url = launch(demo, port=7860, block=False)
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from ..errors import AssistantError
from ..ingest.readers import read_paths, slugify
from ..records import Answer
from ..settings import Settings
from ..verbs import command
from . import render

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
AUTH_ENV = "ASSISTANT_AUTH"
ACCEPTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl", ".pdf", ".docx")
MAX_UPLOAD_MB = 25  # per file
MAX_UPLOAD_FILES = 50  # per upload; also enforced on Gradio's upload route
MAX_UPLOAD_TOTAL_MB = 200  # per upload request (at least the per-file limit)
LOGIN_FAIL_DELAY = 0.5  # seconds after a wrong password, doubling with each further one (at most 8 s)
ASK_CONCURRENCY = 4  # answers computed at once (the rest wait in Gradio's queue)
QUEUE_SIZE = 256  # waiting requests beyond this are refused with "queue full"
# Gradio keeps per-session state for the most recent sessions; every API call without a session
# is a new one (~50-90 kB each), so the default of 10,000 let memory grow by ~0.5-0.9 GB under load.
SESSION_CAPACITY = 1000
MAX_QUESTION_CHARS = Settings.max_question_chars  # one limit: the textbox refuses more, the API truncates
MAX_HISTORY_MESSAGES = 24  # the conversation looks back a few exchanges; older turns are not sent
MAX_TURNS = 50  # exchanges kept in the browser (the conversation survives a reload)
MAX_SOURCE_GROUPS = 10  # answers whose passages the sources panel shows (newest first)
STORAGE_KEY = "article-assistant-conversation"
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

    Keeps letters and digits of any script (``東京.txt``), ``.``, ``-`` and ``_``; the suffix is
    lower-cased.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")
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


# --- typed API records (the schema the API page shows) ----------------------------------------
class CitationDict(TypedDict):
    article_id: str
    title: str
    source: str
    date: str
    start: int
    end: int
    quote: str
    score: float
    author: str
    field: str
    page: int | None


class AnswerDict(TypedDict):
    text: str
    abstained: bool
    confidence: float
    citations: list[CitationDict]
    question: str
    search_query: str
    span: list[int] | None
    timings: dict[str, float]
    notes: list[str]
    span_text: str


class ArticleDict(TypedDict):
    id: str
    title: str
    author: str
    date: str
    source: str


class RemoveReport(TypedDict):
    ok: bool
    message: str
    removed: list[str]
    errors: list[str]


# --- the app ----------------------------------------------------------------------------------
class ChatApp:
    """What the page does, as plain methods over one shared :class:`Assistant` (thread-safe).

    The conversation is a list of turns ``{"question": str, "answer": Answer.to_dict()}`` (or
    ``{"question", "error"}``), kept in the browser. Follow-ups are asked with the earlier
    *questions* as history, exactly as a client of the API would: the words of earlier answers
    (often long sentences, or "Not found") do not steer the search.
    """

    def __init__(self, assistant, *, max_upload_bytes: int = MAX_UPLOAD_MB * 1_000_000) -> None:
        self.assistant = assistant
        self.max_upload_bytes = max_upload_bytes
        self._ingest_lock = threading.Lock()
        self._export_dir = Path(tempfile.mkdtemp(prefix="assistant-export-"))

    def _cited_articles(self, answer) -> dict:
        return {aid: self.assistant.article(aid) for aid in dict.fromkeys(c.article_id for c in answer.citations)}

    def ask(self, question: str, history: list | None = None) -> dict[str, Any]:
        """Answer ``question`` (with earlier turns in ``history``) → ``Answer.to_dict()``."""
        return self.assistant.ask(question, history=_recent(history)).to_dict()

    # --- the conversation ------------------------------------------------------------------
    @staticmethod
    def history_of(turns: list | None) -> list[str]:
        """The earlier questions of a conversation (what a follow-up is asked with)."""
        qs = [str(t.get("question", "")) for t in _turns(turns) if "answer" in t]
        return qs[-(MAX_HISTORY_MESSAGES // 2) :]

    def answer_turn(self, question: str, turns: list | None) -> dict[str, Any]:
        """One exchange: ``{"question", "answer"}`` or ``{"question", "error"}`` when it cannot be asked."""
        try:
            answer = self.assistant.ask(question, history=self.history_of(turns) or None)
        except AssistantError as exc:  # an empty question, an unreadable index: say so in the chat
            return {"question": question, "error": str(exc)}
        return {"question": answer.question, "answer": answer.to_dict()}

    def respond(self, question: str, chat: list, turns: list) -> tuple[str, list, list, str]:
        """One chat turn in one step: (textbox, chat messages, turns, sources panel)."""
        if not (question or "").strip():
            return "", list(chat or []), _turns(turns), self._keep()
        turns = [*_turns(turns), self.answer_turn(question, turns)][-MAX_TURNS:]
        return "", self.chat_messages(turns), turns, self.sources(turns)

    def chat_messages(self, turns: list | None, pending: str | None = None) -> list[dict[str, str]]:
        """The chat as messages (re-rendered from the turns; ``pending`` adds a question being answered)."""
        out: list[dict[str, str]] = []
        for n, turn in enumerate(_turns(turns)):
            out.append({"role": "user", "content": render.user_html(turn["question"])})
            if "answer" in turn:
                answer = _answer(turn)
                html = render.answer_html(answer, self._cited_articles(answer), turn=n)
            else:
                html = render.notice_html(turn.get("error", ""))
            out.append({"role": "assistant", "content": html})
        if pending is not None:
            out += [
                {"role": "user", "content": render.user_html(pending)},
                {"role": "assistant", "content": render.pending_html()},
            ]
        return out

    def sources(self, turns: list | None) -> str:
        """The sources panel: the passages of every answer, grouped, newest first."""
        entries = []
        for n, turn in reversed(list(enumerate(_turns(turns)))):
            if len(entries) >= MAX_SOURCE_GROUPS:
                break
            if "answer" in turn:
                answer = _answer(turn)
                entries.append((n, answer, self._cited_articles(answer)))
        return render.sources_panel_html(entries)

    def export(self, turns: list | None) -> str | None:
        """The conversation as a Markdown file (path), or None when there is nothing to export."""
        turns = _turns(turns)
        if not turns:
            return None
        entries = [(t["question"], _answer(t) if "answer" in t else None, t.get("error", "")) for t in turns]
        path = self._export_dir / f"conversation-{time.strftime('%Y%m%d-%H%M%S')}-{len(turns)}.md"
        path.write_text(render.conversation_markdown(entries), encoding="utf-8")
        return str(path)

    @staticmethod
    def _keep():
        import gradio as gr

        return gr.skip()

    # --- the article shelf -----------------------------------------------------------------
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

    def listing(self, query: str = "", page: int = 0, new_ids: Sequence[str] = ()) -> tuple[str, int]:
        """(one page of the article list filtered by ``query``, that page's number, clamped)."""
        arts = self.assistant.articles()
        pages = render.page_count(len(render.filter_articles(arts, query)))
        page = max(0, min(int(page or 0), pages - 1))
        return render.articles_html(arts, new_ids, query=query, page=page), page

    def choices(self) -> list[tuple[str, str]]:
        """(label, id) of every article, for the picker that removes them."""
        return [(f"{a.title or a.id} — {a.id}", a.id) for a in self.assistant.articles()]

    def remove(self, ids: Sequence[str] | None) -> dict[str, Any]:
        """Remove articles by id → ``{"ok", "message", "removed", "errors"}``; unknown ids are reported."""
        if isinstance(ids, str):
            ids = [ids]
        ids = [str(i) for i in dict.fromkeys(ids or []) if str(i).strip()]
        if not ids:
            return {"ok": False, "message": "Choose one or more articles to remove.", "removed": [], "errors": []}
        known = {a.id for a in self.assistant.articles()}
        errors = [f"{i}: no article with this id" for i in ids if i not in known]
        todo = [i for i in ids if i in known]
        if not todo:
            return {"ok": False, "message": "Nothing was removed.", "removed": [], "errors": errors}
        with self._ingest_lock:
            try:
                report = self.assistant.remove(todo)
            except AssistantError as exc:
                return {"ok": False, "message": "Nothing was removed.", "removed": [], "errors": [*errors, str(exc)]}
        removed = list(report.removed or todo)
        n = len(removed)
        return {
            "ok": True,
            "message": f"Removed {n} article{'s' if n != 1 else ''}; add the file again to bring it back.",
            "removed": removed,
            "errors": errors,
        }

    def add_files(
        self,
        paths: Sequence[str | Path],
        on_progress: Callable[[int, int], None] | None = None,
        *,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Check and ingest uploaded files. Good files are added; refused ones are reported by name.

        An upload whose article id is already taken by a *different* article keeps both (the new one
        gets ``id-2``) unless ``replace`` is set; an identical one is "unchanged".
        Returns ``{"ok", "message", "added", "updated", "unchanged", "warnings", "errors",
        "renamed", "replaced"}``.
        """
        result: dict[str, Any] = {
            "ok": False,
            "added": [],
            "updated": [],
            "unchanged": [],
            "warnings": [],
            "errors": [],
            "renamed": [],
            "replaced": [],
        }
        if not paths:
            result.update(message="Choose one or more files first.")
            return result
        check = check_uploads(paths, self.max_upload_bytes)
        errors = list(check.errors)
        if not check.accepted:
            result.update(message="Nothing was added: fix or remove these files and try again.", errors=errors)
            return result
        with self._ingest_lock, tempfile.TemporaryDirectory(prefix="assistant-upload-") as tmp:
            for src, name in check.accepted:
                shutil.copyfile(src, Path(tmp) / name)
            try:
                articles, warnings = [], []
                for _, name in check.accepted:  # file by file: two files with one id are both kept
                    read = read_paths([Path(tmp) / name])
                    for w in read.warnings:
                        (errors if ": skipped" in w or "no such file" in w else warnings).append(_hide_dir(w, tmp))
                    for article in read.articles:  # the temporary folder is gone after this: keep the file name
                        if article.source.startswith(tmp):
                            article.source = f"upload:{Path(article.source).name}"
                        if article.id == "article" and slugify(Path(name).stem) == "article":
                            article.id = _unicode_id(Path(name).stem)  # 東京.txt → 東京, not "article"
                        articles.append((name, article))
                if not articles:
                    result.update(message="Nothing was added: no article text found.", errors=errors)
                    return result
                ready = self._settle_names(articles, replace, result)
                report = self.assistant.ingest_articles(
                    ready, warnings=warnings, on_progress=on_progress, lock_wait=INGEST_LOCK_WAIT
                )
            except AssistantError as exc:
                result.update(
                    message="Nothing was added; the index is unchanged.", errors=[*errors, _hide_dir(str(exc), tmp)]
                )
                return result
            except Exception as exc:  # a reader or parser failure on hostile input: report, keep the index
                log.error("upload failed: %s: %s", exc.__class__.__name__, _hide_dir(str(exc), tmp))
                result.update(
                    message="Nothing was added; the index is unchanged.",
                    errors=[*errors, f"ingest failed: {exc.__class__.__name__}: {_hide_dir(str(exc), tmp)}"],
                )
                return result
        refused = f"; {len(errors)} file{'s' if len(errors) != 1 else ''} refused" if errors else ""
        result.update(
            ok=True,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            warnings=[*result["warnings"], *(_hide_dir(w, tmp) for w in report.warnings)],
            errors=errors,
            message=(
                f"Indexed: {len(report.added)} added, {len(report.updated)} updated, "
                f"{len(report.unchanged)} unchanged ({report.chunks_added} passage"
                f"{'s' if report.chunks_added != 1 else ''} embedded){refused}."
            ),
        )
        return result

    def _settle_names(self, articles: list[tuple[str, Any]], replace: bool, result: dict[str, Any]) -> list:
        """Give each uploaded article an id: a name already taken by a different article keeps both
        (``id-2``, reported) unless ``replace``; the same article again stays "unchanged"."""
        existing = {a.id: a.content_hash for a in self.assistant.articles()}
        taken = set(existing)
        out = []
        batch: set[str] = set()
        for name, art in articles:
            same = existing.get(art.id) == art.content_hash
            if art.id in batch or (art.id in existing and not same and not replace):
                base, n = art.id, 2
                while f"{base}-{n}" in taken or f"{base}-{n}" in batch:
                    n += 1
                art.id = f"{base}-{n}"
                result["renamed"].append({"file": name, "id": art.id, "existing": base})
                result["warnings"].append(
                    f"{name}: an article named {base!r} is already indexed; both are kept, this one as "
                    f"{art.id!r} (tick “Replace articles with the same name” to update it instead)"
                )
            elif art.id in existing and not same:
                result["replaced"].append(art.id)
                result["warnings"].append(f"{name}: replaced the indexed article {art.id!r}")
            batch.add(art.id)
            taken.add(art.id)
            out.append(art)
        return out


def _turns(turns: object) -> list[dict[str, Any]]:
    """The well-formed turns of a stored conversation (anything else in browser storage is dropped)."""
    if not isinstance(turns, list):
        return []
    out = []
    for t in turns[-MAX_TURNS:]:
        if not isinstance(t, dict) or not isinstance(t.get("question"), str) or len(t["question"]) > 20_000:
            continue
        if isinstance(t.get("error"), str) and "answer" not in t:
            out.append(t)
        elif isinstance(t.get("answer"), dict) and _readable(t["answer"]):
            out.append(t)
    return out


def _readable(answer: dict) -> bool:
    """A stored answer that renders: the fields it needs have the types they must have."""
    try:
        a = Answer.from_dict(answer)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return False
    return len(a.citations) <= 20 and all(
        isinstance(c.start, int)
        and isinstance(c.end, int)
        and isinstance(c.quote, str)
        and isinstance(c.score, (int, float))
        for c in a.citations
    )


def _answer(turn: dict[str, Any]) -> Answer:
    return Answer.from_dict(turn["answer"])


def _unicode_id(stem: str) -> str:
    """An id that keeps letters of any script (for names slugify would reduce to "article")."""
    value = re.sub(r"[^\w]+", "-", unicodedata.normalize("NFKC", stem)).strip("-_").lower()
    return value[:120] or "article"


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
        kind = "warn" if result["warnings"] or result["errors"] else "ok"
        status = render.status_html(kind, result["message"], result["errors"] + result["warnings"])
    else:
        status = render.status_html("error", result["message"], result["errors"])
    header, _ = app.overview()
    listing, _ = app.listing(new_ids=result["added"] + result["updated"])
    return status, header, listing, result


# --- limits on Gradio's own routes --------------------------------------------------------------
class UploadLimit:
    """ASGI middleware: an upload request with more than ``max_files`` files or ``max_bytes`` bytes
    is refused with 413 as it streams in (Gradio's route checks only each file's size)."""

    def __init__(self, app, max_files: int = MAX_UPLOAD_FILES, max_bytes: int = MAX_UPLOAD_TOTAL_MB * 1_000_000):
        self.app, self.max_files, self.max_bytes = app, max_files, max_bytes

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if scope.get("method") != "POST" or not path.rstrip("/").endswith("/upload"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(send, f"upload too large: more than {self.max_bytes // 1_000_000} MB at once")
        m = re.search(r'boundary="?([^";]+)"?', headers.get("content-type", ""))
        delimiter = b"--" + m.group(1).encode("latin-1") if m else None
        state = {"bytes": 0, "parts": 0, "tail": b"", "refused": "", "started": False}

        async def limited_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message.get("type") == "http.request":
                body = message.get("body", b"")
                state["bytes"] += len(body)
                if delimiter:
                    chunk = state["tail"] + body
                    state["parts"] += chunk.count(delimiter) - state["tail"].count(delimiter)
                    state["tail"] = chunk[-(len(delimiter) - 1) :]
                if state["bytes"] > self.max_bytes:
                    state["refused"] = f"upload too large: more than {self.max_bytes // 1_000_000} MB at once"
                elif state["parts"] - 1 > self.max_files:  # the closing delimiter ends the last part
                    state["refused"] = f"too many files in one upload: the limit is {self.max_files}"
                if state["refused"]:
                    log.warning("upload refused: %s", state["refused"])
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["refused"]:
                return
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise
        if state["refused"] and not state["started"]:
            await self._refuse(send, state["refused"])

    @staticmethod
    async def _refuse(send, message: str) -> None:
        body = message.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SlowLogin:
    """A login check for Gradio that slows down wrong passwords: attempts are checked one at a time,
    and each failure waits ``LOGIN_FAIL_DELAY`` seconds, doubling with every further failure (up
    to 8 s) until a login succeeds. 200 guesses take minutes, not a fraction of a second."""

    def __init__(self, user: str, password: str, delay: float | None = None) -> None:
        self.user, self.password = user, password
        self.delay = LOGIN_FAIL_DELAY if delay is None else delay
        self.failures = 0
        self._lock: asyncio.Lock | None = None

    async def __call__(self, user: str, password: str) -> bool:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            ok = hmac.compare_digest(str(user).encode(), self.user.encode()) & hmac.compare_digest(
                str(password).encode(), self.password.encode()
            )
            if ok:
                self.failures = 0
                return True
            wait = min(self.delay * 2 ** min(self.failures, 10), 8.0)
            self.failures += 1
            log.warning("failed login for %r (%d in a row); next answer in %.1f s", str(user)[:40], self.failures, wait)
            await asyncio.sleep(wait)
            return False


def _login_check(slow: SlowLogin):
    """A coroutine function (Gradio awaits only those; an object with an async ``__call__`` would be
    called without awaiting, and its coroutine taken for a yes)."""

    async def check(user: str, password: str) -> bool:
        return await slow(user, password)

    return check


COPY_AND_CITE_JS = """
() => {
  if (window.__aaWired) return;
  window.__aaWired = true;
  const copy = async (text, button) => {
    let done = false;
    try { await navigator.clipboard.writeText(text); done = true; } catch (e) { done = false; }
    if (!done) {
      const area = document.createElement('textarea');
      area.value = text; area.style.position = 'fixed'; area.style.opacity = '0';
      document.body.appendChild(area); area.select();
      try { done = document.execCommand('copy'); } catch (e) { done = false; }
      area.remove();
    }
    window.__aaCopied = text;
    button.textContent = done ? 'Copied' : 'Copy failed';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  };
  document.addEventListener('click', (event) => {
    const button = event.target.closest('.aa-copy');
    if (button) {
      event.preventDefault(); event.stopPropagation();
      const msg = button.closest('.aa-msg');
      const source = msg && msg.querySelector('.aa-copy-text');
      copy(source ? source.textContent : '', button);
      return;
    }
    const ref = event.target.closest('a.aa-ref');
    if (ref) {
      event.preventDefault(); event.stopPropagation();
      const id = (ref.getAttribute('href') || '').replace(/^#/, '');
      const target = id && document.getElementById(id);
      if (!target) return;
      const details = target.querySelector('details');
      if (details) details.open = true;
      target.scrollIntoView({block: 'nearest', behavior: 'smooth'});
      target.classList.add('aa-flash');
      setTimeout(() => target.classList.remove('aa-flash'), 1600);
    }
  }, true);
}
"""


def build_app(assistant, *, allow_upload: bool = True, max_upload_mb: float = MAX_UPLOAD_MB):
    """The Gradio Blocks app over ``assistant``. Launch it with :func:`launch` (it adds the CSS and JS)."""
    import gradio as gr

    app = ChatApp(assistant, max_upload_bytes=int(max_upload_mb * 1_000_000))
    ids = {a.id for a in assistant.articles()}
    examples = EXAMPLES if EXAMPLES_ARTICLE in ids else []
    max_chars = int(getattr(assistant.settings, "max_question_chars", MAX_QUESTION_CHARS))

    with gr.Blocks(title="Article Assistant", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        saved = gr.BrowserState([], storage_key=STORAGE_KEY)  # the turns, kept in the browser
        pending = gr.State("")
        header = gr.HTML(render.header_html(assistant.info().get("counts")), label="header", elem_id="aa-header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                with gr.Row(equal_height=False, elem_classes="aa-toolbar"):
                    gr.HTML('<div class="aa-toolbar-title">Conversation</div>')
                    export_btn = gr.DownloadButton(
                        "Export", value=None, size="sm", scale=0, min_width=90, elem_id="aa-export", interactive=False
                    )
                    clear_btn = gr.Button("New chat", size="sm", scale=0, min_width=100, elem_id="aa-clear")
                chatbot = gr.Chatbot(
                    label="Conversation",
                    show_label=False,
                    elem_id="aa-chat",
                    height=560,
                    render_markdown=False,  # messages are HTML built (and escaped) by render.py
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
                    max_length=max_chars,
                    autofocus=True,
                    submit_btn="Ask",
                    elem_id="aa-question",
                )
                example_box = (
                    gr.Examples(examples, inputs=question, label="Try asking", examples_per_page=len(examples))
                    if examples
                    else None
                )
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
                            replace = gr.Checkbox(
                                False,
                                label="Replace articles with the same name (otherwise both are kept)",
                                elem_id="aa-replace",
                            )
                            add_btn = gr.Button("Add to the index", variant="primary", elem_id="aa-add")
                        status = gr.HTML("", label="status", elem_id="aa-status")
                        report = gr.JSON(visible=False, label="report")
                        with gr.Row(equal_height=True):
                            search = gr.Textbox(
                                placeholder="Search articles (title, author, date, id)",
                                show_label=False,
                                scale=3,
                                elem_id="aa-filter",
                            )
                            prev_btn = gr.Button("‹ Prev", size="sm", scale=0, min_width=70, elem_id="aa-prev")
                            next_btn = gr.Button("Next ›", size="sm", scale=0, min_width=70, elem_id="aa-next")
                        page = gr.State(0)
                        listing = gr.HTML(app.listing()[0], label="articles", elem_id="aa-articles")
                        if allow_upload:
                            with gr.Row(equal_height=True):
                                picker = gr.Dropdown(
                                    choices=app.choices(),
                                    multiselect=True,
                                    filterable=True,
                                    label="Remove articles",
                                    scale=3,
                                    elem_id="aa-remove-pick",
                                )
                                remove_btn = gr.Button(
                                    "Remove", variant="stop", size="sm", scale=0, min_width=90, elem_id="aa-remove"
                                )

        # --- a turn: the question shows at once with a working state, then the answer replaces it
        def start(text: str, turns: list):
            text = (text or "").strip()
            if not text:
                return gr.skip(), gr.skip(), ""
            # The box is locked until the answer is in: one question at a time, in order.
            return gr.update(value="", interactive=False), app.chat_messages(turns, pending=text), text

        def finish(text: str, turns: list):
            unlock = gr.update(interactive=True)
            if not text:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip(), "", unlock
            try:
                turn = app.answer_turn(text, turns)
            except Exception as exc:  # never leave the box locked: say what failed, in one line
                log.error("chat turn failed: %s: %s", exc.__class__.__name__, str(exc)[:300])
                turn = {"question": text, "error": f"Something went wrong ({exc.__class__.__name__}); try again."}
            turns = [*_turns(turns), turn][-MAX_TURNS:]
            path = app.export(turns)
            return (
                app.chat_messages(turns),
                turns,
                app.sources(turns),
                gr.update(value=path, interactive=path is not None),
                "",
                unlock,
            )

        start_kw = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}
        finish_kw = {
            "concurrency_id": "ask",
            "concurrency_limit": ASK_CONCURRENCY,
            "api_visibility": "private",
            "show_progress": "hidden",
        }
        finish_io = ([pending, saved], [chatbot, saved, sources, export_btn, pending, question])
        question.submit(start, [question, saved], [question, chatbot, pending], **start_kw).then(
            finish, *finish_io, **finish_kw
        )
        if example_box is not None:  # an example is asked at once, not just typed into the box
            example_box.load_input_event.then(start, [question, saved], [question, chatbot, pending], **start_kw).then(
                finish, *finish_io, **finish_kw
            )

        def new_chat():
            return "", [], [], render.SOURCES_EMPTY, gr.update(value=None, interactive=False)

        new_chat_io = {"inputs": None, "outputs": [question, chatbot, saved, sources, export_btn]}
        clear_btn.click(new_chat, queue=False, api_visibility="private", **new_chat_io)
        chatbot.clear(new_chat, queue=False, api_visibility="private", **new_chat_io)

        def restore(turns: list):
            turns = _turns(turns)
            path = app.export(turns)
            header_html, _ = app.overview()
            return (
                app.chat_messages(turns),
                app.sources(turns),
                gr.update(value=path, interactive=path is not None),
                header_html,
            )

        # --- the API ------------------------------------------------------------------------------
        def ask(question: str, history: list[str | dict] | None = None) -> AnswerDict:
            """Answer a question from the articles.

            history: earlier questions (strings) or {"role", "content"} messages, oldest first.
            Returns the Answer as a dict: text, abstained, confidence, span, span_text, question,
            search_query, notes, timings, and citations (article_id, title, author, date, source,
            start, end, quote, score, page) where quote == article.text[start:end].
            """
            try:
                return app.ask(question, history)  # type: ignore[return-value]
            except AssistantError as exc:
                log.warning("/ask refused: %s", exc)
                raise gr.Error(str(exc), print_exception=False) from None
            except Exception as exc:  # one line in the log, never a traceback per request
                log.error("/ask failed: %s: %s", exc.__class__.__name__, str(exc)[:300])
                raise gr.Error(
                    f"internal error ({exc.__class__.__name__}); see the server log", print_exception=False
                ) from None

        def articles() -> list[ArticleDict]:
            """Every indexed article: id, title, author, date, source."""
            return app.articles()  # type: ignore[return-value]

        # Real types, not strings (this module uses postponed annotations): the API page shows the schema.
        ask.__annotations__.update(question=str, history=list[str | dict] | None, **{"return": AnswerDict})
        articles.__annotations__["return"] = list[ArticleDict]
        gr.api(ask, api_name="ask", concurrency_id="ask", concurrency_limit=ASK_CONCURRENCY)
        gr.api(articles, api_name="articles", concurrency_limit=None)

        # --- the article shelf ------------------------------------------------------------------
        def show(query: str, page_no: int, step: int = 0):
            html, page_no = app.listing(query, int(page_no or 0) + step)
            return html, page_no

        search.change(lambda q: show(q, 0), [search], [listing, page], queue=False, api_visibility="private")
        prev_btn.click(
            lambda q, p: show(q, p, -1), [search, page], [listing, page], queue=False, api_visibility="private"
        )
        next_btn.click(
            lambda q, p: show(q, p, +1), [search, page], [listing, page], queue=False, api_visibility="private"
        )

        if allow_upload:

            def add_articles(paths: list[str] | None, replace_same: bool = False, progress=gr.Progress()):
                progress(0.0, desc="Checking files")

                def step(done: int, total: int) -> None:
                    progress((done, total), desc="Embedding articles", unit="articles")

                result = app.add_files(list(paths or []), on_progress=step, replace=bool(replace_same))
                return (*_upload_outputs(app, result), None if result["ok"] else gr.skip())

            add_btn.click(
                add_articles,
                [files, replace],
                [status, header, listing, report, files],
                api_name="add_articles",
                show_progress_on=[status],
                concurrency_id="ingest",
                concurrency_limit=1,
            ).then(lambda: (gr.update(choices=app.choices()), ""), None, [picker, search], api_visibility="private")

            def remove_articles(ids: list[str]) -> RemoveReport:
                """Remove articles by id (as listed by /articles). Returns ok, message, removed, errors."""
                return app.remove(ids)  # type: ignore[return-value]

            remove_articles.__annotations__.update(ids=list[str], **{"return": RemoveReport})
            gr.api(remove_articles, api_name="remove_articles", concurrency_id="ingest", concurrency_limit=1)

            def remove_picked(ids: list[str] | None, query: str, page_no: int):
                result = app.remove(ids or [])
                kind = "ok" if result["ok"] and not result["errors"] else "warn" if result["ok"] else "error"
                html, page_no = app.listing(query, page_no)
                header_html, _ = app.overview()
                return (
                    render.status_html(kind, result["message"], result["errors"]),
                    header_html,
                    html,
                    page_no,
                    gr.update(choices=app.choices(), value=[]),
                )

            remove_btn.click(
                remove_picked,
                [picker, search, page],
                [status, header, listing, page, picker],
                api_visibility="private",
                concurrency_id="ingest",
                concurrency_limit=1,
            )

        demo.load(
            restore,
            [saved],
            [chatbot, sources, export_btn, header],
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
        demo.load(lambda q, p: show(q, p), [search, page], [listing, page], api_visibility="private", queue=False)
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
    from starlette.middleware import Middleware

    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", radius_size="md")
    limit = Middleware(
        UploadLimit,
        max_files=MAX_UPLOAD_FILES,
        max_bytes=int(max(MAX_UPLOAD_TOTAL_MB, max_upload_mb) * 1_000_000),
    )
    _, local_url, share_url = demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=_login_check(SlowLogin(*auth)) if auth else None,
        app_kwargs={"middleware": [limit]},
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
        js=COPY_AND_CITE_JS,
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

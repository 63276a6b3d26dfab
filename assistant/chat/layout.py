"""The chat page: its components and what each control does (the Gradio Blocks app).

The conversation column (answers, *Export*, *New chat* with undo), the side tabs (sources of every
answer; the article shelf: add files, search titles and text, remove with a confirmation step) and the
Gradio API endpoints (:mod:`.gradio_api`). Gradio is imported only inside :func:`build_app`.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..settings import Settings
from . import render
from .conversation import MAX_TURNS, _turns
from .gradio_api import ASK_CONCURRENCY, register
from .keys import conversation_key
from .service import ChatApp
from .upload_checks import ACCEPTED_SUFFIXES, MAX_UPLOAD_MB

log = logging.getLogger(__name__)

QUEUE_SIZE = 256  # waiting requests beyond this are refused with "queue full"
MAX_QUESTION_CHARS = Settings.max_question_chars  # what the server answers in full
PASTE_CHARS = 10_000  # the box takes a longer paste; the answer then says only the first 2,000 were used
STORAGE_KEY = "article-assistant-conversation"
EXAMPLES = [
    "Which states recognize Abkhazia?",
    "Who is Gregory Karasin?",
    "What has Russia done about visas for Georgians?",
    "When did Russia and Georgia start to normalize relations?",  # Gradio cuts example labels past 60 characters
]
EXAMPLES_ARTICLE = "russia-will-not-withdraw-recognition"  # the shipped article the examples are about


def build_app(assistant, *, allow_upload: bool = True, max_upload_mb: float = MAX_UPLOAD_MB):
    """The Gradio Blocks app over ``assistant``. Launch it with :func:`~assistant.chat.server.launch`
    (it adds the CSS, the script and the JSON API)."""
    import gradio as gr

    app = ChatApp(assistant, max_upload_bytes=int(max_upload_mb * 1_000_000))
    ids = {a.id for a in assistant.articles()}
    examples = EXAMPLES if EXAMPLES_ARTICLE in ids else []
    max_chars = int(getattr(assistant.settings, "max_question_chars", MAX_QUESTION_CHARS))

    with quiet_blocks()(title="Article Assistant", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        demo.chat_app, demo.allow_upload = app, allow_upload  # the JSON API (server.py) serves the same actions
        saved = gr.BrowserState([], storage_key=STORAGE_KEY, secret=conversation_key())  # the turns
        cleared = gr.State([])  # the turns before *New chat*, for its undo
        pending = gr.State("")
        header = gr.HTML(render.header_html(assistant.info().get("counts")), label="header", elem_id="aa-header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                with gr.Row(equal_height=False, elem_classes="aa-toolbar"):
                    gr.HTML('<h2 class="aa-toolbar-title">Conversation</h2>')
                    export_btn = gr.DownloadButton(
                        "Export", value=None, size="sm", scale=0, min_width=90, elem_id="aa-export", interactive=False
                    )
                    clear_btn = gr.Button("New chat", size="sm", scale=0, min_width=100, elem_id="aa-clear")
                with gr.Row(visible=False, elem_id="aa-undo-row", elem_classes="aa-undo-row") as undo_row:
                    gr.HTML('<div class="aa-undo-text" role="status">The conversation was cleared.</div>')
                    undo_btn = gr.Button("Undo", size="sm", scale=0, min_width=80, elem_id="aa-undo")
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
                    placeholder=f"Ask a question about the articles… (up to {max_chars:,} characters)",
                    show_label=False,
                    lines=1,
                    max_lines=4,
                    max_length=max(PASTE_CHARS, max_chars),
                    autofocus=True,
                    submit_btn="Ask",
                    elem_id="aa-question",
                )
                example_box = (
                    gr.Examples(examples, inputs=question, label="Try asking", examples_per_page=len(examples))
                    if examples
                    else None
                )
                gr.HTML(render.CONFIDENCE_LEGEND, elem_id="aa-legend")
            with gr.Column(scale=2, min_width=320):
                with gr.Tabs():
                    with gr.Tab("Sources", id="sources"):
                        sources = gr.HTML(render.SOURCES_EMPTY, label="sources", elem_id="aa-sources")
                    with gr.Tab("Articles", id="articles"):
                        if allow_upload:
                            files = gr.File(
                                label=f"Add articles: {' '.join(ACCEPTED_SUFFIXES)}, up to {max_upload_mb:g} MB each",
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
                                placeholder="Search articles: title, author, date, id or text",
                                show_label=False,
                                scale=3,
                                elem_id="aa-filter",
                            )
                        with gr.Row(equal_height=True, elem_classes="aa-pager"):
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
                                    "Remove…", variant="stop", size="sm", scale=0, min_width=90, elem_id="aa-remove"
                                )
                            with gr.Row(visible=False, elem_id="aa-confirm-row") as confirm_row:
                                confirm_text = gr.HTML("", elem_id="aa-confirm-text")
                                confirm_btn = gr.Button(
                                    "Yes, remove",
                                    variant="stop",
                                    size="sm",
                                    scale=0,
                                    min_width=110,
                                    elem_id="aa-confirm",
                                )
                                cancel_btn = gr.Button("Cancel", size="sm", scale=0, min_width=80, elem_id="aa-cancel")
                            remove_status = gr.HTML("", elem_id="aa-remove-status")

        # --- a turn: the question shows at once with a working state, then the answer replaces it
        def shown(turns: list) -> tuple:
            """What the page shows of a conversation: its messages, its sources, its export file."""
            path = app.export(turns)
            return app.chat_messages(turns), app.sources(turns), gr.update(value=path, interactive=path is not None)

        def start(text: str, turns: list):
            text = (text or "").strip()
            if not text:
                return gr.skip(), gr.skip(), "", gr.skip()
            # The box is locked until the answer is in: one question at a time, in order.
            return (
                gr.update(value="", interactive=False),
                app.chat_messages(turns, pending=text),
                text,
                gr.update(visible=False),
            )

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
            messages, sources_html, export = shown(turns)
            return messages, turns, sources_html, export, "", unlock

        start_kw: dict[str, Any] = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}
        finish_kw: dict[str, Any] = {
            "concurrency_id": "ask",
            "concurrency_limit": ASK_CONCURRENCY,
            "api_visibility": "private",
            "show_progress": "hidden",
        }
        start_io = ([question, saved], [question, chatbot, pending, undo_row])
        finish_io = ([pending, saved], [chatbot, saved, sources, export_btn, pending, question])
        question.submit(start, *start_io, **start_kw).then(finish, *finish_io, **finish_kw)
        if example_box is not None:  # an example is asked at once, not just typed into the box
            example_box.load_input_event.then(start, *start_io, **start_kw).then(finish, *finish_io, **finish_kw)

        # --- New chat (and the chat's trash icon) clear at once, with an undo -----------------------
        def new_chat(turns: list):
            before = _turns(turns)
            return (
                "",
                [],
                [],
                render.SOURCES_EMPTY,
                gr.update(value=None, interactive=False),
                before,
                gr.update(visible=bool(before)),
            )

        def undo(before: list):
            turns = _turns(before)
            messages, sources_html, export = shown(turns)
            return messages, turns, sources_html, export, [], gr.update(visible=False)

        new_chat_io = {
            "inputs": [saved],
            "outputs": [question, chatbot, saved, sources, export_btn, cleared, undo_row],
        }
        clear_btn.click(new_chat, queue=False, api_visibility="private", **new_chat_io)
        chatbot.clear(new_chat, queue=False, api_visibility="private", **new_chat_io)
        undo_btn.click(
            undo,
            [cleared],
            [chatbot, saved, sources, export_btn, cleared, undo_row],
            queue=False,
            api_visibility="private",
        )

        def restore(turns: list):
            turns = _turns(turns)
            header_html, _ = app.overview()
            return (*shown(turns), header_html)

        register(app, allow_upload=allow_upload)

        # --- the article shelf ------------------------------------------------------------------
        def show(query: str, page_no: int, step: int = 0):
            html, page_no = app.listing(query, int(page_no or 0) + step)
            return html, page_no

        shelf_kw: dict[str, Any] = {"queue": False, "api_visibility": "private"}
        search.change(lambda q: show(q, 0), [search], [listing, page], **shelf_kw)
        prev_btn.click(lambda q, p: show(q, p, -1), [search, page], [listing, page], **shelf_kw)
        next_btn.click(lambda q, p: show(q, p, +1), [search, page], [listing, page], **shelf_kw)

        if allow_upload:

            def add_articles(paths: list[str] | None, replace_same: bool = False, progress=gr.Progress()):
                paths = list(paths or [])
                progress = in_this_context(progress)  # the ingest reports from its own thread
                progress((0, max(1, len(paths))), desc="Reading files", unit="files")

                def read_step(done: int, total: int) -> None:
                    progress((done, total), desc="Reading files", unit="files")

                started: list[tuple[float, int]] = []  # (when, sentences done) at the first report

                def embed_step(done: int, total: int) -> None:
                    if not started:
                        started.append((time.monotonic(), done))
                    when, first = started[0]
                    left = eta(when, done - first, total - first)
                    progress((done, total), desc=f"Embedding the text{left}", unit="sentences")

                def store_step(done: int, total: int) -> None:
                    if done >= total:  # every article is embedded and stored: what remains is the publish
                        progress(1.0, desc="Publishing the new index")
                    else:
                        progress((done, total), desc="Storing articles", unit="articles")

                result = app.add_files(
                    paths, on_progress=store_step, on_embed=embed_step, on_read=read_step, replace=bool(replace_same)
                )
                return (*upload_outputs(app, result), None if result["ok"] else gr.skip())

            add_btn.click(
                add_articles,
                [files, replace],
                [status, header, listing, report, files],
                api_name="add_articles",
                show_progress_on=[status],
                concurrency_id="ingest",
                concurrency_limit=1,
            ).then(lambda: (gr.update(choices=app.choices()), ""), None, [picker, search], api_visibility="private")

            # Remove asks first: the picked articles are named, then *Yes, remove* or *Cancel*.
            def ask_to_remove(picked: list[str] | None):
                picked = [i for i in picked or [] if isinstance(i, str)]
                if not picked:
                    html = render.status_html("error", "Choose one or more articles to remove first.")
                    return gr.update(visible=False), "", html
                titles = {a.id: a.title or a.id for a in assistant.articles()}
                return gr.update(visible=True), render.confirm_remove_html([titles.get(i, i) for i in picked]), ""

            remove_btn.click(ask_to_remove, [picker], [confirm_row, confirm_text, remove_status], **shelf_kw)
            cancel_btn.click(
                lambda: (gr.update(visible=False), render.status_html("ok", "Nothing was removed.")),
                None,
                [confirm_row, remove_status],
                **shelf_kw,
            )

            def remove_picked(ids: list[str] | None, query: str, page_no: int):
                try:
                    result = app.remove(ids or [])
                except Exception as exc:  # one line, next to the button
                    result = {"ok": False, "message": "Nothing was removed.", "removed": [], "errors": [str(exc)]}
                kind = "ok" if result["ok"] and not result["errors"] else "warn" if result["ok"] else "error"
                html, page_no = app.listing(query, page_no)
                header_html, _ = app.overview()
                return (
                    render.status_html(kind, result["message"], result["errors"]),
                    header_html,
                    html,
                    page_no,
                    gr.update(choices=app.choices(), value=[]),
                    gr.update(visible=False),
                )

            confirm_btn.click(
                remove_picked,
                [picker, search, page],
                [remove_status, header, listing, page, picker, confirm_row],
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


def eta(start: float, done: int, total: int) -> str:
    """`` · about 40 s left`` once a step has run long enough to tell (3 s), else "" (``done`` of ``total``
    since ``start``)."""
    elapsed = time.monotonic() - start
    if elapsed < 3 or done <= 0 or done >= total:
        return ""
    left = elapsed / done * (total - done)
    return f" · about {left / 60:.0f} min left" if left >= 90 else f" · about {max(1, round(left))} s left"


def in_this_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` callable from any thread as if from this one: Gradio finds a request's progress bar through
    context variables, which a thread the ingest starts does not have (its updates were lost)."""
    context = contextvars.copy_context()
    lock = threading.Lock()

    def call(*args: Any, **kwargs: Any) -> Any:
        with lock:  # a context is entered by one thread at a time
            return context.run(fn, *args, **kwargs)

    return call


def quiet_blocks():
    """``gr.Blocks`` whose malformed inputs (Gradio's own payload checks, e.g. a file that is not a file) are a
    one-line error for the client and one warning in the log, not a traceback on the server's stderr."""
    import gradio as gr

    class QuietBlocks(gr.Blocks):
        async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
            try:
                return await super().preprocess_data(block_fn, inputs, state, explicit_call)
            except gr.Error:
                raise
            except Exception as exc:  # pydantic's ValidationError and the like: the request's fault
                name = getattr(block_fn, "api_name", None) or getattr(block_fn, "name", "") or "?"
                detail = " ".join(str(exc).split())[:200]
                log.warning("/%s refused: bad input: %s", name, detail)
                raise gr.Error(f"bad input: {detail}", print_exception=False) from None

    return QuietBlocks


def upload_outputs(app: ChatApp, result: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """(status box, header, article list, report) after an upload."""
    if result["ok"]:
        kind = "warn" if result["warnings"] or result["errors"] else "ok"
        status = render.status_html(kind, result["message"], result["errors"] + result["warnings"])
    else:
        status = render.status_html("error", result["message"], result["errors"])
    header, _ = app.overview()
    listing, _ = app.listing(new_ids=result["added"] + result["updated"])
    return status, header, listing, result

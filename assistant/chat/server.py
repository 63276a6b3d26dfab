"""Serving the chat: the Gradio page, its queue, the login, the request limits and the JSON API, on one port."""

from __future__ import annotations

from typing import Any

from . import access
from .http_api import ApiDispatch, build_api
from .limits import UploadLimit
from .script import PAGE_JS
from .style import CSS
from .upload_checks import MAX_UPLOAD_FILES, MAX_UPLOAD_MB, MAX_UPLOAD_TOTAL_MB

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# Gradio keeps per-session state for the most recent sessions; every API call without a session
# is a new one (~50-90 kB each), so the default of 10,000 let memory grow by ~0.5-0.9 GB under load.
SESSION_CAPACITY = 1000


def theme():
    """Gradio's Soft theme with text colours that pass WCAG AA (4.5:1) in light and dark mode."""
    import gradio as gr

    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", radius_size="md").set(
        color_accent="*primary_600",
        color_accent_soft="*primary_50",
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_300",
        block_label_text_color="*primary_700",
        block_label_text_color_dark="white",
        block_title_text_color="*primary_700",
        block_title_text_color_dark="white",
        block_info_text_color="*neutral_600",
        block_info_text_color_dark="*neutral_300",
        input_placeholder_color="*neutral_500",
        input_placeholder_color_dark="*neutral_400",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover_dark="*primary_800",
        button_cancel_background_fill="#b91c1c",
        button_cancel_background_fill_hover="#991b1b",
        button_cancel_text_color="white",
    )


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
    login_delay: float | None = None,
) -> str:
    """Serve ``demo`` (from :func:`~assistant.chat.layout.build_app`) with the JSON API under ``/api``;
    returns the local URL (blocks until Ctrl-C when ``block``)."""
    from starlette.middleware import Middleware

    slow = access.SlowLogin(*auth, delay=login_delay) if auth else None
    holder: dict[str, Any] = {}
    chat_app = getattr(demo, "chat_app", None)
    if chat_app is not None:  # ready before the server takes its first request

        def cookie_user(request) -> str | None:
            gradio_app = getattr(demo, "server_app", None) or demo.app
            cookie = request.cookies.get(f"access-token-{gradio_app.cookie_id}") or request.cookies.get(
                f"access-token-unsecure-{gradio_app.cookie_id}"
            )
            return gradio_app.tokens.get(cookie) if cookie else None

        holder["api"] = build_api(
            chat_app,
            login=access.login_check(slow) if slow else None,
            cookie_user=cookie_user,
            allow_upload=getattr(demo, "allow_upload", True),
        )
    limit = Middleware(
        UploadLimit,
        max_files=MAX_UPLOAD_FILES,
        max_bytes=int(max(MAX_UPLOAD_TOTAL_MB, max_upload_mb) * 1_000_000),
    )
    _, local_url, share_url = demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=access.login_check(slow) if slow else None,
        app_kwargs={"middleware": [limit, Middleware(ApiDispatch, api_holder=holder)]},
        auth_message="Log in to the Article Assistant." if auth else None,
        max_file_size=f"{max_upload_mb:g}mb",
        state_session_capacity=SESSION_CAPACITY,
        prevent_thread_lock=True,
        quiet=quiet,
        show_error=True,
        ssr_mode=False,
        footer_links=["api"],
        theme=theme(),
        css=CSS,
        js=PAGE_JS,
        inbrowser=False,
    )
    if block:
        print(f"Chat running at {local_url}" + (f"  (public link: {share_url})" if share_url else ""), flush=True)
        print(f"JSON API at {local_url.rstrip('/')}/api/docs", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            demo.block_thread()
        except KeyboardInterrupt:
            pass
    return local_url

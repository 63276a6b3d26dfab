"""A plain JSON HTTP API on the chat's server: ``POST`` JSON, get JSON; OpenAPI schema and docs.

Routes (under ``/api/v1``; the same login as the page: HTTP Basic ``user:password``, or the page's
login cookie)::

    POST   /api/v1/ask              {"question": str, "history": [str | {"role", "content"}] | null} → Answer
    GET    /api/v1/articles         ?q=WORDS&page=0&per_page=25 → one page of matches (title, text, …)
    POST   /api/v1/upload           multipart files (+ form field replace=true) → the upload report
    POST   /api/v1/remove           {"ids": [str]} → {ok, message, removed, errors}
    DELETE /api/v1/articles/{id}    → {ok, message, removed, errors}
    GET    /api/openapi.json, /api/docs

Errors are ``{"error": "one line saying what to do"}`` with the right status (400 bad input, 401
login, 403 a write from another site's page, 404 unknown article, 413 too large, 500 internal) and one warning line in the log.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route models defined inside build_api.
import base64
import logging
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import AssistantError
from .schema import AnswerDict, RemoveReport, SearchPage
from .service import ChatApp

log = logging.getLogger(__name__)

API_ROOT = "/api"
ASK_AT_ONCE = 4  # answers computed at once over this API (the page's queue has its own 4)

LoginCheck = Callable[[str, str], Awaitable[bool]]


def build_api(
    app: ChatApp,
    *,
    login: LoginCheck | None = None,
    cookie_user: Callable[[Any], str | None] | None = None,
    allow_upload: bool = True,
):
    """The FastAPI app of the JSON API (mounted at ``/api`` by :func:`~assistant.chat.server.launch`).

    ``login(user, password)`` checks HTTP Basic credentials (None: no login needed); ``cookie_user(request)``
    accepts a browser that logged in on the page."""
    from fastapi import Body, Depends, FastAPI, File, Form, Query, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, Field
    from starlette.exceptions import HTTPException

    class ApiError(Exception):
        def __init__(self, status: int, message: str) -> None:
            super().__init__(message)
            self.status, self.message = status, message

    class AskRequest(BaseModel):
        question: str = Field(description="the question (longer than 2,000 characters: the start is used, with a note)")
        history: list[str | dict[str, Any]] | None = Field(
            default=None,
            description='earlier questions, or {"role": "user"|"assistant", "content": str} messages, oldest first',
        )

    class RemoveRequest(BaseModel):
        ids: list[str] = Field(description="article ids, as listed by GET /api/v1/articles")

    class ErrorBody(BaseModel):
        error: str

    errors: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "bad input"},
        401: {"model": ErrorBody, "description": "login needed"},
        413: {"model": ErrorBody, "description": "body too large"},
    }
    api = FastAPI(
        title="Article Assistant API",
        version="1",
        description="Answers are verbatim passages from the indexed articles, each with a checkable citation.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    asking = threading.BoundedSemaphore(ASK_AT_ONCE)

    def fail(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @api.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        log.warning("%s %s refused (%d): %s", request.method, request.url.path, exc.status, exc.message)
        headers = {"WWW-Authenticate": 'Basic realm="Article Assistant"'} if exc.status == 401 else None
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "body"
        message = f"bad request: {where}: {first.get('msg', 'invalid')}"
        log.warning("%s %s refused (400): %s", request.method, request.url.path, message)
        return fail(400, message)

    @api.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return fail(exc.status_code, str(exc.detail))

    @api.middleware("http")
    async def _internal(request: Request, call_next):  # inside Starlette's error middleware: no traceback
        try:
            return await call_next(request)
        except Exception as exc:
            log.error("%s %s failed: %s: %s", request.method, request.url.path, exc.__class__.__name__, str(exc)[:300])
            return fail(500, f"internal error ({exc.__class__.__name__}); see the server log")

    async def authorised(request: Request) -> None:
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD") and origin and urlsplit(origin).netloc != request.headers.get("host"):
            # a page elsewhere may not add or remove articles through a browser that can reach this one
            raise ApiError(403, f"cross-site request from {origin[:80]} refused: call the API from a script")
        if login is None:
            return
        if cookie_user is not None and cookie_user(request):
            return
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, sep, password = "", "", ""
            if sep and await login(user, password):
                return
            raise ApiError(401, "wrong user or password")
        raise ApiError(401, "log in: send HTTP Basic credentials (curl -u user:password)")

    guarded = [Depends(authorised)]

    def refused(exc: Exception) -> ApiError:
        return ApiError(400, str(exc).splitlines()[0][:300] if str(exc) else exc.__class__.__name__)

    @api.post(
        "/api/v1/ask", response_model=AnswerDict, dependencies=guarded, responses=errors, summary="Ask a question"
    )
    def ask(body: AskRequest = Body(...)) -> Any:
        """Answer ``question`` from the articles (with ``history`` for follow-ups): the ``Answer`` fields."""
        with asking:
            try:
                return app.ask(body.question, body.history)
            except AssistantError as exc:
                raise refused(exc) from None

    @api.get(
        "/api/v1/articles", response_model=SearchPage, dependencies=guarded, responses=errors, summary="List or search"
    )
    def articles(
        q: str = Query("", max_length=200, description="words to find in the title, author, date, id or text"),
        page: int = Query(0, ge=0, le=1_000_000),
        per_page: int = Query(25, ge=1, le=100),
    ) -> Any:
        """One page of the indexed articles; with ``q``, those holding every word (a text match carries its
        passage: ``text``, ``start``, ``end`` offsets into the article's text)."""
        return app.search(q, page, per_page)

    if allow_upload:

        @api.post("/api/v1/upload", dependencies=guarded, responses=errors, summary="Add files")
        def upload(
            files: list[UploadFile] = File(..., description=".txt .md .html .htm .jsonl .pdf .docx"),
            replace: bool = Form(False, description="update an indexed article with the same name"),
        ) -> Any:
            """Add files to the index: ``{ok, message, added, updated, unchanged, warnings, errors, renamed,
            replaced}``; status 400 when nothing could be added."""
            with tempfile.TemporaryDirectory(prefix="assistant-api-") as tmp:
                paths = []
                for n, f in enumerate(files):
                    folder = Path(tmp) / str(n)
                    folder.mkdir()
                    path = folder / (Path(f.filename or "file").name or "file")
                    with path.open("wb") as out:
                        while chunk := f.file.read(1 << 20):
                            out.write(chunk)
                    paths.append(path)
                result = app.add_files(paths, replace=bool(replace))
            return JSONResponse(result, status_code=200 if result["ok"] else 400)

        def _remove(ids: list[str]) -> Any:
            try:
                result = app.remove(ids)
            except AssistantError as exc:
                raise refused(exc) from None
            if not result["ok"]:
                raise ApiError(404 if result["errors"] else 400, "; ".join(result["errors"]) or result["message"])
            return result

        @api.post(
            "/api/v1/remove", response_model=RemoveReport, dependencies=guarded, responses=errors, summary="Remove"
        )
        def remove(body: RemoveRequest) -> Any:
            """Remove articles by id: ``{ok, message, removed, errors}`` (unknown ids are listed in ``errors``;
            404 when none of them is indexed)."""
            return _remove(body.ids)

        @api.delete("/api/v1/articles/{article_id:path}", response_model=RemoveReport, dependencies=guarded)
        def delete(article_id: str) -> Any:
            """Remove one article by id."""
            return _remove([article_id])

    @api.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(api.openapi()))

    @api.get("/api/{rest:path}", include_in_schema=False)
    def unknown(rest: str) -> JSONResponse:
        return fail(404, f"no such API route: /api/{rest[:80]}; see /api/docs")

    return api


def docs_html(schema: dict[str, Any]) -> str:
    """A self-contained page (no script, nothing fetched) describing the API from its OpenAPI schema."""
    from .render import esc

    rows = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = ", ".join(esc(p["name"]) for p in op.get("parameters", []) if p.get("in") != "header")
            body = op.get("requestBody", {}).get("content", {})
            kinds = ", ".join(esc(k) for k in body)
            rows.append(
                f"<tr><td><code>{esc(method.upper())}</code></td><td><code>{esc(path)}</code></td>"
                f"<td><b>{esc(op.get('summary', ''))}</b><br>{esc(op.get('description', ''))}"
                f"{'<br>parameters: ' + params if params else ''}{'<br>body: ' + kinds if kinds else ''}</td></tr>"
            )
    example = (
        "curl -s -X POST http://127.0.0.1:7860/api/v1/ask -H 'Content-Type: application/json' \\\n"
        '  -d \'{"question": "Which states recognize Abkhazia?", "history": []}\''
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Article Assistant API</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:24px auto;padding:0 16px;color:#111827}"
        "table{border-collapse:collapse;width:100%}td{border-top:1px solid #cbd5e1;padding:8px;vertical-align:top}"
        "pre{background:#f1f5f9;padding:12px;overflow:auto}</style></head><body>"
        f"<h1>{esc(schema.get('info', {}).get('title', 'API'))}</h1><p>{esc(schema.get('info', {}).get('description', ''))}"
        " The schema: <a href='/api/openapi.json'>/api/openapi.json</a> (OpenAPI). Errors are "
        '<code>{"error": "…"}</code> with status 400, 401, 404, 413 or 500.</p>'
        f"<pre>{esc(example)}</pre><table>{''.join(rows)}</table></body></html>"
    )


class ApiDispatch:
    """ASGI middleware: requests under ``/api/`` go to the JSON API, everything else to the Gradio app."""

    def __init__(self, app, api_holder: dict[str, Any]) -> None:
        self.app, self.api_holder = app, api_holder

    async def __call__(self, scope, receive, send):
        api = self.api_holder.get("api")
        path = scope.get("path", "")
        if api is not None and scope.get("type") == "http" and (path == API_ROOT or path.startswith(API_ROOT + "/")):
            return await api(scope, receive, send)
        return await self.app(scope, receive, send)

"""Limits on every route of the chat server: request bodies are capped as they stream in."""

from __future__ import annotations

import json
import logging
import re

from .upload_checks import MAX_UPLOAD_FILES, MAX_UPLOAD_TOTAL_MB

log = logging.getLogger(__name__)

# Every request but an upload: a question (2,000 characters) with its history, or the chat's own state
# (its last 50 exchanges, sent back by the page with each question) fits well within this.
MAX_BODY_BYTES = 2_000_000
MAX_API_BODY_BYTES = 256_000  # the JSON API (/api/...): a question and its history
API_PREFIX = "/api/"


class UploadLimit:
    """ASGI middleware that caps every request body, as it streams in (nothing past the cap is read).

    An upload (``POST .../upload``) with more than ``max_files`` files or ``max_bytes`` bytes is refused
    with 413 (Gradio's route checks only each file's size); any other request whose body passes
    ``max_body_bytes`` is refused with 413 too (a question is 2,000 characters: a flood of 50 MB
    questions is cut off at the cap, and memory stays flat). Refusals are one JSON line ``{"error": ...}``
    and one warning in the log.
    """

    def __init__(
        self,
        app,
        max_files: int = MAX_UPLOAD_FILES,
        max_bytes: int = MAX_UPLOAD_TOTAL_MB * 1_000_000,
        max_body_bytes: int = MAX_BODY_BYTES,
    ):
        self.app, self.max_files, self.max_bytes, self.max_body_bytes = app, max_files, max_bytes, max_body_bytes

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if not path:
            return await self.app(scope, receive, send)
        if scope.get("method") != "POST" or not path.rstrip("/").endswith("/upload"):
            return await self._capped(scope, receive, send)
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

        await self._serve(scope, limited_receive, send, state, lambda: state["refused"])

    async def _capped(self, scope, receive, send):
        """Any other request: a body over ``max_body_bytes`` is refused (by its declared length, or as it streams)."""
        cap = (
            min(self.max_body_bytes, MAX_API_BODY_BYTES)
            if scope["path"].startswith(API_PREFIX)
            else self.max_body_bytes
        )
        message = f"request too large: the limit is {cap // 1000} kB (questions are at most 2,000 characters)"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            log.warning("request refused: %s %s, %s bytes", scope.get("method"), scope.get("path"), length)
            return await self._refuse(send, message)
        state = {"bytes": 0, "refused": False, "started": False}

        async def limited_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg.get("type") == "http.request":
                state["bytes"] += len(msg.get("body", b""))
                if state["bytes"] > cap:
                    state["refused"] = True
                    log.warning("request refused: %s %s, over %d bytes", scope.get("method"), scope.get("path"), cap)
                    return {"type": "http.disconnect"}
            return msg

        await self._serve(scope, limited_receive, send, state, lambda: message)

    async def _serve(self, scope, receive, send, state: dict, refusal) -> None:
        """Run the app reading through ``receive``; once ``state["refused"]`` is set nothing more of its
        response is sent, and ``refusal()`` goes out instead when it had not started one."""

        async def guarded_send(msg):
            if state["refused"]:
                return
            state["started"] = True
            await send(msg)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise
        if state["refused"] and not state["started"]:
            await self._refuse(send, refusal())

    @staticmethod
    async def _refuse(send, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

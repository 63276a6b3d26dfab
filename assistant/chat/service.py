"""The chat's actions as plain methods over one shared :class:`Assistant` (thread-safe): what the page,
the Gradio endpoints and the JSON API all call."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from .conversation import ConversationActions
from .shelf import ShelfActions
from .upload_checks import MAX_UPLOAD_MB
from .uploads import UploadActions


class ChatApp(ConversationActions, ShelfActions, UploadActions):
    """The conversation (ask, turns, sources, export), the shelf (list, search, remove) and uploads.

    The conversation is a list of turns ``{"question": str, "answer": Answer.to_dict()}`` (or
    ``{"question", "error"}``), kept in the browser. Follow-ups are asked with the earlier
    *questions* as history, exactly as a client of the API would.
    """

    def __init__(self, assistant, *, max_upload_bytes: int = MAX_UPLOAD_MB * 1_000_000) -> None:
        self.assistant = assistant
        self.max_upload_bytes = max_upload_bytes
        self._ingest_lock = threading.Lock()
        self._export_dir = Path(tempfile.mkdtemp(prefix="assistant-export-"))

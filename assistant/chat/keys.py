"""The key that encrypts the conversation kept in the browser, kept in the user's config folder so a
restarted server reads the conversations it stored before (the file is readable by its owner only)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

KEY_ENV = "ASSISTANT_CHAT_KEY_FILE"


def key_file() -> Path:
    """``$ASSISTANT_CHAT_KEY_FILE``, else ``$XDG_CONFIG_HOME/article-assistant/chat-key`` (``~/.config``)."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "article-assistant" / "chat-key"


def conversation_key(path: Path | None = None) -> str | None:
    """The stored key (made on first use, mode 0600), or None when it cannot be kept (then the server
    makes one per start, as before, and says so in the log)."""
    path = path or key_file()
    try:
        if path.is_file():
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_urlsafe(32)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
        os.replace(tmp, path)
        return key
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("the conversation key cannot be kept at %s (%s): a restart starts new conversations", path, exc)
        return None

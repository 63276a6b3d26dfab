"""Who may use the chat: the login value, loopback addresses, and a login check that slows down guesses."""

from __future__ import annotations

import asyncio
import hmac
import logging

from ..errors import AssistantError

log = logging.getLogger(__name__)

AUTH_ENV = "ASSISTANT_AUTH"
LOGIN_FAIL_DELAY = 0.5  # seconds after a wrong password, doubling with each further one (at most 8 s)


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


def login_check(slow: SlowLogin):
    """A coroutine function (Gradio awaits only those; an object with an async ``__call__`` would be
    called without awaiting, and its coroutine taken for a yes)."""

    async def check(user: str, password: str) -> bool:
        return await slow(user, password)

    return check

"""sha256 of large model files, remembered by their size, mtime and inode.

A new process verifies the bundled encoder's weights, the reader's weights and both cached ONNX
graphs (≈ 290 MB together): hashing them on every start-up took most of a new process's time to
its first answer. A digest computed once is remembered in ``sha256-memo.json`` in the model cache
(:func:`assistant.models.locations.cache_dir`) with the file's size, mtime, inode and device, and
reused while they are unchanged; any write, replacement or truncation changes them and the file is
hashed again. As in git's index, a file modified within :data:`RACY_S` seconds of being hashed is
never remembered (a second write in the same clock tick would keep its mtime), and a damaged memo
is ignored. ``ASSISTANT_VERIFY=full`` hashes every file on every load.

Example::

    from assistant.models.digests import sha256_file_cached
    sha256_file_cached(path)   # hashes the file the first time, then answers from the memo
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

from .locations import cache_dir

MEMO_NAME = "sha256-memo.json"
#: A file whose mtime is this close to the moment it was hashed is hashed again next time.
RACY_S = 2.0
_lock = threading.Lock()
_path_locks: dict[str, threading.Lock] = {}


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file (always reads all of it)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _memo_path() -> Path:
    return cache_dir() / MEMO_NAME


def _read_memo(memo: Path) -> dict:
    try:
        data = json.loads(memo.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _stamp(st: os.stat_result) -> list:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def sha256_file_cached(path: str | Path) -> str:
    """sha256 of ``path``, from the memo when the file is unchanged since it was last hashed."""
    path = Path(path).resolve()
    key = str(path)
    with _lock:
        plock = _path_locks.setdefault(key, threading.Lock())
    with plock:  # two threads asking for one file hash it once
        st = path.stat()
        memo_file = _memo_path()
        full = os.environ.get("ASSISTANT_VERIFY", "").lower() == "full"
        entry = None if full else _read_memo(memo_file).get(key)
        if isinstance(entry, dict) and entry.get("stat") == _stamp(st) and isinstance(entry.get("sha256"), str):
            return entry["sha256"]
        started = time.time()
        digest = sha256_file(path)
        after = path.stat()
        if _stamp(after) == _stamp(st) and started - after.st_mtime_ns / 1e9 > RACY_S:
            _remember(memo_file, key, {"stat": _stamp(after), "sha256": digest})
        return digest


def _remember(memo_file: Path, key: str, entry: dict) -> None:
    with _lock:
        memo = _read_memo(memo_file)
        memo = {k: v for k, v in memo.items() if Path(k).exists()}  # files gone are dropped
        memo[key] = entry
        _write(memo_file, memo)


def _write(memo_file: Path, memo: dict) -> None:
    tmp = None
    try:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{memo_file.name}.", suffix=".tmp", dir=memo_file.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(memo, f, indent=0)
        os.replace(tmp, memo_file)
    except OSError:  # a read-only cache only costs the next start-up a hash
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)

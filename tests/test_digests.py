"""Model files are hashed once per change, not on every start-up (assistant.models.digests)."""

import hashlib
import json
import os
import time

import pytest

from assistant.models import digests, onnx_runtime


@pytest.fixture
def counted(tmp_path, monkeypatch):
    monkeypatch.setenv(onnx_runtime.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv("ASSISTANT_VERIFY", raising=False)
    calls = []
    real = digests.sha256_file
    monkeypatch.setattr(digests, "sha256_file", lambda p, *a: calls.append(p) or real(p, *a))
    return calls


def _old_file(path, data: bytes, age_s: float = 60.0):
    path.write_bytes(data)
    past = time.time() - age_s
    os.utime(path, (past, past))
    return path


def test_an_unchanged_file_is_hashed_once(tmp_path, counted):
    f = _old_file(tmp_path / "weights.bin", b"abc" * 1000)
    want = hashlib.sha256(b"abc" * 1000).hexdigest()
    assert digests.sha256_file_cached(f) == want
    assert digests.sha256_file_cached(f) == want
    assert len(counted) == 1
    memo = json.loads((tmp_path / "cache" / digests.MEMO_NAME).read_text())
    assert memo[str(f.resolve())]["sha256"] == want


def test_a_changed_file_is_hashed_again(tmp_path, counted):
    f = _old_file(tmp_path / "weights.bin", b"abc" * 1000)
    digests.sha256_file_cached(f)
    _old_file(f, b"abd" * 1000, age_s=30)  # same size, another mtime
    assert digests.sha256_file_cached(f) == hashlib.sha256(b"abd" * 1000).hexdigest()
    assert len(counted) == 2


def test_a_file_written_just_now_is_never_remembered(tmp_path, counted):
    f = tmp_path / "fresh.bin"
    f.write_bytes(b"x" * 100)  # a second write in the same clock tick would keep this mtime
    digests.sha256_file_cached(f)
    digests.sha256_file_cached(f)
    assert len(counted) == 2


def test_full_verification_and_a_damaged_memo(tmp_path, counted, monkeypatch):
    f = _old_file(tmp_path / "weights.bin", b"abc")
    digests.sha256_file_cached(f)
    monkeypatch.setenv("ASSISTANT_VERIFY", "full")
    digests.sha256_file_cached(f)
    assert len(counted) == 2
    monkeypatch.delenv("ASSISTANT_VERIFY")
    (tmp_path / "cache" / digests.MEMO_NAME).write_text("{not json")
    assert digests.sha256_file_cached(f) == hashlib.sha256(b"abc").hexdigest()
    assert len(counted) == 3
    assert digests.sha256_file_cached(f) == hashlib.sha256(b"abc").hexdigest()  # the memo was rewritten
    assert len(counted) == 3


def test_a_forged_memo_entry_for_another_stat_is_not_trusted(tmp_path, counted):
    f = _old_file(tmp_path / "weights.bin", b"abc")
    memo = tmp_path / "cache" / digests.MEMO_NAME
    memo.parent.mkdir()
    memo.write_text(json.dumps({str(f.resolve()): {"stat": [3, 1, 2, 3], "sha256": "0" * 64}}))
    assert digests.sha256_file_cached(f) == hashlib.sha256(b"abc").hexdigest()

"""Messages that say what happened and what to do (issue 27, item 8)."""

from __future__ import annotations

import errno
import os

import pytest

from assistant.cli import main as cli_main
from assistant.errors import IngestError
from assistant.ingest.pipeline import ingest_articles, ingest_paths
from assistant.ingest.readers import SUPPORTED_SUFFIXES

from .hash_embedder import HashEmbedder, town_articles


def _no_space(*a, **k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def two_segments(tmp_path):
    path = tmp_path / "idx"
    ingest_articles(path, town_articles("a", 3), HashEmbedder())
    ingest_articles(path, town_articles("b", 2), HashEmbedder())
    return path


def _cli(args: list[str], capsys) -> tuple[int, str]:
    code = cli_main(args)
    return code, capsys.readouterr().err.strip()


def test_nothing_readable_lists_every_supported_type(tmp_path):
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(IngestError) as err:
        ingest_paths(tmp_path / "idx", [tmp_path], HashEmbedder())
    assert all(suffix in str(err.value) for suffix in SUPPORTED_SUFFIXES), str(err.value)
    assert ".pdf" in str(err.value) and ".docx" in str(err.value)


def test_a_full_disk_during_compact_says_to_run_compact_again(two_segments, capsys, monkeypatch):
    monkeypatch.setattr("os.link", _no_space)
    code, err = _cli(["compact", "--index", str(two_segments)], capsys)
    assert code == 1 and err.startswith("error: no space left") and "\n" not in err
    assert "run `assistant compact` again" in err and "ingest" not in err and "unchanged" in err


def test_a_full_disk_during_a_removal_says_removal(two_segments, monkeypatch):
    from assistant.errors import IndexWriteError

    monkeypatch.setattr("os.link", _no_space)
    with pytest.raises(IndexWriteError, match="run the removal again"):
        ingest_articles(two_segments, [], HashEmbedder(), remove=["a0"])


class _NoInodes:
    f_files, f_favail, f_bavail, f_frsize = 36, 0, 12_800, 4096  # 50 MB free, no inode left


def test_running_out_of_inodes_is_not_called_a_full_disk(two_segments, capsys, monkeypatch, tmp_path):
    from assistant.models.embedding import Embedder

    monkeypatch.setattr(Embedder, "load", classmethod(lambda cls, *a, **k: HashEmbedder()))
    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    monkeypatch.setattr("os.link", _no_space)
    real = os.statvfs
    monkeypatch.setattr("os.statvfs", lambda p: _NoInodes() if str(p).startswith(str(two_segments)) else real(p))
    code, err = _cli(["ingest", str(tmp_path / "n.txt"), "--index", str(two_segments), "--quiet"], capsys)
    assert code == 1 and "\n" not in err
    assert "no free inodes" in err and "50 MB are free" in err and "free some space" not in err
    assert "run the ingest again" in err

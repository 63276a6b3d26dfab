"""Ctrl-C says what happened to the index and never prints a traceback (issue 27, item 5)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from assistant.cli import main as cli_main
from assistant.ingest.pipeline import ingest_articles
from assistant.storage.generations import IndexDir

from .conftest import ROOT
from .hash_embedder import HashEmbedder, town_articles


@pytest.fixture
def small_index(tmp_path, monkeypatch):
    """An index of 3 articles, and `assistant ingest` with the HashEmbedder (no model to load)."""
    from assistant.models.embedding import Embedder

    path = tmp_path / "idx"
    ingest_articles(path, town_articles("a", 3), HashEmbedder())
    monkeypatch.setattr(Embedder, "load", classmethod(lambda cls, *a, **k: HashEmbedder()))
    (tmp_path / "new.txt").write_text("New\n\nThe harbour of Nore is kept by Ana Lima.\n")
    return path


def _interrupt_on(monkeypatch, name: str, call: int) -> None:
    """Make the ``call``-th call of ``IndexDir.<name>`` raise KeyboardInterrupt (as Ctrl-C would there)."""
    original = getattr(IndexDir, name)
    calls = []

    def patched(self, *a, **k):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return original(self, *a, **k)

    monkeypatch.setattr(IndexDir, name, patched)


def test_ctrl_c_after_the_publish_says_the_index_changed(small_index, monkeypatch, capsys, tmp_path):
    before = IndexDir(small_index).current_name()
    _interrupt_on(monkeypatch, "collect_garbage", 2)  # the first runs before the ingest, the second after publishing
    code = cli_main(["ingest", str(tmp_path / "new.txt"), "--index", str(small_index), "--quiet"])
    err = capsys.readouterr().err.strip()
    now = IndexDir(small_index).current_name()
    assert code == 130 and now != before
    assert err == (
        f"interrupted after the new index generation {now} was published: the index at {small_index} "
        "holds this ingest's changes"
    )


def test_ctrl_c_before_the_publish_says_the_index_is_unchanged(small_index, monkeypatch, capsys, tmp_path):
    before = IndexDir(small_index).current_name()
    _interrupt_on(monkeypatch, "publish", 1)
    code = cli_main(["ingest", str(tmp_path / "new.txt"), "--index", str(small_index), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 130 and IndexDir(small_index).current_name() == before
    assert err.startswith("interrupted before anything was published; the index is unchanged") and "\n" not in err


def test_ctrl_c_while_asking_is_one_word(small_index, monkeypatch, capsys):
    _interrupt_on(monkeypatch, "open_current", 1)
    assert cli_main(["info", "--index", str(small_index)]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


_IMPORT_BOOM = """
import runpy, sys
TARGET = sys.argv[1]
class Boom:
    def find_spec(self, name, path=None, target=None):
        if name == TARGET:
            raise KeyboardInterrupt
sys.meta_path.insert(0, Boom())
sys.argv = ["assistant", "info", "--index", sys.argv[2]]
runpy.run_module("assistant", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize(
    "module", ["assistant.cli", "assistant.settings", "assistant.chat.app", "assistant.storage.index"]
)
def test_ctrl_c_during_start_up_imports_prints_no_traceback(small_index, module):
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_BOOM, module, str(small_index)],
        capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120,
    )  # fmt: skip
    assert out.returncode == 130, out.stderr
    assert out.stderr.strip() == "interrupted", out.stderr


_MORPHED = """
import runpy, signal, sys
TARGET = sys.argv[1]
class Morph:
    def find_spec(self, name, path=None, target=None):
        if name == TARGET:
            try:  # Ctrl-C lands inside a C extension's import...
                signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
            except KeyboardInterrupt:
                pass
            raise ImportError('PyCapsule_Import could not import module "datetime"')  # ...which reports this
sys.meta_path.insert(0, Morph())
sys.argv = ["assistant", "ingest", "x.txt", "--index", sys.argv[2]]
runpy.run_module("assistant", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("module", ["assistant.chat.app", "numpy"])
def test_an_interrupt_that_surfaces_as_another_error_is_reported_as_the_interrupt(small_index, module):
    out = subprocess.run(
        [sys.executable, "-c", _MORPHED, module, str(small_index)],
        capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120,
    )  # fmt: skip
    assert out.returncode == 130, out.stderr
    assert out.stderr.strip() == "interrupted", out.stderr  # during start-up: before the verb is known


@pytest.mark.parametrize("delay", [0.3, 0.6, 1.0, 1.5])
def test_a_real_sigint_at_any_moment_of_a_command_prints_no_traceback(small_index, delay):
    """(Python's own start-up, before any of the project's code runs, is not ours: a signal that
    early is reported by the interpreter as "init_import_site", and the test then says so.)"""
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "info", "--index", str(small_index)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if "init_import_site" in err:
        pytest.skip("the signal came during the interpreter's own start-up (a loaded machine)")
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 130, -signal.SIGINT), (proc.returncode, err)

"""A missing or dangling ``CURRENT`` is a damaged index: nothing is deleted, and ``assistant repair``
points ``CURRENT`` at the newest complete generation (issue 27, item 1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.cli import main as cli_main
from assistant.errors import IndexCorruptError
from assistant.ingest.pipeline import compact_index, ingest_articles
from assistant.settings import Settings
from assistant.storage.generations import IndexDir
from assistant.storage.index import Index

from .hash_embedder import HashEmbedder, town_articles


@pytest.fixture
def three_gens(tmp_path) -> Path:
    """An index of three generations (two ingests and a removal), so that garbage collection has
    something it could delete; returns its folder."""
    path = tmp_path / "idx"
    ingest_articles(path, town_articles("a", 6), HashEmbedder())
    ingest_articles(path, town_articles("b", 4), HashEmbedder())
    ingest_articles(path, [], HashEmbedder(), remove=["a0"])
    return path


def _gens(index: Path) -> list[str]:
    return sorted(p.name for p in index.glob("gen-*"))


def _sizes(index: Path) -> int:
    return sum(f.stat().st_size for f in index.rglob("*") if f.is_file())


def _damage(index: Path, how: str) -> None:
    if how == "missing":
        (index / "CURRENT").unlink()
    else:
        (index / "CURRENT").write_text("gen-000099\n")


WRITERS = {
    "compact": lambda index: compact_index(index),
    "ingest": lambda index: ingest_articles(index, town_articles("c", 2), HashEmbedder()),
    "remove": lambda index: ingest_articles(index, [], HashEmbedder(), remove=["a1"]),
}


@pytest.mark.parametrize("how", ["missing", "dangling"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_writer_on_an_index_without_a_valid_current_deletes_nothing(three_gens, writer, how):
    gens, size = _gens(three_gens), _sizes(three_gens)
    _damage(three_gens, how)
    with pytest.raises(IndexCorruptError, match="assistant repair") as err:
        WRITERS[writer](three_gens)
    assert "\n" not in str(err.value)
    assert _gens(three_gens) == gens and _sizes(three_gens) >= size - 64  # only CURRENT changed


@pytest.mark.parametrize("how", ["missing", "dangling"])
@pytest.mark.parametrize("verb", ["compact", "ingest", "remove", "info", "ask"])
def test_cli_on_a_damaged_index_names_the_repair_and_keeps_the_data(three_gens, verb, how, capsys, tmp_path):
    from assistant.models.embedding import Embedder

    gens = _gens(three_gens)
    _damage(three_gens, how)
    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    args = {
        "compact": ["compact"],
        "ingest": ["ingest", str(tmp_path / "n.txt"), "--quiet"],
        "remove": ["remove", "a1"],
        "info": ["info"],
        "ask": ["ask", "Who keeps the harbour of Nore?"],
    }[verb]
    mp = pytest.MonkeyPatch()
    mp.setattr(Embedder, "load", classmethod(lambda cls, *a, **k: HashEmbedder()))
    try:
        code = cli_main([*args, "--index", str(three_gens)])
    finally:
        mp.undo()
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("error:") and "\n" not in err, err
    assert f"assistant repair --index {three_gens}" in err
    assert _gens(three_gens) == gens


def test_the_running_assistant_writer_deletes_nothing_when_current_goes(three_gens, tmp_path):
    """The chat's writer (Assistant.ingest_articles / remove / ingest) on an index whose CURRENT was deleted."""
    a = Assistant(Index.load(three_gens), HashEmbedder(), Settings.from_env(index_dir=three_gens, reader="none"))
    gens = _gens(three_gens)
    (three_gens / "CURRENT").unlink()
    (tmp_path / "n.txt").write_text("N\n\nThe harbour of Nore is kept by Ana Lima.\n")
    for write in (
        lambda: a.ingest_articles(town_articles("d", 1)),
        lambda: a.remove(["a2"]),
        lambda: a.ingest([tmp_path / "n.txt"]),
    ):
        with pytest.raises(IndexCorruptError, match="assistant repair"):
            write()
        assert _gens(three_gens) == gens
    assert not a.ask("Who keeps the harbour of Arden a3?").abstained  # still answers from its snapshot
    a.close()


def test_repair_points_current_at_the_newest_complete_generation(three_gens, capsys):
    newest = _gens(three_gens)[-1]
    (three_gens / "CURRENT").unlink()
    assert cli_main(["repair", "--index", str(three_gens)]) == 0
    out = capsys.readouterr().out
    assert f"CURRENT now names {newest}" in out and "was missing" in out
    assert (three_gens / "CURRENT").read_text().strip() == newest
    index = Index.load(three_gens)
    assert "a0" not in index.manifest["articles"] and "b3" in index.manifest["articles"]
    index.close()
    # Repaired, the index takes writes again, and a second repair has nothing to do.
    ingest_articles(three_gens, town_articles("c", 1), HashEmbedder())
    assert cli_main(["repair", "--index", str(three_gens)]) == 0
    assert "nothing to repair" in capsys.readouterr().out


def test_repair_skips_a_damaged_newest_generation(three_gens, capsys):
    gens = _gens(three_gens)
    newest = three_gens / gens[-1]
    seg = sorted(p for p in newest.glob("seg-*"))[-1]
    victim = seg / "dense.faiss"
    data = bytearray(victim.read_bytes())
    os.unlink(victim)  # a hard link shared with other generations: replace, do not write through it
    data[len(data) // 2] ^= 0x40
    victim.write_bytes(bytes(data))
    (three_gens / "CURRENT").write_text("gen-000099\n")
    assert cli_main(["repair", "--index", str(three_gens)]) == 0
    assert (three_gens / "CURRENT").read_text().strip() == gens[-2]
    assert _gens(three_gens) == gens  # the damaged one is kept, not deleted
    Index.load(three_gens).close()


def test_repair_without_any_complete_generation_says_rebuild(tmp_path, capsys):
    path = tmp_path / "idx"
    ingest_articles(path, town_articles("a", 2), HashEmbedder())
    gen = IndexDir(path).current()
    (path / "CURRENT").unlink()
    (gen / "manifest.json").write_text("{")
    code = cli_main(["repair", "--index", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "no complete generation" in err and "--rebuild" in err and "\n" not in err
    assert gen.is_dir()


def test_a_dangling_current_without_generations_is_no_index(tmp_path):
    """Nothing to lose: an ingest starts the index (and replaces the stale pointer)."""
    path = tmp_path / "idx"
    ingest_articles(path, town_articles("a", 2), HashEmbedder())
    for gen in path.glob("gen-*"):
        import shutil

        shutil.rmtree(gen)
    (path / "CURRENT").write_text("gen-000099\n")
    report = ingest_articles(path, town_articles("a", 2), HashEmbedder())
    assert report.added and (path / "CURRENT").read_text().strip() == report.generation

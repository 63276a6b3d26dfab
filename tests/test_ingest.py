"""Incremental ingest, removal, atomic publish and refusal to mix models or formats."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import IndexMismatchError, IngestError
from assistant.ingest.pipeline import ingest_paths
from assistant.storage.generations import IndexDir
from assistant.storage.index import Index

from .conftest import ROOT, SEED_ID, SEEDS


class CountingEmbedder:
    """Wraps the shared embedder and counts the texts it embeds."""

    def __init__(self, inner):
        self.inner, self.texts = inner, 0
        self.spec, self.dim = inner.spec, inner.dim

    def encode(self, texts, **kw):
        self.texts += len(texts)
        return self.inner.encode(texts, **kw)

    def encode_query(self, text):
        return self.inner.encode_query(text)

    # one encoder pass per chunk: counts the sentences whose vectors it makes
    pools_chunks = True

    @property
    def encoder_info(self):
        return self.inner.encoder_info

    def encode_chunks(self, articles, **kw):
        self.texts += sum(len(sents) for _, sents, _ in articles)
        return self.inner.encode_chunks(articles, **kw)


def _article(folder: Path, name: str, body: str) -> Path:
    p = folder / f"{name}.txt"
    p.write_text(f"{name.title()} headline\n\nBy A Reporter\n\n{body}\n")
    return p


def test_unchanged_articles_are_not_embedded_again(writable_index, embedder):
    counting = CountingEmbedder(embedder)
    before = IndexDir(writable_index).current_name()
    report = ingest_paths(writable_index, [SEEDS], counting)
    assert report.unchanged == [SEED_ID] and not report.changed
    assert counting.texts == 0
    assert IndexDir(writable_index).current_name() == before  # nothing republished


def test_changed_article_replaces_its_old_chunks(tmp_path, embedder):
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    _article(docs, "harbour", "The harbour master is Elena Varga. Ships dock at pier nine.")
    _article(docs, "bridge", "The old bridge was built in 1887 by local masons.")
    ingest_paths(index, [docs], embedder)
    first = Index.load(index)
    assert first.manifest["counts"]["articles"] == 2
    _article(docs, "harbour", "The harbour master is Tomas Brandt since the spring. Ships dock at pier four.")
    counting = CountingEmbedder(embedder)
    report = ingest_paths(index, [docs], counting)
    assert report.updated == ["harbour"] and report.unchanged == ["bridge"]
    assert counting.texts == 2  # only the changed article's two sentences
    a = Assistant.load(index, embedder=embedder)
    ans = a.ask("Who is the harbour master?")
    assert "Tomas Brandt" in ans.text
    text = a.article("harbour").text
    assert "Elena Varga" not in text
    # No chunk of the old text survives, in the store, FAISS or BM25.
    assert len(a.index.dense) == a.index.manifest["counts"]["chunks"] == len(a.index.lexical)
    assert "Varga" not in " ".join(t for _, t in a.index.store.iter_chunk_texts())


def test_remove_deletes_an_article(writable_index, embedder, tmp_path):
    _article(tmp_path, "extra", "An extra article about lighthouses and their keepers on the northern coast.")
    a = Assistant.load(writable_index, embedder=embedder)
    a.ingest([tmp_path / "extra.txt"])
    assert {x.id for x in a.articles()} == {SEED_ID, "extra"}
    report = a.remove(["extra"])
    assert report.removed == ["extra"]
    assert {x.id for x in a.articles()} == {SEED_ID}
    assert a.ask("Who keeps the lighthouses on the northern coast?").abstained


def test_nothing_readable_is_an_error(tmp_path, embedder):
    with pytest.raises(IngestError, match="no articles could be read"):
        ingest_paths(tmp_path / "index", [tmp_path / "missing"], embedder)
    assert not IndexDir(tmp_path / "index").exists()


def test_model_mismatch_is_refused_with_a_rebuild_hint(writable_index, embedder):
    manifest_path = IndexDir(writable_index).current() / "manifest.json"
    m = json.loads(manifest_path.read_text())
    m["model"]["name"] = "some-other-model"
    manifest_path.write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Assistant.load(writable_index, embedder=embedder, verify=False)
    with pytest.raises(IndexMismatchError, match="some-other-model"):
        ingest_paths(writable_index, [SEEDS], embedder)


def test_format_version_mismatch_is_refused(writable_index, embedder):
    manifest_path = IndexDir(writable_index).current() / "manifest.json"
    m = json.loads(manifest_path.read_text())
    m["format_version"] = 999
    manifest_path.write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="format version 999.*rebuild"):
        Assistant.load(writable_index, embedder=embedder)


def test_rebuild_starts_fresh(writable_index, embedder, tmp_path):
    _article(tmp_path, "only", "The only article left after a rebuild talks about orchards.")
    ingest_paths(writable_index, [tmp_path], embedder, rebuild=True)
    assert [a.id for a in Index.load(writable_index).store.articles()] == ["only"]


def test_killed_ingest_leaves_the_previous_index_usable(writable_index, embedder, tmp_path):
    corpus = tmp_path / "big.jsonl"
    with corpus.open("w") as f:
        for i in range(600):
            body = " ".join(f"Town {i} council met on day {j} to discuss the budget for road {j}." for j in range(8))
            f.write(json.dumps({"id": f"doc{i}", "title": f"Council {i}", "text": body}) + "\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ingest", str(corpus), "--index", str(writable_index), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not any(".tmp-" in p.name for p in writable_index.iterdir()):
        time.sleep(0.05)
    time.sleep(1.0)  # let it get well into embedding
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    a = Assistant.load(writable_index, embedder=embedder)
    assert [x.id for x in a.articles()] == [SEED_ID]
    assert "Nauru" in a.ask("Which states recognize Abkhazia?").text
    # A later ingest finishes the job and cleans up the leftovers.
    ingest_paths(writable_index, [corpus], embedder)
    assert not any(".tmp-" in p.name for p in writable_index.iterdir())
    assert Index.load(writable_index).manifest["counts"]["articles"] == 601

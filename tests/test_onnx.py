"""ONNX Runtime forward passes: the graph cache, one encoder pass per chunk, the ingest worker, and
indexes built before the encoder record."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from assistant import Article, Assistant
from assistant.errors import IndexMismatchError
from assistant.ingest.pipeline import PER_SENTENCE, POOLED
from assistant.models import onnx_runtime
from assistant.models.embedding import BUNDLED_SHA256, bundled_model_path
from assistant.storage.generations import MANIFEST, IndexDir

TEXT = (
    "Russia recognized Abkhazia in 2008. Nicaragua followed soon after. "
    "Nauru did so in 2009. The talks were held in Geneva."
)
SENTS = [(0, 35), (36, 66), (67, 89), (90, len(TEXT))]
CHUNKS = [(0, 89), (67, len(TEXT))]  # the third sentence is in both chunks


def _pooled_by_hand(embedder, text, sents, chunks):
    """Sentence vectors as the mean of the chunk token states inside each sentence, in plain NumPy."""
    tok = embedder.fast.tokenizer
    sums = np.zeros((len(sents), embedder.dim))
    counts = np.zeros(len(sents))
    for a, b in chunks:
        enc = tok.encode(text[a:b])
        ids = np.array([enc.ids])
        hidden = embedder.fast.run(ids, np.ones_like(ids))[0]
        for (s, e), h, special in zip(enc.offsets, hidden, enc.special_tokens_mask):
            for i, (x, y) in enumerate(sents):
                if not special and e > s and x <= a + s and a + e <= y:
                    sums[i] += h
                    counts[i] += 1
    v = sums / counts[:, None]
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def fp32():
    """The fp32 encoder, whose vectors equal sentence-transformers' (the pooling checks below compare
    against passes run by hand)."""
    from assistant.models.embedding import Embedder

    return Embedder.load(quant="fp32")


def test_one_pass_per_chunk_pools_sentences_from_its_tokens(fp32):
    embedder = fp32
    [(svecs, cvecs)] = embedder.encode_chunks([(TEXT, SENTS, CHUNKS)])
    assert svecs.shape == (4, embedder.dim) and cvecs.shape == (2, embedder.dim)
    assert np.allclose(np.linalg.norm(svecs, axis=1), 1, atol=1e-5)
    assert np.abs(svecs - _pooled_by_hand(embedder, TEXT, SENTS, CHUNKS)).max() < 1e-4
    # a chunk's vector is the chunk's own embedding (what sentence-transformers gives its text)
    want = embedder.encode([TEXT[a:b] for a, b in CHUNKS])
    assert (cvecs * want).sum(1).min() > 0.9999


def test_a_sentence_no_chunk_token_covers_is_encoded_on_its_own(fp32):
    embedder = fp32
    text = "Short one. " + "word " * 400 + "end."
    sents = [(0, 10), (11, len(text))]
    chunks = [(0, 10), (11, len(text))]  # the long one is cut at the model's 256 tokens: still pooled
    [(svecs, _)] = embedder.encode_chunks([(text, sents, chunks)])
    assert (svecs[0] * embedder.encode([text[:10]])[0]).sum() < 0.9999  # pooled, not encoded alone
    # a sentence outside every chunk (no tokens) falls back to its own embedding
    [(svecs, _)] = embedder.encode_chunks([(text, sents, chunks[1:])])
    assert (svecs[0] * embedder.encode([text[:10]])[0]).sum() > 0.9999


@pytest.mark.parametrize("quant", ["int8", "fp32"])
def test_the_ingest_worker_gives_the_same_vectors(embedder, fp32, quant):
    emb = embedder if quant == "int8" else fp32  # the worker runs its parent's graph
    assert emb.encoder_info["quantisation"] == quant
    items = [(TEXT, SENTS, CHUNKS), ("One more sentence here.", [(0, 23)], [(0, 23)])]
    here = emb.encode_chunks(items)
    there = emb.encode_chunks(items, worker=True)
    assert emb._worker is not None and emb._worker.proc.poll() is None  # a live child process
    for (a, b), (c, d) in zip(here, there):
        assert np.abs(a - c).max() < 1e-5 and np.abs(b - d).max() < 1e-5
    texts = [TEXT[a:b] for a, b in SENTS]  # the default ingest: each sentence on its own
    assert np.abs(emb.encode(texts, worker=True) - emb.encode(texts)).max() < 1e-5
    emb.close_worker()
    assert emb._worker is None


def test_an_int8_vector_does_not_depend_on_its_batch_mates(embedder):
    """int8 scales activations by the batch's range, so the int8 encoder runs one text per pass: a text
    gets the same vector alone, among others, in any order (ingest engines and re-ingests agree)."""
    assert embedder.encoder_info["quantisation"] == "int8"
    texts = [TEXT, "Short.", "The harbour master is Elena Varga. " * 20, TEXT[:40]]
    together = embedder.encode(texts, batch_size=32)
    alone = np.stack([embedder.encode([t])[0] for t in texts])
    reordered = embedder.encode(texts[::-1], batch_size=32)[::-1]
    assert np.abs(together - alone).max() < 1e-6 and np.abs(together - reordered).max() < 1e-6


def test_graphs_come_from_the_verified_cache_and_a_damaged_one_is_exported_again(tmp_path, monkeypatch, embedder):
    settings = embedder.fast.info
    cached = onnx_runtime.cache_path(settings)
    monkeypatch.setenv(onnx_runtime.CACHE_ENV, str(tmp_path / "onnx"))
    mine = onnx_runtime.cache_path(settings)
    mine.parent.mkdir()
    shutil.copy(cached, mine)
    shutil.copy(cached.with_suffix(".json"), mine.with_suffix(".json"))
    calls = []
    real_export = onnx_runtime.export_graph
    monkeypatch.setattr(onnx_runtime, "export_graph", lambda *a, **k: calls.append(a) or real_export(*a, **k))
    path, _ = onnx_runtime.ensure_graph("encoder", bundled_model_path(), BUNDLED_SHA256)
    assert path == mine and not calls  # a cache hit: nothing exported
    data = bytearray(mine.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit in the weights: same size, other sha256
    mine.write_bytes(bytes(data))
    enc = onnx_runtime.OnnxBert.load_encoder(bundled_model_path(), BUNDLED_SHA256)
    assert len(calls) == 1 and mine.read_bytes() == cached.read_bytes()  # exported again, identically
    q = "Which states recognize Abkhazia?"
    assert (enc.encode([q]) * embedder.encode([q])).sum() > 0.9999
    assert not list(mine.parent.glob("*.tmp"))  # written through a temporary file, renamed


def test_a_new_export_evicts_old_unused_graphs_of_its_kind_only(tmp_path, monkeypatch):
    """Retraining a reader exports a new 90 MB graph each time: the cache keeps the most recently
    used few of each kind (and any used this week), and never another kind's."""
    monkeypatch.setenv(onnx_runtime.CACHE_ENV, str(tmp_path / "onnx"))
    folder = onnx_runtime.cache_dir()
    folder.mkdir()
    now = time.time()

    def graph(name: str, days_ago: float) -> Path:
        path = folder / f"{name}.onnx"
        path.write_bytes(b"graph")
        path.with_suffix(".json").write_text("{}")
        os.utime(path.with_suffix(".json"), (now - days_ago * 86400,) * 2)
        return path

    old = [graph(f"reader-fp32-old{i}", 30 + i) for i in range(4)]
    recent = graph("reader-fp32-recent", 1)
    other_kind = graph("encoder-int8-old", 90)
    (folder / "reader-fp32-old3.lock").write_text("")
    monkeypatch.setattr(onnx_runtime, "export_graph", lambda *a, **k: b"new graph")
    new, _ = onnx_runtime.ensure_graph("reader", bundled_model_path(), BUNDLED_SHA256)
    # the three most recently used (the new one, one from this week, the newest old one) stay
    assert new.exists() and recent.exists() and old[0].exists()
    assert not any(p.exists() or p.with_suffix(".json").exists() for p in old[1:])
    assert not (folder / "reader-fp32-old3.lock").exists()
    assert other_kind.exists()  # another kind is never evicted by this one's export
    monkeypatch.setattr(onnx_runtime, "KEEP_GRAPHS", 1)
    assert onnx_runtime.evict(new) == [old[0]]  # "recent" was used this week: kept whatever the count


def _edit_manifest(index, change) -> None:
    folder = IndexDir(index)
    path = folder.current() / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_manifest_records_the_encoder_and_older_indexes_still_answer(writable_index, embedder):
    manifest = IndexDir(writable_index).read_manifest()
    assert manifest["encoder"] == {"runtime": "onnxruntime", "quantisation": "int8", "sentence_vectors": PER_SENTENCE}
    _edit_manifest(writable_index, lambda m: m.pop("encoder"))  # as written before this record existed
    old = Assistant.load(writable_index, embedder=embedder)
    assert "Nauru" in old.ask("Which states recognize Abkhazia?").text
    old.ingest_articles([Article("harbour", "Harbour", "The harbour master is Elena Varga.", content_hash="h1")])
    assert IndexDir(writable_index).read_manifest()["encoder"]["sentence_vectors"] == PER_SENTENCE
    assert "Elena Varga" in old.ask("Who is the harbour master?").text


def test_a_pooled_index_keeps_pooling_its_sentence_vectors(tmp_path, monkeypatch, embedder):
    from assistant.ingest.pipeline import ingest_articles

    index = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_SENTENCE_VECTORS", POOLED)
    ingest_articles(index, [Article("talks", "Talks", TEXT, content_hash="t1")], embedder)
    monkeypatch.delenv("ASSISTANT_SENTENCE_VECTORS")
    a = Assistant.load(index, embedder=embedder)
    a.ingest_articles([Article("harbour", "Harbour", "The harbour master is Elena Varga.", content_hash="h1")])
    assert IndexDir(index).read_manifest()["encoder"]["sentence_vectors"] == POOLED  # the index's own way
    sents = a.index.store.connect().execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
    assert sents == len(SENTS) + 1
    assert "Geneva" in a.ask("Where were the talks held?").text


def test_an_index_of_another_quantisation_fails_with_the_rebuild_hint(writable_index, embedder):
    _edit_manifest(writable_index, lambda m: m["encoder"].update(quantisation="fp32"))
    with pytest.raises(IndexMismatchError, match="fp32 encoder.*rebuild it: assistant ingest --rebuild"):
        Assistant.load(writable_index, embedder=embedder)


def test_an_index_keeps_the_encoder_it_was_built_with(tmp_path, monkeypatch):
    """An fp32 index (built before int8 became the default) loads with an fp32 encoder, answers and
    takes ingests in fp32; setting another quantisation explicitly fails with the rebuild hint."""
    from assistant.ingest.pipeline import ingest_articles
    from assistant.models.embedding import Embedder

    index = tmp_path / "index"
    monkeypatch.delenv(onnx_runtime.quant_env("encoder"), raising=False)
    ingest_articles(index, [Article("talks", "Talks", TEXT, content_hash="t1")], Embedder.load(quant="fp32"))
    a = Assistant.load(index)
    assert a.embedder.encoder_info["quantisation"] == "fp32"
    a.ingest_articles([Article("harbour", "Harbour", "The harbour master is Elena Varga.", content_hash="h1")])
    assert IndexDir(index).read_manifest()["encoder"]["quantisation"] == "fp32"
    assert "Elena Varga" in a.ask("Who is the harbour master?").text
    a.close()
    doc = tmp_path / "harbour.txt"
    doc.write_text("The harbour master is Elena Varga.")
    fresh = Assistant.build([doc], tmp_path / "new")
    assert fresh.embedder.encoder_info["quantisation"] == "int8"  # a new index gets the default
    monkeypatch.setenv(onnx_runtime.quant_env("encoder"), "int8")
    with pytest.raises(IndexMismatchError, match="fp32 encoder.*rebuild it: assistant ingest --rebuild"):
        Assistant.load(index)

"""The IVF-PQ tier of the dense index (above ``PQ_MIN`` vectors): recall against exact search,
at most 64 bytes per vector in memory, add/remove by chunk id, save/load with the float16 vectors
beside it, rebuilds between types, and an ingest that crosses the threshold. The threshold is
forced low so a few thousand vectors exercise it; speed and recall at 10M are measured by
``assistant bench scale`` (eval/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.storage import dense as dense_mod
from assistant.storage.dense import DenseIndex, sidecar_paths

DIM = 64


def _clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 64 centres: near neighbours are close but not trivially so."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((64, DIM)).astype(np.float32)
    x = centres[rng.integers(0, 64, n)] + 0.8 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _recall_at_10(idx: DenseIndex, ids: np.ndarray, vecs: np.ndarray, queries: np.ndarray) -> float:
    truth = ids[np.argsort(-(queries @ vecs.T), axis=1)[:, :10]]
    return float(
        np.mean([len(set(idx.search(q, 10)[0].tolist()) & set(t.tolist())) / 10 for q, t in zip(queries, truth)])
    )


@pytest.fixture(scope="module")
def corpus():
    vecs = _clustered(5000)
    ids = np.arange(5000, dtype=np.int64) * 3 + 11  # chunk ids, not positions
    queries = _clustered(60, seed=1)
    return ids, vecs, queries


def test_pq_index_finds_what_exact_search_finds_in_64_bytes_per_vector(corpus):
    ids, vecs, queries = corpus
    idx = DenseIndex.create(DIM)
    idx.add(ids, vecs)
    assert idx.kind == "flat" and idx.optimise(flat_max=500, pq_min=2000) and idx.kind.startswith("ivfpq")
    assert len(idx) == 5000 and idx.memory_bytes() / len(idx) <= 64
    assert _recall_at_10(idx, ids, vecs, queries) >= 0.9
    # Re-ranked scores are exact inner products (float16 vectors), best first.
    found, scores = idx.search(vecs[42], 5)
    assert found[0] == ids[42] and scores[0] == pytest.approx(1.0, abs=2e-3)
    assert np.all(np.diff(scores) <= 0)
    idx.rerank = 0  # without re-ranking the PQ ranking alone is much worse: what the disk copy buys
    assert _recall_at_10(idx, ids, vecs, queries) < 0.9


def test_pq_index_adds_and_removes_by_id_across_save_and_load(corpus, tmp_path):
    ids, vecs, queries = corpus
    idx = DenseIndex.build(ids, vecs, flat_max=500, pq_min=2000)
    assert idx.remove([int(ids[7]), int(ids[8])]) == 2 and len(idx) == 4998
    idx.add(np.array([10**12]), vecs[7:8])
    path = tmp_path / "dense.faiss"
    idx.save(path)
    assert all(p.exists() for p in sidecar_paths(path))
    loaded = DenseIndex.load(path)
    assert loaded.kind == idx.kind and len(loaded) == 4999
    got, score = loaded.search(vecs[7], 1)
    assert got[0] == 10**12 and score[0] == pytest.approx(1.0, abs=2e-3)
    assert ids[8] not in loaded.search(vecs[8], 10)[0]
    for q in queries[:10]:
        assert np.array_equal(loaded.search(q, 10)[0], idx.search(q, 10)[0])
    # Changes after a load are kept by the next save; the vectors a rebuild starts from are exact.
    loaded.remove([10**12])
    loaded.add(ids[8:9], vecs[8:9])
    loaded.save(tmp_path / "next.faiss")
    again = DenseIndex.load(tmp_path / "next.faiss")
    assert again.search(vecs[8], 1)[0][0] == ids[8] and 10**12 not in again.search(vecs[7], 10)[0]
    got_ids, got_vecs = again.vectors()
    assert len(got_ids) == 4999 and np.all(np.diff(got_ids) > 0)
    assert np.abs(got_vecs[np.searchsorted(got_ids, ids[100])] - vecs[100]).max() < 1e-3
    # Shrinking goes back to IndexIVFFlat, then to exact search, with every vector kept.
    again.remove(ids[:3500].tolist())
    assert again.optimise(flat_max=500, pq_min=2000) and again.kind.startswith("ivf") and "pq" not in again.kind
    assert again.search(vecs[4000], 1)[0][0] == ids[4000]
    again.save(tmp_path / "next.faiss")
    assert not any(p.exists() for p in sidecar_paths(tmp_path / "next.faiss"))  # no stale vectors left


def test_pq_index_without_its_vectors_file_is_refused(corpus, tmp_path):
    ids, vecs, _ = corpus
    path = tmp_path / "dense.faiss"
    DenseIndex.build(ids, vecs, flat_max=500, pq_min=2000).save(path)
    vec_path = sidecar_paths(path)[1]
    vec_path.write_bytes(vec_path.read_bytes()[:-10])
    with pytest.raises(ValueError):
        DenseIndex.load(path)
    vec_path.unlink()
    with pytest.raises(FileNotFoundError):
        DenseIndex.load(path)


def test_build_large_streams_blocks_into_the_same_index_type(corpus, tmp_path):
    ids, vecs, queries = corpus
    path = tmp_path / "big.faiss"
    blocks = ((ids[a : a + 1000], vecs[a : a + 1000]) for a in range(0, 5000, 1000))
    idx = DenseIndex.build_large(path, 5000, vecs[::2], blocks)
    assert idx.kind.startswith("ivfpq") and len(DenseIndex.load(path)) == 5000
    assert _recall_at_10(DenseIndex.load(path), ids, vecs, queries) >= 0.9


def test_ingest_past_the_pq_threshold_publishes_and_updates_a_pq_index(tmp_path, monkeypatch):
    """Ingest, load, ask, re-ingest and remove with the thresholds set low: the vectors file is part
    of the generation (checksummed in the manifest) and every step keeps the counts consistent."""
    from assistant import Assistant
    from assistant.ingest.pipeline import ingest_articles
    from assistant.settings import Settings
    from assistant.storage.index import Index

    from .hash_embedder import HashEmbedder, town_articles

    monkeypatch.setattr(dense_mod, "FLAT_MAX", 10)
    monkeypatch.setattr(dense_mod, "PQ_MIN", 30)
    index = tmp_path / "index"
    emb = HashEmbedder()
    ingest_articles(index, town_articles("t", 40), emb)
    idx = Index.load(index)
    assert idx.dense.kind.startswith("ivfpq") and len(idx.dense) == idx.store.count("chunks")
    names = {Path(f).name for f in idx.manifest["files"]}  # the segment's files (seg-NNNNNN/dense.*)
    assert {"dense.vectors.npy", "dense.ids.npy"} <= names
    a = Assistant(idx, emb, Settings.from_env(index_dir=index, reader="none"))
    assert any("Brisk t1 is kept by" in c.quote for c in a.ask("Who keeps the harbour of Brisk t1?").citations)
    ingest_articles(index, town_articles("u", 5), emb)
    ingest_articles(index, [], emb, remove=["t3"])
    idx = Index.load(index)
    assert idx.store.article("t3") is None
    assert idx.dense.kind.startswith("ivfpq") and len(idx.dense) == idx.store.count("chunks")


def test_pq_index_retrains_from_its_vectors_when_it_grows_4x(tmp_path):
    vecs = _clustered(36_000, seed=3)
    ids = np.arange(36_000, dtype=np.int64) + 1
    idx = DenseIndex.build(ids[:3000], vecs[:3000], flat_max=500, pq_min=2000)
    idx.save(tmp_path / "dense.faiss")
    idx = DenseIndex.load(tmp_path / "dense.faiss")
    before = idx.kind
    idx.add(ids[3000:], vecs[3000:])
    assert idx.optimise(flat_max=500, pq_min=2000) and idx.kind != before and idx.kind.startswith("ivfpq")
    assert _recall_at_10(idx, ids, vecs, _clustered(40, seed=4)) >= 0.9
    idx.save(tmp_path / "dense.faiss")
    assert len(DenseIndex.load(tmp_path / "dense.faiss")) == 36_000


@pytest.mark.parametrize("kind", ["flat", "ivf", "pq"])
def test_the_score_of_any_chunk_is_its_exact_cosine_whatever_the_tier(kind, corpus):
    """A chunk's dense score must not depend on whether a top-k search reaches it: the answerer
    reads it for chunks only BM25 found, and that share grows with the collection."""
    ids, vecs, queries = corpus
    limits = {"flat": {}, "ivf": {"flat_max": 1000}, "pq": {"flat_max": 1000, "pq_min": 2000}}[kind]
    idx = DenseIndex.build(ids, vecs, **limits)
    assert idx.kind.startswith({"flat": "flat", "ivf": "ivf", "pq": "ivfpq"}[kind]), idx.kind
    q = queries[0]
    far = np.argsort(q @ vecs.T)[:5]  # the five least similar: never in a top-k
    pick = np.concatenate([ids[far], [ids[0], 999_999_999]])
    got = idx.scores_of(q, pick)
    np.testing.assert_allclose(got[:-1], vecs[np.concatenate([far, [0]])] @ q, atol=2e-3)  # float16 copies for PQ
    assert np.isnan(got[-1])  # not held
    idx.remove([int(ids[0])])
    assert np.isnan(idx.scores_of(q, ids[:1])[0])

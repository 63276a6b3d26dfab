"""The performance benchmark runs end to end on tiny sizes (so it cannot rot), and the dense
index switches type by size while keeping add/remove by chunk id. No timing is asserted here:
speed targets live in ``assistant bench perf`` (see eval/README.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.storage.dense import DenseIndex

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_dense_index_goes_ivf_when_large_and_keeps_ids_removable(tmp_path):
    vecs = _unit(3000)
    ids = np.arange(3000, dtype=np.int64) * 7 + 5
    idx = DenseIndex.create(32)
    idx.add(ids[:1000], vecs[:1000])
    assert idx.kind == "flat" and not idx.optimise(flat_max=2000)
    idx.add(ids[1000:], vecs[1000:])
    assert idx.optimise(flat_max=2000) and idx.kind.startswith("ivf")
    found, scores = idx.search(vecs[123], 5)
    assert found[0] == ids[123] and scores[0] == pytest.approx(1.0, abs=1e-5)
    # Removal by chunk id and incremental adds work on the IVF index, also after a save/load.
    idx.save(tmp_path / "d.faiss")
    idx = DenseIndex.load(tmp_path / "d.faiss")
    assert idx.kind.startswith("ivf") and idx.remove([int(ids[123])]) == 1
    assert ids[123] not in idx.search(vecs[123], 5)[0]
    idx.add(np.array([999_999]), vecs[123:124])
    assert idx.search(vecs[123], 1)[0][0] == 999_999
    # Every vector survives a rebuild, and shrinking goes back to exact search.
    got_ids, got_vecs = idx.vectors()
    assert len(got_ids) == 3000 and np.allclose(got_vecs[np.argsort(got_ids)][-1], vecs[123])
    idx.remove(ids[:2500].tolist())
    assert idx.optimise(flat_max=2000) and idx.kind == "flat" and len(idx) == 501


def test_onnx_encoder_matches_sentence_transformers(embedder):
    """Questions and batches run in ONNX Runtime: the fp32 graph's vectors equal sentence-transformers',
    the default int8 graph's stay close to them."""
    from assistant.models.embedding import Embedder

    assert embedder.fast is not None and embedder.encoder_info == {"runtime": "onnxruntime", "quantisation": "int8"}
    pytest.importorskip("sentence_transformers")
    fp32 = Embedder.load(quant="fp32")
    model = fp32.model  # the sentence-transformers model, loaded lazily
    texts = ["Which states recognize Abkhazia?", "Ünïcode — naïve café 1,234", "x " * 400, "Short.", ""]
    want = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    for got in (fp32.encode(texts), np.stack([fp32.encode_query(t) for t in texts])):
        assert (got * want).sum(1).min() > 0.9999
    for got in (embedder.encode(texts), np.stack([embedder.encode_query(t) for t in texts])):
        assert (got * want).sum(1).min() > 0.97


@pytest.mark.skipif(not (DATA / "squad-v1.1" / "dev-tune.json").exists(), reason="needs ../shared/data")
def test_perf_benchmark_runs_on_tiny_sizes(tmp_path):
    out, fig = tmp_path / "perf.json", tmp_path / "perf.png"
    cmd = [
        sys.executable,
        "-m",
        "assistant",
        "bench",
        "perf",
        "--data",
        str(DATA),
        "--sizes",
        "2000",
        "--limit",
        "20",
        "--corpus-limit",
        "40",
        "--startup-runs",
        "1",
        "--ingest-articles",
        "15",
        "--scale-queries",
        "20",
        "--upload-articles",
        "20",
        "--memory-questions",
        "20",
        "--out",
        str(out),
        "--figure",
        str(fig),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["ingest"]["chunks"] > 0 and report["ingest"]["reingest_fraction"] < 1
    assert report["ingest"]["ratio"] > 0 and report["ingest"]["encoder"]["runtime"] == "onnxruntime"
    assert report["query"]["questions"] == 20 and report["query"]["new"]["stages_ms"]["total"]["p50"] > 0
    assert report["query"]["p50_over_bare_encode"] > 0 and report["query"]["reader"]
    c = report["concurrent"]
    assert c["upload_articles"] == 20 and c["upload_chunks"] > 0 and c["asked_during"] > 0 and not c["upload_error"]
    assert report["memory"]["questions"] == 20 and report["memory"]["rss_mb_end"] > 0
    assert report["scale"][0]["chunks"] == 2000 and report["scale"][0]["recall_at_10"] == 1.0  # exact at 2k
    assert report["startup"]["answered"] and report["startup"]["rss_mb"] > 0
    assert fig.stat().st_size > 0 and "ask() over 20 questions" in res.stdout

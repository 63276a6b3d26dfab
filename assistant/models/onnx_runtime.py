"""ONNX Runtime forward passes of the bundled BERT encoder and of the extractive reader.

Every forward pass (a question, ingest's chunks, the reader's passages) runs in ONNX Runtime, so
serving never imports torch. The ONNX graphs are exported from the verified safetensors weights
with torch (which ingest installs) the first time they are needed, into a cache keyed by the
weights' sha256 and the export settings; nothing is ever downloaded.

Cache (``ASSISTANT_ONNX_CACHE``, default ``~/.cache/article-assistant/onnx/``): one
``<kind>-<quant>-<key>.onnx`` per graph, with ``.json`` beside it holding the file's sha256 and the
settings it was exported with. Both are written to a temporary file and renamed into place (a
crash never leaves a half-written graph under the final name), concurrent exports are serialised
by a lock file, and the graph is checked against its sha256 every time it is loaded (a damaged
file is exported again; the digest is remembered while the file's size, mtime and inode stay the
same, see :mod:`assistant.models.digests`). Each new export evicts the graphs of its kind and
quantisation beyond the ``KEEP_GRAPHS`` most recently used, unless one was used in the last
``KEEP_DAYS`` days (a use touches the ``.json``, at most hourly), so retraining a reader does not
grow the cache without bound; an evicted graph is simply exported again if it is needed later.

Example::

    from assistant.models.embedding import bundled_model_path, BUNDLED_SHA256
    from assistant.models.onnx_runtime import OnnxBert
    enc = OnnxBert.load_encoder(bundled_model_path(), BUNDLED_SHA256)
    vec = enc.encode(["Which states recognize Abkhazia?"])    # (1, 384) float32, unit length
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .digests import sha256_file_cached
from .locations import CACHE_ENV as CACHE_ENV  # re-exported: tests and users set it through here
from .locations import cache_dir

logger = logging.getLogger(__name__)
#: Bumped when the graphs change (inputs, outputs, exporter); part of every cache key.
EXPORT_VERSION = 1
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
#: int8 weights use 7 bits: a CPU without VNNI multiplies uint8 activations by int8 weights with
#: VPMADDUBSW, whose int16 pair sums saturate for 8-bit weights, so its vectors would differ from a
#: VNNI CPU's; with 7 bits both compute the same integers (cosine to fp32 0.993 vs 0.994 with 8 bits).
INT8_WEIGHT_BITS = 7
#: Texts of similar length go through the encoder together, this many at a time.
BATCH = 32
#: Cache eviction: graphs of one kind and quantisation kept beyond these are deleted on export.
KEEP_GRAPHS = 3
KEEP_DAYS = 7
_TOUCH_EVERY_S = 3600.0


def supported(folder: str | Path) -> bool:
    """True for a local sentence-transformers folder holding BERT + mean pooling + normalise."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text())
        config = json.loads((folder / "config.json").read_text())
        types = [m["type"] for m in modules]
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text()) if len(modules) > 1 else {}
    except (OSError, ValueError, KeyError, IndexError):
        return False
    only_mean = pooling.get("pooling_mode_mean_tokens") and not any(
        v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
    )
    return (
        types == [_TRANSFORMER, _POOLING, _NORMALIZE]
        and modules[0].get("path", "") == ""
        and config.get("model_type") == "bert"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and bool(only_mean)
        and (folder / "model.safetensors").exists()
        and (folder / "tokenizer.json").exists()
    )


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_settings(kind: str, base_sha256: str, tuned_sha256: str = "", quant: str = "fp32") -> dict:
    """What a graph is made from; its hash names the cache file."""
    settings = {
        "kind": kind,
        "base_sha256": base_sha256,
        "tuned_sha256": tuned_sha256,
        "quant": quant,
        "opset": OPSET,
        "export_version": EXPORT_VERSION,
    }
    if quant == "int8":
        settings["weight_bits"] = INT8_WEIGHT_BITS
    return settings


def cache_path(settings: dict) -> Path:
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]
    return cache_dir() / f"{settings['kind']}-{settings['quant']}-{key}.onnx"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _verified(path: Path, settings: dict) -> bool:
    """True when the graph and its record are present and the graph's sha256 matches the record."""
    try:
        record = json.loads(path.with_suffix(".json").read_text())
        if record.get("settings") != settings or path.stat().st_size != record.get("size"):
            raise ValueError("record does not match")
        ok = _sha256_path(path) == record.get("sha256")
    except (OSError, ValueError):
        return False
    if not ok:
        logger.warning("ONNX cache file %s fails verification; exporting it again", path)
    return ok


def _mark_used(path: Path) -> None:
    """Record that the graph at ``path`` was used (its record's mtime; at most once an hour)."""
    record = path.with_suffix(".json")
    try:
        if time.time() - record.stat().st_mtime > _TOUCH_EVERY_S:
            os.utime(record)
    except OSError:  # a read-only cache still serves
        pass


def evict(keep: Path) -> list[Path]:
    """Delete cached graphs of ``keep``'s kind and quantisation beyond the ``KEEP_GRAPHS`` most
    recently used and unused for ``KEEP_DAYS`` days (never ``keep``, never one being exported);
    returns the graphs deleted."""
    from filelock import FileLock, Timeout

    prefix = keep.name.rsplit("-", 1)[0] + "-"  # "<kind>-<quant>-"
    graphs = []
    for path in keep.parent.glob(f"{prefix}*.onnx"):
        try:
            graphs.append((path.with_suffix(".json").stat().st_mtime, path))
        except OSError:
            graphs.append((0.0, path))  # no record: an interrupted export's leftover
    graphs.sort(reverse=True)
    cutoff = time.time() - KEEP_DAYS * 86400
    gone = []
    for n, (used, path) in enumerate(graphs):
        if path == keep or n < KEEP_GRAPHS or used > cutoff:
            continue
        try:
            with FileLock(str(path.with_suffix(".lock")), timeout=0):
                path.unlink(missing_ok=True)
                path.with_suffix(".json").unlink(missing_ok=True)
            path.with_suffix(".lock").unlink(missing_ok=True)
            gone.append(path)
        except (Timeout, OSError):
            continue
    if gone:
        logger.info("ONNX cache: removed %d graph(s) unused for %d days", len(gone), KEEP_DAYS)
    return gone


def _sha256_path(path: Path) -> str:
    """Hashed once, then remembered while the file is unchanged."""
    return sha256_file_cached(path)


def _base_state(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return {k.removeprefix("bert."): v for k, v in load_file(str(folder / "model.safetensors")).items()}


def export_graph(
    kind: str,
    base_folder: Path,
    tuned: dict[str, np.ndarray] | None = None,
    quant: str = "fp32",
) -> bytes:
    """Export the encoder (``kind="encoder"``: token ids → last hidden states) or a reader
    (``kind="reader"``: → start/end logits; ``tuned`` holds its encoder layers, any number of
    them, merged over the base weights, and ``qa_head.*``) to ONNX bytes, with torch."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig.from_pretrained(str(base_folder))
    config._attn_implementation = "eager"  # plain ops export cleanly and ORT fuses them into Attention
    bert = BertModel(config, add_pooling_layer=False)
    state = _base_state(base_folder)
    head = {}
    for k, v in (tuned or {}).items():
        if k.startswith("qa_head."):
            head[k.removeprefix("qa_head.")] = torch.from_numpy(np.asarray(v, dtype=np.float32))
        else:
            state[k.removeprefix("bert.")] = v
    own = bert.state_dict()
    unknown = [k for k in state if k not in own and not k.startswith("pooler.") and k != "embeddings.position_ids"]
    if unknown:
        raise ValueError(f"weights not in a BERT encoder: {unknown[:3]}")
    missing = [k for k in own if k not in state and k != "embeddings.position_ids"]
    if missing:
        raise ValueError(f"weights missing for the encoder: {missing[:3]}")
    bert.load_state_dict(
        {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in state.items() if k in own}, strict=False
    )
    bert.train(False)  # inference mode (no dropout)

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            if kind == "reader":
                self.head = torch.nn.Linear(config.hidden_size, 2)
                self.head.load_state_dict(head)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return self.head(h) if kind == "reader" else h

    graph = Graph().train(False)
    if kind == "reader" and not head:
        raise ValueError("a reader needs qa_head.weight and qa_head.bias")
    dummy = torch.ones(2, 16, dtype=torch.long)
    axes = {n: {0: "batch", 1: "seq"} for n in (*INPUTS, "output")}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shapes that are constant here
            torch.onnx.export(
                graph,
                (dummy, dummy, torch.zeros_like(dummy)),
                str(raw),
                input_names=list(INPUTS),
                output_names=["output"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        if quant == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            out = Path(tmp) / "int8.onnx"
            quantize_dynamic(
                str(raw),
                str(out),
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=INT8_WEIGHT_BITS == 7,
                op_types_to_quantize=["MatMul"],
                extra_options={"DefaultTensorType": 1},
            )
            raw = out
        elif quant != "fp32":
            raise ValueError(f"unknown quantisation {quant!r} (fp32 or int8)")
        return raw.read_bytes()


def quant_env(kind: str) -> str:
    """The environment variable that sets a graph kind's quantisation."""
    return f"ASSISTANT_{kind.upper()}_QUANT"


def quantisation(kind: str) -> str:
    """The quantisation a graph kind runs at: :data:`DEFAULT_QUANT` unless ``ASSISTANT_ENCODER_QUANT`` /
    ``ASSISTANT_READER_QUANT`` say ``fp32`` or ``int8`` (see eval/README.md for what int8 costs in quality)."""
    value = os.environ.get(quant_env(kind), "") or DEFAULT_QUANT[kind]
    if value not in ("fp32", "int8"):
        raise ValueError(f"{quant_env(kind)} must be fp32 or int8, not {value!r}")
    return value


#: What each graph runs at by default: int8 only where measured quality holds. The encoder's int8
#: graph gives the same SQuAD retrieval (hybrid hit@5 0.963 both, dense hit@5 within 0.004) and seed-set
#: figures at 1.8× the speed; the reader's loses 0.6 F1 (more than the 0.5 allowed), so it stays fp32.
#: An existing index keeps the encoder quantisation it was built with (:func:`assistant.core.encoder_for`).
DEFAULT_QUANT = {"encoder": "int8", "reader": "fp32"}


def ensure_graph(
    kind: str,
    base_folder: Path,
    base_sha256: str,
    tuned_path: Path | None = None,
    quant: str | None = None,
) -> tuple[Path, dict]:
    """The path of a verified cached graph, exporting it first when it is missing or damaged."""
    from filelock import FileLock

    quant = quant or quantisation(kind)
    tuned_sha = _sha256_path(Path(tuned_path)) if tuned_path is not None else ""
    settings = export_settings(kind, base_sha256, tuned_sha, quant)
    path = cache_path(settings)
    if _verified(path, settings):
        _mark_used(path)
        return path, settings
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_suffix(".lock"))):
        if _verified(path, settings):  # another process may have just written it
            return path, settings
        t = time.perf_counter()
        tuned = None
        if tuned_path is not None:
            from safetensors.numpy import load_file

            tuned = load_file(str(tuned_path))
        data = export_graph(kind, Path(base_folder), tuned, quant)
        _atomic_write(path, data)
        record = {"settings": settings, "sha256": _sha256_bytes(data), "size": len(data)}
        _atomic_write(path.with_suffix(".json"), json.dumps(record, indent=1).encode())
        logger.info("exported %s to %s in %.1f s", kind, path, time.perf_counter() - t)
    evict(path)
    return path, settings


#: The word embeddings (30522 × 384 floats, 47 MB) are the same in the encoder's and the reader's
#: graphs (a reader tunes encoder layers, not embeddings): both sessions read them from one array.
WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
_shared: dict[str, tuple] = {}
_shared_lock = threading.Lock()


def shared_word_embeddings(base_folder: Path):
    """One OrtValue of the base model's word embeddings per process (kept alive here)."""
    key = str(Path(base_folder).resolve())
    with _shared_lock:
        if key not in _shared:
            import onnxruntime as ort
            from safetensors import safe_open

            with safe_open(str(Path(base_folder) / "model.safetensors"), framework="numpy") as f:
                name = next(k for k in f.keys() if k.removeprefix("bert.") == "embeddings.word_embeddings.weight")
                array = np.ascontiguousarray(f.get_tensor(name), dtype=np.float32)
            _shared[key] = (array, ort.OrtValue.ortvalue_from_numpy(array))
        return _shared[key][1]


def _tunes_embeddings(tuned_path: Path | None) -> bool:
    if tuned_path is None:
        return False
    from safetensors import safe_open

    with safe_open(str(tuned_path), framework="numpy") as f:
        return any(k.removeprefix("bert.").startswith("embeddings.") for k in f.keys())


def load_graph(
    kind: str,
    base_folder: Path,
    base_sha256: str,
    tuned_path: Path | None = None,
    quant: str | None = None,
    threads: int = 1,
):
    """``(session, settings)`` of a cached graph, exported first when missing or damaged.

    The graph's sha256 is checked in a second thread while ONNX Runtime builds the session (both
    mostly run outside the GIL), and the session is used only once the check passed."""
    quant = quant or quantisation(kind)
    tuned_sha = _sha256_path(Path(tuned_path)) if tuned_path is not None else ""
    settings = export_settings(kind, base_sha256, tuned_sha, quant)
    path = cache_path(settings)
    shared = {} if _tunes_embeddings(tuned_path) else {WORD_EMBEDDINGS: shared_word_embeddings(base_folder)}
    if path.exists() and path.with_suffix(".json").exists():
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            check = pool.submit(_verified, path, settings)
            try:
                sess = session(path, threads, shared)
            except Exception:  # a damaged graph may not even parse
                sess = None
            if check.result() and sess is not None:
                _mark_used(path)
                return sess, settings
    path, settings = ensure_graph(kind, base_folder, base_sha256, tuned_path, quant)
    return session(path, threads, shared), settings


def session(path: Path, threads: int = 1, initializers: dict | None = None):
    """An InferenceSession of a graph file: ``threads`` intra-op threads that sleep when idle.
    (Read by ONNX Runtime from the path: from bytes it held a second copy of the weights.)
    ``initializers``: name → OrtValue used instead of the graph's own copy (shared weights)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # Spinning workers steal the cores from everything else on a small shared machine.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # The arena is kept: without it a server's RSS grew by 100 MB over 300 questions (freed activation
    # buffers fragment the heap), with it growth stops once the largest pass has been seen.
    for name, value in (initializers or {}).items():
        opts.add_initializer(name, value)
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def load_tokenizer(folder: Path, max_length: int | None):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.no_padding()
    if max_length:
        tok.enable_truncation(max_length=max_length)
    else:
        tok.no_truncation()
    return tok


def _batch_arrays(seqs: Sequence[Sequence[int]], types: Sequence[Sequence[int]] | None = None):
    seq = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), seq), np.int64)
    mask = np.zeros((len(seqs), seq), np.int64)
    tt = np.zeros((len(seqs), seq), np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
        if types is not None:
            tt[i, : len(types[i])] = types[i]
    return ids, mask, tt


class OnnxBert:
    """Tokenizer + an ONNX Runtime session of a BERT graph (encoder or reader)."""

    def __init__(self, sess, tokenizer, max_seq_length: int, dim: int, info: dict | None = None) -> None:
        self.session = sess
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.dim = dim
        self.info = info or {}
        # An int8 graph scales each MatMul's activations by the whole batch's range, so a text's vector
        # would depend on its batch-mates: it encodes one text per pass (then the same text always gets
        # the same vector, whatever the engine or batch), which on this CPU was also faster than batches
        # of 32 (200 SQuAD paragraphs: 3.95 s vs 7.26 s; 250 sentences 1.26 vs 1.85 s).
        self.per_text = self.info.get("quant", "fp32") != "fp32"

    def _batch(self, batch: int) -> int:
        return 1 if self.per_text else batch

    @classmethod
    def load_encoder(cls, folder: str | Path, base_sha256: str, threads: int = 1, quant: str | None = None) -> OnnxBert:
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        st_config = {}
        if (folder / "sentence_bert_config.json").exists():
            st_config = json.loads((folder / "sentence_bert_config.json").read_text())
        max_len = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        sess, info = load_graph("encoder", folder, base_sha256, quant=quant, threads=threads)
        return cls(sess, load_tokenizer(folder, max_len), max_len, int(config["hidden_size"]), info)

    def run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray | None = None) -> np.ndarray:
        """(batch, seq) int64 arrays → the graph's output (hidden states or start/end logits), float32."""
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types if types is not None else ids * 0}
        return self.session.run(None, feed)[0]

    def encode(self, texts: list[str], batch: int = BATCH) -> np.ndarray:
        """Unit-length mean-pooled embeddings (len(texts), dim) float32 (= sentence-transformers')."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encs = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        batch = self._batch(batch)
        for a in range(0, len(order), batch):
            idx = order[a : a + batch]
            ids, mask, _ = _batch_arrays([encs[i].ids for i in idx])
            h = self.run(ids, mask)
            m = mask[:, :, None].astype(np.float32)
            out[idx] = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def encode_chunks(
        self, articles: Sequence[tuple[str, list[tuple[int, int]], list[tuple[int, int]]]], batch: int = BATCH
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """One encoder pass per chunk: for each ``(text, sentences, chunks)`` (character spans),
        ``(sentence vectors, chunk vectors)``, unit length.

        A chunk's vector is its own embedding (mean over its tokens, as sentence-transformers
        encodes the chunk text). A sentence's vector is the mean of the chunk token embeddings that
        lie inside the sentence, over every chunk that holds them (a sentence in a chunk overlap is
        seen twice; one cut across chunks is pooled from its pieces). A sentence no token of which
        was encoded (cut off at the model's length limit) is encoded on its own."""
        rows = []  # (article, chunk index, token ids, absolute token char offsets)
        for ai, (text, _sents, chunks) in enumerate(articles):
            texts = [text[a:b] for a, b in chunks]
            for ci, enc in enumerate(self.tokenizer.encode_batch(texts) if texts else []):
                start = chunks[ci][0]
                offs = np.array(enc.offsets, dtype=np.int64).reshape(-1, 2) + start
                rows.append((ai, ci, enc.ids, offs, np.array(enc.special_tokens_mask, dtype=bool)))
        sums = [np.zeros((len(s), self.dim), np.float32) for _, s, _ in articles]
        counts = [np.zeros(len(s), np.float32) for _, s, _ in articles]
        chunk_vecs = [np.zeros((len(c), self.dim), np.float32) for _, _, c in articles]
        starts = [np.array([a for a, _ in s], np.int64) for _, s, _ in articles]
        ends = [np.array([b for _, b in s], np.int64) for _, s, _ in articles]
        rows.sort(key=lambda r: len(r[2]))
        batch = self._batch(batch)
        for a in range(0, len(rows), batch):
            part = rows[a : a + batch]
            ids, mask, _ = _batch_arrays([r[2] for r in part])
            h = self.run(ids, mask)
            for i, (ai, ci, tok_ids, offs, special) in enumerate(part):
                n = len(tok_ids)
                hi = h[i, :n]
                v = hi.mean(0)
                chunk_vecs[ai][ci] = v / max(float(np.linalg.norm(v)), 1e-12)
                real = ~special & (offs[:, 1] > offs[:, 0])
                if not real.any() or len(starts[ai]) == 0:
                    continue
                t_start, t_end = offs[real, 0], offs[real, 1]
                hr = hi[real]
                # sentences overlapping this chunk's tokens: one slice of the sorted sentence list
                lo = int(np.searchsorted(ends[ai], t_start[0], side="right"))
                up = int(np.searchsorted(starts[ai], t_end[-1], side="left"))
                for s in range(lo, up):
                    inside = (t_start >= starts[ai][s]) & (t_end <= ends[ai][s])
                    k = int(inside.sum())
                    if k:
                        sums[ai][s] += hr[inside].sum(0)
                        counts[ai][s] += k
        out = []
        leftovers = []
        for ai, (text, sents, _chunks) in enumerate(articles):
            vecs = sums[ai] / np.maximum(counts[ai], 1.0)[:, None]
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            vecs = vecs / np.maximum(norms, 1e-12)
            for s in np.flatnonzero(counts[ai] == 0):
                leftovers.append((ai, int(s), text[sents[s][0] : sents[s][1]]))
            out.append((vecs.astype(np.float32), chunk_vecs[ai]))
        if leftovers:
            extra = self.encode([t for _, _, t in leftovers], batch)
            for (ai, s, _), v in zip(leftovers, extra):
                out[ai][0][s] = v
        return out


if __name__ == "__main__":  # pragma: no cover - the older spelling of ``python -m assistant.models``
    import runpy

    runpy.run_module("assistant.models", run_name="__main__")

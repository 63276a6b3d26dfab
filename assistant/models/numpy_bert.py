"""A NumPy forward pass of a BERT sentence-transformers model (mean pooling, unit length).

Serving answers needs one short question embedded at a time. For that, NumPy over the
safetensors weights is faster than torch (no framework overhead, one thread) and avoids
importing torch, transformers and sentence-transformers at all, which dominates start-up.
:class:`assistant.models.embedding.Embedder` uses it for small calls when the model folder is a plain
BERT + mean pooling + normalise sentence-transformers model (the bundled all-MiniLM-L6-v2 is),
and sentence-transformers for batches; the vectors agree to ~1e-6.

Example::

    from assistant.models.embedding import bundled_model_path
    from assistant.models.numpy_bert import NumpyBert
    enc = NumpyBert.load(bundled_model_path())
    vec = enc.encode(["Which states recognize Abkhazia?"])    # (1, 384) float32, unit length
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import numpy as np

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"


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
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and bool(only_mean)
        and (folder / "model.safetensors").exists()
        and (folder / "tokenizer.json").exists()
    )


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU; erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, enough for float32).

    Written in place over a few buffers: the intermediate activations are large, and one fresh
    temporary per operation made this the slowest step of a forward pass (page faults on every
    new buffer when the allocator hands large blocks straight back to the system)."""
    f32 = np.float32
    z = x * f32(0.7071067811865476)
    a = np.abs(z)
    t = a * f32(0.3275911)
    t += f32(1.0)
    np.reciprocal(t, out=t)
    p = t * f32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        p += f32(c)
        p *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    p *= a  # 1 - erf(|z|)
    np.subtract(f32(1.0), p, out=p)
    np.copysign(p, z, out=p)  # erf(z)
    p += f32(1.0)
    p *= x
    p *= f32(0.5)
    return p


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _layer(w: dict[str, np.ndarray], i: int) -> tuple:
    """Encoder layer ``i`` of a state dict, with the matrices transposed for ``x @ W``."""
    p = f"encoder.layer.{i}."
    qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
    qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
    return (
        np.ascontiguousarray(qkv_w),
        qkv_b,
        np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
        w[p + "attention.output.dense.bias"],
        (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
        np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
        w[p + "intermediate.dense.bias"],
        np.ascontiguousarray(w[p + "output.dense.weight"].T),
        w[p + "output.dense.bias"],
        (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
    )


class NumpyBert:
    """Tokenizer + BERT encoder + mean pooling + normalisation, in NumPy (float32)."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict, tokenizer, max_seq_length: int) -> None:
        self.config = config
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        self._threads = None
        w = {k.removeprefix("bert."): v for k, v in weights.items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_types = w["embeddings.token_type_embeddings.weight"]
        self.token_type0 = self.token_types[0]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [_layer(w, i) for i in range(int(config["num_hidden_layers"]))]

    def with_layers(self, weights: dict[str, np.ndarray], tokenizer, max_seq_length: int | None = None) -> NumpyBert:
        """A model that shares this one's embeddings and layers except the encoder layers that
        ``weights`` replaces (e.g. a reader's fine-tuned upper layers); arrays are not copied."""
        out = copy.copy(self)
        out.tokenizer = tokenizer
        out.max_seq_length = max_seq_length or self.max_seq_length
        out._threads = None
        replaced = {int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer.")}
        out.layers = [_layer(weights, i) if i in replaced else layer for i, layer in enumerate(self.layers)]
        return out

    @classmethod
    def load(cls, folder: str | Path) -> NumpyBert:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        st_config = {}
        if (folder / "sentence_bert_config.json").exists():
            st_config = json.loads((folder / "sentence_bert_config.json").read_text())
        max_len = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_len)
        tokenizer.no_padding()
        return cls(load_file(str(folder / "model.safetensors")), config, tokenizer, max_len)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(batch, seq) token ids and 0/1 mask → (batch, dim) mean-pooled hidden states."""
        x = self.hidden_states(ids, mask)
        m = mask[:, :, None]
        return (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)

    def hidden_states(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray | None = None) -> np.ndarray:
        """(batch, seq) token ids, 0/1 mask and token types → (batch, seq, dim) last hidden states."""
        bsz, seq = ids.shape
        tt = self.token_type0 if types is None else self.token_types[types]
        x = self.word[ids] + self.position[:seq][None] + tt
        x = _layer_norm(x, *self.emb_ln, self.eps)
        h, d = self.heads, self.dim // self.heads
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(d))
        for qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2 in self.layers:
            qkv = (x @ qkv_w + qkv_b).reshape(bsz, seq, 3, h, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(bsz, seq, self.dim)
            x = _layer_norm(ctx @ o_w + o_b + x, *ln1, self.eps)
            x = _layer_norm(_gelu(x @ i_w + i_b) @ f_w + f_b + x, *ln2, self.eps)
        return x

    def one_blas_thread(self):
        """BLAS on one thread for these small products: threaded OpenBLAS spins, and on a busy
        2-core machine that made one question 10× slower."""
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            return contextlib.nullcontext()
        if self._threads is None:
            self._threads = ThreadpoolController()
        return self._threads.limit(limits=1, user_api="blas")

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings (len(texts), dim), float32; texts of similar length go together."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        with self.one_blas_thread():
            return self._encode(texts, out)

    def _encode(self, texts: list[str], out: np.ndarray) -> np.ndarray:
        encs = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        for a in range(0, len(order), 16):
            idx = order[a : a + 16]
            seq = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), seq), dtype=np.int64)
            mask = np.zeros((len(idx), seq), dtype=np.float32)
            for row, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[row, :n] = encs[i].ids
                mask[row, :n] = 1.0
            out[idx] = self._forward(ids, mask)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

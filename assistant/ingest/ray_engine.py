"""Ingest on Ray: reading, cleaning, chunking and embedding run as Ray Data pipelines; this process publishes.

``assistant ingest PATH --engine ray [--address ADDR]`` (``pip install ".[ray]"``). Two datasets run, each
in the order of its input (``preserve_order``), so the result is the generation the in-process ingest
publishes (same articles, chunks and sentences; vectors within 1e-5):

1. **read**: the files the driver lists → ``map_batches(read)``: each file parsed and cleaned
   (:func:`~assistant.ingest.readers.read_file`) on a worker; the driver assembles ids, origins and
   warnings with :func:`~assistant.ingest.readers.read_paths` as in-process, then plans the incremental
   ingest under the index lock (unchanged articles are skipped before anything is embedded);
2. **embed**: the new and changed articles' texts → ``map_batches(segment + chunk)`` →
   ``map_batches(_Encoder, compute=ActorPoolStrategy(size=N))``: an actor pool, each actor holding the project's encoder
   (ONNX Runtime, CPU, the same verified graph) and returning sentence and chunk vectors. The driver
   stores them as they stream back and publishes through :func:`~assistant.ingest.pipeline.ingest_articles`
   (lock, atomic generation, manifest). Workers only compute; they never write the index.

On a cluster (``--address ray://head:10001``, ``auto``, or ``$RAY_ADDRESS``) every node needs this package
installed (``pip install ".[ray]"``, the same version) and the ingested paths readable at the same
place (a shared file system); the driver needs the index folder.

Example::

    from assistant.ingest.pipeline import ingest_paths
    from assistant.models.embedding import Embedder

    report = ingest_paths("index", ["seeds/"], Embedder.load(), engine="ray")  # a local Ray
    print(report.summary(), report.timings["embed"])
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import AssistantError, EngineError
from ..models.embedding import Embedder
from ..records import Article
from ..settings import Settings
from .parts import POOLED, Embedded, chunk_vectors, prepare_text
from .readers import read_file

INSTALL_HINT = 'the ray ingest engine needs Ray, which is not installed: pip install ".[ray]"'
#: Sentences per batch handed to an encoder actor, as the in-process ingest groups them: sorted by
#: length within a batch, a few thousand pad little (batches of 64 SQuAD paragraphs, ~300 sentences,
#: took 1.35-1.75x the encoder CPU of ~1,350).
BATCH_SENTENCES = 2048
#: Files per read task.
BATCH_FILES = 16
#: Object store of a local Ray (bytes): small, so a laptop keeps its memory; spills to disk beyond.
LOCAL_OBJECT_STORE = 1_000_000_000
#: Environment a cluster's workers get from this process, to encode as it does (offline, quantisation).
_ENV = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "OMP_WAIT_POLICY",
    "ASSISTANT_ENCODER_QUANT",
)


def require_ray():
    """The ``ray`` module, or :class:`EngineError` with the install hint when it is missing."""
    try:
        import ray
        import ray.data  # noqa: F401  (the [data] extra)
    except ImportError as exc:
        raise EngineError(INSTALL_HINT) from exc
    return ray


def batch_articles(todo: list[Article], actors: int) -> int:
    """Articles per actor batch: about :data:`BATCH_SENTENCES` sentences (estimated from word counts,
    ~25 words a sentence), but no more than an equal share of ``todo`` per actor, so every actor has work."""
    words = sum(len(a.text.split()) for a in todo) / max(1, len(todo))
    target = int(BATCH_SENTENCES / max(1.0, words / 25))
    return max(1, min(target, -(-len(todo) // max(1, actors)), 4096))


def _spans(raw: bytes) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in np.frombuffer(raw, dtype=np.int64).reshape(-1, 2)]


def _pack(spans: list[tuple[int, int]]) -> bytes:
    return np.asarray(spans, dtype=np.int64).reshape(-1, 2).tobytes()


def _read_batch(batch: dict[str, np.ndarray], settings: Settings | None = None) -> dict[str, list[str]]:
    """Ray task: parse and clean a batch of files (JSON of their articles and warnings, one row a file)."""
    out: dict[str, list[str]] = {"articles": [], "warnings": []}
    for path, rel in zip(batch["path"], batch["rel"]):
        warnings: list[str] = []
        articles = read_file(Path(str(path)), warnings, Path(str(rel)), settings)
        out["articles"].append(json.dumps([asdict(a) for a in articles]))  # ASCII: lone surrogates survive
        out["warnings"].append(json.dumps(warnings))
    return out


def _chunk_batch(batch: dict[str, np.ndarray], settings: Settings) -> dict[str, list]:
    """Ray task: sentence and chunk spans of a batch of article texts."""
    sents, chunks = [], []
    for text in batch["text"]:
        s, c = prepare_text(str(text), settings)
        sents.append(_pack(s))
        chunks.append(_pack(c))
    return {"text": list(batch["text"]), "sents": sents, "chunks": chunks}


class _Encoder:
    """Ray actor: the project's encoder (loaded once per actor), batch of articles → their vectors."""

    def __init__(
        self, model: str, weights_sha256: str, encoder_info: dict, method: str, batch_size: int, allow_download: bool
    ) -> None:
        self.embedder = Embedder.load(model, allow_download, quant=encoder_info.get("quantisation"))
        if self.embedder.spec.weights_sha256 != weights_sha256 or self.embedder.encoder_info != encoder_info:
            raise EngineError(
                f"a Ray worker's encoder ({self.embedder.spec.weights_sha256[:12]}…, {self.embedder.encoder_info}) "
                f"is not the driver's ({weights_sha256[:12]}…, {encoder_info}): install the same version everywhere"
            )
        self.method = method
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        cpu = time.thread_time()  # the encoding thread only (ONNX runs on it), not Ray's own threads
        texts = [str(t) for t in batch["text"]]
        sents = [_spans(s) for s in batch["sents"]]
        chunks = [_spans(c) for c in batch["chunks"]]
        if self.method == POOLED:
            vectors = self.embedder.encode_chunks(list(zip(texts, sents, chunks)), batch_size=32)
        else:
            flat = [t[a:b] for t, ss in zip(texts, sents) for a, b in ss]
            vecs = self.embedder.encode(flat, batch_size=self.batch_size)
            vectors, offset = [], 0
            for ss, cs in zip(sents, chunks):
                sv = vecs[offset : offset + len(ss)]
                offset += len(ss)
                vectors.append((sv, chunk_vectors(sv, ss, cs)))
        cpu = (time.thread_time() - cpu) / max(1, len(texts))
        return {
            "cpu_s": [cpu] * len(texts),  # this actor's CPU seconds per article (encoding)
            "sents": list(batch["sents"]),
            "chunks": list(batch["chunks"]),
            "svecs": [np.ascontiguousarray(sv, np.float32).tobytes() for sv, _ in vectors],
            "cvecs": [np.ascontiguousarray(cv, np.float32).tobytes() for _, cv in vectors],
        }


def _reraise(exc: BaseException) -> None:
    """Raise the project's own error when one caused a Ray worker's failure (a one-line CLI error), else ``exc``."""
    seen, cause = set(), exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, AssistantError):
            raise cause from exc
        cause = getattr(cause, "cause", None) or cause.__cause__
    raise exc


class RayEngine:
    """A Ray connection for one ingest (``with RayEngine(...) as e``): :meth:`read_files` and
    :meth:`compute` are the hooks of :func:`~assistant.ingest.readers.read_paths` and
    :func:`~assistant.ingest.pipeline.ingest_articles`.

    ``address``: a cluster (``ray://host:10001``, ``auto``), else ``$RAY_ADDRESS``, else a local Ray on
    the CPUs this process may use. A Ray already initialised in this process is used as it is.
    ``workers``: encoder actors (default: one per CPU of the cluster, less one CPU for reading and
    chunking when there are more than two)."""

    def __init__(
        self,
        embedder: Embedder,
        settings: Settings,
        address: str | None = None,
        workers: int | None = None,
        progress: bool = False,
    ) -> None:
        self.ray = require_ray()
        self.embedder = embedder
        self.settings = settings
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers
        self.progress = progress
        self._owned = False
        self._saved = (False, True)
        #: Of the last :meth:`compute`: articles, encoder actors, seconds to the first batch (actor
        #: start-up, model load) and its articles, seconds from the first batch to the last, and the
        #: actors' CPU seconds in their encoding calls.
        self.stats: dict[str, float] = {}

    def __enter__(self) -> RayEngine:
        ray = self.ray
        if not ray.is_initialized():
            env = {k: v for k, v in os.environ.items() if k in _ENV}
            kw = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
            try:
                if self.address:
                    ray.init(address=self.address, runtime_env={"env_vars": env}, **kw)
                else:
                    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
                    ray.init(num_cpus=cpus or 1, object_store_memory=LOCAL_OBJECT_STORE, **kw)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
                raise EngineError(f"cannot start {where}: {' '.join(str(exc).split())[:300]}") from exc
            self._owned = True
        logging.getLogger("ray.data").setLevel(logging.WARNING if self.progress else logging.ERROR)
        ctx = self.ray.data.DataContext.get_current()
        self._saved = (ctx.execution_options.preserve_order, ctx.enable_progress_bars)
        ctx.execution_options.preserve_order = True  # the driver stores rows in input order
        ctx.enable_progress_bars = self.progress
        return self

    def __exit__(self, *exc_info: object) -> None:
        ctx = self.ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order, ctx.enable_progress_bars = self._saved
        if self._owned:
            self.ray.shutdown()
            self._owned = False

    def _actors(self) -> int:
        if self.workers:
            return int(self.workers)
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        return max(1, cpus - 1 if cpus > 2 else cpus)

    def read_files(self, files: list[tuple[Path, Path]]) -> Iterator[tuple[list[Article], list[str]]]:
        """Each file's articles and warnings, read on Ray, in the order of ``files``."""
        if not files:
            return
        rows = [{"path": str(p), "rel": str(r)} for p, r in files]
        ds = self.ray.data.from_items(rows, override_num_blocks=max(1, min(200, len(rows) // BATCH_FILES)))
        ds = ds.map_batches(
            _read_batch,
            batch_size=BATCH_FILES,
            batch_format="numpy",
            udf_modifying_row_count=False,
            fn_kwargs={"settings": self.settings},
        )
        try:
            for row in ds.iter_rows():
                arts = [Article(**a) for a in json.loads(row["articles"])]
                yield arts, json.loads(row["warnings"])
        except Exception as exc:
            _reraise(exc)

    def compute(self, todo: list[Article], method: str) -> Iterator[list[Embedded]]:
        """Sentence and chunk spans and vectors of ``todo``, computed on Ray, in order, a batch at a time."""
        if not todo:
            return
        emb, t0, actors = self.embedder, time.perf_counter(), self._actors()
        batch = batch_articles(todo, actors)
        rows = [{"text": a.text} for a in todo]
        ds = self.ray.data.from_items(rows, override_num_blocks=max(1, min(1000, -(-len(rows) // batch))))
        ds = ds.map_batches(
            _chunk_batch,
            fn_kwargs={"settings": self.settings},
            batch_size=batch,
            batch_format="numpy",
            udf_modifying_row_count=False,
        )
        ds = ds.map_batches(
            _Encoder,
            fn_constructor_kwargs={
                "model": emb.spec.name,  # resolved on each worker (the bundled weights are verified there)
                "weights_sha256": emb.spec.weights_sha256,
                "encoder_info": emb.encoder_info,
                "method": method,
                "batch_size": self.settings.batch_size,
                "allow_download": self.settings.allow_download,
            },
            compute=self.ray.data.ActorPoolStrategy(size=actors),
            batch_size=batch,
            batch_format="numpy",
            udf_modifying_row_count=False,
        )
        k, first, first_rows, worker_cpu = 0, None, 0, 0.0
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                if first is None:
                    first, first_rows = time.perf_counter(), len(batch["sents"])
                worker_cpu += float(np.sum(batch["cpu_s"]))
                group = []
                for sents, chunks, sv, cv in zip(batch["sents"], batch["chunks"], batch["svecs"], batch["cvecs"]):
                    s, c = _spans(sents), _spans(chunks)
                    svecs = np.frombuffer(sv, dtype=np.float32).reshape(len(s), emb.dim)
                    cvecs = np.frombuffer(cv, dtype=np.float32).reshape(len(c), emb.dim)
                    group.append((todo[k], s, c, svecs, cvecs))
                    k += 1
                yield group
        except Exception as exc:
            _reraise(exc)
        end = time.perf_counter()
        first = first or end
        self.stats = {"articles": k, "actors": actors, "first_batch_s": first - t0, "first_batch_articles": first_rows}
        self.stats["encoder_cpu_s"] = worker_cpu  # the actors' CPU time in encoding calls
        self.stats["steady_s"] = end - first  # the rest, while the first batch's actor keeps going

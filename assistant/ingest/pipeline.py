"""Incremental ingest: read articles, chunk and embed what is new or changed, publish atomically.

An ingest writes one new segment (:class:`~assistant.storage.segments.SegmentWriter`) holding the
new and changed articles and the ids it deletes, then :func:`publish_segment` (the publish path of
every ingest engine) links the live generation's segments into the new generation, derives its
tantivy BM25 index from the live one (:meth:`~assistant.storage.fulltext.FullText.derive`), merges the
newest segments when they have grown, and switches ``CURRENT``. :func:`compact_index` merges them all.

Example::

    from assistant.models.embedding import Embedder
    from assistant.ingest.pipeline import ingest_paths
    report = ingest_paths("index", ["seeds/"], Embedder.load())
    print(report.summary())
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import AssistantError, IndexCorruptError, IndexMismatchError, IndexWriteError, IngestError
from ..models.embedding import Embedder
from ..records import Article
from ..settings import Settings
from ..storage.dense import DenseIndex
from ..storage.fulltext import FullText
from ..storage.generations import (
    FORMAT_VERSION,
    IndexDir,
    link_file,
    link_segment,
    rebuild_hint,
    resolve_segments,
)
from ..storage.index import DENSE_FILE, LEXICAL_DIR, STORE_FILE, open_store
from ..storage.segments import (
    SegmentWriter,
    dead_chunk_ids,
    merge_plan,
    merge_segments,
    read_record,
    segment_name,
    write_record,
)
from ..storage.store import Store
from .parts import PER_SENTENCE, POOLED, Embedded, chunk_vectors, prepare_text
from .quotes import quote_rows
from .readers import SUPPORTED_SUFFIXES, origin_hash, read_paths

SEGMENTER = "blingfire-paragraphs-v1"
#: Ingests embedding at least this many chunks run the encoder in the worker process
#: (:mod:`assistant.models.worker`) at a lower priority; ``ASSISTANT_INGEST_WORKER=0`` turns it off.
WORKER_MIN_CHUNKS = 64
#: Where reading, chunking and embedding run: in this process (the default) or on Ray
#: (:mod:`assistant.ingest.ray_engine`, ``pip install ".[ray]"``). Publishing is always done here.
ENGINES = ("inprocess", "ray")
#: The file types an ingest reads, for messages.
SUPPORTED = " ".join(sorted(SUPPORTED_SUFFIXES))

#: Computes the parts of ``todo`` articles, in order, a group at a time: ``compute(todo, method)``.
Compute = Callable[[list[Article], str], Iterator[list[Embedded]]]


@dataclass
class IngestReport:
    """What an ingest did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks_added: int = 0
    sentences_embedded: int = 0
    generation: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged"]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        return ", ".join(parts) + f" ({self.chunks_added} chunks embedded)"


def chunking_settings(settings: Settings) -> dict:
    return {
        "max_tokens": settings.chunk_tokens,
        "overlap_sentences": settings.chunk_overlap_sentences,
        "segmenter": SEGMENTER,
    }


def sentence_vector_method(embedder: Embedder) -> str:
    """How a new index's sentence vectors are made: each sentence encoded on its own (the default),
    or pooled from one pass per chunk with ``ASSISTANT_SENTENCE_VECTORS=chunk-pooled-v1`` (faster
    ingest, but the seed-set gate fails with it: see eval/README.md)."""
    if getattr(embedder, "pools_chunks", False) and os.environ.get("ASSISTANT_SENTENCE_VECTORS") == POOLED:
        return POOLED
    return PER_SENTENCE


def encoder_record(embedder: Embedder, sentence_vectors: str) -> dict:
    """The manifest's ``encoder``: runtime, quantisation and how sentence vectors were made."""
    info = dict(getattr(embedder, "encoder_info", None) or {"runtime": "custom", "quantisation": "none"})
    info["sentence_vectors"] = sentence_vectors
    return info


def index_sentence_vectors(manifest: dict) -> str:
    """How an index's sentence vectors were made (indexes from before the record: one by one)."""
    return manifest.get("encoder", {}).get("sentence_vectors", PER_SENTENCE)


def check_encoder(manifest: dict, embedder: Embedder, index_dir: Path) -> None:
    """Refuse an index whose vectors came from another quantisation of the model."""
    recorded = manifest.get("encoder")
    if not recorded:
        return  # built before the record: sentence-transformers fp32, which the fp32 graph equals
    mine = getattr(embedder, "encoder_info", None) or {}
    if mine and recorded.get("quantisation") != mine.get("quantisation"):
        raise IndexMismatchError(
            f"index at {index_dir} was built with a {recorded.get('quantisation')} encoder, this one is "
            f"{mine.get('quantisation')}; {rebuild_hint(index_dir)}"
        )


def check_compatible(manifest: dict, embedder: Embedder, settings: Settings, index_dir: Path) -> None:
    """Refuse to mix vectors of two models, two quantisations or two chunkings in one index."""
    model = manifest.get("model", {})
    if model.get("name") != embedder.spec.name or model.get("weights_sha256", "") != embedder.spec.weights_sha256:
        raise IndexMismatchError(
            f"index at {index_dir} was built with model {model.get('name')!r}, not {embedder.spec.name!r}: "
            f"use --model {model.get('name')} or {rebuild_hint(index_dir)}"
        )
    if manifest.get("chunking") != chunking_settings(settings):
        raise IndexMismatchError(
            f"index at {index_dir} was built with other chunking settings; {rebuild_hint(index_dir)}"
        )
    check_encoder(manifest, embedder, index_dir)


def passages_cut(article: Article, chunks: list[tuple[int, int]], settings: Settings) -> str | None:
    """The warning for an article whose passages were cut at ``max_article_passages``, else None."""
    if len(chunks) < settings.max_article_passages or not article.text[chunks[-1][1] :].strip():
        return None
    return (
        f"{article.source}: only its first {len(chunks):,} passages were indexed, up to character {chunks[-1][1]:,} "
        "(the max_article_passages setting, ASSISTANT_MAX_ARTICLE_PASSAGES)"
    )


def _prepare(article: Article, settings: Settings) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return prepare_text(article.text, settings)


def ingest_articles(
    index_dir: str | Path,
    articles: Iterable[Article],
    embedder: Embedder,
    settings: Settings | None = None,
    *,
    remove: Iterable[str] = (),
    rebuild: bool = False,
    progress: bool = False,
    warnings: list[str] | None = None,
    lock_wait: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_embed: Callable[[int, int], None] | None = None,
    origins: dict[str, str] | None = None,
    legacy_ids: dict[str, str] | None = None,
    compute: Compute | None = None,
) -> IngestReport:
    """Add or update ``articles`` and delete the ids in ``remove``, as one atomic publish.

    ``origins`` (article id → resolved file path, from :func:`read_paths`) lets an id made from a
    file's path tell files apart across ingests: re-ingesting the same file updates its article,
    while a different file whose path gives an id already held by another file is added beside
    it under the id with a short hash of its path (with a warning), never replacing it.
    ``legacy_ids`` maps an id to the one an earlier version gave the same file, which is kept.
    ``compute`` segments, chunks and embeds the new and changed articles elsewhere (the Ray engine);
    storing, indexing and publishing stay here, under the lock. ``on_progress(articles done, total)``
    follows the articles stored; ``on_embed(sentences embedded, sentences to embed so far)`` the encoder,
    a slice of sentences at a time (in-process engine)."""
    settings = settings or Settings.from_env()
    folder = IndexDir(Path(index_dir))
    report = IngestReport(warnings=list(warnings or []))
    articles = list(articles)
    remove = list(dict.fromkeys(remove))
    t0 = time.perf_counter()
    lock = folder.lock(wait=lock_wait)
    try:
        folder.collect_garbage(keep=2)
        old_gen = None if rebuild or not folder.exists() else folder.current()
        manifest_old = folder.read_manifest(old_gen) if old_gen else {}
        if old_gen:
            check_compatible(manifest_old, embedder, settings, folder.path)
        known: dict[str, str] = dict(manifest_old.get("articles", {}))
        known_origins: dict[str, str] = {k: v for k, v in manifest_old.get("origins", {}).items() if k in known}
        if origins:
            articles = _assign_ids(
                articles, origins, legacy_ids or {}, known, known_origins, old_gen, manifest_old, report
            )
        todo: list[Article] = []
        for art in articles:
            if known.get(art.id) == art.content_hash:
                report.unchanged.append(art.id)
            else:
                (report.updated if art.id in known else report.added).append(art.id)
                todo.append(art)
        missing = [r for r in remove if r not in known]
        if missing:
            report.warnings.append(f"not in the index, nothing to remove: {', '.join(missing)}")
        report.removed = [r for r in remove if r in known]
        for r in report.removed:
            known_origins.pop(r, None)
        if not report.changed:
            report.generation = old_gen.name if old_gen else ""
            return report
        pooled = getattr(embedder, "pools_chunks", False)
        method = index_sentence_vectors(manifest_old) if old_gen else sentence_vector_method(embedder)
        if method == POOLED and not pooled and todo:
            raise IndexMismatchError(
                f"index at {folder.path} pools sentence vectors from chunk passes, which this model cannot; "
                f"{rebuild_hint(folder.path)}"
            )

        with _new_generation(folder, "ingest" if articles or not remove else "removal") as (tmp, final):
            name = segment_name(final.name)
            writer = SegmentWriter(tmp / name, embedder.dim, first_chunk_id=next_chunk_id(old_gen, manifest_old))
            for aid in report.removed + report.updated:
                known.pop(aid, None)
            report.timings["load"] = time.perf_counter() - t0
            _embed_and_store(
                todo,
                writer.store,
                writer.dense,
                embedder,
                settings,
                report,
                progress,
                on_progress,
                method,
                compute=compute,
                on_embed=on_embed,
            )
            for art in todo:
                known[art.id] = art.content_hash
            old_origins = manifest_old.get("origins", {})
            written = {a.id for a in todo}
            origins = {
                k: v for k, v in known_origins.items() if k in known and (k in written or old_origins.get(k) != v)
            }
            t = time.perf_counter()
            next_id = writer.next_chunk_id
            counts = writer.finish(report.removed + report.updated, origins, final.name)
            report.timings["finish"] = time.perf_counter() - t
            fields = {
                "model": {
                    "name": embedder.spec.name,
                    "weights_sha256": embedder.spec.weights_sha256,
                    "dim": embedder.dim,
                },
                "encoder": encoder_record(embedder, method),
                "chunking": chunking_settings(settings),
            }
            t = time.perf_counter()
            publish_segment(folder, tmp, final, old_gen, manifest_old, name, counts, next_id, fields, report)
            report.timings["publish"] = time.perf_counter() - t
            report.generation = final.name
    finally:
        lock.release()
    report.timings["total"] = time.perf_counter() - t0
    return report


def next_chunk_id(gen: Path | None, manifest: dict) -> int:
    """The first chunk id a new segment of ``gen`` may use (ids are never reused)."""
    if gen is None:
        return 1
    if manifest["format_version"] != 1:
        return int(manifest["next_chunk_id"])
    store = Store(gen / STORE_FILE, readonly=True)  # format 1: one store
    try:
        return int(store.connect().execute("SELECT COALESCE(MAX(id), 0) + 1 FROM chunks").fetchone()[0])
    finally:
        store.close()


def _base_segments(tmp: Path, base: Path | None, manifest: dict) -> tuple[list[dict], dict[str, dict]]:
    """The live generation's segments, linked into ``tmp`` (not copied), and their manifest file
    entries. A format-1 generation becomes segment ``seg-000000``: its store and vectors are
    linked, its article list written once; a format-2 segment's BM25 postings are left behind."""
    if base is None:
        return [], {}
    if manifest["format_version"] != 1:
        linked: dict[str, dict] = {}
        files = {rel: info for rel, info in manifest["files"].items() if "/lexical/" not in rel}
        for seg in manifest["segments"]:
            linked.update(link_segment(base, tmp, seg["name"], files))
        return [dict(seg) for seg in manifest["segments"]], linked
    name = "seg-000000"
    linked = {}
    for rel in (STORE_FILE, DENSE_FILE):
        info = manifest["files"][rel]
        link_file(base / rel, tmp / name / rel)
        linked[f"{name}/{rel}"] = info
    write_record(tmp / name, dict(manifest["articles"]), dict(manifest.get("origins", {})), [])
    seg = {"name": name, "counts": dict(manifest["counts"]), "dead": []}
    return [seg], linked


def publish_segment(
    folder: IndexDir,
    tmp: Path,
    final: Path,
    base: Path | None,
    base_manifest: dict,
    name: str,
    counts: dict[str, int],
    next_id: int,
    fields: dict,
    report: IngestReport | None = None,
    *,
    merge: bool = True,
) -> dict:
    """Publish generation ``final`` = the live generation ``base`` plus the finished segment
    ``tmp/name`` (written by :class:`SegmentWriter`): the one publish path of every ingest engine.

    The base's segments are hard-linked into ``tmp``; the generation's tantivy index is derived from
    the base's (:func:`_lexical`); the newest segments are merged when :func:`merge_plan` says so
    (chunk ids are kept: BM25 is untouched); then the manifest (live counts) is written and
    :meth:`IndexDir.publish` makes it durable and switches ``CURRENT``. Call under the writer lock;
    on an exception the caller removes ``tmp`` (the live generation is untouched). Returns the manifest."""
    segments, linked = _base_segments(tmp, base, base_manifest)
    record = read_record(tmp / name)
    records = [read_record(tmp / s["name"]) for s in segments] + [record]
    upgrade = base is not None and base_manifest["format_version"] != FORMAT_VERSION
    if not upgrade:
        t = time.perf_counter()
        gone = [c for s in segments for c in _chunk_ids(tmp / s["name"], record.get("deletes", []))]
        linked.update(_lexical(tmp, base, base_manifest, gone, tmp / name))
        if report is not None:
            report.timings["bm25"] = time.perf_counter() - t
    segments.append({"name": name, "counts": counts})
    _, _, dead = resolve_segments(records)
    for seg, gone in zip(segments, dead):
        seg["dead"] = gone
    start = merge_plan([s["counts"]["chunks"] for s in segments]) if merge else len(segments) - 1
    if start < len(segments) - 1:
        t = time.perf_counter()
        segments, records = _merge_tail(tmp, final.name, segments, records, start, linked)
        if report is not None:
            report.timings["merge"] = time.perf_counter() - t
    articles, _, dead = resolve_segments(records)
    live = {"articles": len(articles), "chunks": 0, "sentences": 0}
    for seg, gone in zip(segments, dead):
        seg["dead"] = gone
        d_chunks, d_sentences = _dead_counts(tmp / seg["name"], gone)
        live["chunks"] += seg["counts"]["chunks"] - d_chunks
        live["sentences"] += seg["counts"]["sentences"] - d_sentences
    if upgrade:  # an index of an earlier format: its BM25 written from every live chunk, once
        _build_lexical(tmp, segments)
    manifest = dict(fields, counts=live, segments=segments, next_chunk_id=next_id)
    folder.publish(tmp, final, manifest, linked=linked)
    return manifest


def _chunk_ids(seg: Path, articles: list[str]) -> list[int]:
    """The chunk ids of ``articles`` in segment folder ``seg``."""
    if not articles:
        return []
    store = Store(seg / STORE_FILE, readonly=True)
    try:
        return dead_chunk_ids(store, articles)[0].tolist()
    finally:
        store.close()


def _lexical(tmp: Path, base: Path | None, manifest: dict, gone: list[int], new: Path) -> dict[str, dict]:
    """Write ``tmp/lexical``: the base generation's tantivy index without the chunk ids ``gone``, plus
    segment ``new``'s chunks. The base's files are hard-linked and never written (tantivy writes every
    file new); returns the manifest entries of those still linked (the rest are hashed on publish)."""
    store = Store(new / STORE_FILE, readonly=True)
    try:
        if base is None:
            FullText.build(store.iter_chunk_texts(), tmp / LEXICAL_DIR)
            return {}
        prefix = LEXICAL_DIR + "/"
        files = {rel: info for rel, info in manifest["files"].items() if rel.startswith(prefix)}
        for rel, info in files.items():  # a cheap check, as for the linked segments
            st = os.lstat(base / rel)
            if not stat.S_ISREG(st.st_mode) or st.st_size != info["size"]:
                raise IndexCorruptError(
                    f"index file {base / rel} is truncated or altered (size); {rebuild_hint(base.parent)}"
                )
        FullText.derive(base / LEXICAL_DIR, tmp / LEXICAL_DIR, gone, store.iter_chunk_texts())
    finally:
        store.close()
    out = {}
    for rel, info in files.items():
        p = tmp / rel
        if p.exists() and p.stat().st_ino == (base / rel).stat().st_ino:
            out[rel] = info
    return out


def _build_lexical(tmp: Path, segments: list[dict]) -> None:
    """Write ``tmp/lexical`` from every live chunk of ``segments`` (those with ``dead`` set)."""

    def texts():
        for seg in segments:
            store = Store(tmp / seg["name"] / STORE_FILE, readonly=True)
            try:
                dead = set(dead_chunk_ids(store, seg["dead"])[0].tolist()) if seg["dead"] else set()
                yield from ((cid, text) for cid, text in store.iter_chunk_texts() if cid not in dead)
            finally:
                store.close()

    FullText.build(texts(), tmp / LEXICAL_DIR)


def _dead_counts(seg: Path, dead: list[str]) -> tuple[int, int]:
    if not dead:
        return 0, 0
    store = Store(seg / STORE_FILE, readonly=True)
    try:
        ids, sentences = dead_chunk_ids(store, dead)
    finally:
        store.close()
    return len(ids), sentences


def _merge_tail(
    tmp: Path, generation: str, segments: list[dict], records: list[dict], start: int, linked: dict[str, dict]
) -> tuple[list[dict], list[dict]]:
    """Replace ``segments[start:]`` (in ``tmp``) by one merged segment; returns the new lists."""
    group, group_records = segments[start:], records[start:]
    earlier = set()
    for rec in records[:start]:
        earlier.update(rec["articles"])
        earlier.update(rec.get("origins", {}))
    deletes = sorted({d for rec in group_records for d in rec.get("deletes", ())} & earlier)
    origins: dict[str, str] = {}
    for rec in group_records:
        for d in rec.get("deletes", ()):
            origins.pop(d, None)
        origins.update(rec.get("origins", {}))
    name = segment_name(generation, merged=True)
    sources = [(tmp / s["name"], s.get("dead", [])) for s in group]
    counts = merge_segments(sources, tmp / name, deletes, origins)
    for s in group:
        shutil.rmtree(tmp / s["name"])
        for rel in [r for r in linked if r.startswith(s["name"] + "/")]:
            del linked[rel]
    return segments[:start] + [{"name": name, "counts": counts}], records[:start] + [read_record(tmp / name)]


def compact_index(index_dir: str | Path, lock_wait: float | None = None) -> IngestReport:
    """Merge every segment of the live generation into one (dropping deleted rows) and publish it:
    O(corpus), for when many ingests and deletions have piled up (``assistant compact``). BM25 is
    linked as it is (tantivy merges its own segments); an index of an earlier format gets its
    tantivy index written from the stored chunk texts (nothing is re-embedded)."""
    folder = IndexDir(Path(index_dir))
    report = IngestReport()
    t0 = time.perf_counter()
    lock = folder.lock(wait=lock_wait)
    try:
        folder.collect_garbage(keep=2)
        base = folder.current()
        manifest = folder.read_manifest(base)
        current = manifest["format_version"] == FORMAT_VERSION
        if current and len(manifest["segments"]) == 1 and not manifest["segments"][0]["dead"]:
            report.generation = base.name
            return report
        with _new_generation(folder, "`assistant compact`") as (tmp, final):
            segments, linked = _base_segments(tmp, base, manifest)
            records = [read_record(tmp / s["name"]) for s in segments]
            segments, records = _merge_tail(tmp, final.name, segments, records, 0, linked)
            segments[0]["dead"] = []
            if current:
                files = {rel: i for rel, i in manifest["files"].items() if rel.startswith(LEXICAL_DIR + "/")}
                linked.update(link_segment(base, tmp, LEXICAL_DIR, files))
            else:
                _build_lexical(tmp, segments)
            fields = {k: manifest[k] for k in ("model", "encoder", "chunking") if k in manifest}
            out = dict(
                fields, counts=dict(manifest["counts"]), segments=segments, next_chunk_id=next_chunk_id(base, manifest)
            )
            out["segments"][0]["dead"] = []
            folder.publish(tmp, final, out, linked=linked)
            report.generation = final.name
    finally:
        lock.release()
    report.timings["total"] = time.perf_counter() - t0
    return report


def _use_worker(todo: list[Article], settings: Settings) -> bool:
    if os.environ.get("ASSISTANT_INGEST_WORKER", "").lower() in {"0", "false", "no", "off"}:
        return False
    # A rough count: every chunk holds at most chunk_tokens word pieces, about 0.75 words each.
    words = sum(len(a.text.split()) for a in todo)
    return words >= WORKER_MIN_CHUNKS * settings.chunk_tokens * 0.75


@contextmanager
def _new_generation(folder: IndexDir, what: str = "ingest") -> Iterator[tuple[Path, Path]]:
    """A new generation's (build folder, final path); a failure inside deletes the half-built folder and
    turns an OS error into the one-line write error (``what``: the work to run again)."""
    try:
        tmp, final = folder.new_generation()
    except OSError as exc:
        raise write_error(exc, folder.path, what) from exc
    try:
        yield tmp, final
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if not isinstance(exc, AssistantError) and (err := write_error(exc, folder.path, what)) is not None:
            raise err from exc
        raise


def _out_of_inodes(path: Path) -> int | None:
    """Free bytes on ``path``'s file system when it has run out of inodes (file entries), else None."""
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize if st.f_files > 0 and st.f_favail == 0 else None


def write_error(exc: BaseException, index_dir: Path, what: str = "ingest") -> IndexWriteError | None:
    """The one-line error for a failure to write the index (disk full, out of inodes, permissions), or
    None when ``exc`` is not one. The old generation is untouched: nothing is published. ``what``
    names the work to run again ("ingest", "removal", "`assistant compact`")."""
    msg = " ".join(str(exc).split())
    unchanged = "the index is unchanged"
    again = what if what.startswith("`") else f"the {what}"
    full = (
        (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)))
        or (isinstance(exc, sqlite3.Error) and "full" in msg)
        or (isinstance(exc, (RuntimeError, ValueError)) and "No space left" in msg)  # faiss, tantivy
    )
    if full and (free := _out_of_inodes(index_dir)) is not None:
        return IndexWriteError(
            f"no free inodes (file entries) left on the file system of the index at {index_dir}, although "
            f"{free / 2**20:.0f} MB are free: delete some files there (or use another --index) and run {again} "
            f"again ({unchanged})"
        )
    if full:
        return IndexWriteError(
            f"no space left on the disk while writing the index at {index_dir}: free some space and run "
            f"{again} again ({unchanged})"
        )
    if isinstance(exc, PermissionError):
        return IndexWriteError(
            f"cannot write the index at {index_dir} (permission denied on {exc.filename or index_dir}): "
            f"fix its permissions or choose another --index ({unchanged})"
        )
    if isinstance(exc, OSError):
        return IndexWriteError(
            f"cannot write the index at {index_dir} ({exc.strerror or msg}{f': {exc.filename}' if exc.filename else ''});"
            f" {unchanged}"
        )
    tantivy_io = isinstance(exc, ValueError) and msg.startswith("An IO error occurred")
    if isinstance(exc, sqlite3.Error) or (isinstance(exc, RuntimeError) and "write error" in msg) or tantivy_io:
        return IndexWriteError(f"cannot write the index at {index_dir} ({msg[:200]}); {unchanged}")
    return None


def _assign_ids(
    articles: list[Article],
    origins: dict[str, str],
    legacy_ids: dict[str, str],
    known: dict[str, str],
    known_origins: dict[str, str],
    old_gen: Path | None,
    old_manifest: dict,
    report: IngestReport,
) -> list[Article]:
    """Final ids of articles read from files, so that no file silently replaces another one's
    article (see :func:`ingest_articles`); records each one's origin in ``known_origins``."""
    old_sources: dict[str, str] = {}
    asked = {a.id for a in articles if a.id in origins and a.id in known and a.id not in known_origins}
    asked |= {legacy_ids[a.id] for a in articles if a.id in legacy_ids and legacy_ids[a.id] in known}
    if old_gen is not None and asked:
        store = open_store(old_gen, old_manifest)
        try:
            old_sources = {k: v[3] for k, v in store.article_meta(sorted(asked)).items()}
        finally:
            store.close()

    def same_file(aid: str, origin: str) -> bool:
        if aid in known_origins:
            return known_origins[aid] == origin
        old = old_sources.get(aid, "")  # an index from before origins were recorded
        return not (old and os.path.exists(old) and os.path.realpath(old) != origin)

    taken = {a.id for a in articles if a.id not in origins}
    by_origin = {o: aid for aid, o in known_origins.items()}
    out = []
    for art in articles:
        origin = origins.get(art.id)
        if origin is None:
            out.append(art)
            continue
        aid = art.id
        legacy = legacy_ids.get(aid)
        if by_origin.get(origin, aid) != aid and by_origin[origin] not in taken:
            aid = by_origin[origin]  # the file is in the index already: it keeps its id
        elif aid not in known and legacy in known and legacy not in taken and same_file(legacy, origin):
            aid = legacy  # the id an earlier version gave this file: update it in place
        elif (aid in known and not same_file(aid, origin)) or aid in taken:
            new = f"{aid}-{origin_hash(origin)}"
            if known_origins.get(new) != origin:  # said once, when the file is first stored so
                holder = known_origins.get(aid) or old_sources.get(aid) or "another article"
                report.warnings.append(f"{art.source}: id {aid!r} already belongs to {holder}; stored as {new!r}")
            aid = new
        taken.add(aid)
        known_origins[aid] = origin
        out.append(art if aid == art.id else replace(art, id=aid))
    return out


def _encode(
    embedder: Embedder,
    texts: list[str],
    batch_size: int,
    worker: bool = False,
    slice_size: int = 4096,
    on_slice: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Sentence vectors, encoded a slice at a time into one array: a huge article's vectors are
    held once, not also as the encoder's list of batch outputs (``on_slice(n)`` after each slice)."""
    kw = {"worker": True} if worker else {}  # the lower-priority encoder process
    if len(texts) <= slice_size:
        out = embedder.encode(texts, batch_size=batch_size, **kw)
        if on_slice:
            on_slice(len(texts))
        return out
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    for i in range(0, len(texts), slice_size):
        out[i : i + slice_size] = embedder.encode(texts[i : i + slice_size], batch_size=batch_size, **kw)
        if on_slice:
            on_slice(len(texts[i : i + slice_size]))
    return out


def _compute_here(
    todo: list[Article],
    embedder: Embedder,
    settings: Settings,
    timings: dict[str, float],
    method: str = PER_SENTENCE,
    batch_sentences: int = 2048,
    on_embed: Callable[[int, int], None] | None = None,
) -> Iterator[list[Embedded]]:
    """The in-process engine: segments and embeds ``todo`` a group of about ``batch_sentences`` at a time
    (``on_embed(sentences embedded, sentences segmented so far)`` after each slice the encoder finishes)."""
    worker = getattr(embedder, "pools_chunks", False) and _use_worker(todo, settings)
    counts = [0, 0]  # sentences embedded, sentences to embed (known so far)

    def embedded(n: int) -> None:
        counts[0] += n
        if on_embed:
            on_embed(counts[0], counts[1])

    i = 0
    while i < len(todo):
        t = time.perf_counter()
        group, prepared, n = [], [], 0
        while i < len(todo) and (n < batch_sentences or not group):
            sents, chunks = _prepare(todo[i], settings)
            group.append(todo[i])
            prepared.append((sents, chunks))
            n += len(sents)
            i += 1
        counts[1] += n
        timings["segment"] = timings.get("segment", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        if method == POOLED:
            items = [(art.text, sents, chunks) for art, (sents, chunks) in zip(group, prepared)]
            vectors = embedder.encode_chunks(items, batch_size=32, worker=worker)
            embedded(n)
        else:
            texts = [art.text[a:b] for art, (sents, _) in zip(group, prepared) for a, b in sents]
            vecs = _encode(
                embedder,
                texts,
                settings.batch_size,
                worker,
                **({"slice_size": 256} if on_embed else {}),
                on_slice=embedded,
            )
            vectors, offset = [], 0
            for sents, chunks in prepared:
                svecs = vecs[offset : offset + len(sents)]
                offset += len(sents)
                vectors.append((svecs, chunk_vectors(svecs, sents, chunks)))
        timings["embed"] = timings.get("embed", 0.0) + time.perf_counter() - t
        yield [(art, sents, chunks, sv, cv) for art, (sents, chunks), (sv, cv) in zip(group, prepared, vectors)]


def _embed_and_store(
    todo: list[Article],
    store: Store,
    dense: DenseIndex,
    embedder: Embedder,
    settings: Settings,
    report: IngestReport,
    progress: bool,
    on_progress: Callable[[int, int], None] | None,
    method: str = PER_SENTENCE,
    batch_sentences: int = 2048,
    compute: Compute | None = None,
    on_embed: Callable[[int, int], None] | None = None,
) -> None:
    from tqdm import tqdm

    timings = report.timings
    bar = tqdm(total=len(todo), unit="article", desc="ingest", disable=not progress, leave=False)
    sentence_bar = None
    if progress and on_embed is None:  # the terminal: sentences embedded, with an ETA
        sentence_bar = tqdm(total=0, unit="sentence", desc="embedding", leave=False, position=1)

        def on_embed(done: int, total: int) -> None:
            sentence_bar.total = total
            sentence_bar.update(done - sentence_bar.n)

    if compute is None:
        groups = _compute_here(todo, embedder, settings, timings, method, batch_sentences, on_embed)
    else:
        groups = compute(todo, method)
    done = 0
    while True:
        t = time.perf_counter()
        group = next(groups, None)
        if compute is not None:  # waiting for the engine: its segmenting and embedding
            timings["embed"] = timings.get("embed", 0.0) + time.perf_counter() - t
        if group is None:
            break
        t = time.perf_counter()
        index_time = 0.0
        for art, sents, chunks, svecs, cvecs in group:
            if chunks and (cut := passages_cut(art, chunks, settings)):
                report.warnings.append(cut)
            ids = store.add_article(art, chunks, sents, svecs, quote_rows(art.text, sents))
            t_index = time.perf_counter()
            for k in range(0, len(chunks), 8192):  # a slice at a time: a huge article's vectors once
                dense.add(np.asarray(ids[k : k + 8192]), cvecs[k : k + 8192])
            index_time += time.perf_counter() - t_index
            report.chunks_added += len(chunks)
            report.sentences_embedded += len(sents)
        timings["store"] = timings.get("store", 0.0) + time.perf_counter() - t - index_time
        timings["index"] = timings.get("index", 0.0) + index_time
        done += len(group)
        bar.update(len(group))
        if on_progress:
            on_progress(done, len(todo))
    bar.close()
    if sentence_bar is not None:
        sentence_bar.close()
    if done != len(todo):
        raise IngestError(f"the ingest engine computed {done} of {len(todo)} articles; the index is unchanged")


def ingest_paths(
    index_dir: str | Path,
    paths: Iterable[str | Path],
    embedder: Embedder,
    settings: Settings | None = None,
    *,
    engine: str | None = None,
    address: str | None = None,
    **kwargs,
) -> IngestReport:
    """Read files/folders and ingest them; raises :class:`IngestError` when nothing is readable.

    ``engine`` (default ``settings.ingest_engine``, ``inprocess``): ``"ray"`` reads, chunks and embeds
    on Ray (a local one, or the cluster at ``address``, default ``settings.ray_address``); the result is
    published here exactly as in-process."""
    settings = settings or Settings.from_env()
    engine = engine or settings.ingest_engine
    if engine not in ENGINES:
        raise IngestError(f"unknown ingest engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "ray":
        from .ray_engine import RayEngine

        with RayEngine(embedder, settings, address=address or settings.ray_address) as ray_engine:
            read = read_paths(paths, read_files=ray_engine.read_files, settings=settings)
            return _ingest_read(index_dir, read, embedder, settings, compute=ray_engine.compute, **kwargs)
    return _ingest_read(index_dir, read_paths(paths, settings=settings), embedder, settings, **kwargs)


def _ingest_read(index_dir: str | Path, read, embedder: Embedder, settings: Settings, **kwargs) -> IngestReport:
    if not read.articles:
        detail = "; ".join(read.warnings[:5]) or "no files"
        raise IngestError(f"no articles could be read ({detail}). Supported: {SUPPORTED}")
    return ingest_articles(
        index_dir,
        read.articles,
        embedder,
        settings,
        warnings=read.warnings,
        origins=read.origins,
        legacy_ids=read.legacy_ids,
        **kwargs,
    )

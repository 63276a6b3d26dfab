"""Segments: the immutable parts a generation is made of (see :mod:`.generations` for the layout).

A segment folder holds its own ``store.sqlite`` (articles, chunks, sentences), ``dense.faiss``
(its chunk vectors) and ``segment.json`` (its articles' hashes and files, and the article ids it
deletes from earlier segments); BM25 is one tantivy index per generation (:mod:`.fulltext`).
Chunk ids are unique across a generation (``next_chunk_id`` in the manifest), so a chunk id names
one chunk everywhere. This module writes segments (:class:`SegmentWriter`), merges several into
one (:func:`merge_segments`) and puts loaded segments together into one view with the read
interface of a single store and FAISS index (:class:`SegmentedStore`, :class:`SegmentedDense`).

Example::

    from assistant.storage.segments import SegmentWriter
    w = SegmentWriter(Path("gen.tmp/seg-000001"), dim=384, first_chunk_id=1)
    ids = w.store.add_article(article, chunks, sentences, sentence_vectors)
    w.dense.add(np.asarray(ids), chunk_vectors)
    counts = w.finish(deletes=[], origins={})
"""

from __future__ import annotations

import heapq
import json
import re
import sqlite3
from pathlib import Path

import numpy as np

from ..records import Article, Chunk, Sentence
from .dense import DenseIndex
from .generations import SEGMENT_FILE
from .store import Store

STORE_FILE = "store.sqlite"
DENSE_FILE = "dense.faiss"
LEXICAL_DIR = "lexical"
#: Merge the newest segments while the one before them is at most this many times their size
#: (a binary-counter policy: O(log N) segments, each chunk rewritten O(log N) times in all).
MERGE_RATIO = 1.0
#: Never more segments than this after a publish.
MAX_SEGMENTS = 12
_NUMBER = re.compile(r"^gen-(\d+)$")


def segment_name(generation: str, merged: bool = False) -> str:
    """The name of the segment a generation writes (``gen-000007`` → ``seg-000007``; a merge: ``seg-000007-1``)."""
    m = _NUMBER.match(generation)
    number = m.group(1) if m else "000000"
    return f"seg-{number}" + ("-1" if merged else "")


def merge_plan(sizes: list[int], max_segments: int = MAX_SEGMENTS) -> int:
    """Where the tail of segments to merge starts (``len(sizes) - 1``: merge nothing).

    The newest segments are merged with the one before them while it is no larger than
    ``MERGE_RATIO`` times all of them together, or while there would be too many segments."""
    if len(sizes) < 2:
        return len(sizes) - 1
    start = len(sizes) - 1
    tail = sizes[start]
    while start > 0 and (sizes[start - 1] <= MERGE_RATIO * tail or start + 1 > max_segments):
        start -= 1
        tail += sizes[start]
    return start


class SegmentWriter:
    """Writes one new segment folder: add articles through :attr:`store` and :attr:`dense`, then
    :meth:`finish`. Used by every ingest engine; :func:`~assistant.ingest.pipeline.publish_segment`
    then publishes it."""

    def __init__(self, folder: Path, dim: int, first_chunk_id: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True)
        self.store = Store(self.folder / STORE_FILE, first_chunk_id=first_chunk_id)
        self.dense = DenseIndex.create(dim)

    @property
    def next_chunk_id(self) -> int:
        return int(self.store.next_chunk_id or 1)

    def finish(self, deletes: list[str], origins: dict[str, str], generation: str = "") -> dict[str, int]:
        """Write the vectors and ``segment.json``; returns the segment's counts."""
        store = self.store
        store.set_meta("generation", generation)
        store.commit()
        self.dense.optimise()  # exact search while small, IVF once large
        self.dense.save(self.folder / DENSE_FILE)
        self.dense = None  # written: its vectors need not share memory with the BM25 build
        articles = store.article_hashes()
        counts = {k: store.count(k) for k in ("articles", "chunks", "sentences")}
        store.close()
        write_record(self.folder, articles, origins, deletes)
        return counts


def write_record(folder: Path, articles: dict[str, str], origins: dict[str, str], deletes: list[str]) -> None:
    """A segment's ``segment.json``."""
    record = {"articles": articles, "origins": origins, "deletes": sorted(set(deletes))}
    (Path(folder) / SEGMENT_FILE).write_text(json.dumps(record, ensure_ascii=False, sort_keys=True), encoding="utf-8")


def read_record(folder: Path) -> dict:
    return json.loads((Path(folder) / SEGMENT_FILE).read_text(encoding="utf-8"))


def dead_chunk_ids(store: Store, dead_articles: list[str]) -> tuple[np.ndarray, int]:
    """(chunk ids, number of sentences) of the given articles in one segment's store."""
    ids: list[int] = []
    sentences = 0
    for i in range(0, len(dead_articles), 5000):
        part = dead_articles[i : i + 5000]
        ids += [r[0] for r in store._select_in("SELECT id FROM chunks WHERE article_id IN ({ids})", part)]
        sentences += int(store._select_in("SELECT COUNT(*) FROM sentences WHERE article_id IN ({ids})", part)[0][0])
    return np.asarray(sorted(ids), dtype=np.int64), sentences


def merge_segments(
    sources: list[tuple[Path, list[str]]], dest: Path, deletes: list[str], origins: dict[str, str]
) -> dict[str, int]:
    """Write segment ``dest`` holding the live rows of ``sources`` ((folder, dead article ids),
    oldest first); chunk ids are kept, so nothing is re-embedded. O(their size)."""
    dest = Path(dest)
    dest.mkdir(parents=True)
    out = Store(dest / STORE_FILE)  # creates the schema
    out.close()
    con = sqlite3.connect(dest.resolve() / STORE_FILE)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TEMP TABLE dead (id TEXT PRIMARY KEY)")
    dead_ids: list[np.ndarray] = []
    for folder, dead in sources:
        con.execute("DELETE FROM dead")
        con.executemany("INSERT OR IGNORE INTO dead VALUES (?)", ((d,) for d in dead))
        con.execute("ATTACH DATABASE ? AS src", ((Path(folder) / STORE_FILE).resolve().as_uri() + "?mode=ro",))
        con.execute("INSERT INTO articles SELECT * FROM src.articles WHERE id NOT IN (SELECT id FROM dead)")
        con.execute(
            'INSERT INTO chunks (id, article_id, position, start, "end") SELECT id, article_id, position, start, "end" '
            "FROM src.chunks WHERE article_id NOT IN (SELECT id FROM dead) ORDER BY id"
        )
        con.execute(
            'INSERT INTO sentences (article_id, start, "end", embedding) SELECT article_id, start, "end", embedding '
            "FROM src.sentences WHERE article_id NOT IN (SELECT id FROM dead) ORDER BY id"
        )
        if con.execute("SELECT 1 FROM src.sqlite_master WHERE type = 'table' AND name = 'quotes'").fetchone():
            con.execute(
                "INSERT INTO quotes SELECT * FROM src.quotes WHERE article_id NOT IN (SELECT id FROM dead) "
                "ORDER BY rowid"
            )
        else:  # a segment from before speakers were recorded: the merged one records none either
            con.execute("DROP TABLE IF EXISTS quotes")
        gone = [r[0] for r in con.execute("SELECT c.id FROM src.chunks c JOIN dead d ON c.article_id = d.id")]
        dead_ids.append(np.asarray(sorted(gone), dtype=np.int64))
        con.commit()
        con.execute("DETACH DATABASE src")
    con.commit()
    con.close()
    # Vectors: the largest source's FAISS index takes the others' live vectors (no retraining).
    sizes = [_chunk_count(Path(f)) for f, _ in sources]
    big = int(np.argmax(sizes))
    dense = DenseIndex.load(Path(sources[big][0]) / DENSE_FILE)
    dense.remove(dead_ids[big].tolist())
    for i, (folder, _) in enumerate(sources):
        if i == big:
            continue
        ids, vecs = DenseIndex.load(Path(folder) / DENSE_FILE).vectors()
        keep = ~np.isin(ids, dead_ids[i])
        dense.add(ids[keep], vecs[keep])
    dense.optimise()
    dense.save(dest / DENSE_FILE)
    del dense
    store = Store(dest / STORE_FILE, readonly=True)
    try:
        articles = store.article_hashes()
        counts = {k: store.count(k) for k in ("articles", "chunks", "sentences")}
    finally:
        store.close()
    write_record(dest, articles, origins, deletes)
    return counts


def _chunk_count(folder: Path) -> int:
    store = Store(folder / STORE_FILE, readonly=True)
    try:
        return store.count("chunks")
    finally:
        store.close()


class SegmentedDense:
    """FAISS search over several segments' indexes (deleted chunks already removed in memory):
    each is searched for ``k`` and the results merged by score (ties by chunk id)."""

    def __init__(self, parts: list[DenseIndex]) -> None:
        self.parts = parts

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    @property
    def dim(self) -> int:
        return self.parts[0].dim

    @property
    def kind(self) -> str:
        return "+".join(p.kind for p in self.parts)

    def scores_of(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The query's inner product with each of ``ids`` (NaN where no segment holds it live)."""
        out = np.full(len(ids), np.nan, dtype=np.float32)
        for part in self.parts:
            todo = np.flatnonzero(np.isnan(out))
            if not len(todo):
                break
            out[todo] = part.scores_of(vector, np.asarray(ids, np.int64)[todo])
        return out

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (ids, scores) over every segment, best first."""
        found = [p.search(vector, k) for p in self.parts]
        ids = np.concatenate([f[0] for f in found]).astype(np.int64)
        scores = np.concatenate([f[1] for f in found]).astype(np.float32)
        order = np.lexsort((ids, -scores))[:k]
        return ids[order], scores[order]


class SegmentedStore:
    """The read methods of :class:`~.store.Store` over several segments' stores, hiding the
    articles (and their chunks) that later segments deleted."""

    def __init__(self, parts: list[tuple[Store, set[str], np.ndarray]], counts: dict[str, int]) -> None:
        self.parts = parts  # (store, dead article ids, dead chunk ids)
        self._dead_chunks = [set(gone.tolist()) for _, _, gone in parts]
        self._counts = counts
        self._holders: dict[str, Store | None] = {}
        self.readonly = True
        self.path = parts[-1][0].path if parts else Path()

    def _holder(self, article_id: str) -> Store | None:
        """The store of the segment where the article is live (None: nowhere)."""
        if article_id in self._holders:
            return self._holders[article_id]
        found = None
        for store, dead, _ in reversed(self.parts):
            if (
                article_id not in dead
                and store.connect().execute("SELECT 1 FROM articles WHERE id = ?", (article_id,)).fetchone()
            ):
                found = store
                break
        if len(self._holders) > 100_000:
            self._holders.clear()
        self._holders[article_id] = found
        return found

    def close(self) -> None:
        for store, _, _ in self.parts:
            store.close()

    def count(self, table: str) -> int:
        assert table in {"articles", "chunks", "sentences"}
        return self._counts[table]

    def article_hashes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for store, dead, _ in self.parts:
            out.update({k: v for k, v in store.article_hashes().items() if k not in dead})
        return out

    def article(self, article_id: str) -> Article | None:
        store = self._holder(article_id)
        return store.article(article_id) if store is not None else None

    def article_text(self, article_id: str) -> str:
        store = self._holder(article_id)
        return store.article_text(article_id) if store is not None else ""

    def articles(self) -> list[Article]:
        out = [a for store, dead, _ in self.parts for a in store.articles() if a.id not in dead]
        return sorted(out, key=lambda a: (a.title, a.id))

    def article_meta(self, ids: list[str]) -> dict[str, tuple[str, str, str, str]]:
        out: dict[str, tuple[str, str, str, str]] = {}
        for store, dead, _ in self.parts:
            out.update(store.article_meta([i for i in ids if i not in dead]))
        return out

    def chunks(self, ids: list[int]) -> dict[int, Chunk]:
        out: dict[int, Chunk] = {}
        for store, dead, _ in self.parts:
            out.update({k: c for k, c in store.chunks(ids).items() if c.article_id not in dead})
        return out

    def article_chunks(self, article_id: str) -> list[Chunk]:
        store = self._holder(article_id)
        return store.article_chunks(article_id) if store is not None else []

    def chunk_sentence_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for (store, _, _), gone in zip(self.parts, self._dead_chunks):
            out.update({k: v for k, v in store.chunk_sentence_vectors(ids).items() if k not in gone})
        return out

    def iter_chunk_texts(self, batch: int = 10_000):
        """(chunk id, title + text) of every live chunk, in id order."""

        def live(store: Store, dead: set[int]):
            return ((cid, text) for cid, text in store.iter_chunk_texts(batch) if cid not in dead)

        parts = [live(store, dead) for (store, _, _), dead in zip(self.parts, self._dead_chunks)]
        yield from heapq.merge(*parts, key=lambda x: x[0])

    def quotes_in(self, article_id: str) -> list[tuple[int, int, str, bool]] | None:
        store = self._holder(article_id)
        return store.quotes_in(article_id) if store is not None else None

    def quoted_by(self, key: str) -> list[tuple[str, str]] | None:
        """As :meth:`Store.quoted_by`, live articles only (None when a segment records no speakers)."""
        found = [(store.quoted_by(key), dead) for store, dead, _ in self.parts]
        if any(rows is None for rows, _ in found):
            return None
        return [(aid, who) for rows, dead in found for aid, who in rows if aid not in dead]

    def sentences_in(self, article_id: str, start: int, end: int) -> list[tuple[Sentence, np.ndarray | None]]:
        store = self._holder(article_id)
        return store.sentences_in(article_id, start, end) if store is not None else []

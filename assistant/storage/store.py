"""The article/chunk/sentence store: one SQLite file per segment of an index generation.

Chunk and sentence text is not duplicated: it is ``article.text[start:end]``.
Sentence embeddings (float16) are kept beside each sentence for the answerer, and each sentence's
speaker (``quotes``: who says it, found at ingest) for lookups by speaker. A store written before
speakers were recorded has no ``quotes`` table: its lookups answer None and the caller attributes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..records import Article, Chunk, Sentence

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, author TEXT NOT NULL, date TEXT NOT NULL,
    source TEXT NOT NULL, text TEXT NOT NULL, content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, position INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS sentences_article ON sentences(article_id, start);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
#: Speakers of sentences, made with a new store only: one holding articles from before has none.
QUOTES_SCHEMA = """
CREATE TABLE IF NOT EXISTS quotes (
    article_id TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    speaker TEXT NOT NULL, speaker_key TEXT NOT NULL, quoted INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quotes_speaker ON quotes(speaker_key, article_id);
CREATE INDEX IF NOT EXISTS quotes_article ON quotes(article_id, start);
"""


class Store:
    """Read/write access to one ``store.sqlite``. Reads are safe from several threads."""

    def __init__(self, path: Path, readonly: bool = False, first_chunk_id: int | None = None) -> None:
        self.path = Path(path)
        self.readonly = readonly
        #: With segments, chunk ids are unique across a generation: a new segment numbers its chunks
        #: from ``first_chunk_id`` on (None: SQLite's next row id).
        self.next_chunk_id = first_chunk_id
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []  # every thread's, so close() closes all
        self._epoch = 0
        self._text_cache: dict[str, str] = {}
        self._cache_lock = threading.Lock()
        # A read-only generation never changes: the sentences of recently used chunks are kept
        # (the same passages come back for related questions).
        self._sentence_cache: OrderedDict[tuple[str, int, int], list] = OrderedDict()
        self.sentence_cache_size = 4096 if readonly else 0
        self._has_quotes: bool | None = None
        if not readonly:
            with self.connect() as con:
                con.executescript(SCHEMA)
                if not con.execute("SELECT 1 FROM articles LIMIT 1").fetchone():
                    con.executescript(QUOTES_SCHEMA)

    def connect(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is not None and getattr(self._local, "epoch", -1) != self._epoch:
            con = None  # closed by close() from another thread
        if con is None:
            if self.readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"  # as_uri escapes ? # % in the path
                con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                con = sqlite3.connect(self.path, check_same_thread=False)
                con.execute("PRAGMA journal_mode=DELETE")
                con.execute("PRAGMA synchronous=FULL")
            self._local.con = con
            self._local.epoch = self._epoch
            with self._cache_lock:
                self._connections.append(con)
        return con

    def close(self) -> None:
        """Close the connections of every thread (a store is closed when its generation is let
        go: no file of a deleted generation stays open)."""
        with self._cache_lock:
            cons, self._connections = self._connections, []
            self._epoch += 1
        for con in cons:
            try:
                con.close()
            except sqlite3.Error:  # pragma: no cover - closing twice
                pass
        self._local.con = None

    # --- articles -----------------------------------------------------------------
    def article_hashes(self) -> dict[str, str]:
        return dict(self.connect().execute("SELECT id, content_hash FROM articles"))

    def article(self, article_id: str) -> Article | None:
        row = (
            self.connect()
            .execute(
                "SELECT id, title, text, source, author, date, content_hash FROM articles WHERE id = ?", (article_id,)
            )
            .fetchone()
        )
        return Article(*row) if row else None

    def article_text(self, article_id: str) -> str:
        with self._cache_lock:
            hit = self._text_cache.get(article_id)
        if hit is not None:
            return hit
        row = self.connect().execute("SELECT text FROM articles WHERE id = ?", (article_id,)).fetchone()
        text = row[0] if row else ""
        with self._cache_lock:
            if len(self._text_cache) > 2048:
                self._text_cache.clear()
            self._text_cache[article_id] = text
        return text

    def articles(self) -> list[Article]:
        rows = self.connect().execute(
            "SELECT id, title, '' , source, author, date, content_hash FROM articles ORDER BY title, id"
        )
        return [Article(*r) for r in rows]

    def article_meta(self, ids: list[str]) -> dict[str, tuple[str, str, str, str]]:
        """id → (title, author, date, source)."""
        if not ids:
            return {}
        rows = self._select_in("SELECT id, title, author, date, source FROM articles WHERE id IN ({ids})", ids)
        return {r[0]: tuple(r[1:]) for r in rows}

    def _select_in(self, sql: str, ids: list) -> list[tuple]:
        """Rows of ``sql`` whose ``{ids}`` placeholder becomes one bound parameter per id."""
        params = [int(i) if isinstance(i, (int, np.integer)) else i for i in ids]
        return self.connect().execute(sql.format(ids=",".join("?" * len(params))), params).fetchall()

    def count(self, table: str) -> int:
        assert table in {"articles", "chunks", "sentences"}
        return int(self.connect().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def add_article(
        self,
        article: Article,
        chunks: list[tuple[int, int]],
        sentences: list[tuple[int, int]],
        sentence_vectors: np.ndarray | None,
        quotes: list[tuple[int, int, str, str, bool]] | None = None,
    ) -> list[int]:
        """Insert an article with its chunks, sentences and speakers (``quotes``: ``(start, end,
        speaker, speaker key, quoted)`` of each sentence that has one); returns the new chunk ids."""
        con = self.connect()
        con.execute(
            "INSERT INTO articles (id, title, author, date, source, text, content_hash) VALUES (?,?,?,?,?,?,?)",
            (
                article.id,
                article.title,
                article.author,
                article.date,
                article.source,
                article.text,
                article.content_hash,
            ),
        )
        ids = []
        for pos, (a, b) in enumerate(chunks):
            cur = con.execute(
                'INSERT INTO chunks (id, article_id, position, start, "end") VALUES (?,?,?,?,?)',
                (self.next_chunk_id, article.id, pos, a, b),
            )
            ids.append(int(cur.lastrowid))
            if self.next_chunk_id is not None:
                self.next_chunk_id += 1
        vecs = sentence_vectors
        con.executemany(  # rows made one at a time: a huge article's rows are never all in memory
            'INSERT INTO sentences (article_id, start, "end", embedding) VALUES (?,?,?,?)',
            (
                (article.id, a, b, vecs[i].astype(np.float16).tobytes() if vecs is not None else None)
                for i, (a, b) in enumerate(sentences)
            ),
        )
        if quotes and self.has_quotes:
            con.executemany(
                'INSERT INTO quotes (article_id, start, "end", speaker, speaker_key, quoted) VALUES (?,?,?,?,?,?)',
                ((article.id, a, b, who, key, int(q)) for a, b, who, key, q in quotes),
            )
        return ids

    def commit(self) -> None:
        self.connect().commit()

    # --- chunks and sentences -----------------------------------------------------
    def chunks(self, ids: list[int]) -> dict[int, Chunk]:
        if not ids:
            return {}
        rows = self._select_in('SELECT id, article_id, start, "end", position FROM chunks WHERE id IN ({ids})', ids)
        out = {}
        for cid, aid, a, b, pos in rows:
            out[cid] = Chunk(cid, aid, a, b, self.article_text(aid)[a:b], pos)
        return out

    def article_chunks(self, article_id: str) -> list[Chunk]:
        """The chunks of one article, in reading order (reading a whole story)."""
        rows = (
            self.connect()
            .execute(
                'SELECT id, start, "end", position FROM chunks WHERE article_id = ? ORDER BY position', (article_id,)
            )
            .fetchall()
        )
        text = self.article_text(article_id)
        return [Chunk(cid, article_id, a, b, text[a:b], pos) for cid, a, b, pos in rows]

    def iter_chunk_texts(self, batch: int = 10_000):
        """(chunk id, title + text) for every chunk, in id order: what BM25 indexes."""
        con = self.connect()
        last = -1
        # Slice in Python, one article fetched at a time (an article's chunks have consecutive
        # ids): SQLite's substr() walks the text from its start, quadratic in a long article.
        current: tuple[str, str, str] = ("", "", "")
        while True:
            rows = con.execute(
                'SELECT id, article_id, start, "end" FROM chunks WHERE id > ? ORDER BY id LIMIT ?', (last, batch)
            ).fetchall()
            if not rows:
                return
            for cid, aid, a, b in rows:
                if aid != current[0]:
                    row = con.execute("SELECT title, text FROM articles WHERE id = ?", (aid,)).fetchone()
                    current = (aid, *(row or ("", "")))
                yield cid, f"{current[1]}\n{current[2][a:b]}"
            last = rows[-1][0]

    def sentences_in(self, article_id: str, start: int, end: int) -> list[tuple[Sentence, np.ndarray | None]]:
        """Sentences inside ``[start, end)`` of an article, with their embeddings (cached when read-only)."""
        key = (article_id, start, end)
        if self.sentence_cache_size:
            with self._cache_lock:
                hit = self._sentence_cache.get(key)
                if hit is not None:
                    self._sentence_cache.move_to_end(key)
                    return hit
        out = self._sentences_in(article_id, start, end)
        if self.sentence_cache_size:
            with self._cache_lock:
                self._sentence_cache[key] = out
                while len(self._sentence_cache) > self.sentence_cache_size:
                    self._sentence_cache.popitem(last=False)
        return out

    def chunk_sentence_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """Chunk id → its sentences' embeddings (float16, one row per sentence), in one query."""
        if not ids:
            return {}
        rows = self._select_in(
            "SELECT c.id, s.embedding FROM chunks c JOIN sentences s ON s.article_id = c.article_id "
            'AND s.start >= c.start AND s."end" <= c."end" WHERE c.id IN ({ids}) ORDER BY c.id, s.start',
            ids,
        )
        rows = [(cid, blob) for cid, blob in rows if blob]
        if not rows:
            return {}
        flat = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float16).reshape(len(rows), -1)
        out: dict[int, np.ndarray] = {}
        first = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i][0] != rows[first][0]:
                out[rows[first][0]] = flat[first:i]
                first = i
        return out

    def _sentences_in(self, article_id: str, start: int, end: int) -> list[tuple[Sentence, np.ndarray | None]]:
        rows = (
            self.connect()
            .execute(
                'SELECT start, "end", embedding FROM sentences WHERE article_id = ? AND start >= ? AND "end" <= ? '
                "ORDER BY start",
                (article_id, start, end),
            )
            .fetchall()
        )
        text = self.article_text(article_id)
        out = []
        blobs = [blob for _, _, blob in rows if blob]
        vecs = iter(
            np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32) if blobs else ()
        )
        for a, b, blob in rows:
            out.append((Sentence(article_id, a, b, text[a:b]), next(vecs) if blob else None))
        return out

    # --- speakers -------------------------------------------------------------------
    @property
    def has_quotes(self) -> bool:
        """Whether this store records its sentences' speakers (stores made before it do not)."""
        if self._has_quotes is None:
            row = self.connect().execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'quotes'")
            self._has_quotes = row.fetchone() is not None
        return self._has_quotes

    def quotes_in(self, article_id: str) -> list[tuple[int, int, str, bool]] | None:
        """``(start, end, speaker, quoted)`` of an article's sentences that have a speaker, in order;
        None when this store does not record speakers."""
        if not self.has_quotes:
            return None
        rows = self.connect().execute(
            'SELECT start, "end", speaker, quoted FROM quotes WHERE article_id = ? ORDER BY start', (article_id,)
        )
        return [(a, b, who, bool(q)) for a, b, who, q in rows]

    def quoted_by(self, key: str) -> list[tuple[str, str]] | None:
        """``(article id, name as written)`` of each quoted sentence of a speaker, by
        :func:`~assistant.ingest.quotes.speaker_key`; None when this store does not record speakers."""
        if not self.has_quotes:
            return None
        sql = "SELECT article_id, speaker FROM quotes WHERE speaker_key = ? AND quoted = 1"
        return self.connect().execute(sql, (key,)).fetchall()

    def set_meta(self, key: str, value: str) -> None:
        self.connect().execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

"""BM25 on tantivy: an inverted index on disk (memory-mapped, block-max WAND top-k), built and
searched with the same tokens as :func:`assistant.terms.content_terms`.

Chunk texts are tokenised inside tantivy (words of letters and digits, lower-cased, the project's
stopword list, the Snowball English stemmer), so building never runs Python per word; queries arrive
as stemmed terms (``content_terms``, possibly repeated to weigh them) and are matched as exact terms,
a repeated term counting again. The one difference: tantivy splits words at apostrophes
("o'brien" → "o", "brien"; "Russia's" → "russia" and the stopword "s", as ``content_terms`` gives
"russia"), so a query term holding one is split the same way.

Example::

    from assistant.storage.fulltext import FullText
    ft = FullText.build([(1, "Nauru recognized Abkhazia"), (2, "Paris is in France")], Path("lex"))
    ids, scores = ft.search_terms(content_terms("Which states recognize Abkhazia?"), k=1)   # → [1], [...]
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..terms import STOPWORDS

FORMAT = "tantivy-bm25-v1"
ANALYZER = "content_terms"
WRITER_HEAP = 128 * 1024 * 1024
#: A ``meta.json`` larger than this is refused unread (a real one is ~200 bytes per tantivy segment).
MAX_META_BYTES = 16 * 2**20
_FIELDS = [("id", "u64"), ("text", "text")]


def _tantivy():
    import tantivy

    return tantivy


def analyzer():
    """tantivy's analyzer for chunk texts (what ``content_terms`` does, in Rust)."""
    tv = _tantivy()
    return (
        tv.TextAnalyzerBuilder(tv.Tokenizer.simple())
        .filter(tv.Filter.lowercase())
        .filter(tv.Filter.custom_stopword(sorted(STOPWORDS)))
        .filter(tv.Filter.stemmer("english"))
        .build()
    )


@lru_cache(maxsize=1)
def _analyzer():
    return analyzer()


def schema():
    """Chunk id (a fast field) and text (term frequencies, no positions)."""
    sb = _tantivy().SchemaBuilder()
    sb.add_unsigned_field("id", indexed=True, fast=True)
    sb.add_text_field("text", tokenizer_name=ANALYZER, index_option="freq")
    return sb.build()


class FullText:
    """A tantivy BM25 index of (chunk id, title + text) documents in one folder."""

    def __init__(self, index) -> None:
        self.index = index
        self.schema = index.schema
        self.searcher = index.searcher()
        self._links: tempfile.TemporaryDirectory | None = None

    @classmethod
    def open(cls, folder: Path) -> FullText:
        """Open for searching. tantivy takes a lock file in the folder even to read; in a folder this
        process cannot write (a read-only mount, another user's index) it opens a folder of links to
        the same files instead, made in the temporary directory and removed with this object."""
        tv = _tantivy()
        links = None
        try:
            index = tv.Index.open(str(folder))
        except ValueError as exc:
            if "lockfile" not in str(exc).lower():
                raise
            links = tempfile.TemporaryDirectory(prefix="assistant-lexical-")
            for f in Path(folder).iterdir():
                if not f.name.endswith(".lock"):
                    os.symlink(f.resolve(), Path(links.name) / f.name)
            index = tv.Index.open(links.name)
        index.register_tokenizer(ANALYZER, analyzer())
        out = cls(index)
        out._links = links  # kept as long as the index is open
        return out

    @classmethod
    def build(
        cls, items: Iterable[tuple[int, str]], folder: Path, threads: int = 1, heap: int = WRITER_HEAP
    ) -> FullText:
        """A new index in ``folder`` (created) of ``items``; one commit, merged by tantivy's policy."""
        tv = _tantivy()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        index = tv.Index(schema(), path=str(folder), reuse=False)
        index.register_tokenizer(ANALYZER, analyzer())
        writer = index.writer(heap, threads)
        return cls._commit(tv, index, writer, items, folder)

    @classmethod
    def derive(
        cls, source: Path, folder: Path, remove: Iterable[int], items: Iterable[tuple[int, str]], threads: int = 1
    ) -> FullText:
        """A new index in ``folder`` (created): ``source``'s documents without the chunk ids ``remove``, plus
        ``items``. ``source``'s files are hard-linked, not copied, and never written: tantivy creates every
        data file new and replaces its ``meta.json`` by a rename, so ``source`` stays a valid index whatever
        happens to this call (the way one generation's BM25 would become the next one's)."""
        tv = _tantivy()
        source, folder = Path(source), Path(folder)
        folder.mkdir(parents=True)
        for f in source.iterdir():
            if f.is_file() and not f.name.startswith(".tantivy-"):  # lock files: each index its own
                os.link(f, folder / f.name)
        index = tv.Index.open(str(folder))
        index.register_tokenizer(ANALYZER, analyzer())
        writer = index.writer(WRITER_HEAP, threads)
        gone = [int(c) for c in remove]
        for a in range(0, len(gone), 10_000):  # (a term of the u64 field; delete_documents_by_term makes an i64 one)
            writer.delete_documents_by_query(tv.Query.term_set_query(index.schema, "id", gone[a : a + 10_000]))
        return cls._commit(tv, index, writer, items, folder)

    @classmethod
    def _commit(cls, tv, index, writer, items: Iterable[tuple[int, str]], folder: Path) -> FullText:
        """Add ``items`` (chunk id, text), commit, wait for merges and open the result. tantivy writes its
        ``meta.json`` and ``.managed.json`` readable by their owner only: they get its data files' mode,
        so whoever may read the index (another user serving it) can open it."""
        for cid, text in items:
            doc = tv.Document()
            doc.add_unsigned("id", int(cid))
            doc.add_text("text", text)
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        data = next((f for f in folder.iterdir() if f.suffix == ".idx"), None)
        for name in ("meta.json", ".managed.json"):
            if data is not None and (folder / name).exists():
                os.chmod(folder / name, data.stat().st_mode & 0o666)
        index.reload()
        return cls(index)

    def __len__(self) -> int:
        return int(self.searcher.num_docs)

    def problem(self, folder: Path, docs: int) -> str | None:
        """What is wrong with the index in ``folder`` (opened as this one) for ``docs`` live chunks, or None:
        its ``meta.json`` must hold this schema and segment counts adding up to ``docs`` (values tantivy
        trusts; a wrong one panics inside a query, not at load)."""
        path = Path(folder) / "meta.json"
        if path.stat().st_size > MAX_META_BYTES:
            return "BM25's meta.json is too large"
        meta = json.loads(path.read_text(encoding="utf-8"))
        fields = [(f.get("name"), f.get("type")) for f in meta.get("schema", []) if isinstance(f, dict)]
        text = [f for f in meta.get("schema", []) if isinstance(f, dict) and f.get("name") == "text"]
        if fields != _FIELDS or text[0].get("options", {}).get("indexing", {}).get("tokenizer") != ANALYZER:
            return "BM25's schema is not this assistant's"
        live = 0
        for seg in meta.get("segments", []):
            n, dels = seg.get("max_doc"), (seg.get("deletes") or {}).get("num_deleted_docs", 0)
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (n, dels)) or dels > n:
                return "BM25's segment counts are not whole numbers"
            live += n - dels
        if not live == len(self) == docs:
            return f"BM25 holds {len(self)} chunks ({live} by its segment list), the manifest says {docs}"
        return None

    def df(self, term: str) -> int:
        """Documents holding the stemmed ``term``."""
        return int(self.searcher.doc_freq("text", term)) if term else 0

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency of a stemmed term (high for unseen terms)."""
        n, df = max(len(self), 1), self.df(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def _query(self, terms: list[str]):
        tv = _tantivy()
        counts = Counter(p for t in terms if t for p in (_analyzer().analyze(t) if not t.isalnum() else [t]))
        if not counts:
            return None
        clauses = []
        for term, c in counts.items():
            q = tv.Query.term_query(self.schema, "text", term, index_option="freq")
            clauses.append((tv.Occur.Should, q if c == 1 else tv.Query.boost_query(q, float(c))))
        return tv.Query.boolean_query(clauses)

    def _run(self, query, k: int) -> tuple[np.ndarray, np.ndarray]:
        hits = self.searcher.search(query, limit=k, count=False).hits
        if not hits:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ids = self.searcher.fast_field_values("id", [a for _, a in hits])
        scores = np.array([s for s, _ in hits], dtype=np.float32)
        order = np.lexsort((np.asarray(ids, np.int64), -scores))  # ties by chunk id
        return np.asarray(ids, np.int64)[order], scores[order]

    def search_terms(self, terms: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (chunk ids, BM25 scores) for stemmed terms, best first; zero scores dropped."""
        query = self._query(terms)
        if query is None or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self._run(query, k)

    def scores_of_terms(self, terms: list[str], chunk_ids: np.ndarray) -> np.ndarray:
        """The BM25 score of each of ``chunk_ids`` for ``terms`` (0 where none matches)."""
        tv = _tantivy()
        out = np.zeros(len(chunk_ids), np.float32)
        query = self._query(terms)
        if query is None or not len(chunk_ids):
            return out
        # One term query per id (a term-set query on 50 ids was 3x slower); it adds nothing to the score.
        ids_q = [(tv.Occur.Should, tv.Query.term_query(self.schema, "id", int(i))) for i in chunk_ids]
        only = tv.Query.const_score_query(tv.Query.boolean_query(ids_q), 0.0)
        ids, scores = self._run(tv.Query.boolean_query([(tv.Occur.Must, query), (tv.Occur.Must, only)]), len(chunk_ids))
        found = dict(zip(ids.tolist(), scores.tolist()))
        return np.array([found.get(int(c), 0.0) for c in chunk_ids], np.float32)


class LexicalQuery:
    """The stemmed terms of one query: what :meth:`FullTextView.all_scores` hands to ``top`` and
    ``scores_of`` (tantivy scores only the documents asked for, never every chunk)."""

    def __init__(self, terms: list[str]) -> None:
        self.terms = terms


class FullTextView:
    """A :class:`FullText` index behind the query methods hybrid retrieval calls on a lexical index
    (``all_scores`` → ``top`` / ``scores_of``, ``idf``, ``len``)."""

    def __init__(self, fulltext: FullText) -> None:
        self.fulltext = fulltext
        self._idf: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self.fulltext)

    def idf(self, term: str) -> float:
        """The term's BM25 idf (remembered: answering asks for the same terms many times)."""
        value = self._idf.get(term)
        if value is None:
            if len(self._idf) > 100_000:
                self._idf.clear()
            value = self._idf[term] = self.fulltext.idf(term)
        return value

    def all_scores(self, terms: list[str]) -> LexicalQuery | None:
        """The query, or None when no term is in the index."""
        terms = [t for t in terms if t]
        return LexicalQuery(terms) if terms and len(self.fulltext) else None

    def top(self, query: LexicalQuery | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        if query is None or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self.fulltext.search_terms(query.terms, k)

    def scores_of(self, chunk_ids: np.ndarray, query: LexicalQuery | None) -> np.ndarray:
        if query is None:
            return np.zeros(len(chunk_ids), np.float32)
        return self.fulltext.scores_of_terms(query.terms, np.asarray(chunk_ids, np.int64))

    def search_terms(self, terms: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.fulltext.search_terms(terms, k)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        from ..terms import content_terms

        return self.fulltext.search_terms(content_terms(query), k)

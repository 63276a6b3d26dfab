"""BM25 search over chunk texts (title + text) with bm25s and a Snowball stemmer.

bm25s builds the index; a saved index is read back by :class:`SavedBM25` with NumPy alone,
so answering questions never imports bm25s or SciPy (a quarter of a new process's start-up).

Example::

    from assistant.storage.lexical import LexicalIndex
    idx = LexicalIndex.build([(1, "Nauru recognized Abkhazia"), (2, "Paris is in France")])
    ids, scores = idx.search("Which states recognize Abkhazia?", k=1)   # → [1], [...]
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ..terms import content_terms, content_terms_batch

_SCORE_FILES = ("data", "indices", "indptr")


def load_npy(path: Path, kind: str, ndim: int = 1, mmap: bool = False) -> np.ndarray:
    """A ``.npy`` array of dtype kind(s) ``kind`` ("f", "iu") and ``ndim`` dimensions, its header
    checked against the file's size before anything is allocated; never unpickled. ``mmap``: mapped
    read-only rather than read (for files written once and never changed in place)."""
    from numpy.lib import format as npy

    with open(path, "rb") as fh:
        version = npy.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy.read_array_header_2_0(fh)
        else:  # pragma: no cover - numpy raises first
            raise ValueError(f"{path.name}: unknown .npy version {version}")
        header = fh.tell()
    size = os.path.getsize(path)
    if dtype.hasobject or dtype.kind not in kind or len(shape) != ndim:
        raise ValueError(f"{path.name}: expected a {ndim}-D array of kind {kind!r}, found {dtype} {shape}")
    if math.prod(shape) * dtype.itemsize != size - header:
        raise ValueError(f"{path.name}: its header does not match its size")
    return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)


def numbered_terms(
    items: Iterable[tuple[int, str]], vocab: dict[str, int], batch: int = 20_000
) -> Iterator[tuple[int, list[int]]]:
    """(chunk id, its content terms as numbers in ``vocab``) for each item, tokenised ``batch`` at a time.

    Terms become numbers at once (one int object per distinct term, shared): a 50 MB article's 17M
    term occurrences are not also held as strings. An empty chunk still counts one term (NUL), so
    document numbering and lengths match the bm25s index."""
    buf: list[tuple[int, str]] = []

    def flush() -> Iterator[tuple[int, list[int]]]:
        for (cid, _), terms in zip(buf, content_terms_batch([t for _, t in buf]), strict=True):
            yield cid, [vocab.setdefault(t, len(vocab)) for t in terms or ["\x00"]]

    for item in items:
        buf.append(item)
        if len(buf) >= batch:
            yield from flush()
            buf = []
    yield from flush()


class SavedBM25:
    """A bm25s index as saved on disk (precomputed per-term scores in CSC form), read and
    scored with NumPy: the subset of ``bm25s.BM25`` the assistant uses to answer. Read-only:
    an index is saved once, right after :meth:`LexicalIndex.build`."""

    def __init__(self, params: dict, vocab_dict: dict[str, int], scores: dict) -> None:
        self.params = params
        self.vocab_dict = vocab_dict
        self.scores = scores

    @classmethod
    def load(cls, folder: Path) -> SavedBM25:
        """Read a saved index, checking every value before it is trusted: array shapes and
        dtypes, offsets within bounds, ``num_docs``; a violation is a ``ValueError``."""
        folder = Path(folder)
        params = json.loads((folder / "params.index.json").read_text())
        if not isinstance(params, dict):
            raise ValueError("BM25 parameters are not an object")
        method = params.get("method", "lucene")
        if method not in ("lucene", "robertson", "atire"):  # BM25L/BM25+ add non-occurrence scores
            raise ValueError(f"unsupported BM25 variant {str(method)[:40]!r} in {folder}")
        if params.get("dtype", "float32") not in ("float32", "float64", "float16"):
            raise ValueError("BM25 scores have an unsupported dtype")
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        scores: dict = {
            k: load_npy(folder / f"{k}.csc.index.npy", kind="f" if k == "data" else "iu") for k in _SCORE_FILES
        }
        num_docs = params.get("num_docs")
        if not isinstance(num_docs, int) or isinstance(num_docs, bool) or num_docs < 0:
            raise ValueError("BM25 num_docs is not a count")
        scores["num_docs"] = num_docs
        data, indices, indptr = (scores[k] for k in _SCORE_FILES)
        if len(indptr) < 1 or len(data) != len(indices) or int(indptr[0]) != 0 or int(indptr[-1]) != len(data):
            raise ValueError("BM25 score arrays disagree in length")
        if len(indptr) > 1 and np.any(np.diff(indptr.astype(np.int64)) < 0):
            raise ValueError("BM25 term offsets are not in order")
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= num_docs):
            raise ValueError("BM25 document numbers are out of range")
        if not isinstance(vocab, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v for v in vocab.values()
        ):
            raise ValueError("BM25 vocabulary is not a mapping of terms to numbers")
        return cls(params, vocab, scores)

    def get_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every document for ``terms`` (each must be in ``vocab_dict``), as
        ``bm25s.BM25.get_scores`` computes it: the terms' precomputed scores summed per document."""
        data, indices, indptr = (self.scores[k] for k in _SCORE_FILES)
        out = np.zeros(self.scores["num_docs"], dtype=np.dtype(self.params.get("dtype", "float32")))
        for t in terms:
            i = self.vocab_dict[t]
            if i + 1 >= len(indptr):  # in the vocabulary but in no document ("")
                continue
            np.add.at(out, indices[indptr[i] : indptr[i + 1]], data[indptr[i] : indptr[i + 1]])
        return out


class LexicalIndex:
    """An immutable BM25 index; rebuilt from the store when the corpus changes."""

    def __init__(self, bm25, ids: np.ndarray) -> None:
        self.bm25 = bm25
        self.ids = ids

    @classmethod
    def build(cls, items: Iterable[tuple[int, str]], batch: int = 20_000) -> LexicalIndex:
        import bm25s

        ids: list[int] = []
        docs: list[list[int]] = []  # each chunk's terms as vocabulary numbers
        vocab: dict[str, int] = {}  # term → number, in order of first use
        for cid, numbers in numbered_terms(items, vocab, batch):
            ids.append(cid)
            docs.append(numbers)
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        if docs:
            # An empty chunk still needs a term (NUL) so document numbering stays aligned.
            bm25.index((docs, vocab), show_progress=False)
        return cls(bm25, np.asarray(ids, dtype=np.int64))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        folder = Path(folder)
        ids = load_npy(folder / "ids.npy", kind="iu")
        if len(ids) == 0:
            return cls(SavedBM25({}, {}, {}), ids)
        bm25 = SavedBM25.load(folder)
        if bm25.scores["num_docs"] != len(ids):
            raise ValueError(f"BM25 counts {bm25.scores['num_docs']} documents, its ids {len(ids)}")
        return cls(bm25, ids)

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "ids.npy", self.ids, allow_pickle=False)
        if len(self.ids):
            self.bm25.save(str(folder), allow_pickle=False)
        (folder / "lexical.json").write_text(json.dumps({"documents": int(len(self.ids))}))

    def __len__(self) -> int:
        return int(len(self.ids))

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency of a stemmed term (high for unseen terms)."""
        df_map = self.__dict__.get("_df")
        if df_map is None:
            df_map = {}
            vocab = getattr(self.bm25, "vocab_dict", None) or {}
            if vocab and getattr(self.bm25, "scores", None):
                df = np.diff(np.asarray(self.bm25.scores["indptr"]))
                df_map = {t: int(df[i]) for t, i in vocab.items() if i < len(df)}
            self._df = df_map
        n = max(len(self.ids), 1)
        df = df_map.get(term, 0)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (chunk ids, BM25 scores) for a query, best first; zero scores dropped."""
        return self.search_terms(content_terms(query), k)

    def search_terms(self, terms: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (chunk ids, BM25 scores) for stemmed terms, best first; zero scores dropped."""
        return self.top(self.all_scores(terms), k)

    def all_scores(self, terms: list[str]) -> np.ndarray | None:
        """The BM25 score of every document (row order of ``self.ids``); None when no term is known."""
        vocab = getattr(self.bm25, "vocab_dict", None) or {}
        terms = [t for t in terms if t and t in vocab]  # bm25s keeps "" in its vocabulary, unindexed
        if not terms or len(self.ids) == 0:
            return None
        return np.asarray(self.bm25.get_scores(terms), dtype=np.float32)

    def top(self, scores: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (chunk ids, scores) of :meth:`all_scores` output, by a partial sort
        (2-3x faster than bm25s.retrieve for one query); zero scores dropped."""
        k = min(k, 0 if scores is None else len(scores))
        if scores is None or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        top = top[scores[top] > 0]
        return self.ids[top], scores[top]

    def scores_of(self, chunk_ids: np.ndarray, scores: np.ndarray | None) -> np.ndarray:
        """The entries of :meth:`all_scores` output for given chunk ids (0 for unknown ids)."""
        if scores is None or len(self.ids) == 0:
            return np.zeros(len(chunk_ids), dtype=np.float32)
        order = self.__dict__.get("_order")
        if order is None:  # rows are in chunk-id order after a build; do not rely on it
            order = np.argsort(self.ids, kind="stable")
            self._order = order
        sorted_ids = self.ids[order]
        at = order[np.clip(np.searchsorted(sorted_ids, chunk_ids), 0, len(self.ids) - 1)]
        return np.where(self.ids[at] == chunk_ids, scores[at], 0.0).astype(np.float32)


# --- per-segment postings (index format 2) ------------------------------------------------------
K1, B = 1.2, 0.75  # what LexicalIndex.build gives bm25s (method "lucene", float32 scores)
POSTINGS_FORMAT = "bm25-postings-v1"
_POSTINGS_ARRAYS = {"ids": "iu", "lengths": "iu", "indptr": "iu", "rows": "iu", "tfs": "iu"}


class Postings:
    """One segment's BM25 postings: for every term the rows (chunks) holding it and how often,
    and every row's length. Nothing depends on the rest of the collection, so a segment is
    written once and never changes; scores come from collection-wide statistics at query time
    (:class:`SegmentedLexical`)."""

    def __init__(
        self, ids: np.ndarray, lengths: np.ndarray, terms: list[str], indptr: np.ndarray, rows: np.ndarray, tfs
    ) -> None:
        self.ids, self.lengths, self.terms = ids, lengths, terms
        self.indptr, self.rows, self.tfs = indptr, rows, tfs
        self.vocab = {t: i for i, t in enumerate(terms)}

    def __len__(self) -> int:
        return int(len(self.ids))

    @classmethod
    def build(cls, items: Iterable[tuple[int, str]], batch: int = 20_000) -> Postings:
        """Postings of (chunk id, title + text) items, tokenised as :meth:`LexicalIndex.build` does."""
        ids: list[int] = []
        vocab: dict[str, int] = {}
        doc_terms: list[np.ndarray] = []
        for cid, numbers in numbered_terms(items, vocab, batch):
            ids.append(cid)
            doc_terms.append(np.array(numbers, dtype=np.int64))
        lengths = np.array([len(d) for d in doc_terms], dtype=np.int32)
        terms = sorted(vocab, key=vocab.__getitem__)
        if not doc_terms:
            return cls(
                np.zeros(0, np.int64), lengths, [], np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32)
            )
        flat = np.concatenate(doc_terms)
        row_of = np.repeat(np.arange(len(doc_terms), dtype=np.int64), lengths)
        keys, tfs = np.unique(flat * len(doc_terms) + row_of, return_counts=True)  # by term, then row
        term_of = keys // len(doc_terms)
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_of, minlength=len(terms)), out=indptr[1:])
        rows = (keys % len(doc_terms)).astype(np.int32)
        return cls(np.asarray(ids, dtype=np.int64), lengths, terms, indptr, rows, tfs.astype(np.int32))

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in _POSTINGS_ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
        (folder / "vocab.json").write_text(json.dumps(self.terms, ensure_ascii=False), encoding="utf-8")
        meta = {"format": POSTINGS_FORMAT, "documents": len(self), "k1": K1, "b": B, "method": "lucene"}
        (folder / "postings.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """Read saved postings, checking shapes, dtypes, offsets and bounds (a ``ValueError``)."""
        folder = Path(folder)
        meta = json.loads((folder / "postings.json").read_text())
        if not isinstance(meta, dict) or meta.get("format") != POSTINGS_FORMAT:
            raise ValueError(f"BM25 postings in {folder} have an unknown format")
        if (meta.get("k1"), meta.get("b"), meta.get("method")) != (K1, B, "lucene"):
            raise ValueError("BM25 postings were made with other parameters")
        arrays = {
            name: load_npy(folder / f"{name}.npy", kind=kind, mmap=True) for name, kind in _POSTINGS_ARRAYS.items()
        }
        terms = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ValueError("BM25 vocabulary is not a list of terms")
        ids, lengths, indptr, rows, tfs = (arrays[k] for k in _POSTINGS_ARRAYS)
        n = meta.get("documents")
        if not isinstance(n, int) or isinstance(n, bool) or n != len(ids) or len(lengths) != n:
            raise ValueError("BM25 document count disagrees with its arrays")
        if (
            len(indptr) != len(terms) + 1
            or int(indptr[0]) != 0
            or int(indptr[-1]) != len(rows)
            or len(tfs) != len(rows)
        ):
            raise ValueError("BM25 posting arrays disagree in length")
        if len(indptr) > 1 and np.any(np.diff(indptr.astype(np.int64)) < 0):
            raise ValueError("BM25 term offsets are not in order")
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n or int(tfs.min()) < 1):
            raise ValueError("BM25 postings are out of range")
        if len(lengths) and int(lengths.min()) < 1:
            raise ValueError("BM25 document lengths are out of range")
        if len(set(terms)) != len(terms):
            raise ValueError("BM25 vocabulary repeats a term")
        return cls(ids.astype(np.int64), lengths, terms, indptr.astype(np.int64), rows, tfs)

    def span(self, term: str) -> tuple[int, int] | None:
        i = self.vocab.get(term)
        if i is None:
            return None
        a, b = int(self.indptr[i]), int(self.indptr[i + 1])
        return (a, b) if b > a else None


def merge_postings(parts: list[tuple[Postings, np.ndarray | None]]) -> Postings:
    """One segment's postings from several, rows in order, dropping rows whose ``dead`` mask is set."""
    terms: dict[str, int] = {}
    ids, lengths, term_ids, new_rows, tfs = [], [], [], [], []
    offset = 0
    for post, dead in parts:
        keep = np.ones(len(post), bool) if dead is None else ~dead
        row_map = np.cumsum(keep) - 1 + offset
        ids.append(post.ids[keep])
        lengths.append(post.lengths[keep])
        local = np.fromiter((terms.setdefault(t, len(terms)) for t in post.terms), np.int64, len(post.terms))
        term_of = np.repeat(local, np.diff(post.indptr))
        alive = keep[post.rows]
        term_ids.append(term_of[alive])
        new_rows.append(row_map[post.rows[alive]])
        tfs.append(post.tfs[alive])
        offset += int(keep.sum())
    t = np.concatenate(term_ids) if term_ids else np.zeros(0, np.int64)
    r = np.concatenate(new_rows) if new_rows else np.zeros(0, np.int64)
    f = np.concatenate(tfs) if tfs else np.zeros(0, np.int32)
    used = np.bincount(t, minlength=len(terms)) > 0  # terms left only in dropped rows go
    remap = np.cumsum(used) - 1
    t = remap[t]
    order = np.lexsort((r, t))
    names = sorted(terms, key=terms.__getitem__)
    kept_terms = [name for name, u in zip(names, used) if u]
    indptr = np.zeros(len(kept_terms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=len(kept_terms)), out=indptr[1:])
    return Postings(
        np.concatenate(ids) if ids else np.zeros(0, np.int64),
        np.concatenate(lengths) if lengths else np.zeros(0, np.int32),
        kept_terms,
        indptr,
        r[order].astype(np.int32),
        f[order].astype(np.int32),
    )


class SegmentedLexical:
    """BM25 over the postings of every segment of a generation, scored with the collection-wide
    document count, document frequencies and mean length of the live chunks, so a chunk's score
    is bit-for-bit what one bm25s index of the same chunks gives (tests/test_segments.py).

    The per-posting scores are computed once when the snapshot is loaded (O(postings), like
    reading bm25s's precomputed matrix); a query then only adds them up. Rows are the segments'
    rows one after the other (chunk-id order); rows of deleted chunks (``dead`` masks) score 0 and
    count nowhere. Same query methods as :class:`LexicalIndex`."""

    def __init__(self, parts: list[tuple[Postings, np.ndarray | None]], block: int = 1 << 22) -> None:
        parts = [(p, d if d is not None and d.any() else None) for p, d in parts]
        self.offsets = np.cumsum([0] + [len(p) for p, _ in parts])
        self.ids = np.concatenate([p.ids for p, _ in parts]) if parts else np.zeros(0, np.int64)
        self.n = sum(len(p) - (0 if d is None else int(d.sum())) for p, d in parts)
        total = sum(
            int(p.lengths.sum(dtype=np.int64)) - (0 if d is None else int(p.lengths[d].sum(dtype=np.int64)))
            for p, d in parts
        )
        # As numpy's mean of the lengths: the exact integer sum (in float64) over the count.
        self.avg_len = np.float64(total) / self.n if self.n else np.float64(1.0)
        self._df: dict[str, int] = {}
        for post, dead in parts:
            counts = np.diff(post.indptr)
            if dead is not None and len(post.rows):
                c = np.concatenate([[0], np.cumsum(dead[post.rows], dtype=np.int64)])
                counts = counts - (c[post.indptr[1:]] - c[post.indptr[:-1]])
            for t, k in zip(post.terms, counts.tolist()):
                self._df[t] = self._df.get(t, 0) + k
        idf: dict[str, np.float32] = {}
        for t, df in self._df.items():
            if df > 0:
                idf[t] = np.float32(math.log(1 + (self.n - df + 0.5) / (df + 0.5)))
        self.parts: list[tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]] = []
        for post, dead in parts:
            term_idf = np.array([idf.get(t, 0.0) for t in post.terms], dtype=np.float32)
            per_posting = np.repeat(term_idf, np.diff(post.indptr))
            scores = np.empty(len(post.rows), dtype=np.float32)
            for a in range(0, len(post.rows), block):
                rows, tf = post.rows[a : a + block], post.tfs[a : a + block].astype(np.float32)
                # The operations and dtypes of bm25s (_score_tfc_robertson × idf, stored as float32).
                tfc = tf / (K1 * ((1 - B) + B * post.lengths[rows] / self.avg_len) + tf)
                scores[a : a + block] = per_posting[a : a + block] * tfc
            if dead is not None:
                scores[dead[post.rows]] = 0.0
            self.parts.append((post.vocab, post.indptr, post.rows, scores))

    def __len__(self) -> int:
        return int(self.n)

    def df(self, term: str) -> int:
        """Live chunks holding ``term``."""
        return self._df.get(term, 0)

    def idf(self, term: str) -> float:
        """As :meth:`LexicalIndex.idf`, over the live chunks."""
        n, df = max(self.n, 1), self.df(term)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def all_scores(self, terms: list[str]) -> np.ndarray | None:
        """The BM25 score of every row for ``terms`` (repeats count again); None when no term is known."""
        terms = [t for t in terms if t and self.df(t) > 0]
        if not terms or self.n == 0:
            return None
        out = np.zeros(len(self.ids), dtype=np.float32)
        for t in terms:
            for (vocab, indptr, rows, scores), off in zip(self.parts, self.offsets):
                i = vocab.get(t)
                if i is not None and indptr[i + 1] > indptr[i]:
                    a, b = int(indptr[i]), int(indptr[i + 1])
                    out[rows[a:b] if off == 0 else rows[a:b] + off] += scores[a:b]  # a term holds a row once
        return out

    search = LexicalIndex.search
    search_terms = LexicalIndex.search_terms
    top = LexicalIndex.top
    scores_of = LexicalIndex.scores_of

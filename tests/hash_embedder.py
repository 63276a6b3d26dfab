"""Test support for index-level tests: a tiny deterministic embedder and a synthetic corpus.

``HashEmbedder`` hashes words into a unit vector of ``dim`` dimensions, so similar texts
share dimensions and the same text always gets the same vector. It has the interface the
ingest and the Assistant use (``spec``, ``dim``, ``encode``, ``encode_query``) and loads in
microseconds, which lets crash tests start many ingest processes; the crash semantics live
in the index code, not in the model.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from assistant.ingest.readers import content_hash
from assistant.models.embedding import ModelSpec
from assistant.records import Article

_WORD = re.compile(r"\w+", re.UNICODE)
TOWNS = ["Arden", "Brisk", "Colm", "Dunmore", "Elsby", "Farrow", "Glenn", "Harlow", "Ivers", "Jarrow"]
KEEPERS = ["Elena Varga", "Tomas Brandt", "Ana Lima", "Jo Park", "Rui Costa", "Mia Holt", "Lars Berg", "Ines Roy"]


class HashEmbedder:
    """Bag of hashed lower-cased words → unit float32 vector."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.spec = ModelSpec("test-hash-embedder", "", f"hash-words-{dim}")

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(w.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        n = float(np.linalg.norm(v))
        if n == 0:
            v[0] = 1.0
            return v
        return v / n

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)


def make_article(id_: str, title: str, text: str) -> Article:
    return Article(id=id_, title=title, text=text, source=f"test://{id_}", content_hash=content_hash(title, text))


def town_articles(prefix: str, n: int, sentences: int = 6, version: int = 0) -> list[Article]:
    """``n`` small articles with distinct facts ("The harbour of Arden 3 is kept by Elena Varga.")."""
    out = []
    for i in range(n):
        town = f"{TOWNS[i % len(TOWNS)]} {prefix}{i}"
        keeper = KEEPERS[(i + version) % len(KEEPERS)]
        body = [f"The harbour of {town} is kept by {keeper}."]
        body += [
            f"In {town} the council met on day {j} to discuss repairs to road {j + version} and the market."
            for j in range(sentences - 1)
        ]
        out.append(make_article(f"{prefix}{i}", f"News from {town}", " ".join(body)))
    return out


def ingest_child(
    index_dir: str, articles: list[Article], remove: list[str], ready, pause_at=None, paused=None, compact=False
) -> None:
    """Body of a crash-test child process: signal ``ready`` (an Event), then ingest (or, with
    ``compact``, merge every segment into one).

    ``pause_at`` stops the child (setting ``paused``) at one step of publishing so the parent can
    kill it exactly there: "link" (while linking the live generation's segments into the new one),
    "merge" (before segments are merged), "rename" (before the finished generation is renamed into
    place), "replace" (before ``CURRENT`` is switched), "replaced" (just after, before cleanup) or
    "collect" (half-way through deleting an old generation). Only this child process is patched."""
    import os
    import time

    from assistant.ingest import pipeline
    from assistant.storage import generations

    if pause_at:
        real_rename, real_replace, real_link = os.rename, os.replace, os.link
        real_merge, real_rmtree = pipeline.merge_segments, generations.shutil.rmtree

        def hold() -> None:
            paused.set()
            time.sleep(600)

        def rename(*a, **k):
            if pause_at == "rename":
                hold()
            return real_rename(*a, **k)

        def replace(src, dst, *a, **k):
            if pause_at == "replace" and str(dst).endswith("CURRENT"):
                hold()
            real_replace(src, dst, *a, **k)
            if pause_at == "replaced" and str(dst).endswith("CURRENT"):
                hold()

        linked = []

        def link(*a, **k):
            linked.append(1)
            if pause_at == "link" and len(linked) == 3:
                hold()
            return real_link(*a, **k)

        def merge(*a, **k):
            if pause_at == "merge":
                hold()
            return real_merge(*a, **k)

        def rmtree(path, *a, **k):
            real_rmtree(path, *a, **k)
            if pause_at == "collect" and ".tmp-" not in str(path) and os.path.basename(path).startswith("seg-"):
                hold()  # one segment of an old generation gone, the rest still there

        os.rename, os.replace, os.link = rename, replace, link
        pipeline.merge_segments = merge
        generations.shutil.rmtree = rmtree
    embedder = HashEmbedder()
    ready.set()
    if compact:
        pipeline.compact_index(index_dir)
    else:
        pipeline.ingest_articles(index_dir, articles, embedder, remove=remove)

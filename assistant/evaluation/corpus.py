"""Build (or reuse) an index over a benchmark corpus, cached by content and settings."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..core import Assistant
from ..ingest.pipeline import POOLED, chunking_settings, ingest_articles, sentence_vector_method
from ..models.embedding import Embedder
from ..records import Article
from ..settings import Settings
from ..storage.generations import FORMAT_VERSION, IndexDir

CACHE = Path(os.environ.get("ASSISTANT_BENCH_CACHE", Path.home() / ".cache" / "article-assistant" / "bench"))


#: What a cached index stores beyond chunks and vectors: changed when an ingest records something new
#: (``speakers``: each sentence's speaker), so a benchmark never reads a cache without it.
STORED = "speakers"


def corpus_key(articles: list[Article], embedder: Embedder, settings: Settings) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([embedder.spec.name, chunking_settings(settings)]).encode())
    h.update(f"format-{FORMAT_VERSION}".encode())  # beside, never over, the caches an older version reads
    h.update(STORED.encode())
    if sentence_vector_method(embedder) == POOLED:  # sentence vectors from one pass per chunk
        h.update(json.dumps([POOLED, embedder.encoder_info]).encode())
    elif embedder.encoder_info.get("quantisation", "fp32") != "fp32":  # (fp32 keys stay as they were)
        fast = getattr(embedder, "fast", None)  # the graph's export settings (weight bits, …) when there is one
        info = dict(fast.info, per_text=fast.per_text) if fast is not None else embedder.encoder_info
        h.update(json.dumps(info, sort_keys=True).encode())
    for a in articles:
        h.update(a.id.encode())
        h.update(a.content_hash.encode())
    return h.hexdigest()[:16]


def open_corpus(
    name: str,
    articles: list[Article],
    embedder: Embedder,
    settings: Settings | None = None,
    cache: Path | None = None,
    progress: bool = True,
) -> Assistant:
    """An Assistant over ``articles``; the index is built once and reused while they are unchanged."""
    settings = settings or Settings.from_env()
    folder = (cache or CACHE) / f"{name}-{corpus_key(articles, embedder, settings)}"
    if not IndexDir(folder).exists():
        ingest_articles(folder, articles, embedder, settings, progress=progress)
    return Assistant.load(folder, embedder=embedder, settings=settings.with_(index_dir=folder))

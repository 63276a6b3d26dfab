"""Storage: the index on disk. The SQLite store of articles, chunks and sentences (``store``),
the FAISS index (``dense``), BM25 on tantivy (``fulltext``), generations with checksummed manifests, atomic
publish and locks (``generations``), and the loaded, read-only :class:`~assistant.storage.index.Index`
(``index``). May import models and the base modules; nothing above it."""

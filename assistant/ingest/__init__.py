"""Ingest: files → :class:`~assistant.records.Article` (``readers``) → sentences (``segment``) →
chunks with exact character offsets (``chunking``) → embedded and published as a new index
generation (``pipeline``, incremental; ``ray_engine`` runs the reading, chunking and embedding on Ray). May import storage, models and the base modules
(records, settings, errors, terms); never search, answer, core, chat or the CLI."""

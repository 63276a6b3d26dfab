"""Search: what a question (and its conversation) retrieves. Follow-up planning without a
generative model (``conversation``) and hybrid BM25 + dense retrieval (``retrieval``). May import
storage, models and the base modules; never ingest, answer, core, chat or the CLI."""

"""Answer: from retrieved passages to the exact sentence and span. The question's answer type
(``question``), candidate spans (``spans``), the extractive reader (``reader``) and sentence
scoring, confidence and abstention (``answerer``). May import search, storage, models and the
base modules; never ingest, core, chat or the CLI."""

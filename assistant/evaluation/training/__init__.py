"""Training: the scripts that produce the shipped weights in ``assistant/data/`` (the extractive
reader, ``train_reader``; the answer model, ``train_answerer``). Run with ``python -m``; never
imported when answering. May import everything below the CLI."""

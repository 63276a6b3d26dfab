"""Chat: the Gradio page and its API (``app``) and the HTML it shows (``render``), a thin layer
over :class:`~assistant.core.Assistant`. May import core and everything below it; never the CLI."""

"""Errors a user can act on: each message says what to do."""


class AssistantError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero."""


class EmptyQuestionError(AssistantError, ValueError):
    """The question has no words to search for."""


class IndexMissingError(AssistantError):
    """No index at the given folder."""


class IndexMismatchError(AssistantError):
    """The index was built with another model or format version."""


class IndexCorruptError(AssistantError):
    """An index file fails its checksum or cannot be read."""


class ModelError(AssistantError):
    """The embedding model cannot be loaded or fails verification."""


class IngestError(AssistantError):
    """Nothing could be ingested from the given paths."""


class IndexWriteError(AssistantError):
    """The index cannot be written (disk full, permissions, not an index folder); it is unchanged."""


class IndexBusyError(AssistantError):
    """Another ingest holds the index lock."""


class HistoryError(AssistantError, TypeError):
    """The conversation history is not in an accepted form."""


class EngineError(AssistantError):
    """The ingest engine cannot run: Ray is not installed, or its cluster cannot be reached."""

"""One settings object for the whole assistant, read from defaults, the environment and flags.

Environment variables: ``ASSISTANT_INDEX`` (index folder), ``ASSISTANT_MODEL`` (any
sentence-transformers name or local path), ``ASSISTANT_SEEDS`` (articles for the default
index), ``ASSISTANT_READER`` (``bundled``, ``none`` or a reader file), ``ASSISTANT_ALLOW_DOWNLOAD=1`` (let sentence-transformers reach the Hugging Face Hub),
``ASSISTANT_INGEST_ENGINE`` (``inprocess`` or ``ray``), ``ASSISTANT_RAY_ADDRESS`` (the Ray cluster of ``ray``),
``ASSISTANT_MAX_ARTICLE_CHARS``, ``ASSISTANT_MAX_ARTICLE_PASSAGES``, ``ASSISTANT_MAX_UNPACKED_BYTES`` (bounds per document).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_root() -> Path:
    """The project checkout when running from one, else the working directory."""
    if (PROJECT_ROOT / "pyproject.toml").exists() and (PROJECT_ROOT / "seeds").is_dir():
        return PROJECT_ROOT
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    """Every tunable of the assistant. Build with ``Settings.from_env(**overrides)``."""

    index_dir: Path = field(default_factory=lambda: _default_root() / "index")
    seeds_dir: Path = field(default_factory=lambda: _default_root() / "seeds")
    # None: the model the index was built with (or DEFAULT_MODEL for a new index).
    model: str | None = None
    allow_download: bool = False
    batch_size: int = 64
    # Where ingest reads, chunks and embeds: "inprocess" or "ray" (assistant/ingest/ray_engine.py), on a
    # local Ray or the cluster at ray_address (None: $RAY_ADDRESS, else a local one).
    ingest_engine: str = "inprocess"
    ray_address: str | None = None
    # Chunking: a budget in word pieces below the model's 256-piece limit, and overlap.
    chunk_tokens: int = 200
    chunk_overlap_sentences: int = 1
    # Retrieval.
    candidates: int = 50  # per retriever, before fusion
    passages: int = 5  # fused chunks handed to the answerer
    fusion: str = "minmax"  # "minmax" (normalised score sum) or "rrf" (reciprocal-rank fusion)
    dense_rescore: str = "max_sentence"  # a chunk's dense score: "max_sentence" or "chunk" (mean vector)
    rrf_k: int = 60
    dense_weight: float = 1.0  # fusion weights (minmax: normalised to sum to 1)
    bm25_weight: float = 1.0
    # Answering.
    # The extractive reader: "bundled" (the fine-tuned reader shipped in assistant/data), a path
    # to a reader file from ``train_reader``, or "none" (sentence features only; faster).
    reader: str = "bundled"
    reader_passages: int = 3  # top fused chunks the reader reads
    story_passages: int = 6  # chunks of a story the question names that the reader reads
    abstain_threshold: float = 0.35
    max_citations: int = 3
    max_question_chars: int = 2000
    # Bounds on what one document may expand to (no real article comes near them): characters of text
    # kept (the rest is dropped with a warning naming the file), passages indexed, and bytes a .pdf's
    # content streams or a .docx's XML may decompress to (counted while reading).
    max_article_chars: int = 2_000_000
    max_article_passages: int = 20_000
    max_unpacked_bytes: int = 64 * 2**20

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``ASSISTANT_*`` environment variables, then non-None overrides."""
        env: dict[str, object] = {}
        if os.environ.get("ASSISTANT_INDEX"):
            env["index_dir"] = Path(os.environ["ASSISTANT_INDEX"])
        if os.environ.get("ASSISTANT_SEEDS"):
            env["seeds_dir"] = Path(os.environ["ASSISTANT_SEEDS"])
        if os.environ.get("ASSISTANT_MODEL"):
            env["model"] = os.environ["ASSISTANT_MODEL"]
        if os.environ.get("ASSISTANT_READER"):
            env["reader"] = os.environ["ASSISTANT_READER"]
        if os.environ.get("ASSISTANT_INGEST_ENGINE"):
            env["ingest_engine"] = os.environ["ASSISTANT_INGEST_ENGINE"]
        if os.environ.get("ASSISTANT_RAY_ADDRESS"):
            env["ray_address"] = os.environ["ASSISTANT_RAY_ADDRESS"]
        for key in ("max_article_chars", "max_article_passages", "max_unpacked_bytes"):
            value = os.environ.get(f"ASSISTANT_{key.upper()}", "").replace("_", "")
            if value.isdigit() and int(value) > 0:
                env[key] = int(value)
        if os.environ.get("ASSISTANT_ALLOW_DOWNLOAD", "").lower() in {"1", "true", "yes"}:
            env["allow_download"] = True
        known = {f.name for f in fields(cls)}
        for key, value in overrides.items():
            if key not in known:
                raise TypeError(f"unknown setting {key!r}")
            if value is not None:
                env[key] = Path(value) if key in {"index_dir", "seeds_dir"} else value
        return cls(**env)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        """A copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

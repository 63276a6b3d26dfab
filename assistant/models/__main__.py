"""Export (or verify) the bundled encoder and reader graphs ahead of first use, e.g. after install:
``python -m assistant.models`` (``python -m assistant.models.onnx_runtime`` does the same)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..settings import PROJECT_ROOT, Settings
from .embedding import Embedder
from .locations import BUNDLED_SHA256, bundled_model_path, cache_dir
from .onnx_runtime import ensure_graph


def main() -> None:  # pragma: no cover - a convenience for installs
    """Load the encoder (exporting its graph if needed), then the reader's graph unless it is off."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t = time.perf_counter()
    emb = Embedder.load()
    print(f"encoder ready ({emb.encoder_info}) in {time.perf_counter() - t:.1f} s; cache {cache_dir()}")
    reader = Settings.from_env().reader
    if reader.lower() not in {"none", "off", "false", "0", ""}:
        path = PROJECT_ROOT / "assistant" / "data" / "reader.safetensors" if reader == "bundled" else Path(reader)
        ensure_graph("reader", bundled_model_path(), BUNDLED_SHA256, path)
        print(f"reader ready in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    main()

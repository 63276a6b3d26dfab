"""Shared fixtures: one embedding model and one seeds index for the whole session."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# the chat's conversation key (assistant/chat/keys.py): in a temporary file, not the user's config folder
os.environ.setdefault("ASSISTANT_CHAT_KEY_FILE", os.path.join(tempfile.mkdtemp(prefix="assistant-test-"), "chat-key"))

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ID = "russia-will-not-withdraw-recognition"


def pytest_addoption(parser):
    parser.addoption("--no-browser", action="store_true", help="skip the Playwright/Chromium browser tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--no-browser"):
        skip = pytest.mark.skip(reason="--no-browser")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def embedder():
    from assistant.models.embedding import Embedder

    return Embedder.load()


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory, embedder) -> Path:
    """A read-only index of the shipped seed articles (do not modify it in tests)."""
    from assistant.ingest.pipeline import ingest_paths

    path = tmp_path_factory.mktemp("seeds-index") / "index"
    ingest_paths(path, [SEEDS], embedder)
    return path


@pytest.fixture(scope="session")
def seeds_assistant(seeds_index, embedder):
    from assistant import Assistant

    return Assistant.load(seeds_index, embedder=embedder)


@pytest.fixture
def writable_index(tmp_path, seeds_index) -> Path:
    """A private copy of the seeds index that a test may change."""
    dest = tmp_path / "index"
    shutil.copytree(seeds_index, dest, ignore=shutil.ignore_patterns(".lock"))
    return dest

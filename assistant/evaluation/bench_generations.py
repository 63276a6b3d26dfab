"""``assistant bench add``: the cost of adding a few articles to a large index.

Builds (once, cached under ``--index``) a base index of about ``--chunks`` synthetic chunks
(generated sentences of Zipf-distributed words, 10 sentences an article) with random unit
vectors instead of a model, then adds ``--add`` new articles to a hard-linked clone of it and
reports the seconds the ingest took without embedding, and the disk growth of the index
against the size of the added data (a fresh index of just those articles)::

    assistant bench add --chunks 1000000 --index /tmp/bench-add --out eval/reports/add-1m.json

Run as a file (``python assistant/evaluation/bench_generations.py --chunks 100000``) with
``PYTHONPATH`` naming another checkout, it measures that checkout's ingest (the "before" figures
of eval/README.md); it uses only ``ingest_articles`` and the index folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from assistant.ingest.pipeline import ingest_articles
from assistant.ingest.readers import content_hash
from assistant.models.embedding import ModelSpec
from assistant.records import Article

SENTENCES = 10  # per article
WORDS = 60  # per sentence: about one sentence a chunk (with the one-sentence overlap)


class RandomEmbedder:
    """Unit vectors drawn from a generator seeded by the texts: no model, deterministic."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.spec = ModelSpec("bench-random-embedder", "", f"random-{dim}")

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False, **kw) -> np.ndarray:
        seed = zlib.crc32(("\x00".join(texts[:2]) + str(len(texts))).encode("utf-8", "surrogatepass"))
        v = np.random.default_rng(seed).standard_normal((len(texts), self.dim), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def synthetic_articles(n: int, prefix: str, seed: int, vocab: int = 30_000) -> list[Article]:
    """``n`` articles of ``SENTENCES`` generated sentences of ``WORDS`` Zipf-distributed words."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("bcdfghklmnprstvz")), np.array(list("aeiou"))
    lex_rng = np.random.default_rng(7)  # the same lexicon for every call
    lexicon = np.array(
        [
            "".join(lex_rng.choice(letters[0]) + lex_rng.choice(letters[1]) for _ in range(int(lex_rng.integers(2, 5))))
            for _ in range(vocab)
        ]
    )
    weights = 1.0 / np.arange(1, vocab + 1)
    weights /= weights.sum()
    out = []
    for i in range(n):
        draws = lexicon[rng.choice(vocab, size=(SENTENCES, WORDS), p=weights)]
        text = " ".join(" ".join(row).capitalize() + "." for row in draws)
        title = f"Dispatch {prefix}{i}"
        out.append(Article(f"{prefix}{i}", title, text, f"bench://{prefix}{i}", content_hash=content_hash(title, text)))
    return out


def disk_bytes(path: Path) -> int:
    """Bytes allocated to the files and folders under ``path``, each inode once (hard links shared)."""
    seen, total = set(), 0
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            st = os.lstat(Path(root) / name)
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


def clone(src: Path, dst: Path) -> None:
    """A copy of an index folder whose files are hard links (generations are never written in place)."""
    shutil.copytree(src, dst, copy_function=os.link, ignore=shutil.ignore_patterns(".lock"))


def build_base(index: Path, chunks: int, batch_chunks: int = 200_000, log=print) -> dict:
    """The cached base index of about ``chunks`` chunks, ingested ``batch_chunks`` at a time."""
    info = index / "bench.json"
    if info.exists() and json.loads(info.read_text()).get("chunks_asked") == chunks:
        return json.loads(info.read_text())
    shutil.rmtree(index, ignore_errors=True)
    per_article = SENTENCES - 1  # chunks an article makes (measured: 500 articles, 4,500 chunks)
    n_articles = max(1, chunks // per_article)
    step = max(1, batch_chunks // per_article)
    emb = RandomEmbedder()
    t = time.perf_counter()
    for a in range(0, n_articles, step):
        arts = synthetic_articles(min(step, n_articles - a), f"b{a}-", seed=a)
        report = ingest_articles(index / "base", arts, emb)
        log(f"base: {a + len(arts)}/{n_articles} articles, {time.perf_counter() - t:.0f}s {report.timings}")
    manifest = json.loads(
        (index / "base" / (index / "base" / "CURRENT").read_text().strip() / "manifest.json").read_text()
    )
    out = {"chunks_asked": chunks, "counts": manifest["counts"], "build_s": round(time.perf_counter() - t, 1)}
    info.write_text(json.dumps(out))
    return out


def measure_add(index: Path, n: int, log=print) -> dict:
    """Add ``n`` new articles to a clone of the base: seconds without embedding, disk growth."""
    run_dir = index / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    clone(index / "base", run_dir)
    new = synthetic_articles(n, "new-", seed=10**6)
    emb = RandomEmbedder()
    before = disk_bytes(run_dir)
    t = time.perf_counter()
    report = ingest_articles(run_dir, new, emb)
    total = time.perf_counter() - t
    growth = disk_bytes(run_dir) - before
    fresh = index / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    ingest_articles(fresh, new, emb)
    added = disk_bytes(fresh)
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    embed = report.timings.get("embed", 0.0)
    row = {
        "articles_added": n,
        "chunks_added": report.chunks_added,
        "seconds_total": round(total, 3),
        "seconds_embedding": round(embed, 3),
        "seconds_without_embedding": round(total - embed, 3),
        "disk_growth_bytes": growth,
        "added_data_bytes": added,
        "growth_over_added": round(growth / max(added, 1), 2),
        "timings": {k: round(v, 3) for k, v in report.timings.items()},
    }
    log(json.dumps(row))
    return row


def run(args: argparse.Namespace) -> int:
    index = Path(args.index or f"/tmp/bench-add-{args.chunks}")
    base = build_base(index, args.chunks)
    report = {"base": base, "add": measure_add(index, args.add)}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1))
    row = report["add"]
    print(
        f"{base['counts']['chunks']:,} chunks + {row['articles_added']} articles ({row['chunks_added']} chunks): "
        f"{row['seconds_without_embedding']:.2f} s without embedding; disk +{row['disk_growth_bytes'] / 1e6:.2f} MB "
        f"for {row['added_data_bytes'] / 1e6:.2f} MB of added data ({row['growth_over_added']}×)"
    )
    return 0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chunks", type=int, default=100_000, help="size of the base index (built once, cached)")
    p.add_argument("--add", type=int, default=10, help="articles to add")
    p.add_argument("--index", type=Path, help="folder for the cached base (default /tmp/bench-add-CHUNKS)")


run.arguments = _arguments  # type: ignore[attr-defined]

if __package__:  # registered as `assistant bench add`; run as a file it only measures
    from .commands import benchmark

    benchmark("add", "adding a few articles to a large index: seconds without embedding, disk growth")(run)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _arguments(parser)
    parser.add_argument("--out", type=Path)
    sys.exit(run(parser.parse_args()))

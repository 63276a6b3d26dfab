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


def _lexicon(vocab: int = 30_000) -> np.ndarray:
    letters = np.array(list("bcdfghklmnprstvz")), np.array(list("aeiou"))
    rng = np.random.default_rng(7)
    return np.array(
        [
            "".join(rng.choice(letters[0]) + rng.choice(letters[1]) for _ in range(int(rng.integers(2, 5))))
            for _ in range(vocab)
        ]
    )


def write_base_segment(index: Path, chunks: int, seed: int = 0, batch: int = 5000, log=print) -> dict:
    """A one-segment base index of about ``chunks`` synthetic chunks written directly: articles of
    ``SENTENCES`` sentences, a chunk per pair of neighbouring sentences, random unit vectors; the
    publish writes its tantivy BM25 index from the chunk texts (tokenised in Rust)."""
    from assistant.ingest.pipeline import PER_SENTENCE, chunking_settings, encoder_record, publish_segment
    from assistant.settings import Settings
    from assistant.storage.dense import DenseIndex
    from assistant.storage.generations import IndexDir
    from assistant.storage.segments import DENSE_FILE, STORE_FILE, segment_name, write_record
    from assistant.storage.store import Store

    emb = RandomEmbedder()
    lexicon = _lexicon()
    vocab = 30_000
    weights = 1.0 / np.arange(1, vocab + 1)
    weights /= weights.sum()
    folder = IndexDir(index)
    lock = folder.lock()
    try:
        tmp, final = folder.new_generation()
        name = segment_name(final.name)
        seg = tmp / name
        seg.mkdir()
        store = Store(seg / STORE_FILE, first_chunk_id=1)
        rng = np.random.default_rng(seed)
        n_articles = max(1, chunks // (SENTENCES - 1))
        all_ids, articles = [], {}
        vecs = np.empty((n_articles * (SENTENCES - 1), emb.dim), dtype=np.float32)
        t = time.perf_counter()
        for a0 in range(0, n_articles, batch):
            n = min(batch, n_articles - a0)
            draws = rng.choice(vocab, size=(n, SENTENCES, WORDS), p=weights)
            svecs = emb.encode(["x"] * (n * SENTENCES)).reshape(n, SENTENCES, emb.dim)
            for i in range(n):
                title = f"Dispatch b{a0 + i}"
                sents = [" ".join(lexicon[row]).capitalize() + "." for row in draws[i]]
                text = " ".join(sents)
                spans, pos = [], 0
                for sent in sents:
                    spans.append((pos, pos + len(sent)))
                    pos += len(sent) + 1
                chunk_spans = [(spans[k][0], spans[k + 1][1]) for k in range(SENTENCES - 1)]
                art = Article(f"b{a0 + i}", title, text, "bench://", content_hash=content_hash(title, text))
                ids = store.add_article(art, chunk_spans, spans, svecs[i])
                articles[art.id] = art.content_hash
                cv = svecs[i][:-1] + svecs[i][1:]
                vecs[len(all_ids) : len(all_ids) + len(ids)] = cv / np.linalg.norm(cv, axis=1, keepdims=True)
                all_ids += ids
            store.commit()
            log(f"base: {a0 + n}/{n_articles} articles written, {time.perf_counter() - t:.0f}s")
        counts = {k: store.count(k) for k in ("articles", "chunks", "sentences")}
        next_id = store.next_chunk_id
        store.close()
        ids = np.asarray(all_ids, dtype=np.int64)
        del all_ids
        DenseIndex.build(ids, vecs).save(seg / DENSE_FILE)
        del vecs  # before BM25: the two never share memory
        log(f"base: vectors written, {time.perf_counter() - t:.0f}s")
        write_record(seg, articles, {}, [])
        fields = {
            "model": {"name": emb.spec.name, "weights_sha256": emb.spec.weights_sha256, "dim": emb.dim},
            "encoder": encoder_record(emb, PER_SENTENCE),
            "chunking": chunking_settings(Settings.from_env()),
        }
        publish_segment(folder, tmp, final, None, {}, name, counts, next_id, fields)
    finally:
        lock.release()
    return counts


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


def build_base(index: Path, chunks: int, batch_chunks: int = 200_000, direct: bool = False, log=print) -> dict:
    """The cached base index of about ``chunks`` chunks, ingested ``batch_chunks`` at a time (or,
    with ``direct``, written as one segment by :func:`write_base_segment`)."""
    info = index / "bench.json"
    if info.exists() and json.loads(info.read_text()).get("chunks_asked") == chunks:
        return json.loads(info.read_text())
    shutil.rmtree(index, ignore_errors=True)
    if direct:
        t = time.perf_counter()
        counts = write_base_segment(index / "base", chunks, log=log)
        out = {"chunks_asked": chunks, "counts": counts, "build_s": round(time.perf_counter() - t, 1), "direct": True}
        info.write_text(json.dumps(out))
        return out
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


def measure_queries(index_dir: Path, n: int = 30) -> dict:
    """Median milliseconds of a BM25 and a FAISS search (top 100) on an index, and its segments."""
    from assistant.storage.index import Index

    idx = Index.load(index_dir, verify=False)
    try:
        rng = np.random.default_rng(5)
        words = synthetic_articles(3, "q-", seed=99)
        queries = [" ".join(rng.choice(a.text.split(), 6)) for a in words for _ in range(n // 3 + 1)][:n]
        emb = RandomEmbedder()
        bm25, dense = [], []
        for q in queries:
            t = time.perf_counter()
            idx.lexical.search(q, 100)
            bm25.append(time.perf_counter() - t)
            t = time.perf_counter()
            idx.dense.search(emb.encode_query(q), 100)
            dense.append(time.perf_counter() - t)
        return {
            "segments": len(idx.manifest.get("segments", [None])),
            "bm25_ms": round(1000 * float(np.median(bm25)), 2),
            "dense_ms": round(1000 * float(np.median(dense)), 2),
        }
    finally:
        idx.close()


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
    queries = measure_queries(run_dir)
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
        "queries_after": queries,
    }
    log(json.dumps(row))
    return row


def run(args: argparse.Namespace) -> int:
    index = Path(args.index or f"/tmp/bench-add-{args.chunks}")
    base = build_base(index, args.chunks, direct=args.direct)
    report = {"base": base, "queries_base": measure_queries(index / "base"), "add": measure_add(index, args.add)}
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
    p.add_argument("--direct", action="store_true", help="write the base as one segment directly (fast)")


run.arguments = _arguments  # type: ignore[attr-defined]

if __package__:  # registered as `assistant bench add`; run as a file it only measures
    from .commands import benchmark

    benchmark("add", "adding a few articles to a large index: seconds without embedding, disk growth")(run)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _arguments(parser)
    parser.add_argument("--out", type=Path)
    sys.exit(run(parser.parse_args()))

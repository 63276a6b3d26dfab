"""``assistant bench ingest-engines``: the Ray ingest engine against the in-process one, on one corpus.

``--paragraphs`` SQuAD v1.1 paragraphs (the tuning dev set, then the training set) are written as one
``.jsonl`` file per Wikipedia article, then ingested into fresh indexes by each engine in turn
(``--rounds`` times, alternating which goes first). Reported: passages/s end to end (Ray's start-up
included) and with Ray already running, the Ray encoder pipeline's passages/s per worker once its actors
are up (for a cluster estimate: times the workers), and how the two generations differ (they should
not: same articles, chunks and sentences, vectors within 1e-5)::

    taskset -c 1 assistant bench ingest-engines --data ../shared/data --paragraphs 3000 --rounds 2 \\
        --out eval/reports/ingest_engines.json

Pin it to one core (``taskset -c N``) so both engines get the same CPU. Needs ``pip install ".[ray]"``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .commands import benchmark
from .datasets import load_squad


def squad_corpus(data: Path, paragraphs: int, folder: Path) -> int:
    """Write ``paragraphs`` SQuAD v1.1 paragraphs (dev-tune first, then train) to ``folder`` as one
    ``.jsonl`` per Wikipedia article; returns how many were written."""
    articles = []
    for name in ("dev-tune.json", "train.json"):
        path = data / "squad-v1.1" / name
        if len(articles) < paragraphs and path.exists():
            articles += load_squad(path)[0][: paragraphs - len(articles)]
    folder.mkdir(parents=True, exist_ok=True)
    by_page: dict[str, list[dict]] = {}
    for a in articles:
        by_page.setdefault(a.id.split("#")[0], []).append({"id": a.id, "title": a.title, "text": a.text})
    for n, (page, rows) in enumerate(by_page.items()):
        slug = "".join(c if c.isalnum() else "-" for c in page)[:60]
        with open(folder / f"{n:04d}-{slug}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return len(articles)


def _live_vectors(index) -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids, vectors) of an index's live chunks, from every dense segment it has."""
    parts = getattr(index.dense, "parts", None) or [index.dense]
    got = [p.vectors() for p in parts]
    ids = np.concatenate([i for i, _ in got]) if got else np.zeros(0, np.int64)
    vecs = np.concatenate([v for _, v in got]) if got else np.zeros((0, index.dense.dim), np.float32)
    live = np.isin(ids, np.fromiter((cid for cid, _ in index.store.iter_chunk_texts()), dtype=np.int64))
    return ids[live], vecs[live]


def compare_generations(a: Path, b: Path) -> dict:
    """How the live generations of two indexes differ: articles, chunk ids/offsets/texts, sentences,
    chunk vectors (float32, max abs difference) and sentence vectors (stored as float16)."""
    from ..storage.index import Index

    ia, ib = Index.load(a), Index.load(b)
    try:
        out: dict = {"counts": [ia.manifest.get("counts"), ib.manifest.get("counts")]}
        out["same_articles"] = ia.manifest.get("articles") == ib.manifest.get("articles") and [
            x.to_dict() for x in ia.store.articles()
        ] == [x.to_dict() for x in ib.store.articles()]
        ids_a, vec_a = _live_vectors(ia)
        ids_b, vec_b = _live_vectors(ib)
        oa, ob = np.argsort(ids_a), np.argsort(ids_b)
        out["same_chunk_ids"] = bool(np.array_equal(ids_a[oa], ids_b[ob]))
        if out["same_chunk_ids"]:
            ids = [int(i) for i in ids_a[oa]]
            ca, cb = ia.store.chunks(ids), ib.store.chunks(ids)
            out["same_chunks"] = all(
                (ca[i].article_id, ca[i].start, ca[i].end, ca[i].text)
                == (cb[i].article_id, cb[i].start, cb[i].end, cb[i].text)
                for i in ids
            )
            out["max_chunk_vector_diff"] = float(np.abs(vec_a[oa] - vec_b[ob]).max()) if ids else 0.0
        same_sentences, worst = True, 0.0
        for art in ia.store.articles():
            sa = ia.store.sentences_in(art.id, 0, len(art.text))
            sb = ib.store.sentences_in(art.id, 0, len(art.text))
            if [s for s, _ in sa] != [s for s, _ in sb]:
                same_sentences = False
                continue
            for (_, va), (_, vb) in zip(sa, sb):
                if va is not None and vb is not None:
                    worst = max(worst, float(np.abs(va.astype(np.float32) - vb.astype(np.float32)).max()))
        out["same_sentences"], out["max_sentence_vector_diff"] = same_sentences, worst
        return out
    finally:
        ia.close()
        ib.close()


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and all its descendants (Ray's processes, the ingest
    worker), live or reaped: the fair measure on a core shared with other jobs (Linux ``/proc``)."""
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        use = resource.getrusage(who)
        total += use.ru_utime + use.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(d)] = int(fields[1])
        times[int(d)] = sum(int(x) for x in fields[11:15]) / tick  # utime, stime, cutime, cstime
    me = os.getpid()

    def descends(pid: int) -> bool:
        while pid in parents and pid not in (me, 0, 1):
            pid = parents[pid]
        return pid == me

    # A live descendant's own time, and in cutime/cstime its reaped children's: each second once.
    return total + sum(t for pid, t in times.items() if pid != me and descends(pid))


def _ingest(engine: str, corpus: Path, index: Path, embedder, settings, ray_engine=None) -> dict:
    """One ingest into a fresh ``index``: in-process, on a Ray started for it (``ray_engine`` None),
    or on the running ``ray_engine``. CPU seconds are read before Ray shuts down (its workers die unreaped)."""
    from ..ingest.pipeline import ingest_articles, ingest_paths
    from ..ingest.ray_engine import RayEngine
    from ..ingest.readers import read_paths

    def on_ray(eng: RayEngine):  # what ingest_paths(engine="ray") does, keeping the engine's stats
        read = read_paths([corpus], read_files=eng.read_files)
        return ingest_articles(
            index, read.articles, embedder, settings, origins=read.origins, legacy_ids=read.legacy_ids,
            compute=eng.compute,
        )  # fmt: skip

    cpu0 = cpu_seconds()
    t = time.perf_counter()
    if engine == "inprocess":
        report = ingest_paths(index, [corpus], embedder, settings, engine=engine)
        cpu = cpu_seconds() - cpu0
        stats = None
    elif ray_engine is None:
        with RayEngine(embedder, settings) as eng:
            report = on_ray(eng)
            cpu = cpu_seconds() - cpu0
        stats = eng.stats
    else:
        report = on_ray(ray_engine)
        cpu = cpu_seconds() - cpu0
        stats = ray_engine.stats
    wall = time.perf_counter() - t
    n = len(report.added)
    row = {"engine": engine, "passages": n, "chunks": report.chunks_added, "wall_s": round(wall, 2)}
    row["passages_per_s"] = round(n / wall, 2)
    row["cpu_s"] = round(cpu, 2)
    row["passages_per_cpu_s"] = round(n / max(cpu, 1e-9), 2)  # = passages/s on a core of its own
    row["timings"] = {k: round(v, 2) for k, v in report.timings.items()}
    if stats:
        row["ray"] = {k: round(v, 2) for k, v in stats.items()}
        steady = (stats["articles"] - stats["first_batch_articles"]) / max(stats["steady_s"], 1e-9)
        row["ray_steady_passages_per_s_per_worker"] = round(steady / stats["actors"], 2)
        row["ray_passages_per_encoder_cpu_s"] = round(stats["articles"] / max(stats["encoder_cpu_s"], 1e-9), 2)
    return row


def run(args: argparse.Namespace) -> int:
    from ..ingest.ray_engine import RayEngine, require_ray
    from ..models.embedding import Embedder
    from ..settings import Settings

    require_ray()
    settings = Settings.from_env()
    embedder = Embedder.load(settings.model, settings.allow_download)
    work = Path(tempfile.mkdtemp(prefix="ingest-engines-"))
    rows: list[dict] = []
    try:
        n = squad_corpus(args.data, args.paragraphs, work / "corpus")
        if not n:
            print(f"error: no SQuAD data under {args.data} (pass --data DIR)", file=sys.stderr)
            return 2
        print(f"{n} passages in {len(list((work / 'corpus').iterdir()))} files", file=sys.stderr)
        modes = set(args.modes.split(","))
        for r in range(args.rounds if "end-to-end" in modes else 0):
            order = ("inprocess", "ray") if r % 2 == 0 else ("ray", "inprocess")
            for engine in order:
                index = work / f"{engine}-{r}"
                rows.append(
                    {"round": r, "mode": "end-to-end", **_ingest(engine, work / "corpus", index, embedder, settings)}
                )
                print(json.dumps(rows[-1]), file=sys.stderr)
        t = time.perf_counter()
        with RayEngine(embedder, settings, workers=args.workers) as ray_engine:
            started = time.perf_counter() - t
            for r in range(args.rounds if "running" in modes else 0):
                index = work / f"ray-warm-{r}"
                row = _ingest("ray", work / "corpus", index, embedder, settings, ray_engine)
                rows.append({"round": r, "mode": "ray running", "ray_start_s": round(started, 2), **row})
                print(json.dumps(rows[-1]), file=sys.stderr)
        pair = [work / "inprocess-0", work / "ray-0" if (work / "ray-0").exists() else work / "ray-warm-0"]
        diff = compare_generations(*pair) if all(p.exists() for p in pair) else {}
        summary = _summary(rows)
        report = {"passages": n, "rows": rows, "generations": diff, "summary": summary}
        print(json.dumps({"generations": diff, "summary": summary}, indent=1))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=1))
        same = diff.get("same_articles") and diff.get("same_chunks") and diff.get("same_sentences")
        return 0 if not diff or (same and diff.get("max_chunk_vector_diff", 1.0) <= 1e-5) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _summary(rows: list[dict]) -> dict:
    def median(values: list[float]) -> float:
        return round(float(np.median(values)), 2) if values else 0.0

    if not rows:
        return {}

    def pick(key: str, mode: str, engine: str) -> float:
        return median([r[key] for r in rows if r["mode"] == mode and r["engine"] == engine and key in r])

    out: dict[str, float] = {}
    for key in ("passages_per_s", "passages_per_cpu_s"):
        base = pick(key, "end-to-end", "inprocess")
        out[f"inprocess_{key}"] = base
        out[f"ray_{key}"] = pick(key, "end-to-end", "ray")
        out[f"ray_running_{key}"] = pick(key, "ray running", "ray")
        out[f"ray_over_inprocess_{key}"] = round(out[f"ray_{key}"] / max(base, 1e-9), 3)
        out[f"ray_running_over_inprocess_{key}"] = round(out[f"ray_running_{key}"] / max(base, 1e-9), 3)
    # One encoder worker's rate: passages per CPU second of its encoding thread (the cluster estimate's unit).
    out["ray_passages_per_encoder_cpu_s"] = median(
        [r[k] for r in rows for k in ["ray_passages_per_encoder_cpu_s"] if k in r]
    )
    driver = [sum(r["timings"].get(k, 0.0) for k in ("store", "index", "faiss_write", "bm25", "publish"))
              for r in rows if r["engine"] == "ray"]  # fmt: skip
    out["driver_passages_per_s"] = round(rows[0]["passages"] / max(median(driver), 1e-9), 1)  # store + publish
    return out


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--paragraphs", type=int, default=3000, help="SQuAD v1.1 paragraphs to ingest (passages)")
    p.add_argument("--rounds", type=int, default=2, help="ingests per engine (alternating which goes first)")
    p.add_argument("--workers", type=int, help="Ray encoder actors (default: one per CPU)")
    p.add_argument(
        "--modes", default="end-to-end,running", help="end-to-end (both engines, Ray started by each ingest), running"
    )


run.arguments = _arguments  # type: ignore[attr-defined]
benchmark("ingest-engines", "the Ray ingest engine vs in-process: passages/s, per worker, same generation")(run)

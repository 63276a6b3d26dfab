"""Generations of shared segments: an ingest writes only what it adds, links the rest.

Tiny corpora and the deterministic ``HashEmbedder``: what is under test is the index format
(sharing, tombstones, merges, upgrading format-1 and format-2 generations, crash safety).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.cli import main as cli_main
from assistant.errors import IndexMismatchError
from assistant.ingest.pipeline import compact_index, ingest_articles
from assistant.search.retrieval import HybridRetriever
from assistant.settings import Settings
from assistant.storage.fulltext import FullText, FullTextView
from assistant.storage.generations import IndexDir, file_checksums
from assistant.storage.index import Index
from assistant.storage.segments import merge_plan

from .hash_embedder import HashEmbedder, ingest_child, town_articles

_GEN = re.compile(r"^gen-\d+$")
QUESTIONS = [
    "Who keeps the harbour of Arden a0?",
    "Who keeps the harbour of Colm a12?",
    "council met on day 3 to discuss repairs to road 4",
    "market repairs in Farrow a5",
    "Jarrow b1 lighthouse",
]


def _manifest(index: Path) -> dict:
    return IndexDir(index).read_manifest()


def _results(index: Index) -> list:
    """Every retrieval mode's ranked (article, start, end, rounded scores) for the questions."""
    out = []
    emb = HashEmbedder()
    for mode in ("hybrid", "dense", "bm25"):
        r = HybridRetriever(index, emb, Settings.from_env(reader="none"))
        for q in QUESTIONS:
            hits = r.search(q, k=8, mode=mode)
            chunks = index.store.chunks([h.chunk_id for h in hits])
            out.append(
                [
                    (chunks[h.chunk_id].article_id, chunks[h.chunk_id].start, h.score, h.bm25_score, h.dense_score)
                    for h in hits
                ]
            )
    return out


def _answers(index: Index) -> list:
    a = Assistant(index, HashEmbedder(), Settings.from_env(reader="none"))
    return [(x.text, x.abstained, [(c.article_id, c.start, c.end) for c in x.citations]) for x in map(a.ask, QUESTIONS)]


def _inodes(gen: Path) -> dict[str, int]:
    return {p.relative_to(gen).as_posix(): p.stat().st_ino for p in gen.rglob("*") if p.is_file()}


def test_an_ingest_links_the_old_segments_and_writes_only_a_small_new_one(tmp_path):
    index = tmp_path / "index"
    ingest_articles(index, town_articles("a", 40), HashEmbedder())
    first = IndexDir(index).current()
    before = _inodes(first)
    ingest_articles(index, town_articles("b", 2), HashEmbedder())
    second = IndexDir(index).current()
    m = _manifest(index)
    assert [s["name"] for s in m["segments"]] == ["seg-000001", "seg-000002"]
    after = _inodes(second)
    shared = {rel for rel in after if rel.startswith("seg-000001/")}
    assert shared == {rel for rel in before if rel.startswith("seg-000001/")}
    for rel in shared:  # the same files (inodes), not copies
        assert after[rel] == before[rel], rel
        assert (second / rel).stat().st_nlink >= 2
    new = sum((second / rel).stat().st_size for rel in after if rel.startswith("seg-000002/"))
    old = sum((first / rel).stat().st_size for rel in before if rel.startswith("seg-000001/"))
    assert new < old / 5  # 2 articles' worth, not the corpus again
    idx = Index.load(index)
    assert idx.manifest["counts"]["articles"] == 42
    assert Assistant(idx, HashEmbedder()).ask("Who keeps the harbour of Arden b0?").citations[0].article_id == "b0"


def _chunk_ids(index: Index) -> np.ndarray:
    return np.array([cid for cid, _ in index.store.iter_chunk_texts()], np.int64)


def test_one_run_or_ten_give_the_same_results_and_answers(tmp_path):
    arts = town_articles("a", 30) + town_articles("b", 10, sentences=3)
    ingest_articles(tmp_path / "one", arts, HashEmbedder())
    for i in range(0, len(arts), 4):
        ingest_articles(tmp_path / "ten", arts[i : i + 4], HashEmbedder())
    one, ten = Index.load(tmp_path / "one"), Index.load(tmp_path / "ten")
    assert len(one.manifest["segments"]) == 1 and len(ten.manifest["segments"]) > 1
    assert one.manifest["counts"] == ten.manifest["counts"]
    assert one.manifest["articles"] == ten.manifest["articles"]
    assert _results(one) == _results(ten)  # chunk ids too: they are numbered alike
    assert _answers(one) == _answers(ten)
    # BM25 scores, ranking and idf: bit-for-bit those of one tantivy index built at once from the same chunks
    # (ten ingests made ten tantivy segments, derived one from another; nothing deleted: the same statistics).
    single = FullTextView(FullText.build(one.store.iter_chunk_texts(), tmp_path / "single"))
    meta = json.loads((ten.folder.path / ten.generation / "lexical" / "meta.json").read_text())
    assert len(meta["segments"]) > 1
    ids = _chunk_ids(one)
    assert np.array_equal(ids, _chunk_ids(ten))
    for terms in (["harbour", "arden", "harbour"], ["market", "road"], ["nowher"]):
        a, b = single.all_scores(terms), ten.lexical.all_scores(terms)
        assert np.array_equal(single.scores_of(ids, a), ten.lexical.scores_of(ids, b)), terms
        for x, y in zip(single.top(a, len(ids)), ten.lexical.top(b, len(ids))):
            assert np.array_equal(x, y), terms
        assert single.idf(terms[0]) == ten.lexical.idf(terms[0])
    assert len(single.top(single.all_scores(["harbour"]), 100)[0]) == len(ids)  # a term every chunk holds


def test_chunks_only_bm25_finds_keep_their_dense_score_in_one_segment_or_many(tmp_path):
    """How close a chunk is to the question must not depend on how many other chunks there are:
    with a dense top-1, the chunks only BM25 finds still carry their cosine, in any segment."""
    arts = town_articles("a", 12) + town_articles("b", 4)
    ingest_articles(tmp_path / "one", arts, HashEmbedder())
    for i in range(0, len(arts), 5):
        ingest_articles(tmp_path / "many", arts[i : i + 5], HashEmbedder())
    emb = HashEmbedder()
    q = "Who keeps the harbour of Arden a3 and its market road?"
    qv = emb.encode_query(q)
    for name in ("one", "many"):
        idx = Index.load(tmp_path / name)
        hits = HybridRetriever(idx, emb, Settings.from_env(reader="none", candidates=1)).search(q, k=20)
        lexical_only = [h for h in hits if h.dense_rank < 0]
        assert lexical_only, name
        every = dict(zip(*(a.tolist() for a in idx.dense.search(qv, 10_000))))  # a dense top-k reaching all
        for h in lexical_only:
            assert abs(h.dense_score - every[h.chunk_id]) < 1e-5, (name, h)


def test_updates_and_removals_are_tombstones_and_match_a_fresh_index(tmp_path):
    index = tmp_path / "index"
    ingest_articles(index, town_articles("a", 20), HashEmbedder())
    ingest_articles(index, town_articles("b", 5), HashEmbedder())
    changed = town_articles("a", 3, version=2)  # a0..a2 edited: a new keeper
    report = ingest_articles(index, changed, HashEmbedder(), remove=["a7", "b1"])
    assert sorted(report.updated) == ["a0", "a1", "a2"] and sorted(report.removed) == ["a7", "b1"]
    m = _manifest(index)
    record = json.loads((IndexDir(index).current() / m["segments"][-1]["name"] / "segment.json").read_text())
    assert record["deletes"] == ["a0", "a1", "a2", "a7", "b1"]
    dead = {a for s in m["segments"] for a in s["dead"]}
    assert dead == {"a0", "a1", "a2", "a7", "b1"}
    idx = Index.load(index)
    final = changed + [a for a in town_articles("a", 20)[3:] if a.id != "a7"]
    final += [b for b in town_articles("b", 5) if b.id != "b1"]
    assert idx.manifest["articles"] == {a.id: a.content_hash for a in final}
    assert {a.id for a in idx.store.articles()} == {a.id for a in final}
    counts = idx.manifest["counts"]
    assert len(idx.dense) == len(idx.lexical) == counts["chunks"] == idx.store.count("chunks") == len(final)
    assert "a7" not in {c.article_id for c in idx.store.chunks(list(range(1, 200))).values()}
    assert idx.store.article("a7") is None and idx.store.article_text("b1") == ""
    # The templated articles differ only in "a0" / "b0", which the reader does not tell apart
    # (it scores both keepers alike); without it the cited sentence is the lexical match.
    ans = Assistant(idx, HashEmbedder(), Settings.from_env(reader="none")).ask("Who keeps the harbour of Arden a0?")
    assert ans.citations[0].article_id == "a0" and KEEPER_V2 in ans.citations[0].quote
    fresh = tmp_path / "fresh"
    ingest_articles(fresh, sorted(final, key=lambda a: a.id), HashEmbedder())
    fresh_idx = Index.load(fresh)

    def by_article(index: Index, terms: list[str]) -> dict:
        ids = _chunk_ids(index)
        scores = index.lexical.scores_of(ids, index.lexical.all_scores(terms))
        chunks = index.store.chunks(ids.tolist())
        return {(chunks[c].article_id, chunks[c].start): float(s) for c, s in zip(ids.tolist(), scores)}

    for terms in (["harbour", "arden"], ["market", "road", "road"], ["brisk", "council"], ["a7"]):
        got, want = by_article(idx, terms), by_article(fresh_idx, terms)
        assert got.keys() == want.keys()  # every live chunk, and no removed one, scored
        assert {k for k, v in got.items() if v > 0} == {k for k, v in want.items() if v > 0}, terms  # the same match
        # Ranked alike up to near-ties: tantivy counts removed chunks in its statistics until their segment merges.
        for k1, v1 in want.items():
            for k2, v2 in want.items():
                if v1 > v2 * 1.02 + 1e-6:
                    assert got[k1] > got[k2], (terms, k1, k2)
    for got, want in zip(_results(idx), _results(fresh_idx)):
        if len(want) > 1 and want[0][2] > want[1][2] + 1e-6:  # a clear best hit (no tie to break)
            assert got[0][:2] == want[0][:2]  # (BM25 scores differ: removed chunks count until merged)


KEEPER_V2 = town_articles("a", 1, version=2)[0].text.split(" is kept by ")[1].split(".")[0]


def test_gc_never_deletes_a_segment_a_kept_generation_uses(tmp_path):
    index = tmp_path / "index"
    ingest_articles(index, town_articles("a", 30), HashEmbedder())
    held = Index.load(index)  # a reader on generation 1
    for i in range(6):  # merges of the newest segments happen along the way
        ingest_articles(index, town_articles(f"g{i}x", 2), HashEmbedder())
    gens = sorted(p for p in index.iterdir() if p.name.startswith("gen-"))
    assert held.generation in {g.name for g in gens}  # in use: kept
    for gen in gens:  # every kept generation is complete: all its files, checksums verified
        IndexDir(index).verify(gen, IndexDir(index).read_manifest(gen), checksums=True)
    assert held.store.count("articles") == 30 and len(held.dense) == held.manifest["counts"]["chunks"]
    held.close()
    ingest_articles(index, town_articles("h", 1), HashEmbedder())
    gens = sorted(p.name for p in index.iterdir() if p.name.startswith("gen-"))
    assert len(gens) == 2, gens
    live = IndexDir(index).current()
    m = IndexDir(index).read_manifest(live)
    IndexDir(index).verify(live, m, checksums=True)
    assert Index.load(index).manifest["counts"]["articles"] == 30 + 12 + 1


def test_merge_plan_keeps_few_segments_and_leaves_a_big_one_alone():
    assert merge_plan([1_000_000, 90]) == 1  # adding a little to a big index merges nothing
    assert merge_plan([100, 100]) == 0
    assert merge_plan([1000, 300, 200, 150]) == 3  # each smaller than the one before: kept
    assert merge_plan([1000, 300, 200, 250]) == 1  # the tail that outgrew its neighbours merges
    assert merge_plan([10**6, 10**5, 10**4, 10**3, 100, 10, 1], max_segments=4) == 3
    sizes: list[int] = []
    for _ in range(1000):  # 1,000 equal ingests: a binary counter, never more than log2 segments
        sizes.append(1)
        start = merge_plan(sizes)
        sizes = sizes[:start] + [sum(sizes[start:])]
        assert len(sizes) <= 11
    assert sum(sizes) == 1000


def test_compact_merges_into_one_segment_with_the_same_results(tmp_path, capsys):
    index = tmp_path / "index"
    for i in range(5):
        ingest_articles(index, town_articles("a", 30)[i * 6 : i * 6 + 6], HashEmbedder())
    ingest_articles(index, town_articles("a", 4, version=3), HashEmbedder(), remove=["a9"])
    before_idx = Index.load(index)
    assert len(before_idx.manifest["segments"]) > 1
    before = _results(before_idx)
    before_idx.close()
    assert cli_main(["compact", "--index", str(index)]) == 0
    assert "1 segment" in capsys.readouterr().out
    idx = Index.load(index)
    assert len(idx.manifest["segments"]) == 1 and idx.manifest["segments"][0]["dead"] == []
    assert _results(idx) == before
    assert compact_index(index).generation == idx.generation  # nothing left to merge


def _as_format_1(index: Path) -> None:
    """Rewrite a one-segment index as the format-1 generation earlier versions made (BM25 files of
    their own in ``lexical/``, which this version does not read)."""
    gen = IndexDir(index).current()
    m = IndexDir(index).read_manifest(gen)
    (seg,) = m["segments"]
    for name in ("store.sqlite", "dense.faiss"):
        os.replace(gen / seg["name"] / name, gen / name)
    shutil.rmtree(gen / seg["name"])
    shutil.rmtree(gen / "lexical")
    (gen / "lexical").mkdir()
    np.save(gen / "lexical" / "ids.npy", np.arange(1, m["counts"]["chunks"] + 1), allow_pickle=False)
    old = {k: m[k] for k in ("model", "encoder", "chunking", "counts", "articles", "origins", "generation")}
    old.update(format_version=1, files=file_checksums(gen), created="2026-01-01T00:00:00Z")
    (gen / "manifest.json").write_text(json.dumps(old))


def _as_format_2(index: Path) -> None:
    """Rewrite an index as a format-2 generation (BM25 postings in each segment, no tantivy index)."""
    gen = IndexDir(index).current()
    m = json.loads((gen / "manifest.json").read_text())
    shutil.rmtree(gen / "lexical")
    for seg in m["segments"]:
        (gen / seg["name"] / "lexical").mkdir()
        np.save(gen / seg["name"] / "lexical" / "ids.npy", np.arange(seg["counts"]["chunks"]), allow_pickle=False)
    m.update(format_version=2, files=file_checksums(gen))
    (gen / "manifest.json").write_text(json.dumps(m))


def _refused_with_the_upgrade_hint(index: Path, capsys) -> None:
    with pytest.raises(IndexMismatchError, match=rf"run `assistant compact --index {re.escape(str(index))}`"):
        Index.load(index)
    assert cli_main(["info", "--index", str(index)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "assistant compact" in err and "\n" not in err


def test_a_format_1_index_says_how_to_upgrade_and_the_next_ingest_upgrades_it_without_copying(tmp_path, capsys):
    arts = town_articles("a", 20)
    ingest_articles(tmp_path / "one", arts[:15], HashEmbedder())
    for name in ("old", "old2"):
        ingest_articles(tmp_path / name, arts[:15], HashEmbedder())
        _as_format_1(tmp_path / name)
        _refused_with_the_upgrade_hint(tmp_path / name, capsys)
    assert cli_main(["compact", "--index", str(tmp_path / "old2")]) == 0  # the hint's command
    v1 = Index.load(tmp_path / "old2")
    assert v1.manifest["format_version"] == 3 and _answers(v1) == _answers(Index.load(tmp_path / "one"))
    assert _results(v1) == _results(Index.load(tmp_path / "one"))
    old_gen = IndexDir(tmp_path / "old").current()
    store_inode = (old_gen / "store.sqlite").stat().st_ino
    ingest_articles(tmp_path / "old", arts[15:], HashEmbedder())
    new = Index.load(tmp_path / "old")
    assert [s["name"] for s in new.manifest["segments"]] == ["seg-000000", "seg-000002"]
    assert (new.folder.path / new.generation / "seg-000000" / "store.sqlite").stat().st_ino == store_inode
    ingest_articles(tmp_path / "all", arts, HashEmbedder())
    assert _results(new) == _results(Index.load(tmp_path / "all"))


def test_a_format_2_index_says_how_to_upgrade_and_compact_writes_its_bm25_from_the_stored_chunks(tmp_path, capsys):
    index = tmp_path / "index"
    for i in range(3):
        ingest_articles(index, town_articles("a", 18)[i * 6 : i * 6 + 6], HashEmbedder())
    ingest_articles(index, town_articles("a", 2, version=3), HashEmbedder(), remove=["a9"])
    fresh = tmp_path / "fresh"
    final = town_articles("a", 2, version=3) + [a for a in town_articles("a", 18)[2:] if a.id != "a9"]
    ingest_articles(fresh, final, HashEmbedder())
    _as_format_2(index)
    _refused_with_the_upgrade_hint(index, capsys)
    assert cli_main(["compact", "--index", str(index)]) == 0
    idx = Index.load(index)
    assert idx.manifest["format_version"] == 3 and len(idx.manifest["segments"]) == 1
    assert len(idx.lexical) == idx.manifest["counts"]["chunks"] == Index.load(fresh).manifest["counts"]["chunks"]
    # Chunk ids differ from the fresh index's (numbered in ingest order), so only ties may break otherwise.
    for got, want in zip(_answers(idx), _answers(Index.load(fresh))):
        assert got[:2] == want[:2] and got[2][0] == want[2][0]
    for got, want in zip(_results(idx), _results(Index.load(fresh))):
        assert len(got) == len(want)
        if len(want) > 1 and want[0][2] > want[1][2] + 1e-6:  # a clear best hit (no tie to break)
            assert got[0] == want[0]


def _run_child(ctx, index: Path, target: tuple, kill_after: float | None, pause_at=None, compact=False):
    ready, paused = ctx.Event(), ctx.Event()
    p = ctx.Process(target=ingest_child, args=(str(index), target[0], target[1], ready, pause_at, paused, compact))
    p.start()
    assert ready.wait(60)
    if pause_at:
        assert paused.wait(120), f"the child never reached {pause_at}"
        kill_after = 0.0
    p.join(kill_after)
    if p.is_alive():
        p.kill()
        p.join(30)
        return False
    assert p.exitcode == 0
    return True


def test_sigkill_during_incremental_publish_merge_and_cleanup_leaves_old_or_new(tmp_path):
    """Kill incremental ingests (and compactions) while they link segments, merge them, publish,
    or delete an old generation: the index always loads with checksums, holds exactly the old or
    the new corpus, and its shared segments are intact; a later ingest finishes the job."""
    index = tmp_path / "index"
    emb = HashEmbedder()
    base = town_articles("a", 40)
    ingest_articles(index, base, emb)
    ingest_articles(index, town_articles("c", 3), emb)  # two generations, two segments
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["assistant.ingest.pipeline", "tests.hash_embedder"])

    def small(k: int) -> tuple:  # no merge: 2 articles onto 40
        return town_articles(f"n{k}x", 2), []

    def big(k: int) -> tuple:  # enough to merge the newest segments; an update and a removal
        return town_articles(f"m{k}x", 45) + town_articles("a", 2, version=k), [f"n{k - 1}x0"]

    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261202")))
    steps = ["link", "rename", "replaced", "collect"]
    plan = [(small(k), p) for k, p in enumerate(steps)]
    plan += [(big(k), p) for k, p in enumerate(["merge", "link", "collect"], start=len(plan))]
    plan += [((None, None), "merge")]  # a compaction
    plan += [(rng.choice([small, big])(k), None) for k in range(len(plan), len(plan) + 8)]
    for target, pause_at in plan:
        compact = target[0] is None
        state = dict(_manifest(index)["articles"])
        expected = dict(state)
        if not compact:
            expected.update({a.id: a.content_hash for a in target[0]})
            for r in target[1]:
                expected.pop(r, None)
        finished = _run_child(
            ctx, index, ([], []) if compact else target, rng.uniform(0.0, 1.5), pause_at, compact=compact
        )
        idx = Index.load(index)  # always loads, every checksum verified
        got = dict(idx.manifest["articles"])
        assert got in (state, expected), (pause_at, "a mix of the old and the new corpus")
        if finished:
            assert got == expected
        assert len(idx.dense) == len(idx.lexical) == idx.manifest["counts"]["chunks"] == idx.store.count("chunks")
        assert {a.id: a.content_hash for a in idx.store.articles()} == got
        assert Assistant(idx, emb).ask("Who keeps the harbour of Colm a2?").citations[0].article_id == "a2"
        # The generation kept before the live one shares its segments: complete too.
        folder = IndexDir(index)
        older = sorted(p.name for p in index.iterdir() if _GEN.match(p.name) and p.name < idx.generation)
        if older:
            folder.verify(index / older[-1], folder.read_manifest(index / older[-1]), checksums=True)
        idx.close()
        # The next ingest (the same changes again) finishes the job and leaves no leftovers.
        if not compact and got != expected:
            ingest_articles(index, target[0], emb, remove=target[1])
            assert dict(_manifest(index)["articles"]) == expected
    assert not [p.name for p in index.iterdir() if ".tmp-" in p.name]

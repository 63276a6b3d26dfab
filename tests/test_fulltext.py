"""BM25 on tantivy (assistant/storage/fulltext.py): the tokens ``content_terms`` gives, the scores of the
BM25 formula (computed here from those tokens), and the scores of chunks asked for by id (what min-max
fusion needs)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from assistant.storage.fulltext import FullText, FullTextView, analyzer
from assistant.terms import content_terms

pytest.importorskip("tantivy")

TEXTS = [
    "Nauru recognized Abkhazia in 2009, after Russia and Nicaragua.",
    "Paris is the capital of France; the Seine runs through it.",
    "Abkhazia's ties with Russia: Russia's troops, Russia's money and Abkhazia's ports.",
    "",
    "The council met on Tuesday to discuss repairs to the harbour road.",
    "O'Brien's boats don't leave the harbour before dawn.",
]


class Reference:
    """BM25 (k1 = 1.2, b = 0.75, tantivy's idf and ``(k1 + 1)`` factor) over ``content_terms``, in Python."""

    def __init__(self, items: list[tuple[int, str]]) -> None:
        self.docs = {cid: Counter(content_terms(t)) for cid, t in items}
        self.avgdl = sum(sum(c.values()) for c in self.docs.values()) / len(self.docs)

    def idf(self, term: str) -> float:
        n, df = len(self.docs), sum(term in c for c in self.docs.values())
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def score(self, terms: list[str], cid: int) -> float:
        doc, dl = self.docs[cid], sum(self.docs[cid].values())
        return sum(
            self.idf(t) * doc[t] * 2.2 / (doc[t] + 1.2 * (0.25 + 0.75 * dl / self.avgdl)) for t in terms if doc[t]
        )

    def top(self, terms: list[str], k: int) -> list[int]:
        scored = [(-self.score(terms, cid), cid) for cid in self.docs]
        return [cid for s, cid in sorted(scored) if s < 0][:k]


@pytest.fixture
def pair(tmp_path):
    items = [(2 * i + 1, t) for i, t in enumerate(TEXTS)]  # chunk ids are not positions
    FullText.build(items, tmp_path / "lex")
    return FullText.open(tmp_path / "lex"), Reference(items)


def test_tantivy_indexes_the_terms_content_terms_gives():
    for text in TEXTS[:5]:
        assert analyzer().analyze(text) == content_terms(text), text


def test_the_scores_are_bm25s_and_scores_of_ids_match_the_search(pair):
    ft, ref = pair
    for question in ("Which states recognize Abkhazia?", "harbour road repairs", "Russia Russia troops", "Seine"):
        terms = content_terms(question)
        ids, scores = ft.search_terms(terms, 10)
        assert ids.tolist() == ref.top(terms, 10), question
        assert scores.tolist() == pytest.approx([ref.score(terms, c) for c in ids.tolist()], rel=1e-5)
        assert np.all(np.diff(scores) <= 0) and np.all(scores > 0)
        asked = np.array([1001, *ids.tolist()[::-1], 7], np.int64)  # 1001: no such chunk; 7: the empty one
        got = ft.scores_of_terms(terms, asked)
        assert got[0] == 0.0 and got[-1] == 0.0
        assert np.allclose(got[1:-1], scores[::-1])


def test_a_repeated_query_term_counts_again(pair):
    ft, _ = pair
    once = ft.scores_of_terms(["russia", "troop"], np.array([5], np.int64))[0]
    twice = ft.scores_of_terms(["russia", "russia", "troop"], np.array([5], np.int64))[0]
    three = ft.scores_of_terms(["troop"], np.array([5], np.int64))[0]
    assert twice == pytest.approx(once + (once - three), rel=1e-5)


def test_a_word_with_an_apostrophe_is_split_as_tantivy_splits_it(pair):
    ft, _ = pair
    ids, _ = ft.search_terms(content_terms("Where do O'Brien's boats sail?"), 3)
    assert ids.tolist()[0] == 11


def test_the_view_answers_what_hybrid_retrieval_asks(pair):
    ft, ref = pair
    view = FullTextView(ft)
    assert len(view) == len(ref.docs) == len(TEXTS)
    assert view.all_scores([]) is None and view.top(None, 5)[0].size == 0
    q = view.all_scores(content_terms("Abkhazia Russia"))
    ids, scores = view.top(q, 2)
    assert view.scores_of(ids, q).tolist() == pytest.approx(scores.tolist())
    assert view.idf("abkhazia") == pytest.approx(ref.idf("abkhazia")) == view.idf("abkhazia")  # (remembered)
    assert view.idf("unseen") > view.idf("abkhazia")


def _files(folder):
    import hashlib

    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.iterdir() if f.is_file()}


def test_a_derived_index_shares_the_old_files_and_never_writes_them(tmp_path):
    """One generation's BM25 becoming the next one's: removals and additions in a folder of hard links."""
    old = tmp_path / "gen-1"
    FullText.build([(2 * i + 1, t) for i, t in enumerate(TEXTS)], old)
    before = _files(old)
    new = FullText.derive(old, tmp_path / "gen-2", remove=[5], items=[(21, "Abkhazia opened a new port in Sukhumi.")])
    assert _files(old) == before  # not one byte of the old index changed
    q = content_terms("Abkhazia port")
    assert 5 not in new.search_terms(q, 10)[0].tolist() and 21 in new.search_terms(q, 10)[0].tolist()
    assert len(new) == len(TEXTS)  # one removed, one added
    again = FullText.open(old)
    assert 5 in again.search_terms(q, 10)[0].tolist() and 21 not in again.search_terms(q, 10)[0].tolist()
    shared = [f for f in (tmp_path / "gen-2").iterdir() if f.name in before and f.stat().st_nlink >= 2]
    assert any(f.suffix in (".idx", ".term") for f in shared)  # segment files linked, not copied


def test_a_killed_derive_leaves_the_old_index_whole(tmp_path):
    """SIGKILL at random moments while the next index is written: the old one keeps every byte and answers."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    from .conftest import ROOT

    old = tmp_path / "gen-1"
    FullText.build([(2 * i + 1, f"{t} harbour {i}") for i, t in enumerate(TEXTS * 500)], old)
    before = _files(old)
    want = FullText.open(old).search_terms(["harbour", "abkhazia"], 20)[0].tolist()
    script = (
        "import sys; from pathlib import Path; from assistant.storage.fulltext import FullText; "
        "FullText.derive(Path(sys.argv[1]), Path(sys.argv[2]), range(1, 2000, 2), "
        "((100001 + 2 * i, f'Abkhazia harbour news {i}') for i in range(400000)))"
    )
    rng = random.Random(7)
    for attempt in range(4):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        new = tmp_path / f"gen-{attempt + 2}"
        proc = subprocess.Popen([sys.executable, "-c", script, str(old), str(new)], env=env)
        deadline = time.monotonic() + 60
        while not new.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5))  # linking, deleting or adding: wherever it is by then
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL  # killed while writing the new index, not after
        assert _files(old) == before, attempt
        assert FullText.open(old).search_terms(["harbour", "abkhazia"], 20)[0].tolist() == want


def test_an_index_whose_folder_cannot_take_a_lock_file_still_opens(tmp_path):
    """tantivy locks a file in the folder even to read: where it cannot (a read-only mount, another
    user's index; here the lock's path is a folder) the index opens through links, the same answers."""
    folder = tmp_path / "lex"
    FullText.build(list(enumerate(TEXTS, 1)), folder)
    before = {f.name: f.read_bytes() for f in folder.iterdir() if f.suffix != ".lock"}
    want = FullText.open(folder).search_terms(content_terms("Which states recognize Abkhazia?"), k=3)
    for lock in folder.glob("*.lock"):
        lock.unlink()
        lock.mkdir()  # the lock file cannot be opened for writing, even by root
    ft = FullText.open(folder)
    got = ft.search_terms(content_terms("Which states recognize Abkhazia?"), k=3)
    assert got[0].tolist() == want[0].tolist() and np.allclose(got[1], want[1])
    links = Path(ft._links.name)
    assert links.is_dir() and not links.is_relative_to(folder)
    del ft
    assert not links.exists()  # the links go with the index
    assert {f.name: f.read_bytes() for f in folder.iterdir() if f.suffix != ".lock"} == before  # nothing written


def test_an_index_on_a_read_only_mount_answers(tmp_path, embedder):
    """End to end on a read-only bind mount (needs root and mount; skipped where there is neither)."""
    import subprocess

    from assistant import Assistant

    src, ro = tmp_path / "index", tmp_path / "ro"
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    Assistant.build([seeds], src, embedder=embedder).close()
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True).returncode != 0:
        pytest.skip("mount --bind is not permitted here")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True).returncode != 0:
            pytest.skip("a read-only remount is not permitted here")
        a = Assistant.load(ro, embedder=embedder)
        ans = a.ask("Which states recognized Abkhazia?")
        assert not ans.abstained and "Nauru" in ans.text
        a.close()
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)

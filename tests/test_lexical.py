"""The BM25 index: a saved index read back without bm25s scores exactly as bm25s does."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np

from assistant.storage.lexical import LexicalIndex

from .conftest import ROOT

TEXTS = [
    "Russia, Nicaragua and Nauru recognized Abkhazia and Tskhinvali as independent states.",
    "Karasin told Sputnik Belarus that a review of the recognition is impossible today.",
    "Relations have improved since 2012 under the Georgian Dream party's leadership.",
    "Russia restored humanitarian, transport and trade ties and simplified visas for Georgians.",
    "The Eiffel Tower is in Paris; Paris is the capital of France.",
    "",
    "Nauru is an island country in Micronesia.",
]


def _saved(tmp_path):
    idx = LexicalIndex.build(enumerate(TEXTS, start=10))
    idx.save(tmp_path / "lexical")
    return idx, LexicalIndex.load(tmp_path / "lexical")


def test_saved_index_scores_like_bm25s(tmp_path):
    built, loaded = _saved(tmp_path)
    vocab = sorted(t for t in loaded.bm25.vocab_dict if t)
    rng = random.Random(0)
    for _ in range(200):
        terms = [rng.choice(vocab) for _ in range(rng.randint(1, 6))]
        terms.append(terms[0])  # a repeated question word counts twice, as in bm25s
        np.testing.assert_array_equal(loaded.all_scores(terms), built.all_scores(terms))
    ids, scores = loaded.search("Which states recognized Abkhazia?", k=3)
    assert ids[0] == 10 and scores[0] > 0
    assert loaded.search("capital of France", k=1)[0].tolist() == [14]
    assert loaded.search("zeppelin", k=5)[0].size == 0  # unknown words find nothing
    assert loaded.idf("nauru") == built.idf("nauru") < loaded.idf("zeppelin")


def test_an_empty_index_saves_and_loads(tmp_path):
    empty = LexicalIndex.build([])
    empty.save(tmp_path / "empty")
    assert len(LexicalIndex.load(tmp_path / "empty")) == 0
    assert LexicalIndex.load(tmp_path / "empty").search("Nauru", 3)[0].size == 0


def test_searching_a_saved_index_never_imports_bm25s_or_scipy(tmp_path):
    _saved(tmp_path)
    code = (
        "import sys; from assistant.storage.lexical import LexicalIndex; "
        f"ix = LexicalIndex.load({str(tmp_path / 'lexical')!r}); ix.search('Nauru', 3); "
        "print([m for m in ('bm25s', 'scipy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

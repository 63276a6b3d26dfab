"""A fixed, collection-independent IDF for the answerer's lexical features.

The index's own BM25 IDF moves as articles are added (in a one-article index every word is
"rare"; among 10,000 articles few are), and with it any confidence built on it: the decision to
answer a question about one article would flip when unrelated articles arrive. The answerer's
features therefore weigh words by their document frequency in a fixed reference corpus, the
18,896 paragraphs of SQuAD v1.1 train (Wikipedia), shipped as ``assistant/data/idf.json``
(stem → paragraphs containing it, for stems in at least 2). Retrieval keeps the index's IDF.

    python -m assistant.answer.background_idf --data ../shared/data   # rebuild the table

Example::

    from assistant.answer.background_idf import background_idf
    idf = background_idf()
    idf("abkhazia") > idf("countri")   # True
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

from ..terms import content_terms

IDF_FILE = Path(__file__).resolve().parents[1] / "data" / "idf.json"


class BackgroundIdf:
    """BM25-style IDF over the reference corpus; unseen stems get the rarest value."""

    def __init__(self, n: int, df: dict[str, int]) -> None:
        self.n = max(int(n), 1)
        self.df = df
        self.unseen = self.idf_of_df(0)

    def idf_of_df(self, df: int) -> float:
        return float(math.log(1.0 + (self.n - df + 0.5) / (df + 0.5)))

    def __call__(self, term: str) -> float:
        df = self.df.get(term)
        return self.unseen if df is None else self.idf_of_df(df)


@lru_cache(maxsize=2)
def background_idf(path: str = str(IDF_FILE)) -> BackgroundIdf:
    """The shipped table (loaded once)."""
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    return BackgroundIdf(int(d["documents"]), {str(k): int(v) for k, v in d["df"].items()})


def build(texts: list[str], min_df: int = 2) -> dict:
    """The table for ``texts``: document count and the document frequency of each stem."""
    df: Counter[str] = Counter()
    for t in texts:
        df.update(set(content_terms(t)))
    return {
        "documents": len(texts),
        "source": "SQuAD v1.1 train paragraphs",
        "df": {k: v for k, v in sorted(df.items()) if v >= min_df},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="rebuild assistant/data/idf.json from SQuAD v1.1 train")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=IDF_FILE)
    args = ap.parse_args(argv)
    squad = json.loads((args.data / "squad-v1.1" / "train.json").read_text(encoding="utf-8"))
    texts = [p["context"] for a in squad["data"] for p in a["paragraphs"]]
    table = build(texts)
    args.out.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(table['df'])} stems from {len(texts)} paragraphs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

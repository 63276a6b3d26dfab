"""Metrics shared by the eval gate and the benchmarks (plain Python + numpy)."""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np


# --- SQuAD (official normalisation) -------------------------------------------------------
def normalize_answer(s: str) -> str:
    """Lower-case, strip punctuation, articles and extra white space (official SQuAD script)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds)) if golds else 0.0


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Max token F1 of ``prediction`` against the gold answers."""
    best = 0.0
    pred = normalize_answer(prediction).split()
    for g in golds:
        gold = normalize_answer(g).split()
        common = Counter(pred) & Counter(gold)
        same = sum(common.values())
        if not pred or not gold:
            best = max(best, float(pred == gold))
            continue
        if same == 0:
            continue
        p, r = same / len(pred), same / len(gold)
        best = max(best, 2 * p * r / (p + r))
    return best


def _drop_unicode_punct(s: str) -> str:
    """Remove non-ASCII punctuation (curly quotes, dashes) that the official normalisation keeps."""
    return "".join(ch for ch in s if ord(ch) < 128 or not unicodedata.category(ch).startswith("P"))


def answer_in_text(text: str, golds: Sequence[str]) -> bool:
    """A gold answer string occurs in ``text`` (normalised, DrQA-style; Unicode punctuation ignored)."""
    t = f" {normalize_answer(_drop_unicode_punct(text))} "
    norm = [normalize_answer(_drop_unicode_punct(g)) for g in golds]
    return any(g and f" {g} " in t for g in norm)


# --- ranking ------------------------------------------------------------------------------
def first_rank(ranked: Sequence[str], relevant: set[str] | str) -> int | None:
    """0-based rank of the first relevant id, or None."""
    rel = {relevant} if isinstance(relevant, str) else relevant
    for i, x in enumerate(ranked):
        if x in rel:
            return i
    return None


def hit_at(rank: int | None, k: int) -> float:
    return float(rank is not None and rank < k)


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    return 1.0 / (rank + 1) if rank is not None and rank < k else 0.0


def ndcg_at(ranked: Sequence[str], relevance: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevance.get(x, 0) / math.log2(i + 2) for i, x in enumerate(ranked[:k]))
    ideal = sorted(relevance.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], relevance: dict[str, int], k: int = 100) -> float:
    rel = {x for x, r in relevance.items() if r > 0}
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


# --- confidence ---------------------------------------------------------------------------
def auroc(scores_pos: Sequence[float], scores_neg: Sequence[float]) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    pos, neg = np.asarray(scores_pos, float), np.asarray(scores_neg, float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    i = 0
    while i < len(allv):  # average ranks for ties
        j = i
        while j + 1 < len(allv) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> tuple[float, list[dict]]:
    """(expected calibration error, table of bins with count, mean confidence, accuracy)."""
    conf = np.asarray(confidences, float)
    ok = np.asarray(correct, float)
    table, ece = [], 0.0
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        n = int(mask.sum())
        if n:
            mc, acc = float(conf[mask].mean()), float(ok[mask].mean())
            ece += n / len(conf) * abs(mc - acc)
            table.append(
                {"bin": f"{lo:.1f}-{hi:.1f}", "count": n, "confidence": round(mc, 4), "accuracy": round(acc, 4)}
            )
    return float(ece), table


def percentiles(values_s: Sequence[float], ps: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """Latency percentiles in milliseconds, from seconds."""
    arr = np.asarray(values_s, float) * 1000.0
    if len(arr) == 0:
        return {f"p{p}": float("nan") for p in ps}
    return {f"p{p}": round(float(np.percentile(arr, p)), 2) for p in ps}

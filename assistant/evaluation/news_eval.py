"""The news question set: questions analysts ask about real BBC News stories, scored by intent.

``assistant eval --news [--data ../shared/data]`` indexes every article of ``bbc-news/`` plus
``seeds/`` (cached), asks each question of ``eval/news.jsonl`` (with its history) and reports each
intent, each fold and the whole set against ``eval/thresholds-news.json``.

Set format (JSONL; the articles' text is never copied: evidence is given by short anchors)::

    {"id": "na-001", "intent": "factoid", "question": "…", "article_id": "tech/001",
     "answers": ["£99"], "evidence": ["a few words of the evidence sentence"]}
    {"id": "na-090", "intent": "followup", "history": ["earlier question"], "question": "And when?", …}
    {"id": "na-100", "intent": "nearmiss", "unanswerable": true, "article_id": "tech/001", "question": "…"}
    {"id": "na-120", "intent": "across", "question": "Which articles mention X?", "answers": ["X"],
     "articles": ["tech/001", "business/045"], "article_id": "tech/001"}

A question is **right** when:

- answerable intents: the answer is not an abstention, holds one of ``answers`` (DrQA-style, when
  given) and one of its sentences overlaps an evidence sentence (the article sentence holding
  an anchor) of the named article;
- ``summary``: at least two sentences, all from the named article, one of them an evidence sentence;
- ``across``: every listed article is found (recall 1) and at least 3 in 4 of those listed are right;
- ``nearmiss``: the assistant abstains.

Folds are by article (``fold = crc32(article_id) % 2``): rules and thresholds were tuned looking at
fold 0 ("tune") only; fold 1 ("held-out") reports how that generalises.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..answer.compose import article_sentences
from ..settings import PROJECT_ROOT
from .metrics import auroc, percentiles, reliability
from .seeds_eval import matches

EVAL_DIR = PROJECT_ROOT / "eval"
NEWS_SET = EVAL_DIR / "news.jsonl"
NEWS_THRESHOLDS = EVAL_DIR / "thresholds-news.json"
INTENTS = ("factoid", "quote", "topic", "summary", "why", "yesno", "across", "followup", "nearmiss")


@dataclass
class NewsItem:
    """One question of the news set."""

    id: str
    intent: str
    question: str
    article_id: str = ""
    answers: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)
    unanswerable: bool = False

    @property
    def fold(self) -> int:
        return zlib.crc32(self.article_id.encode()) % 2


def load_news_set(path: str | Path = NEWS_SET) -> list[NewsItem]:
    """Read the set; raises ValueError naming the line of a malformed entry."""
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        d = json.loads(line)
        item = NewsItem(
            id=d["id"],
            intent=d["intent"],
            question=d["question"],
            article_id=d.get("article_id", ""),
            answers=list(d.get("answers") or []),
            evidence=list(d.get("evidence") or []),
            history=list(d.get("history") or []),
            articles=list(d.get("articles") or []),
            unanswerable=bool(d.get("unanswerable", False)),
        )
        if item.intent not in INTENTS:
            raise ValueError(f"{path}:{n}: {item.id}: unknown intent {item.intent!r}")
        if item.intent == "across" and not item.articles:
            raise ValueError(f"{path}:{n}: {item.id}: an 'across' question needs its articles")
        if item.intent not in ("across", "nearmiss") and not item.evidence:
            raise ValueError(f"{path}:{n}: {item.id}: needs evidence anchors")
        if item.intent == "nearmiss" and not item.unanswerable:
            raise ValueError(f"{path}:{n}: {item.id}: a near-miss is unanswerable")
        items.append(item)
    return items


def gold_spans(item: NewsItem, sentences: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """The evidence sentences' (start, end) in the article, from the item's anchors."""
    out = []
    for anchor in item.evidence:
        hit = next(((a, b) for a, b, text in sentences if anchor in text), None)
        if hit is None:
            raise ValueError(
                f"{item.id}: evidence anchor not within one sentence of {item.article_id}: {anchor[:50]!r}"
            )
        out.append(hit)
    return out


def _sentences(assistant, article_id: str) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.text) for s, _ in article_sentences(assistant.index, article_id)]


def _answer_sentences(ans) -> list:
    sents = getattr(ans, "sentences", None)  # (answers of versions before multi-sentence ones have none)
    return list(sents) if sents else list(ans.citations[:1])


def _overlaps(c, article_id: str, spans: list[tuple[int, int]]) -> bool:
    return c.article_id == article_id and not c.field and any(c.start < b and c.end > a for a, b in spans)


def judge(item: NewsItem, ans, spans: list[tuple[int, int]]) -> tuple[bool, bool]:
    """``(right, candidate_right)``: whether the answer is right, and whether its best candidate
    would be right had it not abstained (what the confidence is calibrated against)."""
    if item.intent == "nearmiss":
        return ans.abstained, False
    if item.intent == "across":
        listed = {c.article_id for c in _answer_sentences(ans)}
        gold = set(item.articles)
        ok = bool(listed) and gold <= listed and len(listed & gold) / len(listed) >= 0.75
        return ok and not ans.abstained, ok
    sents = _answer_sentences(ans) if not ans.abstained else list(ans.citations[:1])
    text = ans.text if not ans.abstained else " ".join(c.quote for c in sents)
    if item.intent == "summary":
        ok = (
            len(sents) >= 2
            and all(c.article_id == item.article_id for c in sents)
            and any(_overlaps(c, item.article_id, spans) for c in sents)
        )
    else:
        ok = any(_overlaps(c, item.article_id, spans) for c in sents) and (
            not item.answers or matches(text, item.answers)
        )
    return ok and not ans.abstained, ok


def evaluate_news(assistant, items: list[NewsItem]) -> dict:
    """Ask every question and score it; returns ``{"metrics": …, "rows": […]}``."""
    rows = []
    cache: dict[str, list[tuple[int, int, str]]] = {}
    for item in items:
        t = time.perf_counter()
        ans = assistant.ask(item.question, history=item.history or None)
        latency = time.perf_counter() - t
        spans: list[tuple[int, int]] = []
        if item.evidence:
            if item.article_id not in cache:
                cache[item.article_id] = _sentences(assistant, item.article_id)
            spans = gold_spans(item, cache[item.article_id])
        right, cand = judge(item, ans, spans)
        rows.append(
            {
                "id": item.id,
                "intent": item.intent,
                "fold": item.fold,
                "question": item.question,
                "unanswerable": item.unanswerable,
                "right": right,
                "candidate_right": cand,
                "abstained": ans.abstained,
                "confidence": ans.confidence,
                "answer_intent": getattr(ans, "intent", ""),
                "answer": ans.text,
                "span": ans.span_text,
                "search_query": ans.search_query,
                "cited": [f"{c.article_id}:{c.start}-{c.end}" for c in _answer_sentences(ans)],
                "latency_s": round(latency, 4),
                "notes": list(ans.notes),
            }
        )
    return {"metrics": news_metrics(rows), "rows": rows}


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else float("nan")


def _block(rows: list[dict]) -> dict:
    ans = [r for r in rows if not r["unanswerable"]]
    una = [r for r in rows if r["unanswerable"]]
    ece, _ = reliability([r["confidence"] for r in rows], [r["candidate_right"] for r in rows])
    return {
        "n": len(rows),
        "right": _mean(r["right"] for r in rows),
        "answerable_right": _mean(r["right"] for r in ans),
        "nearmiss_abstained": _mean(r["abstained"] for r in una),
        "answerable_abstained": _mean(r["abstained"] for r in ans),
        "auroc": round(auroc([r["confidence"] for r in ans if r["right"]], [r["confidence"] for r in una]), 4),
        "ece": round(ece, 4),
        "by_intent": {
            k: {"n": len(sub), "right": _mean(r["right"] for r in sub)}
            for k in INTENTS
            if (sub := [r for r in rows if r["intent"] == k])
        },
    }


def news_metrics(rows: list[dict]) -> dict:
    """Figures of the whole set and of each fold (0 = tune, 1 = held-out)."""
    m = _block(rows)
    m["questions"] = len(rows)
    m["latency_ms"] = percentiles([r["latency_s"] for r in rows], (50, 95))
    m["folds"] = {name: _block([r for r in rows if r["fold"] == f]) for f, name in ((0, "tune"), (1, "held_out"))}
    m["worst_intent"] = min((v["right"] for v in m["by_intent"].values()), default=float("nan"))
    return m


def format_news_table(m: dict) -> str:
    """A plain-text table: each intent, overall, abstention, calibration, for the set and each fold."""
    cols = [("all", m), ("tune", m["folds"]["tune"]), ("held-out", m["folds"]["held_out"])]
    lines = [f"{'':<22}" + "".join(f"{c:>10}" for c, _ in cols), "-" * 52]
    for k in INTENTS:
        cells = []
        for _, b in cols:
            v = b["by_intent"].get(k)
            cells.append(f"{v['right']:>6.2f} ({v['n']:>2})" if v else f"{'-':>10}")
        lines.append(f"{k:<22}" + "".join(f"{c:>10}" for c in cells))
    for key, label in (
        ("right", "right, all"),
        ("nearmiss_abstained", "near-miss abstained"),
        ("answerable_abstained", "answerable abstained"),
        ("auroc", "AUROC"),
        ("ece", "ECE"),
    ):
        lines.append(f"{label:<22}" + "".join(f"{b[key]:>10.3f}" for _, b in cols))
    lat = m["latency_ms"]
    lines.append(f"{'latency p50 / p95 ms':<22}{lat['p50']:>10.1f} / {lat['p95']:.1f}")
    return "\n".join(lines)


def news_assistant(data_dir: str | Path, embedder=None, progress: bool = False):
    """An assistant over every ``bbc-news`` article plus ``seeds/`` (index cached by content)."""
    from ..ingest.readers import read_paths
    from ..models.embedding import Embedder
    from ..settings import Settings
    from .corpus import open_corpus

    settings = Settings.from_env()
    folder = Path(data_dir) / "bbc-news"
    if not folder.is_dir():
        raise FileNotFoundError(f"no bbc-news folder in {data_dir}: pass --data with the shared data folder")
    articles = read_paths([folder, settings.seeds_dir]).articles
    embedder = embedder or Embedder.load(settings.model, settings.allow_download)
    return open_corpus("news", articles, embedder, settings, progress=progress)


def run_news_gate(
    assistant, set_path: str | Path = NEWS_SET, thresholds_path: str | Path = NEWS_THRESHOLDS, out_dir=None
) -> tuple[dict, list[str]]:
    """Evaluate the news set; write ``news.json`` into ``out_dir`` (if given); returns (report, failures)."""
    from .seeds_eval import check, load_thresholds

    report = evaluate_news(assistant, load_news_set(set_path))
    thresholds = load_thresholds(thresholds_path)
    failures = check(report["metrics"], thresholds)
    report.update(thresholds=thresholds, failures=failures, set=str(set_path), date=time.strftime("%Y-%m-%d %H:%M:%S"))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "news.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return report, failures


def reader_latency_ratio(assistant, items: list[NewsItem], rounds: int = 1) -> dict:
    """``ask()`` p50/p95 with the reader and with ``reader="none"`` on the same index, each question asked
    both ways back to back (same run, same machine load): the ratio is what the reader costs."""
    from ..core import Assistant

    bare = Assistant(assistant.index, assistant.embedder, assistant.settings.with_(reader="none"))
    with_reader, without = [], []
    for _ in range(rounds):
        for item in items:
            for who, out in ((assistant, with_reader), (bare, without)):
                t = time.perf_counter()
                who.ask(item.question, history=item.history or None)
                out.append(time.perf_counter() - t)
    a, b = percentiles(with_reader, (50, 95)), percentiles(without, (50, 95))
    return {"reader_ms": a, "no_reader_ms": b, "p50_ratio": round(a["p50"] / b["p50"], 3), "n": len(with_reader)}

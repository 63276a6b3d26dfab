"""The eval gate: run a hand-written question set through ``ask()`` and check it against thresholds.

``assistant eval [--set eval/seeds.jsonl] [--index DIR] [--thresholds eval/thresholds.json]``
prints a table, writes ``eval/reports/seeds.json`` and ``eval/reports/seeds.png`` and exits 1
when a metric is below (or, for ``max`` entries, above) its threshold.

Set format (JSONL, one question a line)::

    {"id": "direct-01", "question": "Who is Gregory Karasin?", "answers": ["Deputy Foreign Minister"],
     "article_id": "russia-will-not-withdraw-recognition", "sentence": "Russia’s Deputy Foreign ..."}
    {"id": "follow-01", "question": "Who did he speak to?", "history": ["Who is Gregory Karasin?"],
     "standalone": "Who did Gregory Karasin speak to?", ...}
    {"id": "none-01", "question": "How many people live in Abkhazia?", "unanswerable": true}

``answers`` are matched DrQA-style (normalised substring of the answer text); an answer starting
with ``re:`` is a case-insensitive regular expression. ``sentence`` (a string or a list of them)
is the gold evidence; a citation is right when its character range overlaps one of them.
``standalone`` (follow-ups) is the same question written to stand on its own; it is asked too,
without history, and ``follow_up_gap`` is how many more of those are answered than of the
follow-ups as asked (what the conversation layer loses).

Example::

    from assistant import Assistant
    from assistant.evaluation.seeds_eval import load_set, evaluate
    report = evaluate(Assistant.load("index"), load_set("eval/seeds.jsonl"))
    print(report["metrics"]["answer_accuracy"])
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..settings import PROJECT_ROOT
from .metrics import answer_in_text, auroc, first_rank, hit_at, percentiles, reciprocal_rank, reliability

EVAL_DIR = PROJECT_ROOT / "eval"
DEFAULT_SET = EVAL_DIR / "seeds.jsonl"
DEFAULT_THRESHOLDS = EVAL_DIR / "thresholds.json"
DEFAULT_OUT = EVAL_DIR / "reports"
RANK_DEPTH = 10


@dataclass
class EvalItem:
    """One question of the set with its gold answer strings and evidence sentences."""

    id: str
    question: str
    history: list = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    article_id: str = ""
    sentences: list[str] = field(default_factory=list)
    unanswerable: bool = False
    standalone: str = ""  # for a follow-up: the same question written to stand alone
    field: str = ""  # a question about the article's header: the field the answer is cited from

    @property
    def category(self) -> str:
        """The id's prefix (``direct``, ``para``, ``said``, ``follow``, ``none``, ...)."""
        return self.id.split("-")[0]


def load_set(path: str | Path) -> list[EvalItem]:
    """Read a JSONL question set; raises ValueError on an entry without answers or gold evidence."""
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        d = json.loads(line)
        sent = d.get("sentence", [])
        item = EvalItem(
            id=str(d["id"]),
            question=d["question"],
            history=list(d.get("history") or []),
            answers=list(d.get("answers") or []),
            article_id=d.get("article_id", ""),
            sentences=[sent] if isinstance(sent, str) else list(sent),
            unanswerable=bool(d.get("unanswerable", False)),
            standalone=d.get("standalone", ""),
            field=d.get("field", ""),
        )
        evidence = item.sentences or item.field
        if not item.unanswerable and not (item.answers and item.article_id and evidence):
            raise ValueError(
                f"{path}:{n}: {item.id} needs answers, article_id and sentence (or field), or unanswerable"
            )
        items.append(item)
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate ids")
    return items


def matches(text: str, answers: list[str]) -> bool:
    """A gold answer occurs in ``text`` (normalised substring, or ``re:`` regular expression)."""
    plain = [a for a in answers if not a.startswith("re:")]
    if plain and answer_in_text(text, plain):
        return True
    return any(re.search(a[3:], text, re.I) for a in answers if a.startswith("re:"))


def _gold_spans(item: EvalItem, article_text: str) -> list[tuple[int, int]]:
    spans = []
    for s in item.sentences:
        at = article_text.find(s)
        if at < 0:
            raise ValueError(f"{item.id}: gold sentence not found in article {item.article_id!r}: {s[:60]!r}")
        spans.append((at, at + len(s)))
    return spans


def _overlaps(article_id: str, start: int, end: int, gold_article: str, spans: list[tuple[int, int]]) -> bool:
    return article_id == gold_article and any(start < b and end > a for a, b in spans)


def evaluate(assistant, items: list[EvalItem]) -> dict:
    """Ask every question (with its history) and measure answers, citations, abstention, retrieval."""
    from ..answer.question import analyse

    rows = []
    texts: dict[str, str] = {}
    for item in items:
        t = time.perf_counter()
        ans = assistant.ask(item.question, history=item.history or None)
        latency = time.perf_counter() - t
        row = {
            "id": item.id,
            "category": item.category,
            "question": item.question,
            "unanswerable": item.unanswerable,
            "abstained": ans.abstained,
            "confidence": ans.confidence,
            "answer": ans.text,
            "span": ans.span_text,
            "search_query": ans.search_query,
            "latency_s": round(latency, 4),
            "cited": [f"{c.article_id}:{c.start}-{c.end}" for c in ans.citations],
            "notes": list(ans.notes),
        }
        top_quote = ans.citations[0].quote if ans.citations else ""
        if item.unanswerable:
            row["correct"] = ans.abstained
            row["candidate_correct"] = False
        elif item.field:  # answered from the header: cited by that field of the right article
            row["answer_correct"] = (not ans.abstained) and matches(ans.text, item.answers)
            row["correct"] = row["answer_correct"]
            row["candidate_correct"] = matches(ans.text if not ans.abstained else top_quote, item.answers)
            c = ans.citations[0] if ans.citations else None
            row["citation_correct"] = c is not None and c.article_id == item.article_id and c.field == item.field
            if item.standalone:
                alone = assistant.ask(item.standalone)
                row["standalone_correct"] = (not alone.abstained) and matches(alone.text, item.answers)
        else:
            if item.article_id not in texts:
                texts[item.article_id] = assistant.index.store.article_text(item.article_id)
            spans = _gold_spans(item, texts[item.article_id])
            row["answer_correct"] = (not ans.abstained) and matches(ans.text, item.answers)
            row["correct"] = row["answer_correct"]
            # The best candidate (shown as the closest passage even when abstaining) for calibration.
            row["candidate_correct"] = matches(ans.text if not ans.abstained else top_quote, item.answers)
            c = ans.citations[0] if ans.citations else None
            row["citation_correct"] = c is not None and _overlaps(c.article_id, c.start, c.end, item.article_id, spans)
            hits = assistant.retriever.search(ans.search_query, RANK_DEPTH, terms=analyse(ans.search_query).terms)
            chunks = assistant.index.store.chunks([h.chunk_id for h in hits])
            good = [
                h.chunk_id
                for h in hits
                if h.chunk_id in chunks
                and _overlaps(
                    chunks[h.chunk_id].article_id,
                    chunks[h.chunk_id].start,
                    chunks[h.chunk_id].end,
                    item.article_id,
                    spans,
                )
            ]
            row["gold_rank"] = first_rank([h.chunk_id for h in hits], set(good))
            if item.standalone:  # the same question asked on its own, for the follow-up gap
                alone = assistant.ask(item.standalone)
                row["standalone_correct"] = (not alone.abstained) and matches(alone.text, item.answers)
        rows.append(row)
    return {"metrics": _metrics(rows), "rows": rows}


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


def _metrics(rows: list[dict]) -> dict:
    ans = [r for r in rows if not r["unanswerable"]]
    una = [r for r in rows if r["unanswerable"]]
    answered = [r for r in ans if not r["abstained"]]
    abstained = [r for r in rows if r["abstained"]]
    ranked = [r for r in ans if "gold_rank" in r]  # header questions have no passage to retrieve
    ece, table = reliability([r["confidence"] for r in rows], [r["candidate_correct"] for r in rows])
    m = {
        "questions": len(rows),
        "answerable": len(ans),
        "unanswerable": len(una),
        "answer_accuracy": _mean([r["answer_correct"] for r in ans]),
        "citation_accuracy": _mean([r["citation_correct"] for r in answered]),
        "abstention_precision": _mean([r["unanswerable"] for r in abstained]) if abstained else 0.0,
        "abstention_recall": _mean([r["abstained"] for r in una]),
        "false_abstention_rate": _mean([r["abstained"] for r in ans]),
        "overall_accuracy": _mean([r["correct"] for r in rows]),
        "hit@1": _mean([hit_at(r["gold_rank"], 1) for r in ranked]),
        "hit@5": _mean([hit_at(r["gold_rank"], 5) for r in ranked]),
        "mrr": _mean([reciprocal_rank(r["gold_rank"], RANK_DEPTH) for r in ranked]),
        "hit@k": {str(k): _mean([hit_at(r["gold_rank"], k) for r in ranked]) for k in range(1, RANK_DEPTH + 1)},
        "confidence_auroc": round(
            auroc([r["confidence"] for r in ans if r["answer_correct"]], [r["confidence"] for r in una]), 4
        ),
        "ece": round(ece, 4),
        "reliability": table,
        "latency_ms": percentiles([r["latency_s"] for r in rows], (50, 95)),
        "by_category": {},
    }
    for cat in sorted({r["category"] for r in rows}):
        sub = [r for r in rows if r["category"] == cat]
        m["by_category"][cat] = {"n": len(sub), "accuracy": _mean([r["correct"] for r in sub])}
    paired = [r for r in ans if "standalone_correct" in r]
    if paired:
        as_asked = _mean([r["answer_correct"] for r in paired])
        alone = _mean([r["standalone_correct"] for r in paired])
        # > 0: follow-ups lose answers the same questions asked on their own get right.
        m["follow_up"] = {"n": len(paired), "as_asked": as_asked, "standalone": alone}
        m["follow_up_gap"] = round(alone - as_asked, 4)
    return m


def load_thresholds(path: str | Path) -> dict[str, dict[str, float]]:
    """``{"min": {metric: value}, "max": {metric: value}}`` from a JSON file."""
    data = json.loads(Path(path).read_text())
    return {"min": dict(data.get("min", {})), "max": dict(data.get("max", {}))}


def check(metrics: dict, thresholds: dict[str, dict[str, float]]) -> list[str]:
    """The failures: one message per metric outside its threshold (an unknown metric fails too)."""
    failures = []
    for kind, bad in (("min", lambda v, t: v < t), ("max", lambda v, t: v > t)):
        for name, limit in thresholds.get(kind, {}).items():
            value = _lookup(metrics, name)
            if value is None or value != value or bad(value, limit):
                failures.append(f"{name} = {value} is {'below' if kind == 'min' else 'above'} {limit}")
    return failures


def _lookup(metrics: dict, name: str) -> float | None:
    value: object = metrics
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None


def format_table(metrics: dict, thresholds: dict[str, dict[str, float]]) -> str:
    """A plain-text table of the headline metrics with their thresholds."""
    names = [
        "answer_accuracy", "citation_accuracy", "abstention_precision", "abstention_recall",
        "false_abstention_rate", "overall_accuracy", "hit@1", "hit@5", "mrr", "confidence_auroc", "ece",
    ]  # fmt: skip
    lines = [f"{'metric':<24}{'value':>9}  threshold", "-" * 46]
    for n in names:
        lim = thresholds["min"].get(n)
        lim_s = f">= {lim}" if lim is not None else (f"<= {thresholds['max'][n]}" if n in thresholds["max"] else "")
        lines.append(f"{n:<24}{metrics[n]:>9.3f}  {lim_s}")
    lat = metrics["latency_ms"]
    lines.append(f"{'latency p50 / p95 ms':<24}{lat['p50']:>9.1f}  / {lat['p95']:.1f}")
    if "follow_up" in metrics:
        f = metrics["follow_up"]
        lim = thresholds["max"].get("follow_up_gap")
        lines.append(
            f"{'follow_up_gap':<24}{metrics['follow_up_gap']:>9.3f}  {f'<= {lim}' if lim is not None else ''}"
            f"  (follow-ups {f['as_asked']:.2f} as asked vs {f['standalone']:.2f} written standalone, n={f['n']})"
        )
    lines.append("")
    lines.append("accuracy by category: " + ", ".join(
        f"{c} {v['accuracy']:.2f} (n={v['n']})" for c, v in metrics["by_category"].items()
    ))  # fmt: skip
    lines.append("reliability (confidence bin: n, mean confidence, accuracy):")
    for b in metrics["reliability"]:
        lines.append(f"  {b['bin']}: {b['count']:>3}  {b['confidence']:.2f}  {b['accuracy']:.2f}")
    return "\n".join(lines)


def plot(metrics: dict, path: str | Path) -> None:
    """hit@k of the gold passage and a reliability diagram, side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    ks = [int(k) for k in metrics["hit@k"]]
    a1.plot(ks, [metrics["hit@k"][str(k)] for k in ks], marker="o")
    a1.set(xlabel="k (passages)", ylabel="gold passage in top k", title="retrieval recall@k", ylim=(0, 1.02))
    a1.grid(alpha=0.3)
    rel = metrics["reliability"]
    a2.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    a2.plot([b["confidence"] for b in rel], [b["accuracy"] for b in rel], marker="o", label="assistant")
    for b in rel:
        a2.annotate(str(b["count"]), (b["confidence"], b["accuracy"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")  # fmt: skip
    a2.set(xlabel="confidence", ylabel="best candidate correct", title=f"calibration (ECE {metrics['ece']:.3f})",
           xlim=(0, 1), ylim=(0, 1.02))  # fmt: skip
    a2.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_gate(
    assistant,
    set_path: str | Path = DEFAULT_SET,
    thresholds_path: str | Path = DEFAULT_THRESHOLDS,
    out_dir: str | Path | None = DEFAULT_OUT,
) -> tuple[dict, list[str]]:
    """Evaluate, write ``seeds.json`` + ``seeds.png`` into ``out_dir`` (if given); returns (report, failures)."""
    report = evaluate(assistant, load_set(set_path))
    thresholds = load_thresholds(thresholds_path)
    failures = check(report["metrics"], thresholds)
    report["thresholds"] = thresholds
    report["failures"] = failures
    report["set"] = str(set_path)
    report["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    report["model"] = assistant.embedder.spec.name
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        try:
            plot(report["metrics"], out / "seeds.png")
        except ModuleNotFoundError as exc:  # matplotlib is a test extra: the figure is optional
            report["note"] = f"no figure: the Python package {exc.name!r} is not installed (pip install {exc.name})"
            print(f"note: {report['note']}", file=sys.stderr)
        (out / "seeds.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return report, failures


def _default_assistant(embedder=None):
    """An assistant over a cached index of ``seeds/`` (rebuilt only when the articles change)."""
    from ..ingest.readers import read_paths
    from ..models.embedding import Embedder
    from ..settings import Settings
    from .corpus import open_corpus

    settings = Settings.from_env()
    articles = read_paths([settings.seeds_dir]).articles
    embedder = embedder or Embedder.load(settings.model, settings.allow_download)
    return open_corpus("seeds", articles, embedder, settings, progress=False)

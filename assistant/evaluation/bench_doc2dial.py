"""Conversational benchmarks: doc2dial follow-ups, and the topic-switch check on SQuAD.

``assistant bench doc2dial`` asks every doc2dial turn twice, with its dialogue history and as
the question alone, and reports hit@1/@5 of the gold document section (hybrid, BM25-only and
dense-only retrieval) and how often the answer sentence holds the gold answer.

``assistant bench topic-switch`` asks standalone SQuAD v1.1 questions after an unrelated
conversation (two exchanges about another Wikipedia article) and after none: the history must
not cost more than one point of hit@5.

Example::

    assistant bench doc2dial --data ../shared/data --limit 200
    assistant bench topic-switch --data ../shared/data --limit 1000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from ..search.conversation import normalise_history, plan_query
from .commands import benchmark

MODES = ("hybrid", "bm25", "dense")
CONDITIONS = ("history", "question")  # with the dialogue history / the question alone
MAX_LOSS = 0.01  # topic switch: allowed loss of hit@5


def ranked_articles(assistant, question: str, history: object, mode: str = "hybrid", k: int = 20):
    """Article ids in retrieval order for ``question`` after ``history`` (as ``Assistant.ask`` searches),
    and the query plan."""
    plan = plan_query(
        question, normalise_history(history), assistant.index.lexical.idf, assistant.embedder.encode_query
    )
    vec = plan.vector(assistant.embedder.encode_query) if mode != "bm25" else None
    hits = assistant.retriever.search(plan.text, k=k, mode=mode, query_vector=vec, terms=plan.terms)
    chunks = assistant.index.store.chunks([h.chunk_id for h in hits])
    out: list[str] = []
    for h in hits:
        c = chunks.get(h.chunk_id)
        if c is not None and c.article_id not in out:
            out.append(c.article_id)
    return out, plan


def _resolve(data: Path, sub: str) -> Path:
    return data / sub if (data / sub).exists() else data


def _write(report: dict, out: Path | None) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
        print(f"report written to {out}")


def _mean(xs: list[float]) -> float:
    return round(sum(xs) / len(xs), 4) if xs else 0.0


def _within(answer: str, golds: list[str]) -> bool:
    """The answer sentence lies inside a gold span (doc2dial spans often hold several sentences)."""
    from .metrics import normalize_answer

    a = normalize_answer(answer)
    return bool(a) and any(a in normalize_answer(g) for g in golds)


# --- doc2dial ----------------------------------------------------------------------------------
def run_doc2dial(
    data: Path,
    limit: int | None = None,
    modes: tuple[str, ...] = MODES,
    progress: bool = True,
    answer_every: int = 1,
    sections: int | None = None,
    embedder=None,
    cache: Path | None = None,
) -> dict:
    """Score every turn with and without its history (answers for every ``answer_every``-th turn).

    ``sections`` keeps only the gold sections of the sampled turns plus that many others (a
    quick smoke run); by default the whole corpus is searched.
    """
    from ..models.embedding import Embedder
    from .corpus import open_corpus
    from .datasets import load_doc2dial
    from .metrics import answer_in_text, first_rank, hit_at, reciprocal_rank, token_f1

    folder = _resolve(Path(data), "doc2dial")
    articles, items = load_doc2dial(folder, limit=limit)
    if sections is not None:
        gold = {q.article_id for q in items}
        articles = [a for a in articles if a.id in gold] + [a for a in articles if a.id not in gold][:sections]
    embedder = embedder or Embedder.load()
    assistant = open_corpus("doc2dial", articles, embedder, cache=cache, progress=progress)
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    by_kind: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    kinds: Counter[str] = Counter()
    latency: list[float] = []
    t_start = time.perf_counter()
    for n, item in enumerate(items):
        kind = None
        for cond in CONDITIONS:
            history = item.history if cond == "history" else None
            for mode in modes:
                ranked, plan = ranked_articles(assistant, item.question, history, mode)
                rank = first_rank(ranked, item.article_id)
                key = f"{mode}/{cond}"
                scores[key]["hit@1"].append(hit_at(rank, 1))
                scores[key]["hit@5"].append(hit_at(rank, 5))
                scores[key]["mrr@10"].append(reciprocal_rank(rank, 10))
                if mode == "hybrid":
                    if cond == "history":
                        kind = plan.mode
                        kinds[kind] += 1
                    by_kind[kind][f"{cond} hit@5"].append(hit_at(rank, 5))
            if n % answer_every:
                continue
            t = time.perf_counter()
            ans = assistant.ask(item.question, history=history)
            latency.append(time.perf_counter() - t)
            key = f"answer/{cond}"
            top = ans.citations[0].quote if ans.citations else ""
            scores[key]["answer_in_text"].append(float(not ans.abstained and answer_in_text(ans.text, item.answers)))
            scores[key]["answer_within_gold"].append(float(not ans.abstained and _within(ans.text, item.answers)))
            scores[key]["top_quote_in_or_within"].append(
                float(answer_in_text(top, item.answers) or _within(top, item.answers))
            )
            scores[key]["f1"].append(0.0 if ans.abstained else token_f1(ans.text, item.answers))
            scores[key]["abstained"].append(float(ans.abstained))
        if progress and (n + 1) % 100 == 0:
            h = _mean(scores["hybrid/history"]["hit@5"])
            q = _mean(scores["hybrid/question"]["hit@5"])
            print(f"  {n + 1}/{len(items)} turns: hit@5 history {h:.3f} vs question {q:.3f}", file=sys.stderr)
    from .metrics import percentiles

    return {
        "benchmark": "doc2dial",
        "data": str(folder),
        "turns": len(items),
        "answered_turns": len(range(0, len(items), answer_every)),
        "sections": len(articles),
        "model": embedder.spec.name,
        "date": time.strftime("%Y-%m-%d"),
        "seconds": round(time.perf_counter() - t_start, 1),
        "results": {k: {m: _mean(v) for m, v in d.items()} for k, d in sorted(scores.items())},
        "by_turn_kind": {
            k: {"turns": kinds[k], **{m: _mean(v) for m, v in d.items()}} for k, d in sorted(by_kind.items())
        },
        "ask_latency_s": percentiles(latency),
    }


def _print_doc2dial(r: dict) -> None:
    print(f"doc2dial: {r['turns']} turns over {r['sections']} sections ({r['seconds']} s)")
    print(f"{'retrieval':<10} {'condition':<9} {'hit@1':>7} {'hit@5':>7} {'mrr@10':>7}")
    for key, m in r["results"].items():
        if "hit@1" in m:
            mode, cond = key.split("/")
            print(f"{mode:<10} {cond:<9} {m['hit@1']:>7.3f} {m['hit@5']:>7.3f} {m['mrr@10']:>7.3f}")
    print(f"answers on {r['answered_turns']} turns:")
    print(f"{'':<20} {'in text':>8} {'in gold':>8} {'top quote':>9} {'F1':>6} {'abstain':>8}")
    for cond in CONDITIONS:
        m = r["results"].get(f"answer/{cond}")
        if m:
            print(
                f"{cond:<20} {m['answer_in_text']:>8.3f} {m['answer_within_gold']:>8.3f} "
                f"{m['top_quote_in_or_within']:>9.3f} {m['f1']:>6.3f} {m['abstained']:>8.3f}"
            )
    print("hybrid hit@5 by how the turn was read:")
    for kind, m in r["by_turn_kind"].items():
        print(
            f"  {kind:<13} {m['turns']:>5} turns: history {m['history hit@5']:.3f}  question {m['question hit@5']:.3f}"
        )


def _doc2dial_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--modes", default=",".join(MODES), help="retrieval modes to compare (default: all)")
    p.add_argument("--answer-every", type=int, default=1, help="answer only every N-th turn (answers are slow)")


def doc2dial(args: argparse.Namespace) -> int:
    modes = tuple(m for m in args.modes.split(",") if m)
    report = run_doc2dial(args.data, args.limit, modes, answer_every=max(1, args.answer_every))
    _print_doc2dial(report)
    _write(report, args.out)
    return 0


doc2dial.arguments = _doc2dial_args  # type: ignore[attr-defined]
benchmark("doc2dial", "doc2dial: gold-section hit@k and answers, with the dialogue history vs the question alone")(
    doc2dial
)


# --- topic switch --------------------------------------------------------------------------------
def unrelated_history(items, articles_by_id, item, rng: random.Random, exchanges: int = 2) -> list[dict]:
    """Gradio messages: ``exchanges`` questions about another article (another ``group``), each
    followed by the sentence of that article that holds its answer."""
    from ..ingest.segment import split_sentences

    others = [o for o in items if o.group != item.group and o.answers]
    group = rng.choice(others).group
    pool = [o for o in others if o.group == group]
    history = []
    for o in rng.sample(pool, min(exchanges, len(pool))):
        text = articles_by_id[o.article_id].text
        start = o.answer_starts[0] if o.answer_starts else text.find(o.answers[0])
        sentence = next((text[s:e] for s, e in split_sentences(text) if s <= start < e), o.answers[0])
        history += [{"role": "user", "content": o.question}, {"role": "assistant", "content": sentence}]
    return history


def run_topic_switch(data: Path, limit: int | None = 1000, progress: bool = True, seed: int = 0) -> dict:
    """hit@1/@5 of standalone SQuAD questions after an unrelated history vs after none."""
    from ..models.embedding import Embedder
    from .corpus import open_corpus
    from .datasets import load_squad
    from .metrics import first_rank, hit_at

    path = Path(data)
    if path.is_dir():
        path = _resolve(path, "squad-v1.1") / "dev-tune.json"
    articles, all_items = load_squad(path)
    items = [q for q in all_items if not q.unanswerable]
    if limit is not None and limit < len(items):
        items = sorted(random.Random(seed).sample(items, limit), key=lambda q: q.id)
    by_id = {a.id: a for a in articles}
    embedder = Embedder.load()
    assistant = open_corpus("squad11", articles, embedder, progress=progress)
    rng = random.Random(seed)
    scores: dict[str, list[float]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    changed: list[dict] = []
    t_start = time.perf_counter()
    for n, item in enumerate(items):
        history = unrelated_history(all_items, by_id, item, rng)
        alone, _ = ranked_articles(assistant, item.question, None)
        after, plan = ranked_articles(assistant, item.question, history)
        kinds[plan.mode] += 1
        r0, r1 = first_rank(alone, item.article_id), first_rank(after, item.article_id)
        for k in (1, 5):
            scores[f"question hit@{k}"].append(hit_at(r0, k))
            scores[f"after history hit@{k}"].append(hit_at(r1, k))
        if hit_at(r0, 5) > hit_at(r1, 5) and len(changed) < 20:
            changed.append({"question": item.question, "searched": plan.text, "mode": plan.mode})
        if progress and (n + 1) % 200 == 0:
            print(f"  {n + 1}/{len(items)} questions", file=sys.stderr)
    res = {k: _mean(v) for k, v in scores.items()}
    loss = round(res["question hit@5"] - res["after history hit@5"], 4)
    return {
        "benchmark": "topic-switch",
        "data": str(path),
        "questions": len(items),
        "model": embedder.spec.name,
        "date": time.strftime("%Y-%m-%d"),
        "seconds": round(time.perf_counter() - t_start, 1),
        "results": res,
        "hit@5_loss": loss,
        "max_loss": MAX_LOSS,
        "passed": loss <= MAX_LOSS,
        "turn_kinds": dict(kinds),
        "lost_examples": changed,
    }


def topic_switch(args: argparse.Namespace) -> int:
    limit = args.limit if args.limit is not None else args.questions
    report = run_topic_switch(args.data, limit or None)
    r = report["results"]
    print(f"topic switch: {report['questions']} SQuAD v1.1 questions ({report['seconds']} s)")
    print(f"  question alone:        hit@1 {r['question hit@1']:.3f}  hit@5 {r['question hit@5']:.3f}")
    print(f"  after unrelated turns: hit@1 {r['after history hit@1']:.3f}  hit@5 {r['after history hit@5']:.3f}")
    print(f"  hit@5 loss {report['hit@5_loss']:+.4f} (max {MAX_LOSS}): {'PASS' if report['passed'] else 'FAIL'}")
    print(f"  read as: {report['turn_kinds']}")
    _write(report, args.out)
    return 0 if report["passed"] else 1


def _topic_switch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--questions", type=int, default=1000, help="questions sampled when --limit is not given (0: all)")


topic_switch.arguments = _topic_switch_args  # type: ignore[attr-defined]
benchmark("topic-switch", "standalone SQuAD v1.1 questions after an unrelated history: hit@5 may drop ≤ 1 point")(
    topic_switch
)

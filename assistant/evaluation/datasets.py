"""Loaders for the public QA datasets in their standard formats (read, never copied).

Each loader returns ``(articles, items)``: the corpus as :class:`Article` records and the
questions as :class:`QAItem` records pointing at their gold article.

Example::

    from assistant.evaluation.datasets import load_squad
    articles, items = load_squad("../shared/data/squad-v1.1/dev-tune.json", limit=100)
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from ..ingest.readers import content_hash
from ..records import Article

DEFAULT_DATA = Path("../shared/data")


@dataclass
class QAItem:
    """One benchmark question with its gold evidence."""

    id: str
    question: str
    article_id: str  # gold article (SQuAD: paragraph; doc2dial: section; SciFact: first relevant doc)
    answers: list[str] = field(default_factory=list)
    answer_starts: list[int] = field(default_factory=list)
    unanswerable: bool = False
    history: list[dict] = field(default_factory=list)  # Gradio-style messages, oldest first
    group: str = ""  # e.g. the Wikipedia title: cross-validation never splits a group
    relevant: dict[str, int] = field(default_factory=dict)  # graded relevance (SciFact)


def _article(id_: str, title: str, text: str, source: str) -> Article:
    return Article(id=id_, title=title, text=text, source=source, content_hash=content_hash(title, text))


def _sample(items: list[QAItem], limit: int | None, seed: int) -> list[QAItem]:
    if limit is None or limit >= len(items):
        return items
    rng = random.Random(seed)
    return sorted(rng.sample(items, limit), key=lambda q: q.id)


def load_squad(path: str | Path, limit: int | None = None, seed: int = 0) -> tuple[list[Article], list[QAItem]]:
    """SQuAD v1.1 / 2.0 JSON: every paragraph becomes an article ``"{title}#{n}"`` titled by its page.

    ``limit`` samples that many questions (the corpus stays whole, so retrieval stays honest).
    """
    data = json.loads(Path(path).read_text())
    articles: list[Article] = []
    items: list[QAItem] = []
    for doc in data["data"]:
        title = doc["title"].replace("_", " ")
        for n, para in enumerate(doc["paragraphs"]):
            aid = f"{doc['title']}#{n}"
            articles.append(_article(aid, title, para["context"], f"squad:{doc['title']}"))
            for qa in para["qas"]:
                answers = [a["text"] for a in qa.get("answers", [])]
                starts = [a["answer_start"] for a in qa.get("answers", [])]
                items.append(
                    QAItem(
                        id=qa["id"],
                        question=qa["question"],
                        article_id=aid,
                        answers=answers,
                        answer_starts=starts,
                        unanswerable=bool(qa.get("is_impossible", False)) or not answers,
                        group=doc["title"],
                    )
                )
    return articles, _sample(items, limit, seed)


def load_doc2dial(folder: str | Path, limit: int | None = None, seed: int = 0) -> tuple[list[Article], list[QAItem]]:
    """doc2dial: each document section is an article (id = its title); each turn a question
    whose ``history`` holds the earlier turns as messages (``agent`` → ``assistant``)."""
    folder = Path(folder)
    articles = []
    for line in (folder / "documents.jsonl").read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            articles.append(_article(d["title"], d["title"].split("#")[0], d["text"], f"doc2dial:{d['domain']}"))
    items = []
    for line in (folder / "turns.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        t = json.loads(line)
        history = [
            {"role": "assistant" if h["role"] == "agent" else "user", "content": h["text"]} for h in t["history"]
        ]
        items.append(
            QAItem(
                id=t["id"],
                question=t["question"],
                article_id=t["title"],
                answers=list(t["answers"]),
                answer_starts=list(t.get("answer_start", [])),
                history=history,
                group=t["title"],
            )
        )
    return articles, _sample(items, limit, seed)


def load_scifact(folder: str | Path, limit: int | None = None, seed: int = 0) -> tuple[list[Article], list[QAItem]]:
    """BEIR SciFact: abstracts as articles, claims as questions with graded relevance (test qrels)."""
    folder = Path(folder)
    articles = []
    for line in (folder / "corpus.jsonl").read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            articles.append(_article(str(d["_id"]), d.get("title") or str(d["_id"]), d["text"], "scifact"))
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / "test.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    items = []
    for line in (folder / "queries.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        rel = qrels.get(str(q["_id"]))
        if rel:
            items.append(QAItem(id=str(q["_id"]), question=q["text"], article_id=next(iter(rel)), relevant=rel))
    return articles, _sample(items, limit, seed)

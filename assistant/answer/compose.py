"""Answers of several verbatim sentences: the story a question names, its summary, what it says
about a topic, who said what, and which articles mention a name. Rules over the index's own
sentences and vectors, no generative model.

Example::

    from assistant.answer.compose import find_story, summary, articles_mentioning
    story = find_story(index, retriever, "the Kyrgyz election ink")   # StoryMatch(article_id, coverage, …)
    summary(index, story.article_id)                                  # its lead sentences
    articles_mentioning(index, "Nauru")                               # one sentence per article naming it
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..ingest.quotes import Attribution, attribute, same_person, speaker_key
from ..records import Sentence
from ..search.retrieval import Hit, HybridRetriever
from ..storage.index import Index
from ..terms import STOPWORDS, content_terms, fold, stem, words

#: Sentences of a summary, and the longest lead that still gets a second and third sentence.
SUMMARY_SENTENCES = 3
TOPIC_SENTENCES = 3
ARTICLES_LISTED = 10
QUOTE_SENTENCES = 3  # the longest run of one speaker's sentences given as one quote
QUOTE_MARKS = re.compile(r"[\"“”]")


@dataclass
class StoryMatch:
    """The article a story descriptor names, and how well it matches (0 … 1)."""

    article_id: str
    coverage: float  # IDF-weighted share of the descriptor's words found in the article (title counts double)
    margin: float  # its retrieval score minus the runner-up article's (fused scores, 0 … 1)
    hits: list[Hit]  # the retrieved chunks of that article, best first
    descriptor: str = ""  # the words that named it


def weighted_coverage(terms: list[str], found: set[str], idf) -> float:
    """IDF-weighted share of ``terms`` that are in ``found``."""
    uniq = {t for t in terms if t}
    total = sum(max(idf(t), 0.1) for t in uniq)
    if total <= 0:
        return 0.0
    return sum(max(idf(t), 0.1) for t in uniq if t in found) / total


def article_terms(index: Index, article_id: str) -> set[str]:
    """Stemmed content terms of an article's title and text."""
    meta = index.store.article_meta([article_id]).get(article_id, ("", "", "", ""))
    return set(content_terms(meta[0])) | set(content_terms(index.store.article_text(article_id)))


def find_story(
    index: Index, retriever: HybridRetriever, story: str, query_vector: np.ndarray | None = None, k: int = 20
) -> StoryMatch | None:
    """The article ``story`` ("the Kyrgyz election ink", "Delta's blogging attendant") describes:
    the best article among the retrieved chunks, by fused score plus the share of the descriptor's
    rare words it holds."""
    terms = content_terms(story)
    if not terms:
        return None
    hits = retriever.search(story, k, query_vector=query_vector, terms=terms)
    if not hits:
        return None
    chunks = index.store.chunks([h.chunk_id for h in hits])
    by_article: dict[str, list[Hit]] = {}
    for h in hits:
        c = chunks.get(h.chunk_id)
        if c is not None:
            by_article.setdefault(c.article_id, []).append(h)
    idf = index.lexical.idf
    scored = []
    for aid, ahits in by_article.items():
        cov = weighted_coverage(terms, article_terms(index, aid), idf)
        scored.append((ahits[0].score + cov, cov, aid, ahits))
    scored.sort(key=lambda x: -x[0])
    best = scored[0]
    margin = best[0] - scored[1][0] if len(scored) > 1 else 1.0
    return StoryMatch(best[2], best[1], margin, best[3], story)


def article_sentences(index: Index, article_id: str) -> list[tuple[Sentence, np.ndarray | None]]:
    """Every sentence of an article with its stored vector, in reading order."""
    text = index.store.article_text(article_id)
    return index.store.sentences_in(article_id, 0, len(text))


def _words_in(s: str) -> int:
    return len(words(s))


def summary(index: Index, article_id: str, n: int = SUMMARY_SENTENCES) -> list[Sentence]:
    """An extractive summary: the story's lead, its first ``n`` sentences of substance (news puts
    the gist first), skipping datelines and one-word lines; two when the lead is long."""
    out: list[Sentence] = []
    budget = 0
    for s, _ in article_sentences(index, article_id):
        if _words_in(s.text) < 5:
            continue
        out.append(s)
        budget += _words_in(s.text)
        if len(out) >= n or (len(out) >= 2 and budget > 70):
            break
    return out


def _sentence_vectors(sents: list[tuple[Sentence, np.ndarray | None]], dim: int) -> np.ndarray:
    return np.stack([v if v is not None else np.zeros(dim, np.float32) for _, v in sents]).astype(np.float32)


@dataclass
class Scored:
    sentence: Sentence
    score: float
    coverage: float  # share of the topic's (IDF-weighted) words in the sentence
    dense: float


def about(
    index: Index,
    article_id: str,
    topic: str,
    topic_vector: np.ndarray,
    n: int = TOPIC_SENTENCES,
) -> list[Scored]:
    """The sentences of an article about ``topic``, best first: cosine with the topic plus the
    IDF-weighted share of its words; only sentences within reach of the best are kept."""
    sents = article_sentences(index, article_id)
    if not sents:
        return []
    terms = content_terms(topic)
    idf = index.lexical.idf
    vecs = _sentence_vectors(sents, len(topic_vector))
    dense = vecs @ np.asarray(topic_vector, np.float32)
    scored = []
    for (s, _), d in zip(sents, dense.tolist()):
        cov = weighted_coverage(terms, set(content_terms(s.text)), idf) if terms else 0.0
        scored.append(Scored(s, d + cov, cov, d))
    scored.sort(key=lambda x: -x.score)
    top = scored[0].score
    keep = [x for x in scored[:n] if x.score >= top - 0.25 and (x.coverage > 0 or not terms or x is scored[0])]
    return keep


def quote_sentences(
    index: Index, article_id: str, speaker: str, topic_vector: np.ndarray, topic_terms: list[str]
) -> list[list[Scored]]:
    """The passages of an article in which ``speaker`` is quoted, best match to the topic first: each
    a run of consecutive sentences of theirs (a quote that goes on for several sentences), scored by
    its best sentence; words in quotation marks count more than reported speech."""
    sents = article_sentences(index, article_id)
    if not sents:
        return []
    attrs = attributions(index, article_id, [s for s, _ in sents])  # (with the vectors: not :func:`attributed`)
    idf = index.lexical.idf
    vecs = _sentence_vectors(sents, len(topic_vector))
    dense = (vecs @ np.asarray(topic_vector, np.float32)).tolist()
    runs: list[list[Scored]] = []
    prev = -2
    for i, ((s, _), a, d) in enumerate(zip(sents, attrs, dense)):
        if not (a.quoted and same_person(speaker, a.speaker)):
            continue
        cov = weighted_coverage(topic_terms, set(content_terms(s.text)), idf) if topic_terms else 0.0
        marks = 0.1 if QUOTE_MARKS.search(s.text) else 0.0
        item = Scored(s, d + cov + marks, cov, d)
        if i == prev + 1 and runs and len(runs[-1]) < QUOTE_SENTENCES:
            runs[-1].append(item)
        else:
            runs.append([item])
        prev = i
    runs.sort(key=lambda run: -max(x.score for x in run))
    return runs


def attributed(index: Index, article_id: str) -> tuple[list[Sentence], list[Attribution]]:
    """An article's sentences and their :class:`~assistant.ingest.quotes.Attribution` (who says each)."""
    sents = [s for s, _ in article_sentences(index, article_id)]
    return sents, attributions(index, article_id, sents)


def attributions(index: Index, article_id: str, sents: list[Sentence]) -> list[Attribution]:
    """Who says each of an article's sentences: as recorded at ingest, else (an index from before
    speakers were recorded) by the same rules now."""
    rows = index.store.quotes_in(article_id)
    if rows is None:
        return attribute([s.text for s in sents])
    by_start = {a: (who, quoted) for a, _, who, quoted in rows}
    return [Attribution(*by_start.get(s.start, (None, False))) for s in sents]


def _speakers(index: Index, article_id: str) -> list[tuple[Sentence, Attribution]]:
    """The sentences of an article that have a speaker: the rows recorded at ingest (no sentence
    vectors read), else every sentence attributed now."""
    rows = index.store.quotes_in(article_id)
    if rows is None:
        return list(zip(*attributed(index, article_id)))
    text = index.store.article_text(article_id)
    return [(Sentence(article_id, a, b, text[a:b]), Attribution(who, quoted)) for a, b, who, quoted in rows]


def articles_quoting(index: Index, name: str) -> list[str] | None:
    """The articles quoting ``name`` ("Wenger", "Arsene Wenger"), most quotations first, from the
    speakers recorded at ingest; None for an index that does not record them."""
    found = index.store.quoted_by(speaker_key(name))
    if found is None:
        return None
    counts = Counter(aid for aid, who in found if same_person(name, who))
    return sorted(counts, key=lambda aid: (-counts[aid], aid))


def speaker_of(index: Index, sentence: Sentence, cache: dict | None = None) -> tuple[str | None, Sentence | None]:
    """Who says ``sentence`` (by the article's attribution) and the sentence that names them
    (``sentence`` itself when its text holds the name, else the nearest earlier one that does).
    ``cache``: article id → :func:`attributed`, for several sentences of the same articles."""
    if cache is None:
        cache = {}
    if sentence.article_id not in cache:
        cache[sentence.article_id] = attributed(index, sentence.article_id)
    sents, attrs = cache[sentence.article_id]
    pos = next((i for i, s in enumerate(sents) if s.start == sentence.start), None)
    if pos is None or not attrs[pos].speaker:
        return None, None
    name = attrs[pos].speaker
    surname = fold(name.split()[-1])
    for i in range(pos, -1, -1):
        if surname in {fold(w) for w in re.findall(r"[\w'’-]+", sents[i].text)}:
            return name, sents[i]
    return name, None


def name_pattern(name: str) -> re.Pattern | None:
    """A case-insensitive whole-word pattern for a name ("Tony Blair", "BT's"), or None."""
    toks = [t for t in re.findall(r"[\w'’.&-]+", name) if t]
    toks = [re.sub(r"['’]s$", "", t) for t in toks]
    while toks and fold(toks[0]) in STOPWORDS:
        toks = toks[1:]
    if not toks:
        return None
    body = r"[\s-]+".join(re.escape(t) for t in toks)
    return re.compile(rf"(?<![\w]){body}(?![\w])", re.I)


def name_candidates(phrase: str) -> list[str]:
    """What "Which articles mention X?" may mean by X, most specific first: the phrase as asked, then
    its capitalised names ("the murdered film-maker Theo Van Gogh" → "Theo Van Gogh"; "New York's
    Times Square" → "Times Square"; "the MacWorld show" → "MacWorld"; "the US network NBC" → "NBC")."""
    phrase = re.sub(r"^(?:the|a|an)\s+", "", phrase.strip(" ?.!,"), flags=re.I)
    out = [phrase]
    runs = re.findall(r"[A-Z0-9][\w&.'’-]*(?:\s+(?:of|de|van|von|la|the|and|&)?\s*[A-Z0-9][\w&.'’-]*)*", phrase)
    for run in reversed(runs):  # the name a description ends on is the one meant ("the US network NBC")
        run = run.strip()
        parts = [run] + [p.strip() for p in re.split(r"['’]s\s+", run)[1:]]
        for p in parts:
            p = re.sub(r"['’]s$", "", p)
            if p and p not in out and fold(p) not in STOPWORDS:
                out.append(p)
    return out


def articles_mentioning(index: Index, name: str, limit: int = ARTICLES_LISTED, depth: int = 400) -> list[Sentence]:
    """One sentence per article that names ``name`` (its first mention), most mentions first; ``name``
    may carry descriptive words around the name itself (see :func:`name_candidates`).

    BM25 over the name's words finds the candidate chunks; only articles whose text holds the
    name itself (whole words, any case) are listed, so every citation shows the name."""
    for candidate in name_candidates(name):
        found = _articles_naming(index, candidate, limit, depth)
        if found:
            return found
    return []


def _articles_naming(index: Index, name: str, limit: int, depth: int) -> list[Sentence]:
    pattern = name_pattern(name)
    terms = [stem(w) for w in words(name) if w not in STOPWORDS]
    if pattern is None or not terms:
        return []
    lex = index.lexical
    ids, _ = lex.top(lex.all_scores(terms), depth)
    chunks = index.store.chunks([int(i) for i in ids.tolist()])
    found: dict[str, tuple[int, Sentence]] = {}
    order: list[str] = []
    for cid in ids.tolist():
        c = chunks.get(int(cid))
        if c is None or c.article_id in found:
            continue
        text = index.store.article_text(c.article_id)
        hits = list(pattern.finditer(text))
        if not hits:
            continue
        first = hits[0].start()
        sent = next((s for s, _ in article_sentences(index, c.article_id) if s.start <= first < s.end), None)
        if sent is None:
            continue
        found[c.article_id] = (len(hits), sent)
        order.append(c.article_id)
    ranked = sorted(order, key=lambda a: (-found[a][0], order.index(a)))
    return [found[a][1] for a in ranked[:limit]]


def quotes_by(index: Index, name: str, limit: int = ARTICLES_LISTED) -> list[Sentence]:
    """One sentence per article quoting ``name``, most quotations first: their first quoted
    sentence that names them (else their first quoted one). From the speakers recorded at ingest;
    an index from before them attributes the articles that name ``name``."""
    found = articles_quoting(index, name)
    if found is None:
        found = [s.article_id for s in articles_mentioning(index, name, limit=10 * limit)]
    out = []
    surname = speaker_key(name)
    for aid in found:
        theirs = [s for s, a in _speakers(index, aid) if a.quoted and same_person(name, a.speaker)]
        if theirs:
            named = [s for s in theirs if surname in {fold(w) for w in words(s.text)}]
            out.append((named or theirs)[0])
        if len(out) >= limit:
            break
    return out


def topic_confidence(best: Scored) -> float:
    """How sure a topic answer is: its sentence must hold the topic's words and mean something close."""
    z = 6.0 * best.coverage + 8.0 * (best.dense - 0.35) - 2.5
    return 1.0 / (1.0 + math.exp(-z))


def story_confidence(story: StoryMatch) -> float:
    """How sure it is that ``story`` is the article the question names: most of the descriptor's
    rare words are in it, and it leads the runner-up article."""
    z = 9.0 * (story.coverage - 0.55) + 3.0 * min(story.margin, 0.5)
    return 1.0 / (1.0 + math.exp(-z))


#: Words that state a reason or a way: "because", "due to", "in protest against", "would help it to" …
CAUSAL = re.compile(
    r"\b(?:because|due to|owing to|thanks to|as a result|result(?:ed|s)? (?:in|from)|in protest|in order to|so that|"
    r"so as to|aim(?:s|ed)? (?:to|at)|in a bid to|in an attempt to|help(?:s|ed)? (?:it|them|him|her|to)|would help|"
    r"to help|would use|will use|to pay|to fund|to cut|to reduce|to boost|to avoid|to prevent|to protect|reason|"
    r"cause[ds]?|blamed?|after|following|amid|since|fears?|concerns?|worried|said it was|means?|by (?:\w+ing)|through|"
    r"via|using|with the help)\b",
    re.I,
)
#: How far below the best sentence a why/yes-no candidate may score and still be chosen for its cue.
CAUSAL_BONUS = 2.0
LEAD_PENALTY = 1.5
RERANK_DEPTH = 8


#: A story's lead restates its headline only in a story of some length (not a paragraph-long article).
LEAD_MIN_SENTENCES = 8


def is_lead(index: Index, sentence: Sentence) -> bool:
    """The first sentence of a story of :data:`LEAD_MIN_SENTENCES` or more (the standfirst that restates the headline)."""
    text = index.store.article_text(sentence.article_id)
    if text[: sentence.start].strip():
        return False
    return len(index.store.sentences_in(sentence.article_id, 0, len(text))) >= LEAD_MIN_SENTENCES


def rerank_evidence(cands: list, kind: str, index: Index) -> list:
    """Why/how and yes/no questions want the sentence that gives the reason or settles the claim,
    not the story's lead, which restates the question: among the best candidates of the top
    story, the lead loses :data:`LEAD_PENALTY` and a sentence with a causal cue (why/how) gains
    :data:`CAUSAL_BONUS` (log-odds of the sentence model)."""
    if not cands:
        return cands
    top_article = cands[0].sentence.article_id
    pool = [c for c in cands[:RERANK_DEPTH] if c.sentence.article_id == top_article]

    def adjusted(c) -> float:
        z = c.logit
        if is_lead(index, c.sentence):
            z -= LEAD_PENALTY
        if kind == "why" and CAUSAL.search(c.sentence.text):
            z += CAUSAL_BONUS
        return z

    best = max(pool, key=adjusted)
    if best is cands[0]:
        return cands
    return [best] + [c for c in cands if c is not best]


_WHO_SAID_LEAD = re.compile(
    r"^\s*(?:and\s+)?who\s+(?:\w+\s+){0,2}?(?:said|says|told|described|called|warned|claimed|insisted|argued|"
    r"admitted|was quoted|is quoted)\b(?:\s+(?:that|as saying))?\s*",
    re.I,
)


def who_said(cands: list, question: str, index: Index, depth: int = 10):
    """For "Who said …?": the candidate that is someone's words and holds most of what was said
    (IDF-weighted), or None. A quotation rarely names its speaker ("…," she said), which the
    sentence scorer, looking for a name, holds against it."""
    clause = _WHO_SAID_LEAD.sub("", question).strip(" ?")
    terms = content_terms(clause)
    if len(set(terms)) < 2 or not cands:  # too little of what was said to recognise it
        return None
    idf = index.lexical.idf

    def coverage(c) -> float:
        return weighted_coverage(terms, set(content_terms(c.sentence.text)), idf)

    best, best_score, best_cov = None, 0.0, 0.0
    attributions: dict = {}  # each article's attribution, worked out once
    for c in cands[:depth]:
        cov = coverage(c)
        if cov < 0.5:
            continue
        name, _ = speaker_of(index, c.sentence, attributions)
        if name is None:
            continue
        score = cov + c.features.get("dense_sent", 0.0)
        if score > best_score:
            best, best_score, best_cov = c, score, cov
    if best is not None and best is not cands[0] and coverage(cands[0]) >= best_cov:
        return None  # the answerer's own sentence holds as much of what was said
    return best

"""Conversation history: normalise the accepted forms and turn (history, question) into a search.

``history`` may be a list of earlier user questions (str), Gradio-style messages
(``{"role": "user"|"assistant", "content": str | [{"type": "text", "text": ...}]}``) or legacy
``(user, assistant)`` pairs. A question that leans on earlier turns (pronouns and demonstratives,
"what about X?", "and when?", very short, no content words of its own) borrows the names and
key terms of the recent questions *and answers* (rare words count more, older exchanges fade, a
new topic cuts off what came before it); he/she is replaced by the name the last exchange was
about. The question always weighs more than what it borrows: its BM25 terms are repeated more
often, and its embedding outweighs the history's in the dense query vector. A standalone
question that shares no word and little meaning with the recent history (a topic switch) is
searched exactly as asked. ``Answer.search_query`` is :attr:`SearchQuery.text`.

Example::

    from assistant.search.conversation import normalise_history, plan_query
    q = plan_query("What about visas?", normalise_history(["Which ties have Russia and Georgia restored?"]))
    q.mode, q.text   # ('follow-up', 'What about visas? | Russia Georgia ties restored')
    q.terms          # ['visa'] * 4 + ['russia'] * 3 + ['georgia'] * 3 + ['tie'] * 2 + ['restor'] * 2
    plan_query("Which outlet did he talk to?", normalise_history(["Who is Gregory Karasin?"])).text
    # 'Which outlet did Gregory Karasin talk to?'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..errors import HistoryError
from ..terms import STOPWORDS, content_terms, fold, stem, words

# --- tunables (coarse on purpose: they must hold on any collection) ---------------------------
QUESTION_COPIES = 4  # BM25 copies of each term of the question itself
MAX_CARRIED = 8  # borrowed terms at most
ANSWER_TERMS = 6  # key terms taken from each earlier answer
EXCHANGES = 3  # how many earlier exchanges are looked at (older ones decay away)
DECAY = 0.5  # weight of each exchange relative to the next one
ANSWER_WEIGHT = 0.7  # an answer's terms relative to its question's
ENTITY_BOOST = 1.5  # names are what pronouns and ellipses usually point back to
DENSE_HISTORY = 0.8  # history vector weight at full dependence (the question's is 1)
CONTINUATION = 0.4  # dependence given to a standalone question on the same topic
RELATED_COSINE = 0.25  # a question this close in meaning to the last exchange stays on its topic

FOLLOW_UP, CONTINUES, TOPIC_SWITCH, NO_HISTORY = "follow-up", "continuation", "topic-switch", "no-history"

_STRONG_PRONOUNS = frozenset("he him his himself she her hers herself they them their theirs themselves".split())
_WEAK_PRONOUNS = frozenset("it its itself this these those such".split())
# "that" is a demonstrative after these words or at the end ("what about that?"), else usually relative.
_THAT_AFTER = frozenset(
    "is was are were about of do does did for with on in to like after before from by at than mean means".split()
)
_ELLIPSIS = re.compile(
    r"^\s*(?:and|but|also|so|then|or|plus|what about|how about|what of|what if|what else|anything else|"
    r"same|why not|how come|how so|really|more)\b"
    r"|^\s*(?:and\s+)?(?:who|what|when|where|why|how|which)(?:\s+(?:else|not|then|exactly|so))?\s*\??\s*$"
    r"|\b(?:the same|the former|the latter|the other one|as well|too|instead|else)\s*\??\s*$",
    re.I,
)
_NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:(?:of|de|la|von|van|the)\s+)?[A-Z][\w’'-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”]\s*)$")


@dataclass
class Turn:
    """One message of a conversation."""

    role: str
    text: str


@dataclass
class Conversation:
    """A normalised history: a list of turns, oldest first."""

    turns: list[Turn] = field(default_factory=list)

    @property
    def user_questions(self) -> list[str]:
        return [t.text for t in self.turns if t.role == "user"]

    def without_answers(self, *texts: str) -> Conversation:
        """The conversation minus assistant turns that say only one of ``texts`` (e.g. "not found"):
        they hold nothing a follow-up could point back to."""
        drop = {t.strip() for t in texts}
        return Conversation([t for t in self.turns if t.role == "user" or t.text.strip() not in drop])

    def exchanges(self) -> list[tuple[str, str]]:
        """(question, answer) pairs, oldest first: each user turn opens one; consecutive assistant
        messages are joined."""
        out: list[list[str]] = []
        for t in self.turns:
            if t.role == "user":
                out.append([t.text, ""])
            elif out:
                out[-1][1] = f"{out[-1][1]} {t.text}".strip()
            else:
                out.append(["", t.text])
        return [(q, a) for q, a in out]


def _content_text(content: object) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if "content" in content and "role" in content:
            return _content_text(content["content"])
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, Iterable):
        return " ".join(t for t in (_content_text(c) for c in content) if t)
    return ""


def normalise_history(history: object) -> Conversation:
    """Accept None, a list of str (user questions), Gradio messages or (user, assistant) pairs."""
    if not history:
        return Conversation()
    if isinstance(history, Conversation):
        return history
    if isinstance(history, str):
        history = [history]
    if not isinstance(history, Iterable):
        raise HistoryError(
            "history must be a list of questions (str) or of messages like {'role': 'user', 'content': '...'}"
        )
    turns: list[Turn] = []
    for item in history:
        if isinstance(item, str):
            if item.strip():
                turns.append(Turn("user", item))
        elif isinstance(item, dict):
            role = str(item.get("role") or "user")
            text = _content_text(item.get("content"))
            if text.strip():
                turns.append(Turn("assistant" if role in {"assistant", "bot", "agent"} else "user", text))
        elif isinstance(item, (list, tuple)) and len(item) == 2:  # legacy (user, assistant) pairs
            user, bot = (_content_text(x) for x in item)
            if user.strip():
                turns.append(Turn("user", user))
            if bot.strip():
                turns.append(Turn("assistant", bot))
        else:
            raise HistoryError(
                "history must be a list of questions (str) or of messages like {'role': 'user', 'content': '...'}"
            )
    return Conversation(turns)


# --- does the question lean on earlier turns? ----------------------------------------------------
@dataclass
class Dependence:
    """How much a question needs earlier turns: ``score`` 0 (standalone) … 1, and why."""

    score: float
    reasons: list[str] = field(default_factory=list)
    strong: bool = False  # a cue that holds even when the history looks unrelated


def names(text: str) -> list[str]:
    """Capitalised names in ``text`` ("Gregory Karasin", "Sputnik Belarus"), minus sentence-initial
    function words ("Which", "The")."""
    out = []
    for m in _NAME.finditer(text):
        toks = m.group(0).split()
        at_start = bool(_SENTENCE_START.search(text[: m.start()]))
        while toks and ((first := fold(toks[0])) in STOPWORDS or (at_start and len(toks) == 1 and first in _COMMON)):
            toks = toks[1:]
            at_start = False
        if toks:
            out.append(" ".join(toks))
    return out


# Chat filler: no content of its own (and not names when capitalised at the start).
_COMMON = frozenset(
    """yes no ok okay yeah yep yup nope hi hello hey thanks thank sure well please great good fine sorry alright
    right oh ah cool perfect wow hmm i'm i've i'd i'll it's that's there's don't doesn't didn't can't won't isn't
    aren't wasn't haven't hasn't let's sounds sound""".split()
)
_FILLER_START = re.compile(
    r"^\s*(?:(?:" + "|".join(sorted(_COMMON - {"i'm", "i've", "i'd", "i'll"})) + r")\b[\s,.!;:-]*)+", re.I
)


def _content(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and w not in _COMMON]


def dependence(question: str) -> Dependence:
    """Cues that ``question`` leans on earlier turns."""
    toks = words(question)
    content = _content(question)
    question = _FILLER_START.sub("", question) or question
    own_names = names(question)
    reasons: list[str] = []
    score, strong = 0.0, False
    if not content:
        return Dependence(1.0, ["no content words"], True)
    if _ELLIPSIS.search(question):
        reasons.append("ellipsis")
        score, strong = max(score, 0.9), True
    strong_pron = [w for w in toks if w in _STRONG_PRONOUNS]
    if strong_pron:
        reasons.append(f"pronoun {strong_pron[0]!r}")
        # "Who founded X and when did he die?": the pronoun may point inside the question.
        score = max(score, 0.6 if own_names else 0.9)
        strong = strong or not own_names
    weak = [w for w in toks if w in _WEAK_PRONOUNS]
    weak += [w for w in toks[-1:] if w in {"then", "there", "here"} and len(toks) > 1]
    weak += [
        "that"
        for i, w in enumerate(toks)
        if w == "that" and (i == 0 or i == len(toks) - 1 or toks[i - 1] in _THAT_AFTER)
    ]
    if weak:
        reasons.append(f"demonstrative {weak[0]!r}")
        score = max(score, 0.7 if len(content) <= 2 and not own_names else 0.5)
    if len(content) <= 2 and not own_names and not any(w.isdigit() for w in content):
        reasons.append("short")
        score = max(score, 0.8 if len(content) == 1 else 0.6)
        strong = strong or len(content) == 1
    return Dependence(score, reasons, strong)


_EXPLETIVE_IT = re.compile(
    r"\bit\s+(?:is|was|will be|would be|has been|had been|seems|seemed)\s+(?:\w+\s+){0,2}?(?:that|to|for|whether|if)\b"
    r"|\b(?:did|does|do|will|would|could)\s+it\s+take\b|\bwhat\s+(?:is|was)\s+it\s+(?:called|known)\b",
    re.I,
)


def _new_names(question: str, history_terms: dict[str, float]) -> bool:
    """The question names something (capitalised) and none of its names' words came up in the history."""
    own = [stem(w) for n in names(question) for w in words(n)]
    return bool(own) and not any(s in history_terms for s in own)


def _refers_back(question: str) -> bool:
    """True for an "it"/"its" that names nothing in the question itself ("Which company is going to make
    it?": no name of its own, not "it is likely that …", "how long did it take"): it points to the conversation."""
    toks = words(question)
    return any(w in ("it", "its") for w in toks) and not names(question) and not _EXPLETIVE_IT.search(question)


def is_follow_up(question: str) -> bool:
    """True when the question leans on earlier turns (pronouns, "what about X?", very short)."""
    return dependence(question).score >= 0.5


# --- what to carry over -----------------------------------------------------------------------
@dataclass
class SearchQuery:
    """What retrieval searches for one turn.

    ``text`` is the question plus the borrowed words (what ``Answer.search_query`` shows);
    ``terms`` the BM25 terms with repetition as weight; ``answer_terms`` the terms the answerer
    matches sentences against; ``weight`` how much the history counts (0: the question alone).
    """

    question: str
    text: str
    terms: list[str]
    answer_terms: list[str]
    mode: str
    weight: float = 0.0
    carried: list[str] = field(default_factory=list)  # borrowed words, surface forms, best first
    context: list[tuple[str, float]] = field(default_factory=list)  # (history text, weight) for the vector
    reasons: list[str] = field(default_factory=list)
    resolved: str = ""  # the question with he/she/they replaced by the name they point to
    previous: str = ""  # for a follow-up or a continuation: the user's previous question

    @property
    def reader_text(self) -> str:
        """The question the reader reads: the resolved question; for a follow-up with no content
        word of its own ("And when?", "Why?"), the previous question followed by this one."""
        if self.mode == FOLLOW_UP and self.previous and not content_terms(self.resolved or self.question):
            return f"{self.previous} {self.question}"
        return self.resolved or self.question

    def answer_vector(self, encode: Callable[[str], np.ndarray]) -> np.ndarray:
        """The vector the answerer compares sentences with. For a follow-up whose pronouns were not
        replaced by a name ("What else is it putting up?"), the searched text: the question plus
        the words it borrowed. Otherwise the question as asked: articles name a person once and say
        "he" afterwards, so a resolved name would pull every answer towards the sentence that
        introduces them (the borrowed names are in ``answer_terms`` instead).

        On the seed set this moved follow-ups from 10 to 11 of 13; on doc2dial (300 turns with
        history) answer token F1 from 0.239 to 0.252."""
        if self.mode == FOLLOW_UP and self.text != self.question and (self.resolved or self.question) == self.question:
            return np.asarray(encode(self.text), dtype=np.float32)
        return np.asarray(encode(self.question), dtype=np.float32)

    def vector(self, encode: Callable[[str], np.ndarray]) -> np.ndarray:
        """The dense query: the (resolved) question's embedding plus the weighted history's, unit length."""
        q = np.asarray(encode(self.resolved or self.question), dtype=np.float32)
        if self.weight <= 0 or not self.context:
            return q
        ctx = sum(w * np.asarray(encode(t), dtype=np.float32) for t, w in self.context)
        norm = float(np.linalg.norm(ctx))
        if norm == 0:
            return q
        v = q + DENSE_HISTORY * self.weight * ctx / norm
        return (v / np.linalg.norm(v)).astype(np.float32)


def _turn_terms(text: str, idf: Callable[[str], float] | None, limit: int | None) -> dict[str, tuple[float, str]]:
    """stem → (importance, surface form) for one turn; names boosted; top ``limit`` by importance."""
    name_words = {w for n in names(text) for w in words(n)}
    out: dict[str, tuple[float, str]] = {}
    for w in words(text):
        if w in STOPWORDS or w in _COMMON or len(w) < 2:
            continue
        s = stem(w)
        imp = (ENTITY_BOOST if w in name_words else 1.0) * (_idf_scale(idf(s)) if idf else 1.0)
        if s not in out or out[s][0] < imp:
            surface = re.sub(r"['’]s$", "", next((n for n in _surface(text, w)), w))
            out[s] = (imp, surface)
    if limit is not None:
        out = dict(sorted(out.items(), key=lambda kv: -kv[1][0])[:limit])
    return out


def _surface(text: str, word: str) -> Iterable[str]:
    for m in re.finditer(rf"\b{re.escape(word)}\b", text, re.I):
        yield m.group(0)


def _idf_scale(v: float) -> float:
    """Idf mapped to a weight in [0.2, 1.5]: common words barely count."""
    return float(min(max(v / 4.0, 0.2), 1.5))


def _history_terms(
    exchanges: list[tuple[str, str]], idf: Callable[[str], float] | None
) -> tuple[dict[str, float], dict[str, str], list[tuple[str, float]]]:
    """Weighted terms and texts of the recent exchanges (newest weighs most)."""
    weights: dict[str, float] = {}
    surface: dict[str, str] = {}
    context: list[tuple[str, float]] = []
    recent = exchanges[-EXCHANGES:]
    for age, (q, a) in enumerate(reversed(recent)):
        decay = DECAY**age
        for text, role_w, limit in ((q, 1.0, None), (a, ANSWER_WEIGHT, ANSWER_TERMS)):
            if not text.strip():
                continue
            context.append((text, decay * role_w))
            for s, (imp, surf) in _turn_terms(text, idf, limit).items():
                weights[s] = weights.get(s, 0.0) + decay * role_w * imp
                surface.setdefault(s, surf)
    return weights, surface, context


def _topic_start(exchanges: list[tuple[str, str]]) -> int:
    """Index of the exchange where the current topic began: the last standalone question that
    shared nothing with what came before it."""
    start = 0
    for i in range(1, len(exchanges)):
        q = exchanges[i][0]
        if not q.strip() or dependence(q).score >= 0.5:
            continue
        before = set()
        for pq, pa in exchanges[max(start, i - EXCHANGES) : i]:
            before |= {stem(w) for w in _content(pq + " " + pa)}
        if not ({stem(w) for w in _content(q)} & before):
            start = i
    return start


def plan_query(
    question: str,
    conversation: Conversation | None,
    idf: Callable[[str], float] | None = None,
    encode: Callable[[str], np.ndarray] | None = None,
) -> SearchQuery:
    """Decide what to search for ``question`` given the conversation so far.

    ``idf`` (stemmed term → inverse document frequency, e.g. ``index.lexical.idf``) lets rare
    words of long answers count more than common ones; without it every content word counts alike.
    ``encode`` (text → unit vector, e.g. ``embedder.encode_query``) lets a question that shares no
    word with the recent exchanges still count as on-topic when their meanings are close.
    """
    q_terms = [stem(w) for w in words(question) if w not in STOPWORDS]
    plain = SearchQuery(question, question, list(q_terms), q_terms, NO_HISTORY)
    exchanges = [e for e in (conversation.exchanges() if conversation else []) if (e[0] + e[1]).strip()]
    if not exchanges:
        return plain
    exchanges = exchanges[_topic_start(exchanges) :]
    dep = dependence(question)
    h_weights, surface, context = _history_terms(exchanges, idf)
    q_set = set(q_terms)
    shared = [s for s in q_set if s in h_weights and (idf is None or idf(s) >= 1.0)]
    if not shared and encode is not None:
        v = encode(question)
        recent = [" ".join(e).strip() for e in exchanges[-EXCHANGES:]]
        if max(float(np.dot(v, encode(t))) for t in recent) >= RELATED_COSINE:
            shared = ["(meaning)"]
    if dep.score >= 0.5 and (dep.strong or shared or dep.score >= 0.7 or _refers_back(question)):
        mode, weight = FOLLOW_UP, dep.score
    elif dep.score == 0 and shared == ["(meaning)"] and _new_names(question, h_weights):
        # A whole question naming what it asks about, a name the conversation has not used, sharing
        # no word with it, only a vague closeness of meaning ("Who is the president of Georgia?" after
        # "What is Russia doing on Georgian land?"): searched exactly as asked, like a new topic.
        plain.mode, plain.reasons = TOPIC_SWITCH, ["standalone: names its subject, leans on nothing"]
        return plain
    elif shared:
        mode, weight = CONTINUES, CONTINUATION
    else:
        plain.mode, plain.reasons = TOPIC_SWITCH, dep.reasons
        return plain
    # Borrow the heaviest history terms the question does not already have.
    borrowed = sorted(((w, s) for s, w in h_weights.items() if s not in q_set), reverse=True)[:MAX_CARRIED]
    top = borrowed[0][0] if borrowed else 1.0
    terms = [t for t in q_terms for _ in range(QUESTION_COPIES)]
    for w, s in borrowed:
        copies = max(1, round(weight * (QUESTION_COPIES - 1) * w / top))
        terms += [s] * copies
    resolved = resolve_pronouns(question, exchanges[-1]) if mode == FOLLOW_UP else question
    shown = {stem(w) for w in words(resolved)}
    carried = [surface[s] for _, s in borrowed if s not in shown]
    text = f"{resolved} | {' '.join(carried)}" if carried else resolved
    # The answerer matches sentences against the question's own words plus the names it points to.
    name_stems = {stem(w) for q, a in exchanges[-1:] for n in names(q + " " + a) for w in words(n)}
    answer_terms = q_terms + [s for _, s in borrowed if mode == FOLLOW_UP and s in name_stems]
    previous = exchanges[-1][0]
    return SearchQuery(
        question, text, terms, answer_terms, mode, weight, carried, context, dep.reasons, resolved, previous
    )


def resolve_pronouns(question: str, exchange: tuple[str, str]) -> str:
    """Replace he/she (him, his, her) by the name the last exchange is about, if any:
    "Which outlet did he talk to?" after "Who is Gregory Karasin?" → "Which outlet did Gregory Karasin talk to?"."""
    q, a = exchange
    candidates = [re.sub(r"['’]s$", "", n) for n in (names(q) or names(a))]
    if not candidates or names(question):
        return question
    name = candidates[0]

    def sub(m: re.Match) -> str:
        w = m.group(0).lower()
        if w in {"his", "hers"}:
            return f"{name}'s"
        if w == "her":  # object or possessive: a following noun decides
            rest = question[m.end() :].lstrip()
            nxt = words(rest[:30])[:1]
            return f"{name}'s" if nxt and nxt[0] not in STOPWORDS else name
        return name

    return re.sub(r"\b(?:he|him|his|she|her|hers)\b", sub, question, flags=re.I)

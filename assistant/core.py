"""The Assistant: one loaded index + embedding model that answers questions with citations.

Example::

    from assistant import Assistant
    a = Assistant.load("index")
    ans = a.ask("Which states recognize Abkhazia?")
    print(ans.text, ans.citations[0].title)
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .answer.answerer import ExtractiveAnswerer
from .answer.compose import (
    StoryMatch,
    about,
    articles_mentioning,
    articles_quoting,
    find_story,
    quote_sentences,
    quotes_by,
    rerank_evidence,
    speaker_of,
    story_confidence,
    summary,
    topic_confidence,
    weighted_coverage,
    who_said,
)
from .answer.intents import ARTICLES, FACTOID, QUOTE, SUMMARY, TOPIC, WHY, YESNO, classify
from .answer.metadata import covers_topic, field_answer, metadata_field, topic_terms
from .answer.question import NUMBER, analyse
from .answer.reader import load_reader
from .answer.rows import pick_row
from .answer.spans import Span
from .answer.typecheck import fits, fitting_span, wanted
from .errors import AssistantError, EmptyQuestionError, IndexMismatchError
from .ingest.pipeline import IngestReport, check_encoder, ingest_articles, ingest_paths
from .models.embedding import Embedder
from .models.onnx_runtime import quant_env
from .records import Answer, Article, Chunk, Citation, is_paged, page_of
from .search.conversation import CONTINUES, FOLLOW_UP, Conversation, Turn, normalise_history, plan_query
from .search.retrieval import Hit, HybridRetriever
from .settings import Settings
from .storage.generations import IndexDir, rebuild_hint
from .storage.index import Index
from .terms import content_terms, words

NOT_FOUND = "I couldn't find this in the articles."
#: The note of a header question ("Who wrote the article?") that names no article when several are indexed.
WHICH_ARTICLE = "several articles are indexed: name the one you mean (e.g. “the article about …”)"
_NUMBERISH = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?|"
    r"thousands?|millions?|billions?|dozens?|several|few|many|half|once|twice|single|double|no)\b",
    re.I,
)
#: A story descriptor must match this share (IDF-weighted) of its words for the story to be read whole.
STORY_MIN_COVERAGE = 0.5
#: Confidence of "what did X say about Y" when X is quoted on Y in a retrieved story.
QUOTE_CONFIDENCE = 0.7
#: How many of the archive's articles quoting a speaker are read when none of those retrieved does.
QUOTE_ARTICLES = 10
_PRONOUNS = {"he", "she", "they", "him", "her", "them", "it"}
logger = logging.getLogger(__name__)


def clean_question(question: object, max_chars: int) -> tuple[str, list[str]]:
    """Validate and tidy a question; raises :class:`EmptyQuestionError` when it has no words."""
    if not isinstance(question, str):
        raise EmptyQuestionError("the question must be text")
    notes = []
    text = _clean_text(question[: max_chars * 8])  # bound the work on hostile input
    if len(text) > max_chars or len(question) > max_chars * 8:
        text = text[:max_chars]
        notes.append(f"question truncated to its first {max_chars} characters")
    if not words(text):
        raise EmptyQuestionError("the question is empty: type a question with at least one word")
    return text, notes


def _clean_text(text: str) -> str:
    """Terminal escape sequences dropped, control characters (C0, C1) → spaces, lone surrogates
    and bidi overrides dropped, spaces collapsed."""
    text = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", " ", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", " ", text)
    text = re.sub(r"[\ud800-\udfff\u202a-\u202e\u2066-\u2069]", "", text)
    return " ".join(text.split())


def bound_history(conversation: Conversation, max_chars: int, max_turns: int = 20) -> Conversation:
    """The last ``max_turns`` turns, each cleaned like a question and cut to ``max_chars``:
    a hostile or runaway history cannot make a question slow."""
    turns = [Turn(t.role, _clean_text(t.text[: max_chars * 8])[:max_chars]) for t in conversation.turns[-max_turns:]]
    return Conversation([t for t in turns if t.text])


class Assistant:
    """Answers questions from one index. Thread-safe; picks up newly published generations."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env(index_dir=index.folder.path)
        self.embedder = embedder
        self.answerer = ExtractiveAnswerer(
            reader=load_reader(self.settings.reader), reader_passages=self.settings.reader_passages
        )
        self._lock = threading.RLock()
        self._use_lock = threading.Lock()  # guards the snapshot's user count
        self._users: dict[int, int] = {}  # id(snapshot) → questions reading it now
        self._retired: dict[int, tuple] = {}  # replaced snapshots, closed when their last user leaves
        self._failed_generation: str | None = None
        self._state: tuple | None = None
        self._set_index(index)

    # --- construction ------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        index_dir: str | Path | None = None,
        *,
        model: str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        verify: bool = True,
    ) -> Assistant:
        """Open an existing index. ``model`` (or settings.model) must match the one it was built with."""
        settings = settings or Settings.from_env(index_dir=index_dir, model=model)
        if index_dir is not None:
            settings = settings.with_(index_dir=Path(index_dir))
        if model is not None:
            settings = settings.with_(model=model)
        # The reader's and the encoder's graphs load in other threads while the index loads here
        # (ONNX Runtime and faiss do most of it outside the GIL).
        reader = _Background(load_reader, settings.reader)
        loading = None
        if embedder is None:
            try:
                name, quant = encoder_for(settings.index_dir, settings)
            except Exception:  # an unreadable manifest: Index.load below says what is wrong
                name, quant = settings.model, None
            loading = _Background(Embedder.load, name, settings.allow_download, "cpu", quant)
        try:
            index = Index.load(settings.index_dir, verify=verify)
            if loading is not None:
                embedder = loading.result()  # the model named in the manifest Index.load read
            cls._check_model(index, embedder)
        finally:
            reader.result(raise_error=False)  # cached by load_reader: __init__ gets the same object
            if loading is not None:
                loading.result(raise_error=False)
        return cls(index, embedder, settings)

    @classmethod
    def build(
        cls,
        paths: Iterable[str | Path],
        index_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        progress: bool = False,
        engine: str | None = None,
        address: str | None = None,
    ) -> Assistant:
        """Ingest ``paths`` into ``index_dir`` (incrementally) and open it. ``engine="ray"`` reads, chunks and
        embeds on Ray (a local one, or the cluster at ``address``); default ``settings.ingest_engine``."""
        settings = settings or Settings.from_env(index_dir=index_dir)
        if index_dir is not None:
            settings = settings.with_(index_dir=Path(index_dir))
        if embedder is None:
            name, quant = encoder_for(settings.index_dir, settings)
            embedder = Embedder.load(name, settings.allow_download, quant=quant)
        ingest_paths(settings.index_dir, paths, embedder, settings, progress=progress, engine=engine, address=address)
        return cls(Index.load(settings.index_dir), embedder, settings)

    @staticmethod
    def _check_model(index: Index, embedder: Embedder) -> None:
        model = index.manifest.get("model", {})
        if model.get("name") != embedder.spec.name or model.get("weights_sha256", "") != embedder.spec.weights_sha256:
            raise IndexMismatchError(
                f"index at {index.folder.path} was built with model {model.get('name')!r}, not "
                f"{embedder.spec.name!r}: drop the model setting, or {rebuild_hint(index.folder.path)} --model {embedder.spec.name}"
            )
        check_encoder(index.manifest, embedder, index.folder.path)
        if model.get("dim") != embedder.dim:
            raise IndexMismatchError(
                f"index vectors have {model.get('dim')} dimensions, the model {embedder.dim}; {rebuild_hint(index.folder.path)}"
            )

    def _set_index(self, index: Index) -> None:
        # One tuple, swapped in one assignment: a concurrent ask never pairs an index with
        # another generation's retriever. The replaced snapshot is closed (its store's
        # connections in every thread, its reader lock) as soon as no question reads it, so a
        # long-running assistant never keeps a deleted generation's files open.
        state = (index, HybridRetriever(index, self.embedder, self.settings))
        with self._use_lock:
            old, self._state = self._state, state
            close_now = old is not None and not self._users.get(id(old))
            if old is not None and not close_now:
                self._retired[id(old)] = old
        if close_now:
            old[0].close()
        self.refresh_error: str | None = None

    def _acquire(self) -> tuple:
        """The current snapshot, counted as in use until :meth:`_release`."""
        with self._use_lock:
            state = self._state
            self._users[id(state)] = self._users.get(id(state), 0) + 1
            return state

    def _release(self, state: tuple) -> None:
        with self._use_lock:
            n = self._users.get(id(state), 0) - 1
            if n > 0:
                self._users[id(state)] = n
                return
            self._users.pop(id(state), None)
            retired = self._retired.pop(id(state), None)
        if retired is not None:
            retired[0].close()

    def close(self) -> None:
        """Let go of the loaded generation (an assistant is not used after this)."""
        with self._use_lock:
            state = self._state
        if state is not None:
            state[0].close()

    @property
    def index(self) -> Index:
        """The loaded snapshot answers come from."""
        return self._state[0]

    @property
    def threshold(self) -> float:
        """The confidence below which an answer is an abstention (the answer model's, else the setting)."""
        t = self.answerer.threshold
        return t if t is not None else self.settings.abstain_threshold

    @property
    def retriever(self) -> HybridRetriever:
        return self._state[1]

    def refresh(self, wait: bool = True) -> bool:
        """Load a newer published generation if there is one; True when it switched.

        With ``wait=False`` (what :meth:`ask` uses) a thread that finds another one already
        loading returns at once and keeps answering from the current snapshot, and a
        generation that fails to load is reported once (``refresh_error``, a note on answers)
        instead of raising: the old snapshot keeps answering until a good one is published.
        """
        current = self.index.folder.current_name()
        if current in (None, self.index.generation) or (not wait and current == self._failed_generation):
            return False
        if not self._lock.acquire(blocking=wait):
            return False
        try:
            if not self.index.is_stale():
                return False
            current = self.index.folder.current_name()
            try:
                new = Index.load(self.index.folder.path)
                try:
                    self._check_model(new, self.embedder)
                except BaseException:
                    new.close()
                    raise
            except AssistantError as exc:
                if wait:
                    raise
                self._failed_generation = current
                self.refresh_error = (
                    f"a newer index ({current}) could not be loaded, answering from {self.index.generation}: {exc}"
                )
                logger.warning(self.refresh_error)
                return False
            self._set_index(new)
            self._failed_generation = None
            return True
        finally:
            self._lock.release()

    # --- asking ----------------------------------------------------------------------
    def ask(self, question: str, history: object = None) -> Answer:
        """Answer ``question`` from the articles, using ``history`` for follow-ups."""
        t0 = time.perf_counter()
        text, notes = clean_question(question, self.settings.max_question_chars)
        self.refresh(wait=False)
        state = self._acquire()
        try:
            return self._ask(text, notes, history, state, t0)
        finally:
            self._release(state)

    def _ask(self, text: str, notes: list[str], history: object, state: tuple, t0: float) -> Answer:
        index, retriever = state
        if self.refresh_error:
            notes.append(self.refresh_error)
        timings: dict[str, float] = {}
        # The conversation decides what is searched; the answer type comes from the question alone.
        conversation = bound_history(normalise_history(history), self.settings.max_question_chars)
        t = time.perf_counter()
        plan = plan_query(text, conversation.without_answers(NOT_FOUND), index.lexical.idf, self.embedder.encode_query)
        query = plan.text
        q_vec = plan.vector(self.embedder.encode_query)
        timings["query"] = time.perf_counter() - t  # history analysis + query embedding
        hits = retriever.search(query, self.settings.passages, query_vector=q_vec, terms=plan.terms, timings=timings)
        t = time.perf_counter()
        kind = metadata_field(text)
        if kind is not None:
            answer = self._header_answer(kind, text, query, hits, index, notes)
            return _timed(answer, timings, t, t0)
        intent = classify(text)
        if intent.kind == ARTICLES:
            answer = self._articles_answer(intent, text, query, index, notes)
            return _timed(answer, timings, t, t0)
        asked_before = conversation.user_questions
        if intent.kind == SUMMARY and not intent.story and not plan.carried and not asked_before:
            # "Summarise the article" naming none: the only article, else ask which one.
            answer = self._unnamed_summary(text, query, index, notes)
            return _timed(answer, timings, t, t0)
        story = None
        if intent.story:
            story = find_story(index, retriever, intent.story)
        elif intent.kind == SUMMARY:  # "Summarise it": the story the conversation is about
            story = (
                find_story(index, retriever, query, query_vector=q_vec)
                if plan.carried
                else find_story(index, retriever, asked_before[-1])
            )
        elif plan.mode in (FOLLOW_UP, CONTINUES) and plan.previous:
            # "And when does it go on sale?": read the story the previous question was about.
            story = find_story(index, retriever, plan.previous)
        if intent.kind in (SUMMARY, TOPIC):
            answer = self._composed_answer(intent, text, query, plan, hits, story, index, retriever, notes)
            if answer is not None:
                return _timed(answer, timings, t, t0)
        reader_question = plan.reader_text
        reader_passages = None
        if story is not None and story.coverage >= STORY_MIN_COVERAGE:
            # The question names its story: read that story, not the archive's best chunks.
            hits = self._story_hits(story, hits, index)
            reader_passages = self.settings.story_passages
            if intent.story:
                reader_question = intent.question
        info_answer = analyse(intent.question if intent.story else text)
        info_answer.terms = plan.answer_terms if not intent.story else content_terms(intent.question)
        cands = self.answerer.candidates(
            info_answer,
            plan.answer_vector(self.embedder.encode_query),
            hits,
            index,
            reader_question=reader_question,
            reader_passages=reader_passages,
        )
        confidence = (
            self.answerer.confidence(cands[0], cands[1])
            if len(cands) > 1
            else (self.answerer.confidence(cands[0]) if cands else 0.0)
        )
        if intent.kind == FACTOID and (row := pick_row(intent.question if intent.story else text, cands)):
            # A table row answers for the row that names what the question names, from the cell asked.
            chosen, cell = row
            cands = [chosen] + [c for c in cands if c is not chosen]
            if cell is not None:
                chosen.span = Span(cell[0], cell[1], "CELL", 1.0)
            elif chosen.span is None or chosen.span.kind == "CELL":
                chosen.span = self.answerer.focus(chosen, info_answer)
        if intent.kind in (WHY, YESNO) and cands:
            cands = rerank_evidence(cands, intent.kind, index)
            if cands[0].span is None:
                cands[0].span = self.answerer.focus(cands[0], info_answer)
        best = cands[0] if cands else None
        timings["answer"] = time.perf_counter() - t
        threshold = self.threshold
        if intent.kind == QUOTE and intent.speaker.lower() in _PRONOUNS:  # "What did he say about …?"
            resolved = classify(plan.resolved) if plan.resolved and plan.resolved != text else None
            intent.speaker = (
                resolved.speaker if resolved is not None and resolved.speaker.lower() not in _PRONOUNS else ""
            )
            intent.kind = QUOTE if intent.speaker else FACTOID
        if intent.kind == QUOTE and intent.speaker:
            quoted = self._quote_answer(intent, text, query, cands, index, notes, confidence)
            if quoted is not None:
                timings["total"] = time.perf_counter() - t0
                quoted.timings = timings
                return quoted
        abstained = best is None or confidence < threshold
        if (
            best is not None
            and not abstained
            and info_answer.answer_type == NUMBER
            and not _NUMBERISH.search(best.sentence.text)
        ):
            # "How many …?" answered by a sentence without any number: nothing in the articles says
            # it, whatever the other evidence (a rule, not a fitted weight).
            abstained = True
            confidence = min(confidence, threshold / 2)
            notes.append("the best passage has no number, which the question asks for")
        asked = intent.question if intent.story else text
        need = wanted(asked) if intent.kind == FACTOID else None
        if best is not None and not abstained and best.span is not None:
            span_text = best.sentence.text[best.span.start : best.span.end]
            around = best.sentence.text[max(0, best.span.start - 12) : best.span.end + 12]
            if not fits(need, span_text, asked, around):
                found = fitting_span(need, best.sentence.text, asked) if need else None
                if found is not None:  # the sentence has the asked-for kind elsewhere: focus on it
                    best.span = Span(found[0], found[1], need.upper(), 0.0)
                elif need:  # "How much did it cost?" answered by a sentence with no price in it
                    abstained = True
                    confidence = min(confidence, threshold / 2)
                    notes.append(f"the best passage has no {need}, which the question asks for")
                else:
                    best.span = None  # a scrap ("-", "Mr"): the sentence is the answer
        citations = []
        used_chunks: set[int] = set()
        meta = index.store.article_meta(list({c.sentence.article_id for c in cands[:20]}))
        for cand in cands:
            if len(citations) >= self.settings.max_citations:
                break
            if cand.hit.chunk_id in used_chunks and citations:
                continue
            used_chunks.add(cand.hit.chunk_id)
            citations.append(_cite(index, cand.sentence, cand.probability, meta))
        timings["total"] = time.perf_counter() - t0
        if abstained:
            return Answer(
                NOT_FOUND, True, round(confidence, 4), citations, text, query, None, timings, notes, intent.kind
            )
        span = (best.span.start, best.span.end) if best.span is not None else None
        if intent.kind == QUOTE and not intent.speaker:  # "Who said …?": the sentence that names the speaker too
            said = who_said(cands, intent.question, index) or best
            named = self._with_speaker(said.sentence, index, citations, confidence, text, query, timings, notes)
            if named is not None:
                return named
        return Answer(
            best.sentence.text,
            False,
            round(confidence, 4),
            citations,
            text,
            query,
            span,
            timings,
            notes,
            intent.kind,
            citations[:1],
        )

    # --- answers by intent -------------------------------------------------------------------
    def _story_hits(self, story: StoryMatch, hits: list, index: Index) -> list:
        """The named story's chunks: those retrieval found first (best first), then the rest in order."""
        chunks = index.store.article_chunks(story.article_id)
        found = {h.chunk_id: h for h in hits}
        found.update({h.chunk_id: h for h in story.hits if h.chunk_id not in found})
        ranked = sorted((found[c.id] for c in chunks if c.id in found), key=lambda h: -h.score)
        rest = [Hit(c.id, 0.0) for c in chunks if c.id not in found]
        out = ranked + rest
        if rest:
            dense = index.dense.scores_of(
                self.embedder.encode_query(story.descriptor), np.array([h.chunk_id for h in rest])
            )
            for h, sc in zip(rest, dense.tolist()):
                h.dense_score = 0.0 if sc != sc else float(sc)
        return out

    def _composed_answer(
        self,
        intent,
        text: str,
        query: str,
        plan,
        hits: list,
        story: StoryMatch | None,
        index: Index,
        retriever: HybridRetriever,
        notes: list[str],
    ) -> Answer | None:
        """A summary or a topic answer: several sentences of one story, each cited; None: answer as a factoid."""
        if intent.kind == SUMMARY:
            if story is None:
                return None
            sents = summary(index, story.article_id)
            conf = story_confidence(story)
            return self._multi(sents, [conf] * len(sents), conf, text, query, index, notes, intent.kind)
        topic = intent.about or text
        topic_vec = self.embedder.encode_query(topic)
        if story is not None and story.coverage >= STORY_MIN_COVERAGE:
            article_id = story.article_id
        else:
            topic_hits = hits
            if plan.mode == "no-history" or not plan.carried:
                topic_hits = retriever.search(topic, self.settings.passages, query_vector=topic_vec) or hits
            chunks = index.store.chunks([h.chunk_id for h in topic_hits[:1]])
            if not chunks:
                return None
            article_id = next(iter(chunks.values())).article_id
        found = about(index, article_id, topic, topic_vec)
        if not found:
            return None
        conf = topic_confidence(found[0])
        if story is not None and intent.story:
            conf = min(conf, story_confidence(story))
        chosen = sorted(found, key=lambda x: x.sentence.start)
        return self._multi(
            [x.sentence for x in chosen], [x.score for x in chosen], conf, text, query, index, notes, intent.kind
        )

    def _unnamed_summary(self, text: str, query: str, index: Index, notes: list[str]) -> Answer:
        """A summary of the only article indexed; with several, the answer asks which one."""
        if index.store.count("articles") != 1:
            notes.append(WHICH_ARTICLE)
            return Answer(NOT_FOUND, True, 0.0, [], text, query, None, {}, notes, SUMMARY)
        sents = summary(index, index.store.articles()[0].id)
        return self._multi(sents, [0.95] * len(sents), 0.95, text, query, index, notes, SUMMARY)

    def _multi(
        self,
        sents: list,
        scores: list[float],
        confidence: float,
        text: str,
        query: str,
        index: Index,
        notes: list[str],
        kind: str,
        span: tuple[int, int] | None = None,
    ) -> Answer:
        """An answer of several verbatim sentences (reading order), each cited; abstains below the threshold."""
        meta = index.store.article_meta(list({s.article_id for s in sents}))
        cites = [_cite(index, s, sc, meta) for s, sc in zip(sents, scores)]
        # ``sentences`` read in order; ``citations`` strongest first (the one a reader checks first).
        ranked = sorted(cites, key=lambda c: -c.score)
        threshold = self.threshold
        if not cites or confidence < threshold:
            return Answer(NOT_FOUND, True, round(confidence, 4), ranked, text, query, None, {}, notes, kind)
        joined = " ".join(c.quote for c in cites)
        return Answer(joined, False, round(confidence, 4), ranked, text, query, span, {}, notes, kind, cites)

    def _articles_answer(self, intent, text: str, query: str, index: Index, notes: list[str]) -> Answer:
        """ "Which articles mention X?": one cited sentence per article that names X ("Which
        articles quote X?": one of X's quoted sentences per article)."""
        sents = quotes_by(index, intent.speaker) if intent.speaker else articles_mentioning(index, intent.about)
        if not sents:
            notes.append(f"no article {'quotes' if intent.speaker else 'mentions'} “{intent.about}”")
            return Answer(NOT_FOUND, True, 0.0, [], text, query, None, {}, notes, ARTICLES)
        return self._multi(sents, [1.0] * len(sents), 0.95, text, query, index, notes, ARTICLES)

    def _quote_answer(
        self,
        intent,
        text: str,
        query: str,
        cands: list,
        index: Index,
        notes: list[str],
        confidence: float,
    ) -> Answer | None:
        """Answer "What did X say about Y?" with X's own quoted words about Y in the articles the answerer read."""
        articles: list[str] = []
        for c in cands[:30]:
            if c.sentence.article_id not in articles:
                articles.append(c.sentence.article_id)
        # The speaker index (recorded at ingest) says which of them quote the speaker; when none of
        # those read does and the question names no story, the archive's other articles quoting them.
        quoting = articles_quoting(index, intent.speaker)
        archive = False
        if quoting is not None:
            quoted = set(quoting)
            read = [a for a in articles if a in quoted][:3]
            if not read and not intent.story:
                read, archive = quoting[:QUOTE_ARTICLES], True
        else:
            read = articles[:3]
        topic = intent.about or intent.question
        vec = self.embedder.encode_query(topic)
        terms = content_terms(intent.about)
        best = None
        for aid in read:
            for run in quote_sentences(index, aid, intent.speaker, vec, terms)[:1]:
                if best is None or max(x.score for x in run) > max(x.score for x in best):
                    best = run
        if best is None:
            return None
        top = max(best, key=lambda x: x.score)
        if archive and terms and top.coverage == 0:
            return None  # quoted elsewhere, but not on this topic
        first = cands[0].sentence
        if (
            first.start not in {x.sentence.start for x in best}
            and intent.speaker.split()[-1].lower() in first.text.lower()
        ):
            # The answerer's own sentence names the speaker and says as much about the topic: keep it.
            if weighted_coverage(terms, set(content_terms(first.text)), index.lexical.idf) >= top.coverage:
                return None
        conf = max(confidence, QUOTE_CONFIDENCE) if (top.coverage > 0 or not terms) else confidence
        return self._multi([x.sentence for x in best], [x.score for x in best], conf, text, query, index, notes, QUOTE)

    def _with_speaker(self, sentence, index: Index, citations: list, confidence: float, text, query, timings, notes):
        """A "who said" answer whose sentence does not name its speaker ("…," he said): that sentence
        and the one before it that names them, with the name as the span."""
        name, named = speaker_of(index, sentence)
        if not name or named is None:
            return None
        sents = [named, sentence] if named.start != sentence.start else [sentence]
        meta = index.store.article_meta([sentence.article_id])
        cites = [_cite(index, s, confidence, meta) for s in sents]
        joined = " ".join(c.quote for c in cites)
        surname = name.split()[-1]
        at = joined.find(name) if name in joined else joined.find(surname)
        span = (at, at + (len(name) if name in joined else len(surname))) if at >= 0 else None
        rest = [c for c in citations if (c.article_id, c.start) not in {(x.article_id, x.start) for x in cites}]
        return Answer(
            joined, False, round(confidence, 4), cites + rest, text, query, span, timings, notes, QUOTE, cites
        )

    def _header_answer(self, kind: str, text: str, query: str, hits: list, index: Index, notes: list[str]) -> Answer:
        """Who wrote it / when / which outlet: the header field of the article the question is about.

        The article is the best retrieved one that covers the question's topic words ("the article
        about Abkhazia"), or a follow-up's (the words the conversation search borrowed); with no
        topic at all it is the only article, and with several it asks which one."""
        chunks = index.store.chunks([h.chunk_id for h in hits])
        order: list[str] = []
        for h in hits:
            c = chunks.get(h.chunk_id)
            if c is not None and c.article_id not in order:
                order.append(c.article_id)
        topic = topic_terms(text) or topic_terms(query)  # a follow-up: the conversation's topic
        several = index.store.count("articles") > 1
        if not topic and several:
            notes.append(WHICH_ARTICLE)
            return Answer(NOT_FOUND, True, 0.0, [], text, query, None, {}, notes)
        meta = index.store.article_meta(order)
        chosen = None
        for aid in order:
            title, author, date, source = meta.get(aid, ("", "", "", ""))
            terms = set(content_terms(title)) | set(content_terms(index.store.article_text(aid) or ""))
            if covers_topic(topic, terms):
                chosen = aid
                break
        if chosen is None:
            return Answer(NOT_FOUND, True, 0.0, [], text, query, None, {}, notes)
        title, author, date, source = meta[chosen]
        found = field_answer(kind, author, date, source)
        if found is None:
            what = {"author": "byline", "date": "date", "outlet": "outlet"}[kind]
            notes.append(f"“{title or chosen}” has no {what} in its header")
            return Answer(NOT_FOUND, True, 0.0, [], text, query, None, {}, notes)
        # Sure when the question names the article's topic or the index holds one article.
        confidence = 0.95 if topic_terms(text) or not several else 0.8  # named, or the only article
        cite = Citation(chosen, title, source, date, 0, len(found.quote), found.quote, confidence, author, found.field)
        return Answer(found.quote, False, confidence, [cite], text, query, found.span, {}, notes, "header", [cite])

    # --- managing the index --------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        progress: bool = False,
        rebuild: bool = False,
        engine: str | None = None,
        address: str | None = None,
        **kw,
    ) -> IngestReport:
        """Add or update the articles under ``paths``; the new index is used at once.

        Answering does not wait behind it: the encoder runs in a worker process at a lower
        priority (large ingests), the rest in a thread of lower priority, and questions keep being
        answered from the loaded snapshot until the new generation is published. ``engine="ray"``
        reads, chunks and embeds on Ray (local, or the cluster at ``address``); this process publishes."""
        report = _low_priority(
            ingest_paths,
            self.index.folder.path,
            paths,
            self.embedder,
            self.settings,
            progress=progress,
            rebuild=rebuild,
            engine=engine,
            address=address,
            **kw,
        )
        self.refresh()
        return report

    def ingest_articles(self, articles: Iterable[Article], **kw) -> IngestReport:
        """Like :meth:`ingest`, for articles already read (the chat's upload)."""
        report = _low_priority(ingest_articles, self.index.folder.path, articles, self.embedder, self.settings, **kw)
        self.refresh()
        return report

    def remove(self, article_ids: Iterable[str]) -> IngestReport:
        """Delete articles by id."""
        report = ingest_articles(self.index.folder.path, [], self.embedder, self.settings, remove=list(article_ids))
        self.refresh()
        return report

    def article(self, article_id: str) -> Article | None:
        """The full article (with its text) by id, or None."""
        state = self._acquire()
        try:
            return state[0].store.article(article_id)
        finally:
            self._release(state)

    def find_passages(self, query: str, k: int = 500) -> list[tuple[Chunk, float]]:
        """The passages whose words match ``query`` best (BM25 alone: fast, nothing embedded), best first."""
        state = self._acquire()
        try:
            index = state[0]
            ids, scores = index.lexical.top(index.lexical.all_scores(content_terms(query)), k)
            chunks = index.store.chunks(ids.tolist())
            return [(chunks[c], float(s)) for c, s in zip(ids.tolist(), scores.tolist()) if c in chunks]
        finally:
            self._release(state)

    def articles(self) -> list[Article]:
        """Every indexed article (without text), sorted by title."""
        state = self._acquire()
        try:
            return state[0].store.articles()
        finally:
            self._release(state)

    def info(self) -> dict:
        """What is indexed: counts, model, sizes on disk."""
        state = self._acquire()
        try:
            return state[0].info()
        finally:
            self._release(state)


def _timed(answer: Answer, timings: dict[str, float], t: float, t0: float) -> Answer:
    """``answer`` with its timings: answering since ``t``, the whole question since ``t0``."""
    timings["answer"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    answer.timings = timings
    return answer


def _cite(index: Index, s, score: float, meta: dict) -> Citation:
    """The citation of one sentence of an article."""
    title, author, date, source = meta.get(s.article_id, ("", "", "", ""))
    page = _page(index, s.article_id, source, s.start)
    return Citation(
        s.article_id, title, source, date, s.start, s.end, s.text, round(float(score), 4), author, page=page
    )


class _Background:
    """``fn(*args)`` started in a thread now; :meth:`result` waits for it."""

    def __init__(self, fn, *args) -> None:
        self._out: dict = {}
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn, args) -> None:
        try:
            self._out["result"] = fn(*args)
        except BaseException as exc:
            self._out["error"] = exc

    def result(self, raise_error: bool = True):
        self._thread.join()
        if "error" in self._out and raise_error:
            raise self._out["error"]
        return self._out.get("result")


#: How much lower the CPU priority of an ingest's own thread is than the answering threads'.
INGEST_NICE = 10


def _low_priority(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a new thread whose CPU priority is lowered by :data:`INGEST_NICE`
    (Linux: ``nice`` is per thread, so the threads answering questions keep theirs). Exceptions
    are re-raised here; progress callbacks are called from that thread."""
    out: dict = {}

    def target() -> None:
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + INGEST_NICE))
        except (AttributeError, OSError):  # not Linux: same priority
            pass
        try:
            out["result"] = fn(*args, **kwargs)
        except BaseException as exc:
            out["error"] = exc

    worker = threading.Thread(target=target, name="assistant-ingest", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)  # wakes up for Ctrl-C in the main thread
    if "error" in out:
        raise out["error"]
    return out["result"]


def _page(index: Index, article_id: str, source: str, offset: int) -> int | None:
    """The PDF page a citation starts on (from the page marks in the article text), else None."""
    if not str(source or "").lower().endswith(".pdf"):
        return None
    text = index.store.article_text(article_id)
    return page_of(text, offset) if is_paged(source, text) else None


def encoder_for(index_dir: Path, settings: Settings, rebuild: bool = False) -> tuple[str | None, str | None]:
    """``(model, quantisation)`` to load for ``index_dir``: the settings' model, else the one the index
    was built with; the index's recorded encoder quantisation unless ``ASSISTANT_ENCODER_QUANT`` is set
    (an index keeps the vectors it was built with; a setting that differs fails with the rebuild hint).
    For a new index or a rebuild: the settings' model and the default quantisation (None)."""
    folder = IndexDir(index_dir)
    if rebuild or not folder.exists():
        return settings.model, None
    manifest = folder.read_manifest()
    model = settings.model or manifest.get("model", {}).get("name")
    if os.environ.get(quant_env("encoder")):
        return model, None
    # An index from before the record was built by sentence-transformers in fp32 (= the fp32 graph).
    return model, (manifest.get("encoder") or {}).get("quantisation", "fp32")


# --- the lazily built default assistant behind ask() ------------------------------------
_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    """The assistant over the default index, built from the seed articles on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                settings = Settings.from_env()
                if not IndexDir(settings.index_dir).exists():
                    _default = Assistant.build([settings.seeds_dir], settings=settings)
                else:
                    _default = Assistant.load(settings=settings)
    return _default


def ask(question: str, history: object = None) -> Answer:
    """Answer a question from the default index (``ASSISTANT_INDEX``, else ``index/`` built from ``seeds/``)."""
    return default_assistant().ask(question, history=history)


__all__ = ["Assistant", "ask", "default_assistant", "NOT_FOUND"]

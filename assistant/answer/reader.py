"""An extractive reader: a small BERT that reads (question, passage) and scores answer spans.

The reader is the bundled all-MiniLM-L6-v2 encoder with its upper layers fine-tuned on SQuAD
tuning data plus a start/end head (``python -m assistant.evaluation.training.train_reader``). Only the
fine-tuned layers and the head are shipped (``assistant/data/reader.safetensors``, float16);
the embeddings and lower layers are read from the bundled model, whose sha256 the reader file
records. It runs in ONNX Runtime (one graph of the merged weights, exported once and cached), so
answering never imports torch.

For each passage it gives, SQuAD 2.0 style, a *null score* (the [CLS] start + end logits) and
the best spans (start + end logits); ``span - null`` says how much the reader believes the
passage answers the question, and is what answer selection and confidence use.

Example::

    from assistant.answer.reader import Reader
    reader = Reader.load()
    [result] = reader.read("Which states recognize Abkhazia?",
                           ["Abkhazia is recognised by Russia, Nicaragua and Nauru."])
    result.spans[0]    # Span(start=27, end=53, score=..., ...) → "Russia, Nicaragua and Nauru"
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..models.embedding import BUNDLED_SHA256
from ..models.onnx_runtime import OnnxBert, load_graph, load_tokenizer, quantisation
from ..terms import STOPWORDS, fold

READER_FILE = Path(__file__).resolve().parents[1] / "data" / "reader.safetensors"
MAX_QUESTION_TOKENS = 48
MAX_CONTEXT_TOKENS = 224
STRIDE = 112
MAX_ANSWER_TOKENS = 30


@dataclass
class ReaderSpan:
    """A candidate answer span, as character offsets into the passage text."""

    start: int
    end: int
    score: float  # start + end logit


@dataclass
class PassageReading:
    """What the reader made of one passage."""

    null: float  # [CLS] start + end logits (no answer here); lowest over the passage's windows
    spans: list[ReaderSpan] = field(default_factory=list)  # best first

    @property
    def best(self) -> float:
        """Best span score minus the null score: > 0 means the reader thinks the answer is here."""
        return (self.spans[0].score - self.null) if self.spans else -1e9

    def best_in(self, start: int, end: int) -> ReaderSpan | None:
        """The best span lying inside ``[start, end)`` (e.g. one sentence)."""
        for s in self.spans:
            if s.start >= start and s.end <= end:
                return s
        return None


def load_reader(name: str | None, threads: int = 1) -> Reader | None:
    """The reader a setting names: ``"bundled"`` (the shipped file), ``"none"``/``""`` (no reader),
    or a path to a reader file. Loaded once per process and shared (it is read-only and its
    ONNX Runtime session may be run from several threads at once)."""
    if not name or name.lower() in {"none", "off", "false", "0"}:
        return None
    path = str(READER_FILE) if name == "bundled" else str(Path(name).expanduser().resolve())
    return _load_file(path, threads, quantisation("reader"))


@lru_cache(maxsize=4)
def _load_file(path: str, threads: int = 1, quant: str = "fp32") -> Reader:
    if not Path(path).is_file():
        raise ModelError(
            f"reader file not found: {path} (set the reader to 'bundled', 'none' or a file "
            "written by python -m assistant.evaluation.training.train_reader; ASSISTANT_READER or --reader)"
        )
    return Reader.load(path, threads=threads, quant=quant)


def windows(n: int, size: int = MAX_CONTEXT_TOKENS, stride: int = STRIDE) -> list[tuple[int, int]]:
    """Token windows ``[a, b)`` covering ``n`` context tokens, overlapping by ``size - stride``."""
    out = [(0, min(n, size))]
    while out[-1][1] < n:
        a = out[-1][0] + stride
        out.append((a, min(n, a + size)))
    return out


def pair_ids(q_ids: list[int], c_ids: list[int], cls_id: int, sep_id: int) -> tuple[list[int], list[int], int]:
    """``[CLS] q [SEP] c [SEP]`` ids, token-type ids and the offset of the first context token."""
    q_ids = q_ids[:MAX_QUESTION_TOKENS]
    ids = [cls_id, *q_ids, sep_id, *c_ids, sep_id]
    types = [0] * (len(q_ids) + 2) + [1] * (len(c_ids) + 1)
    return ids, types, len(q_ids) + 2


def best_spans(start: np.ndarray, end: np.ndarray, k: int = 20, max_len: int = MAX_ANSWER_TOKENS):
    """Top ``k`` (i, j, score) with i <= j < i + max_len over context logits."""
    n = len(start)
    scores = start[:, None] + end[None, :]
    i, j = np.indices((n, n))
    valid = (j >= i) & (j < i + max_len)
    scores = np.where(valid, scores, -np.inf)
    flat = np.argsort(scores, axis=None)[::-1][:k]
    out = []
    for f in flat:
        a, b = divmod(int(f), n)
        if np.isfinite(scores[a, b]):
            out.append((a, b, float(scores[a, b])))
    return out


class Reader:
    """Question + passages → :class:`PassageReading` per passage (ONNX Runtime forward pass)."""

    def __init__(self, bert: OnnxBert, meta: dict) -> None:
        self.bert = bert  # its graph gives start/end logits
        self.meta = meta
        vocab = bert.tokenizer.get_vocab()
        self.cls_id, self.sep_id = vocab["[CLS]"], vocab["[SEP]"]

    @classmethod
    def load(
        cls, path: str | Path | None = None, base: str | Path | None = None, threads: int = 1, quant: str | None = None
    ) -> Reader:
        """Load the shipped reader (or ``path``) over the bundled encoder (or ``base``).

        The reader file holds the fine-tuned encoder layers (any number: its ``freeze`` is how many
        lower layers were left as the base's) and the start/end head. They are merged over the base
        weights and exported to one ONNX graph the first time (with torch; cached by both files'
        sha256, see :mod:`assistant.models.onnx_runtime`); later loads only read the cached graph."""
        from safetensors import safe_open

        from ..models.digests import sha256_file_cached
        from ..models.embedding import bundled_model_path

        path = Path(path) if path else READER_FILE
        if not path.exists():
            raise FileNotFoundError(f"reader weights not found: {path}")
        with safe_open(str(path), framework="numpy") as f:
            meta = json.loads((f.metadata() or {}).get("reader", "{}"))
        base_path = Path(base) if base else bundled_model_path()
        if base is None:
            if meta.get("base_sha256") not in (None, BUNDLED_SHA256):
                raise ModelError(f"reader file {path} was trained on another base model than the bundled one")
            base_sha = BUNDLED_SHA256
        else:
            base_sha = sha256_file_cached(base_path / "model.safetensors")
        try:
            sess, info = load_graph("reader", base_path, base_sha, path, quant=quant, threads=threads)
            config = json.loads((base_path / "config.json").read_text())
            tok = load_tokenizer(base_path, None)  # its own: the reader changes its settings
            bert = OnnxBert(sess, tok, int(config.get("max_position_embeddings", 512)), 2, info)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load reader {path}: {exc.__class__.__name__}: {exc}") from exc
        return cls(bert, meta)

    def logits(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        """(batch, seq) int64 ids, 0/1 mask and token types → (batch, seq, 2) start/end logits."""
        return self.bert.run(ids, mask, types)

    def read(self, question: str, passages: list[str], batch: int = 8) -> list[PassageReading]:
        """Read each passage; spans are character offsets into that passage."""
        tok = self.bert.tokenizer
        q_ids = tok.encode(question, add_special_tokens=False).ids
        rows = []  # (passage index, ids, types, ctx offset, token char offsets)
        for p, text in enumerate(passages):
            enc = tok.encode(text, add_special_tokens=False)
            offsets = enc.offsets
            for a, b in windows(len(enc.ids)):
                ids, types, off = pair_ids(q_ids, enc.ids[a:b], self.cls_id, self.sep_id)
                rows.append((p, ids, types, off, offsets[a:b]))
        readings = [PassageReading(null=1e9) for _ in passages]
        found: list[list[ReaderSpan]] = [[] for _ in passages]
        rows.sort(key=lambda r: len(r[1]))
        for s in range(0, len(rows), batch):
            part = rows[s : s + batch]
            seq = max(len(r[1]) for r in part)
            ids = np.zeros((len(part), seq), np.int64)
            types = np.zeros_like(ids)
            mask = np.zeros_like(ids)
            for i, r in enumerate(part):
                ids[i, : len(r[1])] = r[1]
                types[i, : len(r[2])] = r[2]
                mask[i, : len(r[1])] = 1
            logits = self.logits(ids, mask, types)  # (b, seq, 2)
            for i, (p, _ids, _, off, offs) in enumerate(part):
                st, en = logits[i, :, 0], logits[i, :, 1]
                null = float(st[0] + en[0])
                readings[p].null = min(readings[p].null, null)  # the window most sure of an answer
                n = len(offs)
                for a, b, score in best_spans(st[off : off + n], en[off : off + n]):
                    found[p].append(ReaderSpan(offs[a][0], offs[b][1], score))
        for p, spans in enumerate(found):
            spans = refine_spans(question, passages[p], spans)
            best: dict[tuple[int, int], ReaderSpan] = {}
            for sp in spans:
                if (sp.start, sp.end) not in best or best[(sp.start, sp.end)].score < sp.score:
                    best[(sp.start, sp.end)] = sp
            readings[p].spans = sorted(best.values(), key=lambda x: -x.score)
        return readings


# --- span clean-up ---------------------------------------------------------------------------
def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to whole words (the reader's word pieces can cut a word)."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and end > 0 and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


def _name_key(word: str) -> str:
    """A name as compared with the question's: "Russia’s" and "Russia's" are "russia"."""
    return re.sub(r"'s$", "", fold(word))


_CAP_WORD = re.compile(r"\b[A-Z][\w’'-]*")
_WORD_RE = re.compile(r"[\w’'-]+")
_TITLES = set(
    """minister president secretary director chief chairman chairwoman chair governor senator mayor king queen
    prince princess general officer manager editor professor dr mr mrs ms sir lord lady ambassador spokesman
    spokeswoman spokesperson commissioner judge justice captain coach founder ceo head leader deputy foreign
    engineer architect emperor pope bishop cardinal council minister's""".split()
)
TRIM_NAMES = True  # trim the question's own name off a span's edge (else drop the span)


def _trim_question_name(passage: str, a: int, b: int, q_names: set[str], q_words: set[str]) -> tuple[int, int] | None:
    """``[a, b)`` without the question's own name at its start or end ("Chief engineer Pavel Hrubý"
    → "Chief engineer" for "Who is Pavel Hrubý?"), or None when nothing of its own is left or the
    name sits inside it."""
    toks = [(m.start() + a, m.end() + a, m.group()) for m in _WORD_RE.finditer(passage[a:b])]

    def is_name(t) -> bool:
        return t[2][:1].isupper() and _name_key(t[2]) in q_names

    i, j = 0, len(toks)
    while i < j and is_name(toks[i]):
        i += 1
    while j > i and is_name(toks[j - 1]):
        j -= 1
    # the rest of the same name: "Gregory" of "Gregory Karasin" when the question says "Karasin"
    if j < len(toks) and j > i and toks[j - 1][2][:1].isupper() and fold(toks[j - 1][2]) not in _TITLES:
        j -= 1
    if i > 0 and i < j and toks[i][2][:1].isupper() and fold(toks[i][2]) not in _TITLES:
        i += 1
    rest = toks[i:j]
    if not rest or any(is_name(t) for t in rest):
        return None
    if all(fold(t[2]) in q_words or fold(t[2]) in STOPWORDS for t in rest):
        return None  # only the question's own words are left
    while rest and fold(rest[-1][2]) in STOPWORDS:  # "engineer of" → "engineer"
        rest = rest[:-1]
    while rest and fold(rest[0][2]) in STOPWORDS:
        rest = rest[1:]
    if not rest:
        return None
    return rest[0][0], rest[-1][1]


def refine_spans(question: str, passage: str, spans: list[ReaderSpan]) -> list[ReaderSpan]:
    """Whole words, and never the question's own name: a span that is the name is dropped (the
    answer to "Who did Karasin tell?" is not "Gregory Karasin"), a name at a span's edge is trimmed
    off ("Chief engineer Pavel Hrubý" → "Chief engineer" for "Who is Pavel Hrubý?").

    On held-out SQuAD articles (1,200 questions, fold-0 reader, gold paragraph) dropping spans
    with the question's names was worth +2.1 EM / +0.9 F1 on v1.1 and +2.6 F1 on answerable v2.0
    questions; widening spans to whole names was not ("Chair Ismail El Gizouli"). Trimming
    instead of dropping: see eval/README.md."""
    q_names = {_name_key(w) for w in re.findall(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w’'-]*", question.strip())} - STOPWORDS
    q_words = {fold(w) for w in _WORD_RE.findall(question)}
    out = []
    for sp in spans:
        a, b = _word_bounds(passage, sp.start, sp.end)
        if q_names and any(_name_key(w) in q_names for w in _CAP_WORD.findall(passage[a:b])):
            trimmed = _trim_question_name(passage, a, b, q_names, q_words) if TRIM_NAMES else None
            if trimmed is None:
                continue
            a, b = trimmed
        out.append(ReaderSpan(a, b, sp.score))
    return out

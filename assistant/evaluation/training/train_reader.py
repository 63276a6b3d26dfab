"""Train the extractive reader on SQuAD v1.1 train (+ SQuAD 2.0 tuning folds) → ``assistant/data/reader.safetensors``.

One seeded, resumable command (progress bar with ETA; a checkpoint every ``--save-every`` steps
in ``--checkpoint``; run it again with the same arguments to continue after a stop or a kill):

    python -m assistant.evaluation.training.train_reader --data ../shared/data \\
        --out eval/checkpoints/reader-stage1.safetensors   # stage 1: 760 steps, ~45 min on one core
    python -m assistant.evaluation.training.train_reader --data ../shared/data \\
        --init eval/checkpoints/reader-stage1.safetensors --skip 16000 --questions 24000 --near-misses 0.2 \\
        --lr 6e-5 --checkpoint eval/checkpoints/reader2 --report eval/reports/reader.json   # stage 2: the shipped reader
    python -m assistant.evaluation.training.train_reader --questions 2000 --out /tmp/r.safetensors  # smoke

Training examples (all seeded by ``--seed``):
- the first ``--questions`` of a seeded shuffle of SQuAD v1.1 **train** (87,599 questions, 442
  articles, none of them a dev article), each against a window of its gold paragraph that holds
  the answer (``--train-context`` tokens, placed at random around it);
- for a ``--negatives`` share of them, the best BM25 paragraph of another article of the training
  set, labelled "no answer here" (the hard case retrieval hands over);
- for a ``--near-misses`` share, the question's own paragraph with the sentences holding the
  answer cut out, labelled "no answer here" (same topic and words, no answer);
- the SQuAD 2.0 tuning questions of the article fold ``--v2-train-fold`` (answerable and
  unanswerable, the latter pointing at [CLS]); the other fold and all of SQuAD v1.1 dev-tune are
  never trained on, so the held-out figures (``--report``) are on unseen articles.

All transformer layers (``--freeze 0``; the word embeddings stay as bundled) and a start/end head
are trained, with bfloat16 autocast on CPUs that have it (``--bf16 auto``), and shipped in float16
with the base model's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import time
from pathlib import Path

import numpy as np

from ...answer.reader import MAX_QUESTION_TOKENS, READER_FILE
from ..datasets import DEFAULT_DATA, QAItem, load_squad
from ..metrics import auroc, exact_match, token_f1

SEED = 13
FOLDS = 2
SWAP_EVAL_SHARE = 0.25  # held-out v1.1 questions given a swapped twin in the report
CHECKPOINT = Path("eval/checkpoints/reader")
Example = tuple[list[int], list[int], int, int]  # ids, token types, start, end (0, 0: no answer)


def _fold_of(groups: list[str], k: int = FOLDS, seed: int = SEED) -> dict[str, int]:
    groups = sorted(set(groups))
    rng = random.Random(seed)
    rng.shuffle(groups)
    return {g: i % k for i, g in enumerate(groups)}


def load_tagged(path: Path, tag: str) -> tuple[dict[str, str], list[QAItem]]:
    """Paragraph texts by ``tag:id`` and the questions of one SQuAD file, ids and groups tagged."""
    arts, items = load_squad(path)
    texts = {f"{tag}:{a.id}": a.text for a in arts}
    for it in items:
        it.article_id = f"{tag}:{it.article_id}"
        it.group = f"{tag}:{it.group}"
    return texts, items


def v2_folds(items: list[QAItem]) -> dict[str, int]:
    """The article fold (0 or 1) of every SQuAD 2.0 tuning article; the shipped reader trains on one."""
    return _fold_of([it.group for it in items])


def hard_negatives(texts: dict[str, str], items: list[QAItem], k: int = 5) -> dict[str, str]:
    """Question id → the best BM25 paragraph that is not its own and does not hold its answer."""
    import bm25s
    import Stemmer

    stem = Stemmer.Stemmer("english")
    ids = list(texts)
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([texts[i] for i in ids], stopwords="en", stemmer=stem, show_progress=False),
        show_progress=False,
    )
    res, _ = retriever.retrieve(
        bm25s.tokenize([q.question for q in items], stopwords="en", stemmer=stem, show_progress=False),
        k=k,
        show_progress=False,
    )
    out: dict[str, str] = {}
    for q, row in zip(items, res, strict=True):
        for r in row:
            pid = ids[int(r)]
            if pid != q.article_id and not any(a and a in texts[pid] for a in q.answers):
                out[q.id] = pid
                break
    return out


def near_misses(texts: dict[str, str], items: list[QAItem], share: float, seed: int = SEED) -> dict[str, str]:
    """Question id → its own paragraph with the sentences that hold the answer cut out, for a
    ``share`` of the answerable questions: the same topic and words, but no answer (the near-miss
    a growing collection hands over). Added to ``texts`` under ``<paragraph>#nm:<question>``."""
    from ...ingest.segment import split_sentences

    rng = random.Random(seed + 7)
    out: dict[str, str] = {}
    for it in items:
        if it.unanswerable or not it.answers or rng.random() >= share:
            continue
        text = texts[it.article_id]
        a, b = it.answer_starts[0], it.answer_starts[0] + len(it.answers[0])
        kept = [text[s:e] for s, e in split_sentences(text) if e <= a or s >= b]
        rest = " ".join(kept)
        if len(rest.split()) < 25 or any(ans and ans.lower() in rest.lower() for ans in it.answers):
            continue
        pid = f"{it.article_id}#nm:{it.id}"
        texts[pid] = rest
        out[it.id] = pid
    return out


_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how in on at of the a an by for to from during after before "
    "according as if is was are were did does do".split()
)
_NAME_RE = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'’.-]*)*")
_NUMBER_RE = re.compile(r"\b\d{1,4}\b")


def _anchors(question: str, text: str) -> list[tuple[int, int, str]]:
    """Names and numbers of ``question`` that its paragraph ``text`` also holds: (start, end, kind)."""
    out = []
    for m in _NAME_RE.finditer(question):
        name = m.group(0).rstrip(".'’")
        if m.start() == 0 and name.split()[0].lower() in _QUESTION_WORDS:
            continue  # the question's first word, capitalised as a sentence start
        if name.lower() in _QUESTION_WORDS or len(name) < 3 or name not in text:
            continue
        out.append((m.start(), m.start() + len(name), "name"))
    for m in _NUMBER_RE.finditer(question):
        if m.group(0) in text:
            out.append((m.start(), m.end(), "number"))
    return out


def swapped_questions(texts: dict[str, str], items: list[QAItem], share: float, seed: int = SEED) -> list[QAItem]:
    """Unanswerable twins of a ``share`` of the answerable questions, the commonest kind of SQuAD 2.0
    unanswerable question: one name or number that the question and its paragraph share is swapped
    for one that the paragraph never mentions ("When did Beyoncé leave Destiny's Child?" → "When did
    Kelly Rowland leave Destiny's Child?"). A name is mostly another name of the same article's
    questions with as many words (the plausible distractor), else any name of the set; a number is moved
    by a few units (years) or scaled. Each twin points at the same paragraph, labelled "no answer"."""
    rng = random.Random(seed + 11)
    pool: dict[str, list[str]] = {}  # the names of each article's questions (same topic, plausible)
    for it in items:
        if not it.unanswerable:
            names = [it.question[a:b] for a, b, kind in _anchors(it.question, texts[it.article_id]) if kind == "name"]
            pool.setdefault(it.group, []).extend(names)
    everyone = sorted({n for names in pool.values() for n in names})
    if not everyone:
        return []
    out: list[QAItem] = []
    for it in items:
        if it.unanswerable or not it.answers or rng.random() >= share:
            continue
        text = texts[it.article_id]
        low = text.lower()
        anchors = [
            a for a in _anchors(it.question, text) if not any(it.question[a[0] : a[1]] in ans for ans in it.answers)
        ]
        if not anchors:
            continue
        a, b, kind = rng.choice(anchors)
        old = it.question[a:b]
        # another name of the same article, of as many words (else any name)
        same = [n for n in pool.get(it.group, []) if len(n.split()) == len(old.split())] if kind == "name" else []
        new = ""
        for _ in range(8):
            if kind == "name":
                cand = rng.choice(same if same and rng.random() < 0.8 else everyone)
            else:
                n = int(old)
                cand = (
                    str(n + rng.choice([-1, 1]) * rng.randint(2, 40))
                    if 1000 <= n <= 2100
                    else str(max(2, n * rng.randint(2, 5) + rng.randint(1, 9)))
                )
            if (
                cand.lower() not in low
                and cand.lower() != old.lower()
                and not any(cand.lower() in x.lower() for x in it.answers)
            ):
                new = cand
                break
        if not new:
            continue
        q = it.question[:a] + new + it.question[b:]
        out.append(QAItem(f"{it.id}#sw", q, it.article_id, [], [], unanswerable=True, group=it.group))
    return out


def encode_examples(
    tok,
    texts: dict[str, str],
    items: list[QAItem],
    negatives: dict[str, str],
    neg_share: float,
    context: int,
    seed: int = SEED,
    misses: dict[str, str] | None = None,
) -> list[Example]:
    """One training window per (question, passage): ``context`` tokens of the passage, placed at
    random around the answer (or anywhere in a passage without one)."""
    vocab = tok.get_vocab()
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    rng = random.Random(seed)
    cache: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}

    def ctx(pid: str):
        if pid not in cache:
            enc = tok.encode(texts[pid], add_special_tokens=False)
            cache[pid] = (enc.ids, enc.offsets)
        return cache[pid]

    out: list[Example] = []
    for it in items:
        q_ids = tok.encode(it.question, add_special_tokens=False).ids[:MAX_QUESTION_TOKENS]
        passages = [(it.article_id, not it.unanswerable)]
        if it.id in negatives and rng.random() < neg_share:
            passages.append((negatives[it.id], False))
        if misses and it.id in misses:
            passages.append((misses[it.id], False))
        for pid, has in passages:
            c_ids, offs = ctx(pid)
            n = len(c_ids)
            s = e = 0
            if has:
                a_char = it.answer_starts[0]
                b_char = a_char + len(it.answers[0])
                toks = [i for i in range(n) if offs[i][1] > a_char and offs[i][0] < b_char]
                if not toks or offs[toks[0]][0] > a_char + 1 or offs[toks[-1]][1] < b_char - 1:
                    continue  # answer not on token boundaries (or offset not recovered): skip
                ts, te = toks[0], toks[-1]
                if te - ts >= context:
                    continue
                lo, hi = max(0, te - context + 1), min(ts, max(0, n - context))
                a = rng.randint(lo, max(lo, hi))
            else:
                a = rng.randint(0, max(0, n - context))
            b = min(n, a + context)
            off = len(q_ids) + 2
            ids = [cls_id, *q_ids, sep_id, *c_ids[a:b], sep_id]
            types = [0] * off + [1] * (b - a + 1)
            if has:
                s, e = ts - a + off, te - a + off
            out.append((ids, types, s, e))
    return out


def batches_for(examples: list[Example], batch: int, seed: int) -> list[list[int]]:
    """One epoch of batches: shuffled, grouped by length within chunks (less padding), shuffled again."""
    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    out: list[list[int]] = []
    for c in range(0, len(order), batch * 50):
        chunk = sorted(order[c : c + batch * 50], key=lambda i: len(examples[i][0]))
        out += [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
    rng.shuffle(out)
    return out


def _tensors(examples: list[Example], bidx: list[int]):
    import torch

    seq = max(len(examples[i][0]) for i in bidx)
    ids = torch.zeros((len(bidx), seq), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for r, i in enumerate(bidx):
        n = len(examples[i][0])
        ids[r, :n] = torch.tensor(examples[i][0])
        types[r, :n] = torch.tensor(examples[i][1])
        mask[r, :n] = 1
    starts = torch.tensor([examples[i][2] for i in bidx])
    ends = torch.tensor([examples[i][3] for i in bidx])
    return ids, types, mask, starts, ends


def _save_checkpoint(path: Path, bert, head, opt, step: int, recipe: str) -> None:
    """Model and AdamW moments as safetensors (no pickle), written atomically."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().contiguous() for k, v in bert.state_dict().items()}
    tensors.update({f"head.{k}": v.detach().contiguous() for k, v in head.state_dict().items()})
    names = {
        id(p): n for n, p in [*bert.named_parameters(), *(("qa_head." + k, v) for k, v in head.named_parameters())]
    }
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p)
            if st:
                tensors[f"opt.{names[id(p)]}.exp_avg"] = st["exp_avg"].contiguous()
                tensors[f"opt.{names[id(p)]}.exp_avg_sq"] = st["exp_avg_sq"].contiguous()
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / "checkpoint.safetensors.tmp"
    save_file(tensors, str(tmp), metadata={"step": str(step), "recipe": recipe})
    os.replace(tmp, path / "checkpoint.safetensors")


def _load_checkpoint(path: Path, bert, head, opt, recipe: str) -> int:
    """Restore a checkpoint written by the same recipe; returns the step to continue from (0: none)."""
    import torch
    from safetensors import safe_open

    f = path / "checkpoint.safetensors"
    if not f.exists():
        return 0
    with safe_open(str(f), framework="pt") as fh:
        meta = fh.metadata() or {}
        if meta.get("recipe") != recipe:
            print(f"checkpoint in {path} is for another recipe: starting afresh")
            return 0
        t = {k: fh.get_tensor(k) for k in fh.keys()}
    bert.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("model.")})
    head.load_state_dict({k[5:]: v for k, v in t.items() if k.startswith("head.")})
    step = int(meta["step"])
    params = dict([*bert.named_parameters(), *(("qa_head." + k, v) for k, v in head.named_parameters())])
    for name, p in params.items():
        if f"opt.{name}.exp_avg" in t:
            opt.state[p] = {
                "step": torch.tensor(float(step)),
                "exp_avg": t[f"opt.{name}.exp_avg"],
                "exp_avg_sq": t[f"opt.{name}.exp_avg_sq"],
            }
    return step


def _load_init(path: Path, bert, head) -> None:
    """Start from a reader saved by :func:`save` (an earlier stage) instead of the bundled encoder alone."""
    import torch
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    params = dict(bert.named_parameters())
    with torch.no_grad():
        for name, value in tensors.items():
            if name.startswith("qa_head."):
                getattr(head, name.split(".")[1]).copy_(torch.from_numpy(value.astype(np.float32)))
            else:
                params[name].copy_(torch.from_numpy(value.astype(np.float32)))


def train(examples: list[Example], args, recipe: str):
    """Fine-tune the bundled encoder (layers ≥ ``freeze``) and a start/end head; returns (bert, head)."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModel

    from ...models.embedding import bundled_model_path

    torch.manual_seed(args.seed)
    bert = AutoModel.from_pretrained(str(bundled_model_path()), add_pooling_layer=False)
    head = torch.nn.Linear(bert.config.hidden_size, 2)
    if args.init:
        _load_init(args.init, bert, head)
    for name, p in bert.named_parameters():
        layer = int(name.split(".")[2]) if name.startswith("encoder.layer.") else -1
        p.requires_grad = layer >= args.freeze
    params = [p for p in bert.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    plan: list[list[int]] = []
    epoch = 0
    while len(plan) < int(args.epochs * len(examples) / args.batch + 0.5):
        plan += batches_for(examples, args.batch, args.seed + epoch)
        epoch += 1
    total = int(args.epochs * len(examples) / args.batch + 0.5)
    plan = plan[:total]
    warm = max(1, int(0.06 * total))
    step = _load_checkpoint(args.checkpoint, bert, head, opt, recipe)
    use_bf16 = args.bf16 == "on" or (args.bf16 == "auto" and _has_bf16())
    bert.train()
    bar = tqdm(total=total, initial=step, desc="training reader", unit="batch", dynamic_ncols=True, smoothing=0.05)
    while step < total:
        torch.manual_seed(args.seed * 1_000_003 + step)  # dropout: the same at step k whether resumed or not
        lr = args.lr * min((step + 1) / warm, max(0.0, (total - step) / max(1, total - warm)))
        for g in opt.param_groups:
            g["lr"] = lr
        ids, types, mask, starts, ends = _tensors(examples, plan[step])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            hidden = bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            logits = head(hidden).float()
        allowed = (types == 1) & (mask == 1)  # only [CLS] and context tokens can be predicted
        allowed[:, 0] = True
        logits = logits.masked_fill(~allowed[..., None], -1e4)
        loss = (
            torch.nn.functional.cross_entropy(logits[..., 0], starts)
            + torch.nn.functional.cross_entropy(logits[..., 1], ends)
        ) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.1e}")
        if step % args.save_every == 0 or step == total:
            _save_checkpoint(args.checkpoint, bert, head, opt, step, recipe)
    bar.close()
    bert.train(False)
    return bert, head


def _has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def save(bert, head, freeze: int, path: Path, meta: dict) -> None:
    """The trained layers and the head, float16, with the base model's hash in the metadata."""
    from safetensors.numpy import save_file

    from ...models.digests import sha256_file
    from ...models.embedding import bundled_model_path

    tensors = {}
    for name, p in bert.named_parameters():
        if name.startswith("encoder.layer.") and int(name.split(".")[2]) >= freeze:
            tensors[name] = p.detach().float().numpy().astype(np.float16)
    tensors["qa_head.weight"] = head.weight.detach().float().numpy().astype(np.float16)
    tensors["qa_head.bias"] = head.bias.detach().float().numpy().astype(np.float16)
    meta = {**meta, "freeze": freeze, "base_sha256": sha256_file(bundled_model_path() / "model.safetensors")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"reader": json.dumps(meta)})
    os.replace(tmp, path)


def _reader_meta(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        return json.loads((f.metadata() or {}).get("reader", "{}"))


def evaluate(reader_path: Path, texts: dict[str, str], items: list[QAItem]) -> dict:
    """Gold-paragraph reading on held-out questions: EM/F1 (v1.1), has-answer AUROC (v2.0), and
    how well the no-answer score tells v1.1 questions from their swapped twins (``v11_swap_auroc``)."""
    from ...answer.reader import Reader

    reader = Reader.load(reader_path)
    f1s, ems, v2_scores, v2_labels, v2_f1 = [], [], [], [], []
    best: dict[str, float] = {}
    for it in items:
        [r] = reader.read(it.question, [texts[it.article_id]])
        text = texts[it.article_id]
        pred = text[r.spans[0].start : r.spans[0].end] if r.spans else ""
        best[it.id] = r.best
        if it.article_id.startswith("v11"):
            f1s.append(token_f1(pred, it.answers))
            ems.append(exact_match(pred, it.answers))
        else:
            v2_scores.append(r.best)
            v2_labels.append(0 if it.unanswerable else 1)
            if not it.unanswerable:
                v2_f1.append(token_f1(pred, it.answers))
    # Swapped twins of held-out v1.1 questions (see swapped_questions) against their originals.
    swaps = swapped_questions(texts, [it for it in items if it.article_id.startswith("v11")], SWAP_EVAL_SHARE)
    swap_neg = [reader.read(sw.question, [texts[sw.article_id]])[0].best for sw in swaps]
    swap_pos = [best[sw.id.removesuffix("#sw")] for sw in swaps]
    pos = [s for s, y in zip(v2_scores, v2_labels, strict=True) if y]
    neg = [s for s, y in zip(v2_scores, v2_labels, strict=True) if not y]
    return {
        "v11_questions": len(f1s),
        "v11_em": round(100 * float(np.mean(ems)), 1) if ems else None,
        "v11_f1": round(100 * float(np.mean(f1s)), 1) if f1s else None,
        "v20_questions": len(v2_labels),
        "v20_answerable_f1": round(100 * float(np.mean(v2_f1)), 1) if v2_f1 else None,
        "v20_has_answer_auroc": round(auroc(pos, neg), 3) if pos and neg else None,
        "v11_swapped_questions": len(swaps),
        "v11_swap_auroc": round(auroc(swap_pos, swap_neg), 3) if swaps else None,
    }


def _heldout(v11_items: list[QAItem], v2_test: list[QAItem], args) -> list[QAItem]:
    """The questions the report reads (a seeded sample of ``--eval-limit`` of them, when given)."""
    test = v11_items + v2_test
    if args.eval_limit:
        test = random.Random(args.seed).sample(test, min(args.eval_limit, len(test)))
    return test


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=READER_FILE)
    ap.add_argument("--report", type=Path, default=None, help="JSON with the recipe and held-out figures")
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT, help="folder for the resumable checkpoint")
    ap.add_argument("--questions", type=int, default=16000, help="SQuAD v1.1 train questions (of 87,599)")
    ap.add_argument(
        "--skip", type=int, default=0, help="leading questions of the shuffle left out (an earlier stage's)"
    )
    ap.add_argument("--init", type=Path, default=None, help="reader file to start from (an earlier stage) ")
    ap.add_argument("--v2-train-fold", type=int, default=1, help="SQuAD 2.0 tuning fold trained on (-1: none)")
    ap.add_argument("--negatives", type=float, default=0.3, help="share of questions given a BM25 negative")
    ap.add_argument(
        "--near-misses", type=float, default=0.0, help="share of questions also given their paragraph minus the answer"
    )
    ap.add_argument(
        "--swaps", type=float, default=0.0, help="share of questions also given a swapped-name/number unanswerable twin"
    )
    ap.add_argument("--eval-only", type=Path, default=None, help="only write --report for this reader file")
    ap.add_argument("--train-context", type=int, default=160, help="context tokens per training window")
    ap.add_argument("--freeze", type=int, default=0, help="lower encoder layers kept as bundled")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--bf16", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--save-every", type=int, default=100, help="steps between checkpoints")
    ap.add_argument("--eval-limit", type=int, default=None, help="held-out questions to read (default: all)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)

    import torch
    from tokenizers import Tokenizer

    from ...models.embedding import bundled_model_path

    torch.set_num_threads(max(1, args.threads))
    v2_texts, v2_items = load_tagged(args.data / "squad-v2.0" / "dev-tune.json", "v20")
    v11_texts, v11_items = load_tagged(args.data / "squad-v1.1" / "dev-tune.json", "v11")
    folds = v2_folds(v2_items)
    v2_train = [it for it in v2_items if folds[it.group] == args.v2_train_fold]
    v2_test = [it for it in v2_items if folds[it.group] != args.v2_train_fold]
    if args.eval_only:
        meta = _reader_meta(args.eval_only)
        meta["heldout"] = evaluate(args.eval_only, {**v11_texts, **v2_texts}, _heldout(v11_items, v2_test, args))
        print(json.dumps(meta["heldout"], indent=1))
        if args.report:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps(meta, indent=1) + "\n")
        return 0
    train_texts, train_items = load_tagged(args.data / "squad-v1.1" / "train.json", "train")
    random.Random(args.seed).shuffle(train_items)
    train_items = train_items[args.skip : args.skip + args.questions]
    texts = {**train_texts, **v2_texts}
    tok = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    t0 = time.time()
    negs = hard_negatives(train_texts, train_items)
    negs.update(hard_negatives(v2_texts, v2_train))
    items = train_items + v2_train
    misses = near_misses(texts, items, args.near_misses, args.seed) if args.near_misses > 0 else None
    if args.swaps > 0:
        items += swapped_questions(texts, items, args.swaps, args.seed)
    examples = encode_examples(tok, texts, items, negs, args.negatives, args.train_context, args.seed, misses)
    recipe_args = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    for k in ("data", "out", "report", "checkpoint", "save_every", "eval_limit", "threads", "init"):
        recipe_args.pop(k)
    if args.init:
        from ...models.digests import sha256_file

        recipe_args["init_sha256"] = sha256_file(args.init)
        recipe_args["init_recipe"] = _reader_meta(args.init).get("recipe")
    if not args.skip:
        recipe_args.pop("skip")
    if not args.near_misses:
        recipe_args.pop("near_misses")
    if not args.swaps:
        recipe_args.pop("swaps")
    recipe_args.pop("eval_only")
    recipe = hashlib.sha256(json.dumps(recipe_args, sort_keys=True).encode()).hexdigest()[:16]
    print(
        f"{len(train_items)} SQuAD v1.1 train + {len(v2_train)} SQuAD 2.0 fold-{args.v2_train_fold} questions "
        f"→ {len(examples)} windows ({time.time() - t0:.0f} s to prepare); recipe {recipe}",
        flush=True,
    )
    t0 = time.time()
    bert, head = train(examples, args, recipe)
    meta = {
        **recipe_args,
        "train_questions": len(items),
        "windows": len(examples),
        "recipe": recipe,
        "train_seconds_last_run": round(time.time() - t0),
    }
    if args.init:
        meta["init"] = _reader_meta(args.init)
    save(bert, head, args.freeze, args.out, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    if args.report:
        meta["heldout"] = evaluate(args.out, {**v11_texts, **v2_texts}, _heldout(v11_items, v2_test, args))
        meta["heldout_sets"] = f"SQuAD v1.1 dev-tune (all) and SQuAD 2.0 dev-tune fold {1 - args.v2_train_fold}"
        print(json.dumps(meta["heldout"], indent=1))
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(meta, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

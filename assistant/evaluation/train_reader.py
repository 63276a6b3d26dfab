"""Fine-tune the extractive reader on SQuAD tuning data and write ``assistant/data/reader.safetensors``.

Reproducible (seed 13, one thread order) and evaluated on held-out Wikipedia articles:
``--holdout-fold k`` trains on the other folds' articles and reports reading figures on fold k;
without it, every article is used and the shipped file is written.

    python -m assistant.evaluation.train_reader --data ../shared/data --holdout-fold 0 \\
        --out /tmp/reader-fold0.safetensors --report eval/reports/reader_fold0.json
    python -m assistant.evaluation.train_reader --data ../shared/data   # the shipped reader

Examples: every SQuAD v1.1 and 2.0 tuning question against its gold paragraph (SQuAD 2.0
unanswerable ones point at [CLS]), plus, for a share of the questions, the best-matching *other*
paragraph of the same file by BM25, labelled "no answer here", so that the reader's
``span - null`` score compares passages the way retrieval hands them over. The embeddings and
the lower ``--freeze`` layers stay as in the bundled model; only the upper layers and the
start/end head are trained and shipped (float16).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from ..reader import MAX_CONTEXT_TOKENS, READER_FILE, pair_ids, windows
from .datasets import DEFAULT_DATA, QAItem, load_squad
from .metrics import auroc, token_f1

SEED = 13
FOLDS = 2


def _fold_of(groups: list[str], k: int = FOLDS, seed: int = SEED) -> dict[str, int]:
    groups = sorted(set(groups))
    rng = random.Random(seed)
    rng.shuffle(groups)
    return {g: i % k for i, g in enumerate(groups)}


def load_items(data: Path) -> tuple[dict[str, str], list[QAItem]]:
    """Paragraph texts by id and all tuning questions (v1.1 and 2.0), each tagged by its group."""
    texts: dict[str, str] = {}
    items: list[QAItem] = []
    for name, tag in (("squad-v1.1", "v11"), ("squad-v2.0", "v20")):
        arts, its = load_squad(data / name / "dev-tune.json")
        for a in arts:
            texts[f"{tag}:{a.id}"] = a.text
        for it in its:
            it.article_id = f"{tag}:{it.article_id}"
            it.group = f"{tag}:{it.group}"
            items.append(it)
    return texts, items


def hard_negatives(texts: dict[str, str], items: list[QAItem]) -> dict[str, str]:
    """Question id → the best BM25 paragraph of the same file that is not its own."""
    import bm25s
    import Stemmer

    stem = Stemmer.Stemmer("english")
    out: dict[str, str] = {}
    for tag in ("v11", "v20"):
        ids = [k for k in texts if k.startswith(tag + ":")]
        retriever = bm25s.BM25()
        retriever.index(
            bm25s.tokenize([texts[k] for k in ids], stopwords="en", stemmer=stem, show_progress=False),
            show_progress=False,
        )
        qs = [it for it in items if it.article_id.startswith(tag + ":")]
        res, _ = retriever.retrieve(
            bm25s.tokenize([q.question for q in qs], stopwords="en", stemmer=stem, show_progress=False),
            k=3,
            show_progress=False,
        )
        for q, row in zip(qs, res, strict=True):
            for r in row:
                if ids[int(r)] != q.article_id:
                    out[q.id] = ids[int(r)]
                    break
    return out


def encode_examples(
    tok, texts: dict[str, str], items: list[QAItem], negatives: dict[str, str], neg_share: float, seed: int = SEED
) -> list[tuple[list[int], list[int], int, int]]:
    """(ids, types, start, end) training windows; start = end = 0 means no answer in the window."""
    vocab = tok.get_vocab()
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    rng = random.Random(seed)
    cache: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}

    def ctx(pid: str):
        if pid not in cache:
            enc = tok.encode(texts[pid], add_special_tokens=False)
            cache[pid] = (enc.ids, enc.offsets)
        return cache[pid]

    out = []
    for it in items:
        q_ids = tok.encode(it.question, add_special_tokens=False).ids
        passages = [(it.article_id, not it.unanswerable)]
        if it.id in negatives and rng.random() < neg_share:
            passages.append((negatives[it.id], False))
        for pid, has in passages:
            c_ids, offs = ctx(pid)
            a_char = it.answer_starts[0] if has else -1
            b_char = a_char + len(it.answers[0]) if has else -1
            for a, b in windows(len(c_ids)):
                ids, types, off = pair_ids(q_ids, c_ids[a:b], cls_id, sep_id)
                s = e = 0
                if has:
                    toks = [i for i in range(a, b) if offs[i][1] > a_char and offs[i][0] < b_char]
                    if toks and offs[toks[0]][0] <= a_char + 1 and offs[toks[-1]][1] >= b_char - 1:
                        s, e = toks[0] - a + off, toks[-1] - a + off
                out.append((ids, types, s, e))
    return out


def train(examples, freeze: int, epochs: float, lr: float, batch: int, seed: int = SEED):
    """Fine-tune the bundled encoder's upper layers and a start/end head; returns (bert, head)."""
    import torch
    from transformers import AutoModel

    from ..embedding import bundled_model_path

    torch.manual_seed(seed)
    bert = AutoModel.from_pretrained(str(bundled_model_path()), add_pooling_layer=False)
    head = torch.nn.Linear(bert.config.hidden_size, 2)
    for name, p in bert.named_parameters():
        layer = int(name.split(".")[2]) if name.startswith("encoder.layer.") else -1
        p.requires_grad = layer >= freeze
    params = [p for p in bert.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    rng = random.Random(seed)
    order = list(range(len(examples)))
    # batches of similar length (less padding), shuffled as batches
    steps_per_epoch = (len(examples) + batch - 1) // batch
    total = int(steps_per_epoch * epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, 0.1 * total)) * max(0.0, (total - s) / total)
    )
    bert.train()
    step, t0 = 0, time.time()
    while step < total:
        rng.shuffle(order)
        chunks = [order[i : i + batch * 50] for i in range(0, len(order), batch * 50)]
        batches = []
        for c in chunks:
            c = sorted(c, key=lambda i: len(examples[i][0]))
            batches += [c[i : i + batch] for i in range(0, len(c), batch)]
        rng.shuffle(batches)
        for bidx in batches:
            if step >= total:
                break
            seq = max(len(examples[i][0]) for i in bidx)
            ids = torch.zeros((len(bidx), seq), dtype=torch.long)
            types = torch.zeros_like(ids)
            mask = torch.zeros_like(ids)
            starts = torch.tensor([examples[i][2] for i in bidx])
            ends = torch.tensor([examples[i][3] for i in bidx])
            for r, i in enumerate(bidx):
                n = len(examples[i][0])
                ids[r, :n] = torch.tensor(examples[i][0])
                types[r, :n] = torch.tensor(examples[i][1])
                mask[r, :n] = 1
            hidden = bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            logits = head(hidden)
            # only [CLS] and context tokens can be predicted
            allowed = (types == 1) & (mask == 1)
            allowed[:, 0] = True
            logits = logits.masked_fill(~allowed[..., None], -1e4)
            loss = (
                torch.nn.functional.cross_entropy(logits[..., 0], starts)
                + torch.nn.functional.cross_entropy(logits[..., 1], ends)
            ) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{total} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
    bert.train(False)  # inference mode
    return bert, head


def save(bert, head, freeze: int, path: Path, meta: dict) -> None:
    """The trained layers and the head, float16, with the base model's hash in the metadata."""
    from safetensors.numpy import save_file

    from ..embedding import bundled_model_path, sha256_file

    tensors = {}
    for name, p in bert.named_parameters():
        if name.startswith("encoder.layer.") and int(name.split(".")[2]) >= freeze:
            tensors[name] = p.detach().numpy().astype(np.float16)
    tensors["qa_head.weight"] = head.weight.detach().numpy().astype(np.float16)
    tensors["qa_head.bias"] = head.bias.detach().numpy().astype(np.float16)
    meta = {**meta, "freeze": freeze, "base_sha256": sha256_file(bundled_model_path() / "model.safetensors")}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"reader": json.dumps(meta)})


def evaluate(reader_path: Path, texts: dict[str, str], items: list[QAItem]) -> dict:
    """Gold-paragraph reading on held-out questions: EM/F1 (v1.1), has-answer AUROC (v2.0)."""
    from ..reader import Reader
    from .metrics import exact_match

    reader = Reader.load(reader_path)
    f1s, ems, v2_scores, v2_labels, v2_f1 = [], [], [], [], []
    for it in items:
        [r] = reader.read(it.question, [texts[it.article_id]])
        text = texts[it.article_id]
        pred = text[r.spans[0].start : r.spans[0].end] if r.spans else ""
        if it.article_id.startswith("v11:"):
            f1s.append(token_f1(pred, it.answers))
            ems.append(exact_match(pred, it.answers))
        else:
            v2_scores.append(r.best)
            v2_labels.append(0 if it.unanswerable else 1)
            if not it.unanswerable:
                v2_f1.append(token_f1(pred, it.answers))
    return {
        "v11_questions": len(f1s),
        "v11_em": round(100 * float(np.mean(ems)), 1) if ems else None,
        "v11_f1": round(100 * float(np.mean(f1s)), 1) if f1s else None,
        "v20_questions": len(v2_labels),
        "v20_answerable_f1": round(100 * float(np.mean(v2_f1)), 1) if v2_f1 else None,
        "v20_has_answer_auroc": round(
            auroc(
                [s for s, y in zip(v2_scores, v2_labels, strict=True) if y],
                [s for s, y in zip(v2_scores, v2_labels, strict=True) if not y],
            ),
            3,
        )
        if len(set(v2_labels)) == 2
        else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=READER_FILE)
    ap.add_argument("--report", type=Path, default=None)
    ap.add_argument("--holdout-fold", type=int, default=None, help=f"0..{FOLDS - 1}: train on the other folds")
    ap.add_argument("--freeze", type=int, default=2, help="lower encoder layers kept as bundled")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--negatives", type=float, default=0.5, help="share of questions given a BM25 negative")
    ap.add_argument("--limit", type=int, default=None, help="train on this many questions (smoke runs)")
    args = ap.parse_args(argv)

    import torch
    from tokenizers import Tokenizer

    from ..embedding import bundled_model_path

    torch.set_num_threads(max(1, torch.get_num_threads()))
    texts, items = load_items(args.data)
    folds = _fold_of([it.group for it in items])
    if args.holdout_fold is not None:
        train_items = [it for it in items if folds[it.group] != args.holdout_fold]
        test_items = [it for it in items if folds[it.group] == args.holdout_fold]
    else:
        train_items, test_items = items, []
    if args.limit:
        train_items = random.Random(SEED).sample(train_items, min(args.limit, len(train_items)))
    tok = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    negs = hard_negatives(texts, items)
    examples = encode_examples(tok, texts, train_items, negs, args.negatives)
    print(f"{len(train_items)} questions → {len(examples)} windows (≤{MAX_CONTEXT_TOKENS} context tokens)")
    t0 = time.time()
    bert, head = train(examples, args.freeze, args.epochs, args.lr, args.batch)
    meta = {
        "seed": SEED,
        "epochs": args.epochs,
        "lr": args.lr,
        "batch": args.batch,
        "negatives": args.negatives,
        "train_questions": len(train_items),
        "windows": len(examples),
        "holdout_fold": args.holdout_fold,
        "train_seconds": round(time.time() - t0),
    }
    save(bert, head, args.freeze, args.out, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {meta['train_seconds']} s")
    if test_items:
        meta["heldout"] = evaluate(args.out, texts, test_items)
        meta["heldout_groups"] = sorted({it.group for it in test_items})
        print(json.dumps(meta["heldout"], indent=1))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(meta, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

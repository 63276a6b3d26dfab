"""The extractive reader: shipped weights, NumPy forward pass, spans and the reader setting."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.answer.reader import READER_FILE, Reader, ReaderSpan, best_spans, load_reader, refine_spans, windows
from assistant.errors import AssistantError
from assistant.settings import Settings

PASSAGE = (
    "After the Russia-Georgia August War in 2008, Russia, Nicaragua and Nauru recognized Abkhazia and "
    "Tskhinvali as independent republics. The talks were held in Geneva in November 2011."
)


@pytest.fixture(scope="module")
def reader() -> Reader:
    return load_reader("bundled")


def test_shipped_reader_is_small_and_records_its_base_model(reader):
    from assistant.models.digests import sha256_file
    from assistant.models.embedding import bundled_model_path

    assert READER_FILE.stat().st_size < 24e6  # six float16 layers and the head
    assert reader.meta["base_sha256"] == sha256_file(bundled_model_path() / "model.safetensors")
    # trained on SQuAD v1.1 train and one SQuAD 2.0 fold; the v1.1 tuning file is never trained on
    assert reader.meta["v2_train_fold"] in (0, 1) and reader.meta["train_questions"] > 10_000


def test_reader_finds_factoid_spans(reader):
    lst = PASSAGE.index("Russia, Nicaragua and Nauru")
    [r] = reader.read("Which states recognized Abkhazia?", [PASSAGE])
    assert lst <= r.spans[0].start < r.spans[0].end <= lst + len("Russia, Nicaragua and Nauru")
    assert r.best > 0
    [r] = reader.read("Where were the talks held?", [PASSAGE])
    assert PASSAGE[r.spans[0].start : r.spans[0].end] == "Geneva"
    [r] = reader.read("When were the talks held?", [PASSAGE])
    assert PASSAGE[r.spans[0].start : r.spans[0].end] == "November 2011"


def test_reader_prefers_the_passage_that_answers(reader):
    other = "The weather in Paris was mild for the season, with light rain on most days."
    a, b = reader.read("Where were the talks held?", [other, PASSAGE])
    assert b.best > a.best


def test_long_passages_are_read_in_overlapping_windows(reader):
    filler = "Nothing of note happened on that day in the village. " * 60
    text = filler + PASSAGE
    [r] = reader.read("Where were the talks held?", [text])
    assert text[r.spans[0].start : r.spans[0].end] == "Geneva"
    assert windows(500) == [(0, 224), (112, 336), (224, 448), (336, 500)]


def test_best_spans_respect_order_and_length():
    start = np.array([0.0, 5.0, 0.0, 0.0])
    end = np.array([9.0, 0.0, 0.0, 6.0])
    spans = best_spans(start, end, k=3, max_len=3)
    assert spans[0][:2] == (1, 3)  # (1, 0) would score higher but ends before it starts
    assert all(i <= j < i + 3 for i, j, _ in spans)


def test_spans_are_whole_words_and_never_the_questions_own_name():
    text = "Russia’s Deputy Foreign Minister Gregory Karasin told Sputnik Belarus about the Georgian Dream party."

    def refined(question: str, piece: str) -> list[str]:
        at = text.index(piece)
        return [text[s.start : s.end] for s in refine_spans(question, text, [ReaderSpan(at, at + len(piece), 1.0)])]

    assert refined("Which party?", "eorgian Dream") == ["Georgian Dream"]  # a word piece widened to the word
    assert refined("Who did Karasin talk to?", "Sputnik Belarus") == ["Sputnik Belarus"]
    assert refined("Who did Karasin talk to?", "Gregory Karasin") == []  # the question's own name
    assert refined("Who is Gregory Karasin?", "Deputy Foreign Minister") == ["Deputy Foreign Minister"]
    # the same name in either apostrophe, possessive or not: "Russia's" in the question is "Russia’s" in news text
    assert refined("Who is Russia's deputy foreign minister?", "Russia’s Deputy Foreign Minister") == []
    assert refined("Who is Russia's deputy foreign minister?", "Gregory Karasin") == ["Gregory Karasin"]
    assert refined("What did Karasin's interviewer work for?", "Sputnik Belarus") == ["Sputnik Belarus"]
    # the question's name at a span's edge is trimmed off; what is left must say something new
    assert refined("Who is Gregory Karasin?", "Russia’s Deputy Foreign Minister Gregory Karasin") == [
        "Russia’s Deputy Foreign Minister"
    ]
    assert refined("Who is Karasin?", "Foreign Minister Gregory Karasin") == ["Foreign Minister"]  # all of the name
    assert refined("Who did Gregory Karasin tell?", "Karasin told Sputnik Belarus") == ["told Sputnik Belarus"]


def _torch_logits(reader_file, question: str, passage: str, tok, cls_id: int, sep_id: int):
    """The reader's start/end logits computed in torch from the base weights + the reader file."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    from transformers import AutoModel

    from assistant.answer.reader import pair_ids
    from assistant.models.embedding import bundled_model_path

    bert = AutoModel.from_pretrained(str(bundled_model_path()), add_pooling_layer=False)
    tuned = {k: v.float() for k, v in load_file(str(reader_file)).items()}
    head_w, head_b = tuned.pop("qa_head.weight"), tuned.pop("qa_head.bias")
    missing, unexpected = bert.load_state_dict(tuned, strict=False)
    assert not unexpected
    bert.train(False)
    q = tok.encode(question, add_special_tokens=False).ids
    c = tok.encode(passage, add_special_tokens=False).ids
    ids, types, _ = pair_ids(q, c, cls_id, sep_id)
    with torch.no_grad():
        hidden = bert(
            input_ids=torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            token_type_ids=torch.tensor([types]),
        ).last_hidden_state
        logits = (hidden @ head_w.T + head_b)[0].numpy()
    return np.array([ids]), np.array([types]), logits


def test_onnx_reader_matches_torch(reader):
    """The ONNX graph (bundled base + the shipped file's tuned layers) equals torch."""
    assert reader.meta["freeze"] in (0, 2)
    ids, types, want = _torch_logits(READER_FILE, "Where were the talks held?", PASSAGE, reader.bert.tokenizer,
                                     reader.cls_id, reader.sep_id)  # fmt: skip
    got = reader.logits(ids, np.ones_like(ids), types)[0]
    assert np.abs(got - want).max() < 1e-3


def test_a_reader_with_every_layer_tuned_loads_and_matches_torch(tmp_path, reader):
    """freeze=0: all six encoder layers come from the reader file (the new training recipe)."""
    from safetensors.numpy import load_file, save_file

    base = load_file(str(READER_FILE))
    rng = np.random.default_rng(0)
    from assistant.models.embedding import bundled_model_path

    full = {k.removeprefix("bert."): v for k, v in load_file(str(bundled_model_path() / "model.safetensors")).items()}
    tuned = {k: v for k, v in base.items()}
    for k, v in full.items():
        if k.startswith("encoder.layer.0.") or k.startswith("encoder.layer.1."):
            tuned[k] = (v + rng.normal(0, 0.02, v.shape)).astype(np.float16)  # "fine-tuned" lower layers
    path = tmp_path / "reader-freeze0.safetensors"
    save_file(
        tuned, str(path), metadata={"reader": json.dumps({"freeze": 0, "base_sha256": reader.meta["base_sha256"]})}
    )
    r0 = Reader.load(path)
    assert r0.meta["freeze"] == 0
    ids, types, want = _torch_logits(path, "Where were the talks held?", PASSAGE, r0.bert.tokenizer, r0.cls_id,
                                     r0.sep_id)  # fmt: skip
    got = r0.logits(ids, np.ones_like(ids), types)[0]
    assert np.abs(got - want).max() < 1e-3
    assert np.abs(got - reader.logits(ids, np.ones_like(ids), types)[0]).max() > 1e-2  # the lower layers count


def test_reader_setting(tmp_path, seeds_index, embedder):
    from assistant import Assistant

    assert load_reader("none") is None
    with pytest.raises(AssistantError, match="reader file not found"):
        load_reader(str(tmp_path / "missing.safetensors"))
    plain = Assistant.load(
        seeds_index, embedder=embedder, settings=Settings.from_env(index_dir=seeds_index, reader="none")
    )
    ans = plain.ask("Which states recognize Abkhazia?")
    assert not ans.abstained and "Nauru" in ans.text
    assert plain.answerer.reader is None


def test_seed_answer_spans_use_the_reader(seeds_assistant):
    assert seeds_assistant.answerer.reader is not None
    for question, span in (
        ("Who is Russia's Deputy Foreign Minister?", "Gregory Karasin"),
        ("When did relations between Russia and Georgia start to normalize?", "2012"),
    ):
        ans = seeds_assistant.ask(question)
        a, b = ans.span
        assert ans.text[a:b] == span
    ans = seeds_assistant.ask("Which states recognize Abkhazia?")  # a list question: the whole list
    a, b = ans.span
    assert ans.text[a:b] == "Russia, Nicaragua and Nauru"
    ans = seeds_assistant.ask("What ties were restored?")  # the reader's "transport and trade ties" + the list
    assert ans.span_text == "humanitarian, transport and trade ties"


def test_missing_reader_is_a_clear_error(tmp_path, seeds_index, embedder):
    from assistant import Assistant

    with pytest.raises(AssistantError, match="reader file not found"):
        Assistant.load(
            seeds_index,
            embedder=embedder,
            settings=Settings.from_env(index_dir=seeds_index, reader=str(tmp_path / "nope.safetensors")),
        )


def test_the_assistant_uses_the_shared_reader(seeds_assistant, reader):
    shared = seeds_assistant.answerer.reader
    assert shared is reader  # one session per reader file and process
    assert shared.bert.tokenizer is not seeds_assistant.embedder.fast.tokenizer  # the reader's settings stay its own

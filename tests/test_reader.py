"""The extractive reader: shipped weights, NumPy forward pass, spans and the reader setting."""

from __future__ import annotations

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
    from assistant.models.embedding import bundled_model_path, sha256_file

    assert READER_FILE.stat().st_size < 20e6
    assert reader.meta["base_sha256"] == sha256_file(bundled_model_path() / "model.safetensors")
    assert reader.meta["holdout_fold"] is None  # the shipped reader is trained on every tuning article


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


def test_numpy_reader_matches_torch(reader):
    torch = pytest.importorskip("torch")
    from transformers import AutoModel

    from assistant.models.embedding import bundled_model_path

    bert = AutoModel.from_pretrained(str(bundled_model_path()), add_pooling_layer=False)
    from safetensors.torch import load_file

    tuned = load_file(str(READER_FILE))
    state = {k: v.float() for k, v in tuned.items() if not k.startswith("qa_head.")}
    bert.load_state_dict(state, strict=False)
    bert.train(False)
    tok = reader.bert.tokenizer
    q = tok.encode("Where were the talks held?", add_special_tokens=False).ids
    c = tok.encode(PASSAGE, add_special_tokens=False).ids
    from assistant.answer.reader import pair_ids

    ids, types, _ = pair_ids(q, c, reader.cls_id, reader.sep_id)
    with torch.no_grad():
        hidden = (
            bert(
                input_ids=torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                token_type_ids=torch.tensor([types]),
            )
            .last_hidden_state[0]
            .numpy()
        )
    ours = reader.bert.hidden_states(np.array([ids]), np.ones((1, len(ids)), np.float32), np.array([types]))[0]
    assert np.abs(hidden - ours).max() < 1e-3


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


def test_the_assistants_reader_shares_the_embedders_weights(seeds_assistant, reader):
    shared = seeds_assistant.answerer.reader
    fast = seeds_assistant.embedder.fast
    assert shared is not reader and fast is not None
    assert np.shares_memory(shared.bert.word, fast.word)  # read once, not twice
    assert shared.bert.tokenizer is not fast.tokenizer  # the reader's settings stay its own
    a = reader.read("Where were the talks held?", [PASSAGE])[0]
    b = shared.read("Where were the talks held?", [PASSAGE])[0]
    assert (b.spans[0].start, b.spans[0].end) == (a.spans[0].start, a.spans[0].end)
    assert abs(b.null - a.null) < 1e-4 and abs(b.spans[0].score - a.spans[0].score) < 1e-4

"""Answer quality: focused spans of the right type, abstention when the articles do not say it,
confidence that means something, and a fitted model that loads without scikit-learn."""

import json
import subprocess
import sys

import pytest

from assistant.answer.answerer import FEATURES, ExtractiveAnswerer, load_model
from assistant.answer.question import analyse


def _span(question: str, sentence: str) -> str:
    sp = ExtractiveAnswerer().span(sentence, analyse(question))
    return sentence[sp.start : sp.end] if sp is not None else ""


@pytest.mark.parametrize(
    "question, sentence, expected",
    [
        (
            "When did the bridge open to traffic?",
            "After four years of construction, the bridge opened to traffic in May 1937.",
            "1937",
        ),
        (
            "How many people live in Millbrook?",
            "According to the census, about 12,400 people live in Millbrook, most of them farmers.",
            "12,400",
        ),
        (
            "Who designed the Harbour Bridge?",
            "The Harbour Bridge was designed by the engineer Joseph Strauss, who had built bridges in Chicago.",
            "Joseph Strauss",
        ),
        (
            "Where was the treaty signed?",
            "The treaty was signed in Lisbon by the foreign ministers of both countries.",
            "Lisbon",
        ),
    ],
)
def test_focused_span_has_the_expected_type(question, sentence, expected):
    span = _span(question, sentence)
    assert expected in span
    assert len(span) <= len(expected) + 25  # focused, not the whole sentence


def test_span_avoids_the_words_of_the_question():
    span = _span(
        "Who did Maria Lopez marry?",
        "In 1998 Maria Lopez married Daniel Okafor, a violinist from Lagos.",
    )
    assert "Daniel Okafor" in span
    assert "Maria" not in span


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "Who won the 2018 FIFA World Cup?",
        "How many goals did Messi score for Barcelona?",
        "When was the Eiffel Tower built?",
    ],
)
def test_off_topic_questions_abstain(seeds_assistant, question):
    ans = seeds_assistant.ask(question)
    assert ans.abstained
    assert ans.confidence < seeds_assistant.answerer.threshold


@pytest.mark.parametrize(
    "question",
    [
        "What is the population of Abkhazia?",
        "How many soldiers does Russia keep in South Ossetia?",
    ],
)
def test_near_miss_questions_on_the_articles_topic_abstain(seeds_assistant, question):
    assert seeds_assistant.ask(question).abstained


def test_supported_questions_are_more_confident_than_unsupported_ones(seeds_assistant):
    supported = [
        "Which countries recognized Abkhazia and Tskhinvali as independent republics?",
        "Who told Sputnik Belarus that the recognition could not be reviewed?",
    ]
    unsupported = ["What is the capital of France?", "What is the population of Abkhazia?"]
    low = max(seeds_assistant.ask(q).confidence for q in unsupported)
    for q in supported:
        ans = seeds_assistant.ask(q)
        assert not ans.abstained
        assert ans.confidence > low


def test_confidence_grows_with_the_evidence(seeds_assistant):
    """Holding everything else fixed, a best sentence the reader is surer of never lowers the
    confidence (the learned confidence reads absolute evidence, not the sentence's rank)."""
    a = seeds_assistant
    info = analyse("Which states recognize Abkhazia?")
    q_vec = a.embedder.encode_query(info.text)
    hits = a.retriever.search(info.text, 5, query_vector=q_vec, terms=info.terms)
    cands = a.answerer.candidates(info, q_vec, hits, a.index)
    best, runner = cands[0], cands[1]
    saved = dict(best.features)
    values = []
    for reader_sent in (-1.0, -0.5, 0.0, 0.5, 1.0):
        best.features["reader_sent"] = reader_sent
        values.append(a.answerer.confidence(best, runner))
    best.features.clear()
    best.features.update(saved)
    assert values == sorted(values)
    assert values[-1] - values[0] > 0.05


def test_shipped_model_is_complete():
    model = load_model()
    weights = model.get("sentence", model)["weights"]
    assert any(weights.get(f) for f in FEATURES)
    assert model["span"]["weights"]  # the fitted span scorer
    assert 0.0 < model["abstain_threshold"] < 1.0
    assert model["calibration"]["a"] > 0  # confidence rises with the evidence


def test_model_loads_and_answers_without_scikit_learn(seeds_index):
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from assistant import Assistant\n"
        f"a = Assistant.load({str(seeds_index)!r})\n"
        "ans = a.ask('Which states recognize Abkhazia?')\n"
        "assert ans.citations and 0.0 <= ans.confidence <= 1.0, ans\n"
        "import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith('sklearn'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["sklearn"]  # only the blocker itself

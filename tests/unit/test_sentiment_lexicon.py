"""The lexicon method and ``score_texts``: VADER plus the finance / crypto words, routing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from learnloop.exceptions import NoProductionModelError
from learnloop.sentiment.classify import SentimentModel, score_texts
from learnloop.sentiment.lexicon import FINANCE_LEXICON, LexiconSentiment

LABELS = ("negative", "neutral", "positive")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("BTC dumped 20% overnight, rekt", "negative"),
        ("Operating profit fell to EUR 5 mn from EUR 8 mn", "negative"),
        ("Net sales increased by 12 % to EUR 30 mn", "positive"),
        ("SOL breakout, bullish, wagmi", "positive"),
        ("another rug pull, bagholders everywhere", "negative"),
        ("The annual meeting is held on 3 March", "neutral"),
    ],
)
def test_the_finance_words_decide(text: str, label: str) -> None:
    assert LexiconSentiment().predict([text]) == [label]


def test_vader_alone_gets_the_crypto_text_wrong() -> None:
    # what the finance list is for: VADER's own lexicon calls this one neutral or better
    assert LexiconSentiment(extra={}).predict(["BTC fell 20% overnight, rekt"]) != ["negative"]
    assert FINANCE_LEXICON["rekt"] < 0


def test_probabilities_follow_the_compound_and_the_band() -> None:
    lexicon = LexiconSentiment(neutral_band=0.25)
    [c] = lexicon.compound(["rekt"])
    [row] = lexicon.proba_rows(["rekt"])
    # negative ∝ |c|, neutral ∝ band, positive 0 (hand-computed from the module's rule)
    assert row == pytest.approx((-c / (-c + 0.25), 0.25 / (-c + 0.25), 0.0))
    assert lexicon.predict_proba(["rekt", "ok"]).shape == (2, 3)


class FakeCache:
    def __init__(self, model: SentimentModel | None) -> None:
        self.model = model

    def get(self, name: str) -> SentimentModel:
        if self.model is None:
            raise NoProductionModelError("none")
        return self.model


class FixedClassifier:
    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = np.asarray(rows, dtype=np.float32)

    def predict_proba(self, texts: list[str]) -> Any:
        return self.rows[: len(texts)]


def model(rows: list[list[float]], routing: dict[str, float] | None = None) -> SentimentModel:
    return SentimentModel(
        name="sentiment",
        version="20261120T000000Z",
        labels=LABELS,
        encoder=None,
        session=None,
        classifier=FixedClassifier(rows),  # type: ignore[arg-type]
        routing=routing,
    )


def test_score_texts_uses_the_lexicon_without_a_model() -> None:
    for cache in (None, FakeCache(None)):
        scores = score_texts(["rekt", "moon"], cache=cache)  # type: ignore[arg-type]
        assert [(s.label, s.method) for s in scores] == [
            ("negative", "lexicon"),
            ("positive", "lexicon"),
        ]
        assert set(scores[0].probabilities) == set(LABELS)
    assert score_texts([]) == []


def test_score_texts_uses_the_model_alone_without_routing() -> None:
    cache = FakeCache(model([[0.2, 0.5, 0.3]]))
    [score] = score_texts(["rekt"], cache=cache)  # type: ignore[arg-type]
    assert (score.label, score.score, score.method) == ("neutral", pytest.approx(0.5), "model")


def test_unsure_texts_are_blended_with_the_lexicon() -> None:
    # "rekt" alone: the lexicon's row is (|c|, band, 0) / (|c| + band)
    lexicon_row = LexiconSentiment().proba_rows(["rekt"])[0]
    routed = model(
        [[0.2, 0.5, 0.3], [0.05, 0.9, 0.05]], routing={"below": 0.6, "lexicon_weight": 0.5}
    )
    unsure, sure = routed.score(["rekt", "rekt"])
    expected = [0.5 * m + 0.5 * lx for m, lx in zip((0.2, 0.5, 0.3), lexicon_row, strict=True)]
    assert unsure.method == "ensemble"
    assert [unsure.probabilities[label] for label in LABELS] == pytest.approx(expected)
    assert unsure.label == "negative"  # the lexicon is sure of "rekt", the model was not
    assert (sure.method, sure.label) == ("model", "neutral")
    assert routed.method == "ensemble"

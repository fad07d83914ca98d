"""The evaluation set's metrics agree with scikit-learn, and weights are repeated rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, r2_score, roc_auc_score

from learnloop.models.evaluation import (
    EvaluationSetError,
    decode_set,
    encode_set,
    weighted_auc,
    weighted_macro_f1,
    weighted_r2,
)
from learnloop.models.promotion import paired_bootstrap, rule_of

RNG = np.random.default_rng(0)
N = 300
ROWS = RNG.integers(0, N, N)  # a bootstrap resample: rows repeated
WEIGHTS = np.bincount(ROWS, minlength=N).astype(float)


def test_weighted_r2_is_r2_of_the_repeated_rows() -> None:
    y, p = RNG.normal(size=N), RNG.normal(size=N)
    assert weighted_r2(y, p)(np.ones(N)) == pytest.approx(r2_score(y, p))
    assert weighted_r2(y, p)(WEIGHTS) == pytest.approx(r2_score(y[ROWS], p[ROWS]))


def test_weighted_auc_is_auc_of_the_repeated_rows_with_ties() -> None:
    y = (RNG.uniform(size=N) < 0.4).astype(float)
    score = np.round(RNG.uniform(size=N) + 0.3 * y, 1)  # many ties
    assert weighted_auc(y, score)(np.ones(N)) == pytest.approx(roc_auc_score(y, score))
    assert weighted_auc(y, score)(WEIGHTS) == pytest.approx(roc_auc_score(y[ROWS], score[ROWS]))
    assert np.isnan(weighted_auc(np.zeros(3), np.arange(3.0))(np.ones(3)))


def test_weighted_macro_f1_is_macro_f1_of_the_repeated_rows() -> None:
    labels = np.asarray(["negative", "neutral", "positive"])
    truth = labels[RNG.integers(0, 3, N)]
    guess = np.where(RNG.uniform(size=N) < 0.6, truth, labels[RNG.integers(0, 2, N)])
    expected = f1_score(truth[ROWS], guess[ROWS], average="macro")
    assert weighted_macro_f1(truth, guess)(WEIGHTS) == pytest.approx(expected)


def test_sets_round_trip_without_pickle() -> None:
    body = encode_set({"texts": ["a", "bé"], "X": np.eye(2)})
    arrays = decode_set(body)
    assert arrays["texts"].tolist() == ["a", "bé"] and arrays["X"].shape == (2, 2)
    with pytest.raises(EvaluationSetError):
        decode_set(b"not an npz")


def test_the_bootstrap_is_seeded_and_brackets_the_difference() -> None:
    from learnloop.models.evaluation import Scores

    y = RNG.normal(size=200)
    good, noisy = y + RNG.normal(0, 0.3, 200), y + RNG.normal(0, 0.6, 200)
    a = Scores(y, good, weighted_r2(y, good), {})
    b = Scores(y, noisy, weighted_r2(y, noisy), {})
    interval = paired_bootstrap(a, b, 1.0, 300)
    assert interval == paired_bootstrap(a, b, 1.0, 300)
    assert interval is not None and interval[0] < a.score() - b.score() < interval[1]


@pytest.mark.parametrize(
    ("delta", "interval", "too_old", "expected"),
    [
        (0.02, (0.0, 0.04), False, ("promote", "not_worse")),
        (-0.005, (-0.02, 0.01), False, ("promote", "not_worse")),
        (-0.05, (-0.09, 0.0), False, ("keep", "not_worse")),
        (-0.05, (-0.09, 0.0), True, ("promote", "max_age")),
        (-0.05, (-0.09, -0.02), True, ("keep", "max_age")),
        (-0.05, None, True, ("promote", "max_age")),
    ],
)
def test_the_rule(
    delta: float, interval: tuple[float, float] | None, too_old: bool, expected: tuple[str, str]
) -> None:
    assert rule_of(delta, interval, tolerance=0.01, too_old=too_old) == expected

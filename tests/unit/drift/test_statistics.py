"""PSI and the drift check's scores against hand-checkable values (and scikit-learn's)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from learnloop.drift.statistics import (
    EPSILON,
    categorical_psi,
    feature_psi,
    mse,
    psi,
    quantile_edges,
    r2,
    roc_auc,
)
from learnloop.exceptions import ValidationError


def test_identical_distributions_have_zero_psi() -> None:
    sample = np.random.default_rng(0).normal(size=2000)
    assert psi(sample, sample) == pytest.approx(0.0, abs=1e-12)
    assert psi(sample, sample[::-1].copy()) == pytest.approx(0.0, abs=1e-12)


def test_two_bin_case_matches_the_formula() -> None:
    # The median of 50 zeros and 50 ones is 0.5: zeros fall in bin 0, ones in bin 1.
    reference = [0.0] * 50 + [1.0] * 50
    current = [0.0] * 80 + [1.0] * 20
    p, q = (0.5, 0.5), (0.8, 0.2)
    expected = sum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q, strict=True))
    assert psi(reference, current, bins=2) == pytest.approx(expected)
    assert categorical_psi(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20) == pytest.approx(
        expected
    )


def test_an_empty_bin_is_floored_at_epsilon() -> None:
    # Every current value lands in the upper bin: the lower bin's share is epsilon, not 0.
    expected = (EPSILON - 0.5) * math.log(EPSILON / 0.5) + (1.0 - 0.5) * math.log(1.0 / 0.5)
    assert psi(range(100), range(50, 150), bins=2) == pytest.approx(expected)
    assert math.isfinite(psi([0.0, 1.0], [5.0, 6.0], bins=2))


def test_values_outside_the_reference_range_fall_in_the_outer_bins() -> None:
    assert quantile_edges(range(10), bins=2).tolist() == [4.5]
    assert psi(range(10), [-100.0, 100.0] * 5, bins=2) == pytest.approx(0.0)


def test_a_shift_gives_a_large_psi_and_more_shift_more() -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(size=5000)
    small = psi(reference, rng.normal(0.25, 1.0, size=5000))
    large = psi(reference, rng.normal(1.0, 1.0, size=5000))
    assert 0.02 < small < 0.2 < large


def test_ties_merge_quantile_bins() -> None:
    assert quantile_edges([1, 1, 1, 1, 1, 2], bins=10).tolist() == [1.0, 1.5]
    assert psi([1, 1, 1, 1, 1, 2], [1, 1, 1, 1, 1, 2]) == pytest.approx(0.0)


def test_a_new_category_counts() -> None:
    value = categorical_psi(["a", "b"] * 50, ["a", "b", "c", "c"] * 25)
    # a: 0.5 → 0.25, b: 0.5 → 0.25, c: epsilon → 0.5
    expected = 2 * (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    assert value == pytest.approx(expected)


def test_feature_psi_compares_dummy_coded_categories_by_level() -> None:
    names = ["x", "kind_b", "kind_c"]
    # Reference: levels a (baseline), b, c a third each; current: all b.
    reference = np.array([[0.1, 0, 0], [0.2, 1, 0], [0.3, 0, 1]] * 30, dtype=float)
    current = np.array([[0.1, 1, 0], [0.2, 1, 0], [0.3, 1, 0]] * 30, dtype=float)
    report = feature_psi(
        reference, current, names, categories={"kind": ("a", ("kind_b", "kind_c"))}, bins=3
    )
    assert list(report) == ["x", "kind"]
    assert report["x"] == {"psi": pytest.approx(0.0), "kind": "quantile"}
    third = 1 / 3
    expected = (1.0 - third) * math.log(1.0 / third) + 2 * (EPSILON - third) * math.log(
        EPSILON / third
    )
    assert report["kind"]["kind"] == "categorical"
    assert report["kind"]["psi"] == pytest.approx(expected)


def test_feature_psi_without_the_groups_columns_treats_them_as_numbers() -> None:
    X = np.array([[0.0, 1.0], [1.0, 0.0]] * 10)
    report = feature_psi(X, X, ["a", "b"], categories={"kind": ("z", ("kind_b",))}, bins=2)
    assert {k: v["kind"] for k, v in report.items()} == {"a": "quantile", "b": "quantile"}


def test_scores_agree_with_scikit_learn() -> None:
    from sklearn.metrics import mean_squared_error, r2_score, roc_auc_score

    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    p = y + rng.normal(scale=0.5, size=200)
    assert r2(y, p) == pytest.approx(r2_score(y, p))
    assert mse(y, p) == pytest.approx(mean_squared_error(y, p))
    labels = rng.integers(0, 2, size=300)
    scores = np.round(rng.random(300), 1)  # many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_undefined_scores_are_none() -> None:
    assert r2([1.0, 1.0, 1.0], [0.0, 1.0, 2.0]) is None
    assert r2([1.0], [1.0]) is None
    assert roc_auc([1, 1, 1], [0.1, 0.2, 0.3]) is None


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValidationError):
        psi([], [1.0])
    with pytest.raises(ValidationError):
        psi([1.0, float("nan")], [1.0])
    with pytest.raises(ValidationError):
        psi([1.0, 2.0], [1.0], bins=1)
    with pytest.raises(ValidationError):
        categorical_psi(["a"], [])
    with pytest.raises(ValidationError):
        r2([1.0, 2.0], [1.0])

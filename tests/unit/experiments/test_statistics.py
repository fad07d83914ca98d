"""The experiment statistics against hand-checkable values and independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from learnloop.experiments.statistics import (
    StatisticsError,
    chi_square_sf,
    probability_best,
    sample_ratio_test,
    two_proportion_z_test,
    wilson_interval,
    z_for,
)

Z = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


def test_z_for_matches_scipy() -> None:
    assert z_for(0.95) == pytest.approx(Z, abs=1e-12)
    assert z_for(0.99) == pytest.approx(stats.norm.ppf(0.995), abs=1e-12)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # 0 of n: the lower bound is 0 and the upper z^2 / (n + z^2).
        (0, 10, 0.0, Z**2 / (10 + Z**2)),
        # n of n mirrors it.
        (10, 10, 10 / (10 + Z**2), 1.0),
        # The textbook 5 of 10 (e.g. Newcombe 1998): 0.2366 to 0.7634.
        (5, 10, 0.2366, 0.7634),
        # 81 of 263 (Wallis 2013's worked example): 0.2553 to 0.3662.
        (81, 263, 0.2553, 0.3662),
    ],
)
def test_wilson_interval_known_values(successes: int, trials: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, trials)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_is_symmetric_and_empty_samples_know_nothing() -> None:
    low, high = wilson_interval(3, 20)
    mirrored = wilson_interval(17, 20)
    assert (low, high) == pytest.approx((1 - mirrored[1], 1 - mirrored[0]))
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("successes", "trials"), [(-1, 10), (11, 10), (0, -1)])
def test_impossible_counts_are_refused(successes: int, trials: int) -> None:
    with pytest.raises(StatisticsError):
        wilson_interval(successes, trials)
    with pytest.raises(StatisticsError):
        two_proportion_z_test(1, 10, successes, trials)


@pytest.mark.parametrize(
    ("c1", "n1", "c2", "n2"), [(10, 100, 30, 100), (45, 500, 52, 480), (300, 1000, 250, 1000)]
)
def test_z_test_matches_the_pooled_formula_and_scipys_normal(
    c1: int, n1: int, c2: int, n2: int
) -> None:
    p1, p2 = c1 / n1, c2 / n2
    pooled = (c1 + c2) / (n1 + n2)
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    test = two_proportion_z_test(c1, n1, c2, n2)
    assert test.difference == pytest.approx(p2 - p1)
    assert test.z == pytest.approx(z)
    assert test.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


def test_z_test_agrees_with_the_chi_square_test_of_the_2x2_table() -> None:
    # Without continuity correction, z^2 is the chi-square statistic of the 2x2 table.
    table = np.array([[10, 90], [30, 70]])
    chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    test = two_proportion_z_test(10, 100, 30, 100)
    assert test.z**2 == pytest.approx(chi2)
    assert test.p_value == pytest.approx(p_value)


def test_z_test_without_variance_or_data_cannot_tell_groups_apart() -> None:
    assert two_proportion_z_test(0, 50, 0, 50).p_value == 1.0
    assert two_proportion_z_test(50, 50, 50, 50).p_value == 1.0
    assert two_proportion_z_test(0, 0, 5, 10).p_value == 1.0


def test_probability_best_is_seeded_sums_to_one_and_matches_the_closed_form() -> None:
    first = probability_best([10, 30, 12], [100, 100, 100], random_state=7)
    assert first == probability_best([10, 30, 12], [100, 100, 100], random_state=7)
    assert sum(first) == pytest.approx(1.0)
    assert first[1] > 0.99
    # Two arms: P(B > A) by numerical integration of the Beta posteriors.
    a, b = stats.beta(1 + 20, 1 + 80), stats.beta(1 + 26, 1 + 74)
    grid = np.linspace(0, 1, 20_001)
    exact = float(np.trapezoid(b.pdf(grid) * a.cdf(grid), grid))
    estimate = probability_best([20, 26], [100, 100], draws=200_000)[1]
    assert estimate == pytest.approx(exact, abs=0.005)


def test_probability_best_with_no_data_is_even() -> None:
    shares = probability_best([0, 0, 0, 0], [0, 0, 0, 0], draws=40_000)
    assert shares == pytest.approx([0.25] * 4, abs=0.015)
    with pytest.raises(StatisticsError):
        probability_best([], [])
    with pytest.raises(StatisticsError):
        probability_best([1], [2, 3])


@pytest.mark.parametrize("dof", range(1, 12))
def test_chi_square_tail_matches_scipy(dof: int) -> None:
    for x in (0.0, 0.01, 0.5, 1.0, 3.84, 7.0, 15.0, 40.0, 120.0):
        assert chi_square_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9, abs=1e-300)


def test_sample_ratio_test_is_the_goodness_of_fit_against_the_weights() -> None:
    exposed, weights = [480, 260, 260], [2.0, 1.0, 1.0]
    result = sample_ratio_test(exposed, weights)
    expected = stats.chisquare(exposed, f_exp=[500, 250, 250])
    assert result.chi2 == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.dof == 2 and not result.mismatch
    assert sample_ratio_test([1100, 900], [1, 1]).mismatch  # chi2 = 20: p ~ 8e-6
    assert sample_ratio_test([0, 0], [1, 1]).p_value == 1.0
    with pytest.raises(StatisticsError):
        sample_ratio_test([1, 2], [1.0])
    with pytest.raises(StatisticsError):
        chi_square_sf(1.0, 0)

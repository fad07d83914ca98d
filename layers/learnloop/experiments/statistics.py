"""The statistics of an A/B test: Wilson intervals, the two-proportion z-test, P(best).

Pure functions of counts. The normal distribution comes from the standard library
(:class:`statistics.NormalDist`; ``math.erfc`` for tails) rather than scipy: scipy is in no
Lambda layer of the API (the admin function stacks ``ingest`` + ``inference``: numpy and
onnxruntime), and these closed forms need nothing more. Tests check them against scipy.
numpy is imported only by :func:`probability_best`, so importing this module stays cheap.

Examples
--------
>>> low, high = wilson_interval(5, 10)
>>> round(low, 4), round(high, 4)
(0.2366, 0.7634)
>>> test = two_proportion_z_test(10, 100, 30, 100)
>>> round(test.difference, 2), round(test.z, 3), test.p_value < 0.001
(0.2, 3.536, True)
>>> [round(p, 2) for p in probability_best([10, 30], [100, 100])]
[0.0, 1.0]
>>> sample_ratio_test([500, 500], [0.5, 0.5]).p_value
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from learnloop.exceptions import LearnloopError

__all__ = [
    "DEFAULT_DRAWS",
    "SRM_ALPHA",
    "SampleRatio",
    "StatisticsError",
    "ZTest",
    "chi_square_sf",
    "probability_best",
    "sample_ratio_test",
    "two_proportion_z_test",
    "wilson_interval",
    "z_for",
]

#: Monte Carlo draws per variant for :func:`probability_best`: P(best) within ~±0.004.
DEFAULT_DRAWS = 20_000
#: A sample ratio mismatch is flagged below this p-value: the usual, strict threshold, since
#: the test runs on every results read and a false alarm would discredit a sound experiment.
SRM_ALPHA = 0.001


class StatisticsError(LearnloopError):
    """Impossible counts: negative, or more successes than trials."""

    code = "statistics_error"


def _check(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0 or successes > trials:
        raise StatisticsError(f"impossible counts: {successes} successes of {trials} trials")


def z_for(confidence: float) -> float:
    """The two-sided critical value of the standard normal for ``confidence``.

    Examples
    --------
    >>> round(z_for(0.95), 6)
    1.959964
    """
    if not 0.0 < confidence < 1.0:
        raise StatisticsError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion.

    Unlike the normal (Wald) interval it stays inside [0, 1] and keeps its coverage for
    rates near 0 or 1 and small samples, which is where early experiments live.

    Parameters
    ----------
    successes, trials
        Users converted and users exposed.
    confidence
        The interval's coverage (default 0.95).

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(0.0, 1.0)`` when ``trials`` is 0 (nothing is known).

    Raises
    ------
    StatisticsError
        Negative counts, or more successes than trials.

    Examples
    --------
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    >>> round(wilson_interval(0, 10)[1], 4)  # z^2 / (n + z^2)
    0.2775
    """
    _check(successes, trials)
    if trials == 0:
        return 0.0, 1.0
    z = z_for(confidence)
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / trials + z2n / (4.0 * trials)) / (1.0 + z2n)
    # Clamped: at p = 0 or 1 rounding can leave the bound a hair outside [0, 1].
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ZTest:
    """A two-proportion z-test of a variant against the control.

    ``difference`` is the variant's rate minus the control's, ``z`` the pooled statistic and
    ``p_value`` its two-sided p-value.
    """

    difference: float
    z: float
    p_value: float


def two_proportion_z_test(
    control_successes: int, control_trials: int, successes: int, trials: int
) -> ZTest:
    """The pooled two-proportion z-test of ``successes / trials`` against the control's.

    Parameters
    ----------
    control_successes, control_trials
        The control's converted and exposed users.
    successes, trials
        The variant's.

    Returns
    -------
    ZTest
        When either group is empty, or the pooled rate is 0 or 1 (no variance), the test
        cannot tell the groups apart: ``z = 0`` and ``p_value = 1``.

    Raises
    ------
    StatisticsError
        Negative counts, or more successes than trials.

    Examples
    --------
    >>> two_proportion_z_test(0, 0, 3, 10)
    ZTest(difference=0.0, z=0.0, p_value=1.0)
    """
    _check(control_successes, control_trials)
    _check(successes, trials)
    if control_trials == 0 or trials == 0:
        return ZTest(difference=0.0, z=0.0, p_value=1.0)
    p_control = control_successes / control_trials
    p_variant = successes / trials
    difference = p_variant - p_control
    pooled = (control_successes + successes) / (control_trials + trials)
    variance = pooled * (1.0 - pooled) * (1.0 / control_trials + 1.0 / trials)
    if variance <= 0.0:
        return ZTest(difference=difference, z=0.0, p_value=1.0)
    z = difference / math.sqrt(variance)
    # Two-sided tail of the standard normal: erfc keeps precision for tiny p-values.
    return ZTest(difference=difference, z=z, p_value=math.erfc(abs(z) / math.sqrt(2.0)))


def probability_best(
    successes: Sequence[int],
    trials: Sequence[int],
    *,
    draws: int = DEFAULT_DRAWS,
    random_state: int = 0,
) -> list[float]:
    """The Bayesian probability that each variant has the highest conversion rate.

    Each rate's posterior is Beta(1 + successes, 1 + failures) (a uniform prior); the
    probabilities are the share of joint Monte Carlo draws in which each variant is highest.
    The seed is fixed, so the same counts always give the same answer.

    Parameters
    ----------
    successes, trials
        Per variant, in the same order.
    draws
        Monte Carlo draws per variant.
    random_state
        The seed of numpy's generator.

    Returns
    -------
    list of float
        One probability per variant; they sum to 1.

    Raises
    ------
    StatisticsError
        Mismatched lengths, no variants, fewer than one draw, or impossible counts.

    Examples
    --------
    >>> probability_best([0, 0], [0, 0], draws=10_000)[0] > 0.45  # no data: a coin flip
    True
    """
    if len(successes) != len(trials) or not successes:
        raise StatisticsError("successes and trials must be equally long and not empty")
    if draws < 1:
        raise StatisticsError(f"draws must be at least 1, got {draws}")
    for s, n in zip(successes, trials, strict=True):
        _check(s, n)
    import numpy as np  # here, not at import: the assignment route never loads numpy

    rng = np.random.default_rng(random_state)
    alpha = 1.0 + np.asarray(successes, dtype=np.float64)
    beta = 1.0 + np.asarray(trials, dtype=np.float64) - np.asarray(successes, dtype=np.float64)
    samples = rng.beta(alpha[:, None], beta[:, None], size=(len(alpha), draws))
    wins = np.bincount(np.argmax(samples, axis=0), minlength=len(alpha))
    return [float(w) / draws for w in wins]


@dataclass(frozen=True)
class SampleRatio:
    """The chi-square goodness-of-fit of users exposed per variant against the weights."""

    chi2: float
    dof: int
    p_value: float

    @property
    def mismatch(self) -> bool:
        """True when the split is too unlike the weights to be chance (p < :data:`SRM_ALPHA`)."""
        return self.p_value < SRM_ALPHA


def chi_square_sf(x: float, dof: int) -> float:
    """P(X >= x) for X chi-square with a whole number ``dof`` of degrees of freedom.

    The closed forms for whole degrees of freedom: a Poisson sum for even ``dof``, the normal
    tail plus a series for odd (Abramowitz & Stegun 26.4.4-5), so no scipy is needed.

    Examples
    --------
    >>> round(chi_square_sf(3.841459, 1), 4), round(chi_square_sf(5.991465, 2), 4)
    (0.05, 0.05)
    """
    if dof < 1:
        raise StatisticsError(f"degrees of freedom must be at least 1, not {dof}")
    if x <= 0.0:
        return 1.0
    if dof % 2 == 0:
        term = total = 1.0
        for i in range(1, dof // 2):
            term *= (x / 2.0) / i
            total += term
        return min(1.0, math.exp(-x / 2.0) * total)
    root = math.sqrt(x)
    tail = math.erfc(root / math.sqrt(2.0))
    if dof == 1:
        return tail
    term = root
    total = term
    for i in range(2, (dof - 1) // 2 + 1):
        term *= x / (2 * i - 1)
        total += term
    density = math.exp(-x / 2.0) / math.sqrt(2.0 * math.pi)
    return min(1.0, tail + 2.0 * density * total)


def sample_ratio_test(exposed: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Whether users reached the variants in the proportions the weights promise.

    A sample ratio mismatch (SRM) means assignment or exposure logging is broken (a variant
    that crashes before logging, a bot filter that hits one arm), and then no difference
    between the variants can be trusted, however small its p-value.

    Parameters
    ----------
    exposed
        Users exposed per variant.
    weights
        The variants' weights, in the same order (any positive scale).

    Returns
    -------
    SampleRatio
        ``p_value = 1`` when fewer than two variants or no users leave nothing to test.

    Raises
    ------
    StatisticsError
        Mismatched lengths, negative counts or non-positive weights.

    Examples
    --------
    >>> result = sample_ratio_test([821, 1179], [0.5, 0.5])
    >>> result.mismatch, round(result.chi2, 1)
    (True, 64.1)
    """
    if len(exposed) != len(weights):
        raise StatisticsError("exposed and weights must have one entry per variant")
    if any(n < 0 for n in exposed) or any(w <= 0 for w in weights):
        raise StatisticsError("counts must be non-negative and weights positive")
    total = sum(exposed)
    if len(exposed) < 2 or total == 0:
        return SampleRatio(chi2=0.0, dof=max(len(exposed) - 1, 0), p_value=1.0)
    scale = sum(weights)
    expected = [total * w / scale for w in weights]
    chi2 = sum((n - e) ** 2 / e for n, e in zip(exposed, expected, strict=True))
    dof = len(exposed) - 1
    return SampleRatio(chi2=chi2, dof=dof, p_value=chi_square_sf(chi2, dof))

"""Intervals for the journal's analytics, in the standard library alone (no scipy in a Lambda).

Wilson score intervals for rates, Student-t intervals for means and Welch intervals for a
difference of means, all at 95 %. The t quantiles come from a table (to 6 decimals, from
``scipy.stats.t.ppf``) up to 30 degrees of freedom, fractional ones rounded down (wider, never
narrower), and a Cornish-Fisher expansion beyond (error below 1e-5 there); the tests check them
against scipy.

Examples
--------
>>> wilson_interval(8, 10)
(0.490162, 0.943318)
>>> t_quantile(4)
2.776445
>>> mean_interval([1.0, 2.0, 3.0])
(2.0, -0.484138, 4.484138)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

#: The two-sided 95 % interval's normal quantile.
Z95 = 1.959964
#: t quantiles (0.975) for 1..30 degrees of freedom.
_T95 = (
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
    2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.13145, 2.119905,
    2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
    2.059539, 2.055529, 2.051831, 2.048407, 2.04523, 2.042272,
)  # fmt: skip
_DIGITS = 6


def _round(value: float) -> float:
    return round(value, _DIGITS) + 0.0


def t_quantile(df: float) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (``df >= 1``).

    Examples
    --------
    >>> t_quantile(1), t_quantile(30), round(t_quantile(120), 4)
    (12.706205, 2.042272, 1.9799)
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= 30:
        # Fractional df (Welch's) round down, as textbooks do: the interval errs wide. The
        # tolerance keeps a df that is whole but computed as 2.9999999 from dropping to 2.
        return _T95[math.floor(df + 1e-9) - 1]
    z = NormalDist().inv_cdf(0.975)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def wilson_interval(successes: int, n: int) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of a rate ``successes / n``; ``None`` when ``n == 0``.

    Examples
    --------
    >>> wilson_interval(0, 5)
    (0.0, 0.434482)
    >>> wilson_interval(0, 0) is None
    True
    """
    if n <= 0:
        return None
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return _round(max(0.0, centre - half)), _round(min(1.0, centre + half))


def mean_interval(values: Sequence[float]) -> tuple[float, float, float] | None:
    """``(mean, low, high)``: the mean and its 95 % t interval; ``None`` for fewer than two.

    Examples
    --------
    >>> mean_interval([5.0]) is None
    True
    """
    n = len(values)
    if n < 2:
        return None
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return _round(mean), _round(mean - half), _round(mean + half)


def mean_interval_of_sums(
    n: int, total: float, squares: float
) -> tuple[float, float, float] | None:
    """:func:`mean_interval` from a count, a sum and a sum of squares (sums merge over days).

    Examples
    --------
    >>> mean_interval_of_sums(3, 6.0, 14.0)
    (2.0, -0.484138, 4.484138)
    """
    if n < 2:
        return None
    mean = total / n
    sd = math.sqrt(max(0.0, (squares - total * total / n) / (n - 1)))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return _round(mean), _round(mean - half), _round(mean + half)


def welch_interval(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float] | None:
    """``(difference, low, high)``: ``mean(a) - mean(b)`` and its 95 % Welch interval.

    ``None`` when either sample has fewer than two values. When both samples have no spread
    the interval is the difference itself.

    Examples
    --------
    >>> welch_interval([1.0, 2.0, 3.0], [0.0, 0.0, 1.0, 1.0])
    (1.5, -0.55426, 3.55426)
    """
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return None
    ma, mb = math.fsum(a) / na, math.fsum(b) / nb
    va = math.fsum((v - ma) ** 2 for v in a) / (na - 1)
    vb = math.fsum((v - mb) ** 2 for v in b) / (nb - 1)
    se2 = va / na + vb / nb
    diff = ma - mb
    if se2 == 0:
        return _round(diff), _round(diff), _round(diff)
    df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    half = t_quantile(max(1.0, df)) * math.sqrt(se2)
    return _round(diff), _round(diff - half), _round(diff + half)


__all__ = [
    "Z95",
    "mean_interval",
    "mean_interval_of_sums",
    "t_quantile",
    "welch_interval",
    "wilson_interval",
]

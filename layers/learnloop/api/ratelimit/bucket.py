"""The token bucket's arithmetic, as GCRA: pure functions over integers (microseconds).

A bucket of capacity ``burst`` refilling at ``rate`` tokens per second is the same thing as a
*theoretical arrival time* ``tat``: each request pushes ``tat`` one emission interval
``T = 1 / rate`` further, starting from ``now`` when ``tat`` is in the past (a full bucket),
and a request is refused when it would push ``tat`` more than ``burst * T`` past ``now`` (an
empty bucket). The tokens left are ``(burst * T - (tat - now)) / T``.

Examples
--------
>>> limit = Limit(rate=2.0, burst=3)          # 2 per second, 3 at once
>>> now = 1_000_000_000
>>> first = decide(limit, None, now)
>>> first.allowed, first.remaining
(True, 2)
>>> second = decide(limit, first.tat, now)
>>> third = decide(limit, second.tat, now)
>>> fourth = decide(limit, third.tat, now)
>>> third.remaining, fourth.allowed, fourth.retry_after
(0, False, 0.5)
>>> decide(limit, third.tat, now + 500_000).allowed  # half a second later, one token is back
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MICROS = 1_000_000


@dataclass(frozen=True)
class Limit:
    """``rate`` requests per second sustained, ``burst`` at once.

    Examples
    --------
    >>> Limit(rate=100.0, burst=500).interval
    10000
    """

    rate: float
    burst: int

    @property
    def interval(self) -> int:
        """The emission interval ``T`` in microseconds (at least 1)."""
        return max(1, round(MICROS / self.rate))

    @property
    def tolerance(self) -> int:
        """How far past ``now`` an allowed request may push ``tat`` (µs): ``burst * T``."""
        return self.burst * self.interval


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against a bucket.

    ``tat`` is the new theoretical arrival time when allowed (the old one otherwise);
    ``retry_after`` is the seconds until a refused request would pass (0.0 when allowed).
    """

    allowed: bool
    tat: int
    remaining: int
    retry_after: float

    @property
    def retry_after_header(self) -> int:
        """``Retry-After`` in whole seconds, rounded up (at least 1 when refused)."""
        return max(1, math.ceil(self.retry_after)) if not self.allowed else 0


def decide(limit: Limit, tat: int | None, now: int, *, cost: int = 1) -> Decision:
    """Whether ``cost`` tokens can be taken at ``now`` (µs) from a bucket with stored ``tat``.

    Parameters
    ----------
    limit
        The bucket's rate and burst.
    tat
        The stored theoretical arrival time, or ``None`` for a bucket never used (full).
    now
        The current time in microseconds since the epoch.
    cost
        Tokens to take at once (a container leasing several; see
        :mod:`learnloop.api.ratelimit.dynamodb`).

    Returns
    -------
    Decision
        Allowed with the new ``tat``, or refused with ``retry_after``.

    Examples
    --------
    >>> decide(Limit(rate=1.0, burst=1), 5_000_000, 4_000_000).retry_after
    1.0
    >>> decide(Limit(rate=1.0, burst=5), None, 0, cost=3).remaining
    2
    """
    start = now if tat is None else max(tat, now)
    new_tat = start + cost * limit.interval
    ahead = new_tat - now
    if ahead > limit.tolerance:
        return Decision(
            allowed=False,
            tat=start,
            remaining=0,
            retry_after=(ahead - limit.tolerance) / MICROS,
        )
    return Decision(
        allowed=True,
        tat=new_tat,
        remaining=(limit.tolerance - ahead) // limit.interval,
        retry_after=0.0,
    )

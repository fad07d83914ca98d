"""When to send a request again and how long to wait first.

Exponential backoff with full jitter (a uniform draw up to ``base * 2**n``, capped), unless the
server said how long with ``Retry-After`` (seconds or an HTTP date): then exactly that, and a
wait longer than :attr:`RetryPolicy.max_retry_after` ends the retries instead of blocking.

Examples
--------
>>> import random
>>> policy = RetryPolicy(attempts=4, base_delay=0.5, max_delay=3.0)
>>> rng = random.Random(1)
>>> all(0 <= policy.delay(n, None, rng) <= min(3.0, 0.5 * 2**n) for n in range(8))
True
>>> policy.delay(0, 7.0, random.Random(1))
7.0
>>> parse_retry_after("2"), parse_retry_after("soon")
(2.0, None)
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

#: Statuses that mean "not done, try again": the rate limit, and a busy store or gateway.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Statuses the server answers before running the route (or for a store fault it reports as
#: retryable): resent even when the request is not replay-safe.
ALWAYS_RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts and how long between them.

    Parameters
    ----------
    attempts
        Tries in all, the first included (1: never retry).
    base_delay, max_delay
        Seconds: the n-th wait is drawn uniformly from ``[0, min(max_delay, base * 2**n)]``.
    max_retry_after
        The longest ``Retry-After`` obeyed; a longer one raises at once with ``retry_after``
        set, so a batch job can decide rather than hang.
    """

    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2.0**retry))


#: Never retry: for callers that handle failures themselves.
NO_RETRY = RetryPolicy(attempts=1)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; ``None`` when absent or bad.

    Examples
    --------
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412480.0)
    5.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0)
    0.0
    >>> parse_retry_after(None) is None
    True
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


__all__ = [
    "ALWAYS_RETRY_STATUSES",
    "NO_RETRY",
    "RETRY_STATUSES",
    "RetryPolicy",
    "parse_retry_after",
]

"""The one definition of engagement rate, computed at ingest and stored with the outcome."""

from __future__ import annotations


def engagement_rate(*, impressions: int, likes: int, retweets: int, replies: int) -> float:
    """``(likes + retweets + replies) / impressions``, or 0 when nothing was shown.

    Examples
    --------
    >>> engagement_rate(impressions=200, likes=5, retweets=2, replies=1)
    0.04
    >>> engagement_rate(impressions=0, likes=3, retweets=0, replies=0)
    0.0
    """
    if impressions <= 0:
        return 0.0
    return (likes + retweets + replies) / impressions

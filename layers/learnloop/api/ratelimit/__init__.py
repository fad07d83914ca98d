"""Per-API-key rate limiting: a token bucket per (key, route scope), kept in DynamoDB.

The bucket is GCRA (the generic cell rate algorithm), which is a token bucket stored as one
number, so each request costs one conditional UpdateItem and concurrent containers never lose
an update. See :mod:`learnloop.api.ratelimit.bucket` for the arithmetic and
:mod:`learnloop.api.ratelimit.dynamodb` for the store.
"""

from __future__ import annotations

from learnloop.api.ratelimit.bucket import Decision, Limit, decide
from learnloop.api.ratelimit.dynamodb import DynamoDBRateLimiter, limits_from_settings

__all__ = ["Decision", "DynamoDBRateLimiter", "Limit", "decide", "limits_from_settings"]

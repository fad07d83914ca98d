"""A typed Python client for the learnloop API (stdlib HTTP only: no boto3 needed).

Every route is a method named after its view (``put_reaction``, ``get_recommendations``,
``admin_stats``; generated from the route table, see ``routes.py``); ``send_events``,
``put_reactions`` and ``put_contents`` batch any number of rows. Requests are retried with
exponential backoff and jitter on 429/503 (honouring ``Retry-After``) and, for replay-safe
routes, on lost connections; events get an ``event_id`` once, reused by every retry.

Examples
--------
>>> from learnloop.client import Client, RequestValidationError
>>> api = Client("http://127.0.0.1:8000", key="ll_...")  # doctest: +SKIP
>>> try:  # doctest: +SKIP
...     api.put_reaction({"user_id": "u1", "content_type": "meme", "external_id": "m7",
...                       "reaction": "love"})
... except RequestValidationError as error:
...     print(error.fields)
['reaction']
"""

from __future__ import annotations

from learnloop.client.client import MAX_BATCH, BatchSummary, Client, with_event_ids
from learnloop.client.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ClientError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from learnloop.client.retry import NO_RETRY, RetryPolicy

__all__ = [
    "MAX_BATCH",
    "NO_RETRY",
    "ApiError",
    "AuthError",
    "BadRequestError",
    "BatchSummary",
    "Client",
    "ClientError",
    "ConflictError",
    "NotFoundError",
    "RateLimitedError",
    "RequestValidationError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "with_event_ids",
]

"""The learnloop client: every route as a typed method, plus batching.

Examples
--------
>>> from learnloop.client import Client
>>> api = Client("http://127.0.0.1:8000", key="ll_...")  # doctest: +SKIP
>>> api.put_reaction({"user_id": "u1", "content_type": "meme", "external_id": "m7",
...                   "reaction": "like"})  # doctest: +SKIP
{'user_id': 'u1', ...}
>>> api.send_events({"type": "alert_shown", "user_id": f"u{i}"}
...                 for i in range(1200)).totals  # doctest: +SKIP
{'accepted': 1200, 'duplicates': 0, 'dropped': 0}
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from learnloop.client.errors import ApiError
from learnloop.client.routes import RouteMethods

#: The most rows one request of the batch routes takes.
MAX_BATCH = 500


@dataclass
class BatchSummary:
    """What a batched upload did.

    Attributes
    ----------
    requests
        Requests sent (retries not counted).
    rows
        Rows sent.
    totals
        The integer fields of the replies, summed (``accepted``, ``duplicates``, ...).
    """

    requests: int = 0
    rows: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    def add(self, reply: Any, rows: int) -> None:
        self.requests += 1
        self.rows += rows
        if isinstance(reply, Mapping):
            for name, value in reply.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    self.totals[name] = self.totals.get(name, 0) + value


def with_event_ids(events: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each event with an ``event_id``: its own, or a new random one.

    The id is set once, before the first attempt, so every retry of a batch sends the same ids
    and the server stores each event once (it is idempotent by ``event_id``).

    Examples
    --------
    >>> first, second = with_event_ids([{"type": "t", "user_id": "u"},
    ...                                 {"type": "t", "user_id": "u", "event_id": "e-1"}])
    >>> len(first["event_id"]), second["event_id"]
    (32, 'e-1')
    """
    for event in events:
        copy = dict(event)
        if not copy.get("event_id"):
            copy["event_id"] = uuid.uuid4().hex
        yield copy


def chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``rows`` in lists of at most ``size``.

    Examples
    --------
    >>> [len(c) for c in chunks(range(1201), 500)]
    [500, 500, 201]
    """
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size must be 1-{MAX_BATCH}, not {size}")
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class Client(RouteMethods):
    """A learnloop API client: one method per route, batching, retries, typed errors.

    Parameters are :class:`~learnloop.client.base.BaseClient`'s: ``base_url``, ``key``,
    ``timeout`` (seconds per attempt), ``retry`` (a
    :class:`~learnloop.client.retry.RetryPolicy`), ``sleep`` and ``rng``.

    Errors: :class:`~learnloop.client.errors.RequestValidationError` (422, ``fields`` names
    the bad fields), ``AuthError``, ``NotFoundError``, ``ConflictError``,
    ``RateLimitedError``/``ServerError`` (after the retries), ``TransportError`` (no answer).

    Examples
    --------
    >>> with Client("http://127.0.0.1:8000", key="ll_...") as api:  # doctest: +SKIP
    ...     api.health()["status"]
    'ok'
    """

    #: Each batch route and the key of its row list (``{"reactions": [...]}``,
    #: ``{"content": [...]}``); the routes' generated methods take one body of up to 500 rows.
    REACTIONS_BATCH_PATH, REACTIONS_BATCH_KEY = "/v1/reactions/batch", "reactions"
    CONTENT_BATCH_PATH, CONTENT_BATCH_KEY = "/v1/content/batch", "content"

    def send_events(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = MAX_BATCH,
        key: str | None = None,
        timeout: float | None = None,
    ) -> BatchSummary:
        """Send any number of events, ``batch_size`` per ``POST /v1/events``.

        Events without an ``event_id`` get one (kept across retries). A batch is all-or-none:
        a 422 raises :class:`~learnloop.client.errors.RequestValidationError` whose ``offset``
        is the index of the batch's first event in ``events`` (earlier batches are stored).
        """
        return self._batched(
            "/v1/events", "events", with_event_ids(events), batch_size, key, timeout, True
        )

    def put_reactions(
        self,
        reactions: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = MAX_BATCH,
        key: str | None = None,
        timeout: float | None = None,
    ) -> BatchSummary:
        """Upsert any number of reactions, ``batch_size`` per ``POST /v1/reactions/batch``."""
        return self._batched(
            self.REACTIONS_BATCH_PATH,
            self.REACTIONS_BATCH_KEY,
            reactions,
            batch_size,
            key,
            timeout,
            True,
        )

    def put_contents(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = MAX_BATCH,
        key: str | None = None,
        timeout: float | None = None,
    ) -> BatchSummary:
        """Upsert any number of content items, ``batch_size`` per ``POST /v1/content/batch``."""
        return self._batched(
            self.CONTENT_BATCH_PATH, self.CONTENT_BATCH_KEY, items, batch_size, key, timeout, True
        )

    def _batched(
        self,
        path: str,
        field_name: str,
        rows: Iterable[Any],
        size: int,
        key: str | None,
        timeout: float | None,
        replay_safe: bool,
    ) -> BatchSummary:
        summary = BatchSummary()
        for batch in chunks(rows, size):
            try:
                reply = self.request(
                    "POST",
                    path,
                    {field_name: batch},
                    key=key,
                    timeout=timeout,
                    replay_safe=replay_safe,
                )
            except ApiError as exc:
                exc.offset = summary.rows
                raise
            summary.add(reply, len(batch))
        return summary


__all__ = ["MAX_BATCH", "BatchSummary", "Client", "chunks", "with_event_ids"]

"""Batch writes retry DynamoDB's UnprocessedItems until everything is stored."""

from __future__ import annotations

from typing import Any

from learnloop.ingest import ingest_events
from learnloop.store import Tables


class ThrottlingClient:
    """A real DynamoDB client that, like a throttled table, leaves half of each of the first
    ``throttled`` BatchWriteItem calls unprocessed."""

    def __init__(self, client: Any, throttled: int) -> None:
        self._client = client
        self.throttled = throttled
        self.batch_calls = 0

    def _make_api_call(self, operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "BatchWriteItem":
            self.batch_calls += 1
            if self.throttled:
                self.throttled -= 1
                table, requests = next(iter(kwargs["RequestItems"].items()))
                half = len(requests) // 2
                self._client._make_api_call(operation, {"RequestItems": {table: requests[:half]}})
                return {"UnprocessedItems": {table: requests[half:]}}
        return self._client._make_api_call(operation, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_unprocessed_items_are_retried(settings: Any, tables: Any, _dynamodb_client: Any) -> None:
    client = ThrottlingClient(_dynamodb_client, throttled=3)
    throttled_tables = Tables(settings, dynamodb_client=client)
    events = [
        {
            "event_id": f"e{i}",
            "type": "alert_shown",
            "user_id": f"u{i}",
            "occurred_at": "2026-11-20T10:00:00Z",
            "properties": {"alert_id": "a"},
        }
        for i in range(60)
    ]
    result = ingest_events(throttled_tables, {"events": events})
    assert result.accepted == 60
    assert client.throttled == 0 and client.batch_calls > 3  # throttled, then retried
    assert sorted(e.event_id for e in tables.events.scan()) == sorted(f"e{i}" for i in range(60))

"""Batch writes retry DynamoDB's UnprocessedItems until everything is stored."""

from __future__ import annotations

from typing import Any

from learnloop.ingest import ingest_outcomes
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
    # Outcomes are batch-written (events go in transactions with their id marks).
    outcomes = [
        {"decision_id": f"d{i}", "impressions": 10, "collected_at": "2026-11-20T10:00:00Z"}
        for i in range(60)
    ]
    ingest_outcomes(throttled_tables, {"outcomes": outcomes})
    assert client.throttled == 0 and client.batch_calls > 3  # throttled, then retried
    stored = sorted(o.decision_id for o in tables.outcomes.scan())
    assert stored == sorted(f"d{i}" for i in range(60))

"""Small helpers for calling the API through Chalice's test client."""

from __future__ import annotations

import json
from typing import Any


def call(
    client: Any,
    method: str,
    path: str,
    *,
    key: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Send one request; ``body`` is JSON-encoded, ``raw`` is sent as is."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if key is not None:
        all_headers["Authorization"] = f"Bearer {key}"
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    return getattr(client.http, method.lower())(path, headers=all_headers, body=payload)


def error_of(response: Any) -> dict[str, Any]:
    """The error object of an error response, checking the envelope's shape."""
    body = json.loads(response.body)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def fields_of(response: Any) -> set[str]:
    """The field paths an error response names."""
    return {d["field"] for d in error_of(response)["details"]}

"""A small JSON client for the learnloop API over one keep-alive connection (stdlib only)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from learnloop.exceptions import LearnloopError


class ApiCallError(LearnloopError):
    """The API answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered {status}: {body}")
        self.status = status
        self.body = body


class ApiClient:
    """Calls one learnloop API with one key.

    Examples
    --------
    >>> client = ApiClient("http://127.0.0.1:8000", key="ll_...")  # doctest: +SKIP
    >>> client.request("GET", "/v1/health")  # doctest: +SKIP
    {'status': 'ok', 'stage': 'local'}
    """

    def __init__(self, base_url: str, *, key: str | None = None, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.key = key
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> Any:
        """Send one request and return the decoded JSON reply; :class:`ApiCallError` on 4xx/5xx."""
        headers = {"Content-Type": "application/json"}
        token = key or self.key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in range(2):  # one retry when a kept-alive connection was closed under us
            connection = self._connect()
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        decoded = json.loads(data) if data else None
        if response.status >= 400:
            raise ApiCallError(method, path, response.status, decoded)
        return decoded

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout
            )
        return self._connection

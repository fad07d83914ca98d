"""The demo's HTTP layer: :mod:`learnloop.client` under the names the drivers use.

The demo talks to the API as any app would, through the typed client (retries with backoff
that honour ``Retry-After``, typed errors); ``request(method, path, body)`` is its generic call.

Examples
--------
>>> client = ApiClient("http://127.0.0.1:8000", key="ll_...")  # doctest: +SKIP
>>> client.request("GET", "/v1/health")  # doctest: +SKIP
{'status': 'ok', 'stage': 'local'}
"""

from __future__ import annotations

from typing import Any

from learnloop.client import ApiError as ApiCallError
from learnloop.client import Client


class ApiClient(Client):
    """:class:`learnloop.client.Client` with the demo's longer timeout (training routes)."""

    def __init__(
        self, base_url: str, *, key: str | None = None, timeout: float = 60.0, **options: Any
    ) -> None:
        super().__init__(base_url, key=key, timeout=timeout, **options)


__all__ = ["ApiCallError", "ApiClient"]

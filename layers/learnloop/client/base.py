"""The HTTP layer of :mod:`learnloop.client`: one keep-alive connection per thread, JSON in and
out, typed errors, and retries (stdlib only: no boto3, no requests).

What is resent, and when:

* **429 and 503** are always resent after ``Retry-After`` (or a jittered backoff): the rate
  limiter answers 429 before the route runs, and 503 is the API's "the store was busy, send the
  same request again".
* **502, 504, timeouts and broken connections** are resent only for replay-safe routes (reads,
  PUT, DELETE, and the POSTs the server makes idempotent by an id in the body); for the others
  the request may have been applied, so :class:`~learnloop.client.errors.TransportError` says
  so and the caller decides.
* A kept-alive connection the server had already closed is reopened and the request sent once
  more at once (it never reached the server).

Examples
--------
>>> client = BaseClient("http://127.0.0.1:8000", key="ll_...")  # doctest: +SKIP
>>> client.request("GET", "/v1/health")  # doctest: +SKIP
{'status': 'ok', 'stage': 'local'}
>>> build_path("/v1/reactions/{user_id}/{content_type}/{external_id}",
...            {"user_id": "u 1", "content_type": "meme", "external_id": "m#7"})
'/v1/reactions/u%201/meme/m%237'
>>> encode_query({"k": 5, "content_type": None, "flag": True})
'k=5&flag=true'
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from learnloop.client.errors import TransportError, error_for
from learnloop.client.retry import (
    ALWAYS_RETRY_STATUSES,
    RETRY_STATUSES,
    RetryPolicy,
    parse_retry_after,
)

#: Characters of an identifier sent as they are in a path (the API's ids use them).
_PATH_SAFE = "._:@+-~"
USER_AGENT = "learnloop-client/0.1"


@dataclass(frozen=True)
class RouteInfo:
    """One route as the client knows it (the generated table, ``learnloop.client.routes``).

    ``replay_safe``: sending it twice has the effect of sending it once, so a request whose
    answer was lost may be resent.
    """

    method: str
    path: str
    name: str
    scope: str | None
    replay_safe: bool


def build_path(template: str, params: Mapping[str, str]) -> str:
    """Fill ``{name}`` parameters of ``template``, percent-encoding each value."""
    path = template
    for name, value in params.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=_PATH_SAFE))
    return path


def encode_query(query: Mapping[str, Any] | None) -> str:
    """A query string of the set parameters (``None`` is left out; booleans are lower case)."""
    if not query:
        return ""
    pairs = [
        (name, ("true" if value else "false") if isinstance(value, bool) else str(value))
        for name, value in query.items()
        if value is not None
    ]
    return urlencode(pairs)


class BaseClient:
    """Sends requests to one learnloop API with one key.

    Parameters
    ----------
    base_url
        The API's URL: ``http://127.0.0.1:8000`` locally, the stage URL on AWS (its path, e.g.
        ``/prod``, is kept as a prefix).
    key
        The API key (``ll_...``), sent as ``Authorization: Bearer``; each call may pass another.
    timeout
        Seconds to connect and to wait for each answer, per attempt.
    retry
        The :class:`~learnloop.client.retry.RetryPolicy`.
    sleep, rng
        What waits between attempts and draws the jitter (tests pass recorders; seeded runs a
        seeded ``random.Random``).

    Notes
    -----
    Thread-safe: each thread keeps its own connection.
    """

    def __init__(
        self,
        base_url: str,
        *,
        key: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be http(s)://host[:port][/prefix], not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._local = threading.local()

    # -- public ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, Any] | None = None,
        key: str | None = None,
        timeout: float | None = None,
        replay_safe: bool | None = None,
    ) -> Any:
        """Send one request (with retries) and return the decoded answer.

        JSON answers are decoded; other media types (the dashboard, CSV exports) come back as
        text; an empty answer is ``None``.

        Raises
        ------
        ApiError
            Its subclass for the status (422: ``RequestValidationError`` naming the fields).
        TransportError
            No answer after the retries the request allows.
        """
        method = method.upper()
        if replay_safe is None:
            replay_safe = method in ("GET", "HEAD", "PUT", "DELETE")
        target = self._prefix + path
        encoded = encode_query(query)
        if encoded:
            target += ("&" if "?" in target else "?") + encoded
        payload = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        token = key or self.key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        seconds = self.timeout if timeout is None else timeout

        retry = 0
        while True:
            try:
                status, reply_headers, data = self._exchange(
                    method, target, payload, headers, seconds
                )
            except (OSError, http.client.HTTPException) as exc:
                # Refused: nothing reached the server. Anything else may have been applied.
                maybe_applied = not isinstance(exc, ConnectionRefusedError)
                if retry + 1 < self.retry.attempts and (replay_safe or not maybe_applied):
                    self._sleep(self.retry.delay(retry, None, self._rng))
                    retry += 1
                    continue
                raise TransportError(
                    f"{method} {path}: no answer after {retry + 1} attempt(s): "
                    f"{type(exc).__name__}: {exc}",
                    maybe_applied=maybe_applied,
                ) from exc
            retry_after = parse_retry_after(reply_headers.get("retry-after"))
            retryable = status in ALWAYS_RETRY_STATUSES or (
                status in RETRY_STATUSES and replay_safe
            )
            too_long = retry_after is not None and retry_after > self.retry.max_retry_after
            if retryable and not too_long and retry + 1 < self.retry.attempts:
                self._sleep(self.retry.delay(retry, retry_after, self._rng))
                retry += 1
                continue
            decoded = _decode(data, reply_headers.get("content-type", ""))
            if status >= 400:
                raise error_for(method, path, status, decoded, retry_after=retry_after)
            return decoded

    def close(self) -> None:
        """Close this thread's connection (the next request opens a new one)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def __enter__(self) -> BaseClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the wire --------------------------------------------------------------------------

    def _route(
        self,
        route: RouteInfo,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        return self.request(
            route.method,
            build_path(route.path, path_params or {}),
            body,
            query=query,
            key=key,
            timeout=timeout,
            replay_safe=route.replay_safe,
        )

    def _exchange(
        self,
        method: str,
        target: str,
        payload: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on this thread's connection; a stale kept-alive one is reopened once."""
        for fresh in (False, True):
            connection, reused = self._connection(timeout)
            try:
                connection.request(method, target, body=payload, headers=dict(headers))
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if reused and not fresh:  # the server closed an idle connection: never arrived
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            return connection, True
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        connection = cls(self._host, self._port, timeout=timeout)
        self._local.connection = connection
        return connection, False


def _decode(data: bytes, content_type: str) -> Any:
    if not data:
        return None
    if "json" in content_type and "ndjson" not in content_type:
        return json.loads(data)
    return data.decode("utf-8", errors="replace")


__all__ = ["USER_AGENT", "BaseClient", "RouteInfo", "build_path", "encode_query"]

"""The local API handler: unknown routes become a 404 envelope; no socket, no AWS call."""

from __future__ import annotations

import doctest
import io
import json
from typing import Any

import pytest
from chalice import Chalice
from chalice.config import Config
from chalice.local import ForbiddenError

from learnloop_tools.local import api_server
from learnloop_tools.local.api_server import (
    LearnloopRequestHandler,
    is_missing_route,
    route_not_found,
)


class FakeConnection:
    """Just enough of a socket for ``BaseHTTPRequestHandler``: reads a request, keeps the reply."""

    def __init__(self, request: bytes) -> None:
        self._request = request
        self.sent = b""

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BytesIO:
        return io.BytesIO(self._request)

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def settimeout(self, timeout: float | None) -> None:
        pass

    def setsockopt(self, *args: Any) -> None:
        pass


class FakeServer:
    server_name = "test"
    server_port = 0


def serve_one(app: Chalice, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    connection = FakeConnection(raw)
    LearnloopRequestHandler(
        connection, ("127.0.0.1", 1), FakeServer(), app_object=app, config=Config()
    )
    head, _, body = connection.sent.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


@pytest.fixture
def app() -> Chalice:
    app = Chalice(app_name="t")

    @app.route("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def request(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: x", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_unknown_route_is_a_404_envelope(app: Chalice) -> None:
    status, headers, body = serve_one(app, request("GET", "/v1/nope?x=1"))
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "error": {"code": "not_found", "message": "no route GET /v1/nope", "details": []}
    }


def test_unknown_route_with_a_key_is_a_404_too(app: Chalice) -> None:
    status, _, body = serve_one(app, request("POST", "/v2/x", "Authorization: Bearer ll_k"))
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"


def test_known_route_is_served(app: Chalice) -> None:
    status, _, body = serve_one(app, request("GET", "/v1/health"))
    assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_only_the_missing_token_403_is_remapped() -> None:
    assert is_missing_route(ForbiddenError({}, b'{"message": "Missing Authentication Token"}'))
    assert not is_missing_route(ForbiddenError({}, b'{"message": "User is not authorized"}'))


def test_route_not_found_keeps_the_request_id() -> None:
    status, headers, _ = route_not_found("DELETE", "/x", "req-1")
    assert (status, headers["x-amzn-RequestId"]) == (404, "req-1")


def test_doctests() -> None:
    assert doctest.testmod(api_server).failed == 0

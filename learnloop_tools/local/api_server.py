"""Serve the Chalice app (``functions/app.py``) over HTTP on the loopback, as API Gateway would.

Chalice's :class:`chalice.local.LocalDevServer` does the work; our request handler adds two
things:

* an unknown route answers **404** in the API's error envelope instead of Chalice's 403
  ``{"message": "Missing Authentication Token"}``. That 403 is API Gateway's
  ``MISSING_AUTHENTICATION_TOKEN`` gateway response, which the deploy templates map to the same
  404 envelope, so clients see one behaviour everywhere;
* the access log is one short line per request with ``verbose``, and nothing otherwise.

Examples
--------
>>> module = load_app_module(find_app_path())  # doctest: +SKIP
>>> server = LocalApiServer(module.app, port=0)  # doctest: +SKIP
>>> server.start(); server.url  # doctest: +SKIP
'http://127.0.0.1:50211'
>>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
    ThreadedHTTPServer,
)

from learnloop_tools.local.exceptions import RunnerError

#: Bodies of Chalice's local 403 for a path that matches no route (with and without an
#: ``Authorization`` header): API Gateway's MISSING_AUTHENTICATION_TOKEN response.
_MISSING_ROUTE_MARKERS = (b"Missing Authentication Token", b"Authorization header requires")


def find_app_path(project_dir: Path | None = None) -> Path:
    """Locate ``functions/app.py``: under ``project_dir``, the working directory, or the repo.

    Raises
    ------
    RunnerError
        When no candidate exists; pass the path explicitly (``--app``).

    Examples
    --------
    >>> find_app_path().name  # doctest: +SKIP
    'app.py'
    """
    candidates = [] if project_dir is None else [Path(project_dir) / "functions" / "app.py"]
    candidates.append(Path.cwd() / "functions" / "app.py")
    # learnloop_tools/local/api_server.py: the repository is the folder above learnloop_tools.
    candidates.append(Path(__file__).resolve().parents[2] / "functions" / "app.py")
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise RunnerError(f"cannot find functions/app.py (tried {tried}); pass --app PATH")


def load_app_module(path: Path, *, module_name: str = "learnloop_local_app") -> ModuleType:
    """Import a Chalice app file by path, as Lambda would (its folder joins ``sys.path``).

    Raises
    ------
    RunnerError
        When the file cannot be imported or defines no ``app``.
    """
    path = Path(path).resolve()
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so a chalicelib/ next to app.py imports, as on Lambda
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RunnerError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not isinstance(getattr(module, "app", None), Chalice):
        raise RunnerError(f"{path} defines no Chalice object named 'app'")
    return module


def is_missing_route(error: LocalGatewayException) -> bool:
    """Whether Chalice's local gateway raised ``error`` because no route matched the path.

    Examples
    --------
    >>> is_missing_route(ForbiddenError({}, b'{"message": "Missing Authentication Token"}'))
    True
    >>> is_missing_route(ForbiddenError({}, b'{"message": "User is not authorized"}'))
    False
    """
    body = error.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return isinstance(error, ForbiddenError) and any(m in body for m in _MISSING_ROUTE_MARKERS)


def route_not_found(
    method: str, path: str, request_id: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of a 404 for an unknown route, in the API's envelope.

    Examples
    --------
    >>> status, headers, body = route_not_found("GET", "/v1/nope?x=1", "r-1")
    >>> status, json.loads(body)["error"]["code"]
    (404, 'not_found')
    >>> json.loads(body)["error"]["message"]
    'no route GET /v1/nope'
    """
    route = path.split("?", 1)[0]
    body = {"error": {"code": "not_found", "message": f"no route {method} {route}", "details": []}}
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": request_id or str(uuid.uuid4()),
        "x-amzn-ErrorType": "NotFoundException",
    }
    return 404, headers, json.dumps(body).encode("utf-8")


class LearnloopRequestHandler(ChaliceRequestHandler):
    """Chalice's local handler with a 404 for unknown routes and a short access log."""

    # Headers and body leave in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per keep-alive request on Linux).
    disable_nagle_algorithm = True

    def __init__(
        self,
        *args: Any,
        verbose: bool = False,
        after_request: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        # Set before the base __init__, which handles the request right away.
        self.verbose = verbose
        self.after_request = after_request
        self._started = time.perf_counter()
        super().__init__(*args, **kwargs)

    def _generic_handle(self) -> None:
        self._started = time.perf_counter()
        try:
            super()._generic_handle()
        finally:
            if self.after_request is not None:
                self.after_request()

    # The base class binds do_* to its own _generic_handle; rebind them to ours.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if is_missing_route(error):
            status, headers, body = route_not_found(
                self.command, self.path, (error.headers or {}).get("x-amzn-RequestId")
            )
            self._send_http_response(status, headers, body)
            return
        super()._send_error_response(error)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.verbose:
            elapsed = (time.perf_counter() - self._started) * 1000
            path = self.path.split("?", 1)[0]
            sys.stderr.write(f"{self.command} {path} {code} {elapsed:.1f}ms\n")


class LocalApiServer:
    """The Chalice app on ``host:port`` in a daemon thread.

    Parameters
    ----------
    app
        The Chalice app; it is switched to Chalice's thread-safe local variant (as
        ``chalice local`` does), so concurrent requests each see their own request.
    host, port
        Where to listen; ``port=0`` picks a free port (read :attr:`port` after :meth:`start`).
    verbose
        One short access-log line per request on stderr.
    config
        Chalice config for the Lambda context (memory, timeout); default: 512 MB, 30 s.
    after_request
        Called after every request (the runner drops Powertools metrics there when they are
        disabled: Powertools keeps disabled metrics and still prints them every 100 values).
    """

    def __init__(
        self,
        app: Chalice,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        verbose: bool = False,
        config: Config | None = None,
        after_request: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.after_request = after_request
        self.host = host
        self.requested_port = port
        self.verbose = verbose
        self.config = config or Config.create(
            chalice_stage="dev", app_name=app.app_name, lambda_timeout=30, lambda_memory_size=512
        )
        self._server: LocalDevServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve.

        Raises
        ------
        RunnerError
            When the port cannot be bound.
        """
        _make_thread_local(self.app)
        verbose, after_request = self.verbose, self.after_request

        def handler(*args: Any, **kwargs: Any) -> LearnloopRequestHandler:
            return LearnloopRequestHandler(
                *args, verbose=verbose, after_request=after_request, **kwargs
            )

        try:
            self._server = LocalDevServer(
                self.app,
                self.config,
                self.host,
                self.requested_port,
                handler_cls=handler,
                server_cls=_WideBacklogServer,
            )
        except OSError as exc:
            raise RunnerError(
                f"cannot serve the API on {self.host}:{self.requested_port}: {exc.strerror or exc}"
                "; pass another --port (0 picks a free one)"
            ) from exc
        # serve_forever of the server itself: LocalDevServer's would print a banner.
        self._thread = threading.Thread(
            target=self._server.server.serve_forever, name="learnloop-api", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RunnerError("the API server is not running")
        return int(self._server.server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``: what ``LEARNLOOP_API_URL`` should be."""
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop accepting requests and close the socket (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


class _WideBacklogServer(ThreadedHTTPServer):
    # socketserver's default listen backlog is 5: a burst of 50 new connections overflowed it
    # and clients saw resets. Each accepted connection gets its own thread already.
    request_queue_size = 1024


def _make_thread_local(app: Chalice) -> None:
    # What chalice.local.create_local_server does, but with a class of our own per app rather
    # than by rewriting the bases of Chalice's shared CustomLocalChalice.
    if isinstance(app, LocalChalice):
        return
    app.__class__ = type("LocalLearnloopChalice", (LocalChalice, app.__class__), {})


__all__ = [
    "LearnloopRequestHandler",
    "LocalApiServer",
    "find_app_path",
    "is_missing_route",
    "load_app_module",
    "route_not_found",
]

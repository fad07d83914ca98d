"""An HTTP proxy in front of the store that injects faults at stated rates (issue 18).

Each request is, at random (seeded): answered 400 ``ThrottlingException`` without reaching the
store, answered 500 ``InternalFailure`` without reaching it, forwarded and then its response
dropped (the connection closed: the write happened but the client never hears of it), or its
connection reset before it is forwarded. Otherwise it is forwarded and the answer relayed.

Examples
--------
>>> proxy = FaultProxy("http://127.0.0.1:5000", throttle=0.05, error=0.03)  # doctest: +SKIP
>>> proxy.start(); proxy.url  # doctest: +SKIP
'http://127.0.0.1:53817'
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class FaultProxy:
    """Forward to ``upstream``, injecting each fault with its probability.

    Parameters
    ----------
    upstream
        ``http://host:port`` of the store (moto's server).
    throttle, error, drop, reset
        Probability per request of each fault (their sum must stay below 1).
    seed
        Seeds the fault draws, so a failing run can be replayed.
    """

    def __init__(
        self,
        upstream: str,
        *,
        throttle: float = 0.0,
        error: float = 0.0,
        drop: float = 0.0,
        reset: float = 0.0,
        seed: int = 0,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rates = {"throttle": throttle, "error": error, "drop": drop, "reset": reset}
        self.injected: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def draw(self) -> str:
        """The fault for the next request (``"none"`` most of the time)."""
        with self._lock:
            roll = self._random.random()
            for name, rate in self.rates.items():
                if roll < rate:
                    self.injected[name] += 1
                    return name
                roll -= rate
            self.injected["none"] += 1
            return "none"

    def start(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.draw()
                if fault == "reset":
                    self._reset()
                    return
                if fault in ("throttle", "error"):
                    self._fail(fault)
                    return
                status, headers, payload = self._forward(body)
                if fault == "drop":  # the store did the work; the client never hears of it
                    self._reset()
                    return
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    return response.status, response.getheaders(), response.read()
                finally:
                    connection.close()

            def _fail(self, fault: str) -> None:
                if fault == "throttle":
                    status, kind = 400, "com.amazonaws.dynamodb.v20120810#ThrottlingException"
                else:
                    status, kind = 500, "com.amazon.coral.service#InternalFailure"
                payload = json.dumps({"__type": kind, "message": "injected"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _reset(self) -> None:
                # SO_LINGER 0: close with a TCP RST, as a crashed load balancer would.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

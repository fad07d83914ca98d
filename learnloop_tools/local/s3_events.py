"""Deliver S3 "Object Created" events to the app, as S3 → EventBridge would on AWS.

moto's EventBridge stores rules but never invokes targets, so the local runner watches the
stage's bucket itself and hands each new object to the app's ``@app.on_cw_event`` handlers
whose pattern matches it. Delivery is at least once (a restart delivers what is already there
again), exactly like EventBridge: handlers must be idempotent.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from learnloop.observability import logger

Handler = Callable[[dict[str, Any]], object]


def object_created_event(
    bucket: str,
    key: str,
    *,
    size: int = 0,
    etag: str = "",
    region: str = "us-east-1",
    when: datetime | None = None,
) -> dict[str, Any]:
    """The EventBridge event S3 sends for a new object.

    Examples
    --------
    >>> event = object_created_event("b", "models/x/1/manifest.json")
    >>> event["detail-type"], event["detail"]["object"]["key"]
    ('Object Created', 'models/x/1/manifest.json')
    """
    moment = when or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag},
            "reason": "PutObject",
        },
    }


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches an EventBridge ``pattern`` (values, prefix, suffix, nesting).

    Examples
    --------
    >>> matches({"source": ["aws.s3"], "detail": {"object": {"key": [{"suffix": ".json"}]}}},
    ...         {"source": "aws.s3", "detail": {"object": {"key": "a/manifest.json"}}})
    True
    """
    for field, expected in pattern.items():
        actual = event.get(field)
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
        elif not any(_matches_one(rule, actual) for rule in expected):
            return False
    return True


def _matches_one(rule: Any, actual: Any) -> bool:
    if isinstance(rule, Mapping):
        if "prefix" in rule:
            return isinstance(actual, str) and actual.startswith(rule["prefix"])
        if "suffix" in rule:
            return isinstance(actual, str) and actual.endswith(rule["suffix"])
        return False
    return bool(rule == actual)


def app_event_handlers(module: ModuleType) -> list[tuple[str, dict[str, Any], Handler]]:
    """The ``@app.on_cw_event`` handlers of a Chalice app module: ``(name, pattern, call)``."""
    from chalice.app import CloudWatchEventConfig
    from chalice.local import LambdaContext

    found: list[tuple[str, dict[str, Any], Handler]] = []
    for source in getattr(module.app, "event_sources", []):
        if not isinstance(source, CloudWatchEventConfig):
            continue
        handler = getattr(module, source.handler_string.rsplit(".", 1)[-1])

        def call(event: dict[str, Any], handler: Any = handler, name: str = source.name) -> object:
            context = LambdaContext(function_name=name, memory_size=512, max_runtime_ms=900_000)
            return handler(event, context)

        found.append((source.name, dict(source.event_pattern), call))
    return found


class BucketWatcher:
    """Polls a bucket and delivers an "Object Created" event for every object it has not seen.

    Parameters
    ----------
    s3, bucket
        The emulator's S3 client and the stage's bucket.
    handlers
        ``(name, pattern, call)`` as from :func:`app_event_handlers`.
    prefix
        Only keys under it (or under one of them) are watched.
    interval
        Seconds between polls of the background thread.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        handlers: list[tuple[str, dict[str, Any], Handler]],
        *,
        prefix: str | tuple[str, ...] = "",
        region: str = "us-east-1",
        interval: float = 2.0,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.handlers = handlers
        self.prefix = prefix
        self.region = region
        self.interval = interval
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> list[str]:
        """Deliver events for the new objects now; returns their keys (in key order)."""
        with self._lock:
            delivered = []
            paginator = self.s3.get_paginator("list_objects_v2")
            prefixes = (self.prefix,) if isinstance(self.prefix, str) else self.prefix
            pages = (
                page
                for prefix in prefixes
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    identity = (obj["Key"], obj.get("ETag", ""))
                    if identity in self._seen:
                        continue
                    self._seen.add(identity)
                    event = object_created_event(
                        self.bucket,
                        obj["Key"],
                        size=obj.get("Size", 0),
                        etag=obj.get("ETag", "").strip('"'),
                        region=self.region,
                    )
                    for name, pattern, call in self.handlers:
                        if matches(pattern, event):
                            try:
                                call(event)
                            except Exception:
                                logger.exception("event handler failed", extra={"handler": name})
                    delivered.append(obj["Key"])
            return delivered

    def start(self) -> None:
        if self._thread is not None or not self.handlers:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="learnloop-s3-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:
                logger.exception("bucket poll failed")

"""The local runner's stand-in for S3 → EventBridge: each new object is delivered once."""

from __future__ import annotations

from typing import Any

from learnloop_tools.local.s3_events import BucketWatcher, matches

PATTERN = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"object": {"key": [{"suffix": "manifest.json"}]}},
}


def test_new_manifests_are_delivered_once(tables: Any, s3: Any) -> None:
    bucket = tables.settings.bucket
    received: list[str] = []
    handlers = [
        ("on_model_dropped", PATTERN, lambda e: received.append(e["detail"]["object"]["key"]))
    ]
    watcher = BucketWatcher(s3, bucket, handlers, prefix="models/")
    s3.put_object(Bucket=bucket, Key="models/m/1/model.onnx", Body=b"x")
    s3.put_object(Bucket=bucket, Key="models/m/1/manifest.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="exports/2026-11-20/manifest.json", Body=b"{}")
    assert watcher.poll() == ["models/m/1/manifest.json", "models/m/1/model.onnx"]
    assert received == ["models/m/1/manifest.json"]  # only what the pattern selects
    assert watcher.poll() == []
    s3.put_object(Bucket=bucket, Key="models/m/2/manifest.json", Body=b"{}")
    watcher.poll()
    assert received == ["models/m/1/manifest.json", "models/m/2/manifest.json"]


def test_a_failing_handler_does_not_stop_delivery(tables: Any, s3: Any) -> None:
    bucket = tables.settings.bucket
    calls: list[str] = []

    def broken(event: dict) -> None:
        raise RuntimeError("boom")

    handlers = [("broken", PATTERN, broken), ("ok", PATTERN, lambda e: calls.append("ok"))]
    s3.put_object(Bucket=bucket, Key="models/m/1/manifest.json", Body=b"{}")
    BucketWatcher(s3, bucket, handlers, prefix="models/").poll()
    assert calls == ["ok"]


def test_patterns_match_like_eventbridge() -> None:
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"object": {"key": "models/a/1/manifest.json"}},
    }
    assert matches(PATTERN, event)
    assert not matches(PATTERN, {**event, "source": "aws.ec2"})
    assert not matches(PATTERN, {**event, "detail": {"object": {"key": "models/a/1/model.onnx"}}})
    assert matches({"detail": {"object": {"key": [{"prefix": "models/"}]}}}, event)


def test_an_import_dropped_on_the_local_bucket_is_imported(tables: Any, s3: Any) -> None:
    import json

    from learnloop.jobs.imports import IMPORT_CREATED_PATTERN, on_import_created

    bucket = tables.settings.bucket
    reports: list[Any] = []
    handlers = [
        (
            "on_import",
            IMPORT_CREATED_PATTERN,
            lambda e: reports.append(on_import_created(e, tables)),
        )
    ]
    # The runner's two prefixes: model drops and imports.
    watcher = BucketWatcher(s3, bucket, handlers, prefix=("models/", "imports/"))
    row = {
        "user_id": "u1",
        "content_type": "coin",
        "external_id": "BTC",
        "reaction": "like",
        "occurred_at": "2026-11-19T10:00:00Z",
    }
    s3.put_object(Bucket=bucket, Key="imports/reactions/a.jsonl", Body=json.dumps(row).encode())
    assert watcher.poll() == ["imports/reactions/a.jsonl"]
    assert reports[0]["stored"]["accepted"] == 1
    assert tables.reactions.get("u1", "coin#BTC").reaction == "like"
    assert watcher.poll() == []  # its report lands outside imports/: no second event

"""Ingest throughput through the API vs raw DynamoDB writes, and cold import times.

Starts the local stack in-process (:class:`learnloop_tools.local.Runner`: embedded moto server and
Chalice's local server on 127.0.0.1), then measures

* events/s through ``POST /v1/events`` (batches over one keep-alive HTTP session), which
  validates, checks for duplicates (BatchGetItem) and writes (BatchWriteItem);
* events/s of raw boto3 ``batch_write_item`` of the same item shapes to the same server;
* their ratio (raw / API: how many times slower the API path is; the goal is <= 1.2);
* cold import time of ``functions/app.py`` vs ``import boto3`` (median of fresh processes).

Usage::

    python bench/ingest.py [--batches 20] [--batch-size 100] [--imports 5] [--json]

With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _report import print_report

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "functions" / "app.py"
OCCURRED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

IMPORT_APP = f"""
import importlib.util, sys, time
t = time.perf_counter()
sys.path.insert(0, {str(APP.parent)!r})
spec = importlib.util.spec_from_file_location("app", {str(APP)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - t)
"""
IMPORT_BOTO3 = """
import time
t = time.perf_counter()
import boto3
print(time.perf_counter() - t)
"""


def event_body(run: str, batch: int, size: int) -> dict[str, Any]:
    """One API batch: ``size`` alert events of 20 users, unique ids."""
    return {
        "events": [
            {
                "event_id": f"{run}-{batch}-{i}",
                "type": "alert_shown",
                "user_id": f"{run}-u{i % 20}",
                "occurred_at": (OCCURRED + timedelta(seconds=i)).isoformat(),
                "session_id": f"s{batch}",
                "properties": {"alert_id": f"a{i}", "alert_type": "price"},
            }
            for i in range(size)
        ]
    }


def raw_items(tables: Any, run: str, batch: int, size: int) -> list[dict[str, Any]]:
    """The DynamoDB JSON the API would store for :func:`event_body` (same shapes, same sizes)."""
    from learnloop.clock import iso
    from learnloop.store.keys import day_shard

    items = []
    for event in event_body(run, batch, size)["events"]:
        occurred = datetime.fromisoformat(event["occurred_at"])
        record = tables.events(
            event["user_id"],
            f"{iso(occurred)}#{event['event_id']}",
            event_id=event["event_id"],
            type=event["type"],
            occurred_at=iso(occurred),
            received_at=iso(datetime.now(UTC)),
            session_id=event["session_id"],
            properties=event["properties"],
            day_shard=day_shard(occurred, event["user_id"], shards=tables.settings.day_shards),
            expires_at=occurred + timedelta(days=tables.settings.events_retention_days),
        )
        items.append(record.serialize())
    return items


def bench_ingest(runner: Any, batches: int, size: int) -> tuple[float, float]:
    """Events/s through the API and through raw ``batch_write_item``, batch by batch.

    The two paths alternate batch by batch so background noise on a shared machine hits both
    alike; each batch has its own ids, so every API batch is fully accepted (no duplicates).
    """
    import requests

    from learnloop.store import Tables
    from learnloop.store.clients import dynamodb_client

    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {runner.keys['ingest']}", "Content-Type": "application/json"}
    )
    url = f"{runner.api_url}/v1/events"
    tables = Tables(runner.settings)
    client = dynamodb_client(runner.settings)
    table = runner.settings.table_name("events")
    run = uuid.uuid4().hex[:6]

    def post(body: str) -> None:
        reply = session.post(url, data=body)
        reply.raise_for_status()
        assert reply.json()["accepted"] == size, reply.text

    def write(items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 25):
            pending = {table: [{"PutRequest": {"Item": it}} for it in items[start : start + 25]]}
            while pending:
                pending = client.batch_write_item(RequestItems=pending)["UnprocessedItems"]

    # Warm both paths: connections, the app's services, the authenticator's cache.
    post(json.dumps(event_body(f"warm{run}", 0, size)))
    write(raw_items(tables, f"rawwarm{run}", 0, size))
    api_seconds = raw_seconds = 0.0
    for batch in range(batches):
        body = json.dumps(event_body(f"api{run}", batch, size))
        items = raw_items(tables, f"raw{run}", batch, size)
        started = time.perf_counter()
        post(body)
        api_seconds += time.perf_counter() - started
        started = time.perf_counter()
        write(items)
        raw_seconds += time.perf_counter() - started
    events = batches * size
    return events / api_seconds, events / raw_seconds


def median_import(code: str, runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "AWS_ENDPOINT"))}
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--imports", type=int, default=5, help="fresh processes per import")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)

    from learnloop_tools.local import Runner

    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(port=0, state_dir=tmp, snapshot_seconds=0, app_path=APP)
        with runner:
            api_eps, raw_eps = bench_ingest(runner, args.batches, args.batch_size)
    app_import = median_import(IMPORT_APP, args.imports)
    boto3_import = median_import(IMPORT_BOTO3, args.imports)
    figures = {
        "events": args.batches * args.batch_size,
        "batch_size": args.batch_size,
        "api_events_per_s": round(api_eps, 1),
        "raw_events_per_s": round(raw_eps, 1),
        "ratio_raw_over_api": round(raw_eps / api_eps, 3),
        "ratio_goal": 1.2,
        "import_app_s": round(app_import, 4),
        "import_boto3_s": round(boto3_import, 4),
        "import_ratio": round(app_import / boto3_import, 2),
        "import_runs": args.imports,
    }
    rows = [
        ("POST /v1/events", f"{api_eps:,.0f} events/s"),
        ("raw batch_write_item", f"{raw_eps:,.0f} events/s"),
        ("ratio raw / API (goal <= 1.2)", f"{raw_eps / api_eps:.2f}x"),
        (f"import functions/app.py (median of {args.imports})", f"{app_import * 1000:.0f} ms"),
        (f"import boto3 (median of {args.imports})", f"{boto3_import * 1000:.0f} ms"),
    ]
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

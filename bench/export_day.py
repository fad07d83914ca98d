"""Benchmark: ``export_training_data`` of one day on the embedded stack, and where its time goes.

Plants N reactions (``--reactions``, default 3000; 40 users, 300 items) and N/2 events on one
day (``--days D``: the reactions spread over D days ending on it, so the table holds far more
than the day, as a backfill's does), then times: the raw reads of the day's partitions (the
low-level client, every page, no deserialization: the emulator's floor), and the export (files
streamed, manifest). Run it with ``PYTHONPATH`` at another checkout's ``layers`` and root to
compare code versions (the emulator's Query patch lives in ``learnloop_tools``) on the same
machine.

Usage::

    PYTHONPATH=layers:. python bench/export_day.py [--reactions 3000] [--days 1] [--json]

With ``--json`` the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)


def measure(reactions: int, days: int = 1) -> dict[str, Any]:
    """Plant ``reactions`` over ``days`` days ending on :data:`DAY`; time the raw reads and
    the export of that day."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from learnloop.ingest import ingest_events, put_reaction
    from learnloop.privacy.exports import export_day
    from learnloop.settings import Settings
    from learnloop.store import Tables, bootstrap
    from learnloop.store.clients import s3_client
    from learnloop.store.keys import day_partitions
    from learnloop_tools.local.moto_server import EmbeddedMotoServer

    server = EmbeddedMotoServer(port=0)
    server.start()
    try:
        stage = f"b{uuid.uuid4().hex[:8]}"
        settings = Settings(
            stage=stage,
            table_prefix=f"{stage}-",
            bucket=f"{stage}-bucket",
            endpoint_url=server.endpoint_url,
            pseudonym_secret="bench-secret",
        )
        tables = Tables(settings)
        s3 = s3_client(settings)
        bootstrap(settings, tables=tables, s3=s3)

        def react(i: int) -> None:
            day = DAY - timedelta(days=i % days)
            put_reaction(
                tables,
                {
                    "user_id": f"u{i % 40}",
                    "content_type": "coin",
                    "external_id": f"C{i // 40}",
                    "reaction": ("like", "dislike")[i % 2],
                    "occurred_at": f"{day}T{i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}Z",
                },
                now=NOW,
            )

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(react, range(reactions)))
        events = [
            {
                "type": "alert_shown",
                "user_id": f"u{i % 40}",
                "occurred_at": f"2026-11-20T{i % 24:02d}:00:{i % 60:02d}Z",
                "properties": {"alert_id": f"a{i}"},
            }
            for i in range(reactions // 2)
        ]
        for start in range(0, len(events), 100):
            ingest_events(tables, {"events": events[start : start + 100]}, now=NOW)
        plant_seconds = time.perf_counter() - started

        client = tables.reactions._get_connection().connection._client
        started = time.perf_counter()
        pages = 0
        for model in (tables.reactions, tables.events):
            for partition in day_partitions(DAY, shards=settings.day_shards):
                paginator = client.get_paginator("query")
                for _ in paginator.paginate(
                    TableName=model.Meta.table_name,
                    IndexName="by_day",
                    KeyConditionExpression="day_shard = :p",
                    ExpressionAttributeValues={":p": {"S": partition}},
                ):
                    pages += 1
        read_seconds = time.perf_counter() - started

        started = time.perf_counter()
        result = export_day(tables, DAY, s3=s3, now=NOW)
        export_seconds = time.perf_counter() - started
    finally:
        server.stop()
    rows = sum(result.rows.values())
    return {
        "reactions": reactions,
        "days": days,
        "rows_exported": rows,
        "plant_seconds": round(plant_seconds, 2),
        "raw_read_seconds": round(read_seconds, 2),
        "raw_read_pages": pages,
        "export_seconds": round(export_seconds, 2),
        "export_ms_per_row": round(1000 * export_seconds / max(rows, 1), 3),
        "raw_read_share": round(read_seconds / export_seconds, 3) if export_seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reactions", type=int, default=3000)
    parser.add_argument("--days", type=int, default=1, help="days the reactions spread over")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args.reactions, max(1, args.days))
    sys.path.insert(0, str(_ROOT))
    from bench._report import print_report

    print_report([(k, str(v)) for k, v in figures.items()], figures, as_json=args.json)


if __name__ == "__main__":
    main()

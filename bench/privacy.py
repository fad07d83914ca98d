"""Privacy costs: the ingest consent check, the daily training export, and a user's deletion.

Starts moto's server in-process on 127.0.0.1 and measures, each against a baseline from the
same run:

* ``ingest_events`` of 100-event batches (20 users) when every user's consent must be looked
  up (one BatchGetItem per batch, the cold-container case) vs. when the container's consent
  cache already knows them (the steady state: no extra request);
* ``export_day`` over one day of N reactions and N events vs. just reading those rows through
  the ``by_day`` partitions (what any export must do);
* ``delete_user`` with D days of stored exports (the user in 2 of them, plus the day above)
  vs. just listing and reading every export file once with as many threads (what checking
  the exports for the user must do). The request rewrites for at most
  ``LEARNLOOP_DELETION_SYNC_SECONDS`` (10); the figures say whether days were left pending.

Usage::

    python bench/privacy.py [--rows 2000] [--batches 10] [--export-days 30] [--json]

With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _report import print_report

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def start_stack() -> tuple[Any, Any, Any]:
    """moto's server on a free loopback port, a fresh stage's tables and an S3 client."""
    from moto.server import ThreadedMotoServer

    from learnloop.settings import Settings
    from learnloop.store import Tables, bootstrap
    from learnloop.store.clients import s3_client

    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    stage = f"b{uuid.uuid4().hex[:8]}"
    settings = Settings(
        stage=stage,
        table_prefix=f"{stage}-",
        bucket=f"{stage}-bucket",
        endpoint_url=f"http://{host}:{port}",
        pseudonym_secret="bench-secret",
        day_shards=1,  # moto scans the whole table per GSI Query: one shard per day is fastest
    )
    tables = Tables(settings)
    s3 = s3_client(settings)
    bootstrap(settings, tables=tables, s3=s3)
    return server, tables, s3


def event_batch(run: str, batch: int) -> dict[str, Any]:
    return {
        "events": [
            {
                "event_id": f"{run}-{batch}-{i}",
                "type": "alert_shown",
                "user_id": f"{run}-u{i % 20}",
                "occurred_at": (
                    datetime(2026, 11, 20, 10, tzinfo=UTC) + timedelta(seconds=i)
                ).isoformat(),
                "properties": {"alert_id": f"a{i}"},
            }
            for i in range(100)
        ]
    }


def bench_consent(tables: Any, batches: int) -> tuple[float, float, float]:
    """Seconds per 100-event batch: every user looked up vs. every user cached; and seconds
    of the lookup alone (one BatchGetItem of 20 users and their tombstones)."""
    from learnloop.ingest import ingest_events
    from learnloop.users.consent import ConsentCache

    cold = ConsentCache(tables, ttl_seconds=0)  # never trusts a lookup: one BatchGetItem a batch
    warm = ConsentCache(tables, ttl_seconds=3600)
    run = uuid.uuid4().hex[:6]
    ingest_events(tables, event_batch(f"w{run}", 0), consent=warm)  # warms connections, cache
    ingest_events(tables, event_batch(f"w{run}", 1), consent=cold)
    warm.dropped(f"c{run}-u{i}" for i in range(20))
    cold_s = warm_s = 0.0
    for batch in range(batches):  # alternate, so background noise hits both alike
        started = time.perf_counter()
        ingest_events(tables, event_batch(f"c{run}", batch), consent=cold)
        cold_s += time.perf_counter() - started
        started = time.perf_counter()
        ingest_events(tables, event_batch(f"c{run}", batches + batch), consent=warm)
        warm_s += time.perf_counter() - started
    from learnloop.users.consent import lookup_dropped

    users = [f"c{run}-u{i}" for i in range(20)]
    started = time.perf_counter()
    for _ in range(batches):
        lookup_dropped(tables, users)
    lookup_s = (time.perf_counter() - started) / batches
    return cold_s / batches, warm_s / batches, lookup_s


def seed_day(tables: Any, rows: int) -> None:
    from learnloop.clock import iso
    from learnloop.store.batch import write_in_parallel
    from learnloop.store.keys import day_shard

    shards = tables.settings.day_shards
    at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    reactions, events = [], []
    for i in range(rows):
        user = f"u{i % 500}"
        when = at + timedelta(seconds=i)
        reactions.append(
            tables.reactions(
                user,
                f"meme#m{i}",
                content_type="meme",
                external_id=f"m{i}",
                reaction="like" if i % 3 else "dislike",
                content={"title": f"meme number {i}", "lang": "en"},
                created_at=iso(when),
                updated_at=iso(when),
                day_shard=day_shard(when, user, shards=shards),
            )
        )
        events.append(
            tables.events(
                user,
                f"{iso(when)}#e{i}",
                event_id=f"e{i}",
                type="alert_shown",
                occurred_at=iso(when),
                received_at=iso(when),
                properties={"alert_id": f"a{i}", "alert_type": "price"},
                day_shard=day_shard(when, user, shards=shards),
            )
        )
    write_in_parallel(tables.reactions, reactions)
    write_in_parallel(tables.events, events)


def bench_export(tables: Any, s3: Any) -> tuple[float, float]:
    """Seconds: export_day vs. reading the same day's rows."""
    from learnloop.privacy.exports import export_day
    from learnloop.store.queries import query_day

    shards = tables.settings.day_shards
    started = time.perf_counter()
    list(query_day(tables.reactions, DAY, shards=shards))
    list(query_day(tables.events, DAY, shards=shards))
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    export_day(tables, DAY, s3=s3, now=NOW)
    export_s = time.perf_counter() - started
    return export_s, read_s


def bench_deletion(tables: Any, s3: Any, days: int) -> tuple[float, float, dict[str, Any]]:
    """Seconds: delete_user with ``days`` exports stored vs. reading every export file once."""
    from learnloop.privacy.deletion import delete_user
    from learnloop.privacy.exports import DATA_FILES, export_prefixes, file_entry
    from learnloop.privacy.rows import jsonl
    from learnloop.users.pseudonym import pseudonymize

    bucket = tables.settings.bucket
    victim = pseudonymize("u7", tables.settings.pseudonym_secret)
    for n in range(days):
        prefix = f"exports/{(DAY - timedelta(days=n + 1)).isoformat()}/"
        users = [victim] if n in (3, 10) else []
        rows = [
            {
                "user": u,
                "item_key": f"meme#m{i}",
                "content_type": "meme",
                "external_id": f"m{i}",
                "reaction": "like",
                "created_at": "t",
                "updated_at": "t",
            }
            for i, u in enumerate(users + [f"{'0' * 63}{i % 10}" for i in range(100)])
        ]
        files = {"reactions.jsonl": jsonl(rows), "events.jsonl": b"", "items.jsonl": b""}
        for name, data in files.items():
            s3.put_object(Bucket=bucket, Key=prefix + name, Body=data)
        manifest = {"date": prefix[8:18], "files": {k: file_entry(v) for k, v in files.items()}}
        s3.put_object(Bucket=bucket, Key=prefix + "manifest.json", Body=json.dumps(manifest))

    def read(prefix: str) -> None:
        for name in DATA_FILES:
            s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:  # as many readers as the deletion uses
        list(pool.map(read, export_prefixes(s3, bucket)))
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    receipt = delete_user(tables, "u7", s3=s3, now=NOW)
    delete_s = time.perf_counter() - started
    return delete_s, read_s, receipt


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="reactions and events on the day")
    parser.add_argument("--batches", type=int, default=10, help="event batches per consent case")
    parser.add_argument("--export-days", type=int, default=30, help="stored exports to rewrite")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)

    server, tables, s3 = start_stack()
    try:
        print("consent check ...", flush=True)
        cold_s, warm_s, lookup_s = bench_consent(tables, args.batches)
        print(f"seeding {args.rows} reactions and {args.rows} events ...", flush=True)
        seed_day(tables, args.rows)
        print("export ...", flush=True)
        export_s, read_s = bench_export(tables, s3)
        print(f"deletion with {args.export_days + 1} stored exports ...", flush=True)
        delete_s, scan_s, receipt = bench_deletion(tables, s3, args.export_days)
    finally:
        server.stop()
    figures = {
        "consent_uncached_ms_per_batch": round(cold_s * 1000, 2),
        "consent_cached_ms_per_batch": round(warm_s * 1000, 2),
        "consent_ratio": round(cold_s / warm_s, 3),
        "consent_lookup_ms_20_users": round(lookup_s * 1000, 2),
        "export_rows": 2 * args.rows,
        "export_s": round(export_s, 3),
        "export_read_only_s": round(read_s, 3),
        "export_ratio": round(export_s / read_s, 3),
        "deletion_export_prefixes": args.export_days + 1,
        "deletion_s": round(delete_s, 3),
        "deletion_read_exports_s": round(scan_s, 3),
        "deletion_ratio": round(delete_s / scan_s, 3),
        "deletion_rewritten_prefixes": len(receipt["exports"]["removed"]),
        # "complete", or "pending" when deletion_sync_seconds ran out (privacy_purge finishes).
        "deletion_exports_status": receipt["exports"]["status"],
        "deletion_days_pending": receipt["exports"]["days_pending"],
    }
    rows = [
        ("ingest 100 events, consent looked up", f"{cold_s * 1000:.1f} ms/batch"),
        ("ingest 100 events, consent cached", f"{warm_s * 1000:.1f} ms/batch"),
        ("  ratio", f"{cold_s / warm_s:.2f}x"),
        ("  the lookup alone (20 users)", f"{lookup_s * 1000:.1f} ms"),
        (f"export_day, {2 * args.rows} rows", f"{export_s:.2f} s"),
        ("  reading the same rows only", f"{read_s:.2f} s"),
        ("  ratio", f"{export_s / read_s:.2f}x"),
        (f"delete_user, {args.export_days + 1} export days", f"{delete_s:.2f} s"),
        ("  reading every export file once", f"{scan_s:.2f} s"),
        ("  ratio", f"{delete_s / scan_s:.2f}x"),
    ]
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

"""Persisting the embedded emulator: snapshot/restore vs moto's request recorder.

Seeds N events through the store (:func:`learnloop.ingest.ingest_events`, batches of 500) into
an embedded moto server with moto's recorder on, then measures

* snapshot: time to write ``state/`` (:class:`learnloop_tools.local.StateStore`) and its size;
* restore: time to bootstrap an emptied emulator and load the snapshot back;
* recorder: size of the recording and time to replay it into an emptied emulator
  (``/moto-api/recorder/replay-recording``).

Both restores are checked to bring back every event.

Usage::

    python bench/local_state.py [--events 20000] [--json]

With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def seed(tables: Any, events: int, batch: int) -> None:
    from learnloop.ingest import ingest_events

    start = datetime(2026, 11, 1, tzinfo=UTC)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    for first in range(0, events, batch):
        body = {
            "events": [
                {
                    "event_id": f"e{i}",
                    "type": "trade_created",
                    "user_id": f"user-{i % 500}",
                    "session_id": f"s{i // 50}",
                    "occurred_at": (start + timedelta(minutes=i)).isoformat(),
                    "properties": {
                        "trade_id": f"t{i}",
                        "symbol": "BTC",
                        "side": "buy" if i % 2 else "sell",
                        "quantity": 0.5 + i % 7,
                        "price": 40_000 + i % 1000,
                    },
                }
                for i in range(first, min(first + batch, events))
            ]
        }
        ingest_events(tables, body, now=now)


def count_events(client: Any, table: str) -> int:
    total = 0
    for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
        total += page["Count"]
    return total


def moto_api(endpoint: str, path: str) -> None:
    import requests

    requests.post(f"{endpoint}/moto-api/{path}", timeout=3600).raise_for_status()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "moto_recording.jsonl"
        # The recorder reads both variables when moto is first imported: set them before.
        os.environ["MOTO_ENABLE_RECORDING"] = "true"
        os.environ["MOTO_RECORDER_FILEPATH"] = str(recording)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            os.environ.setdefault(name, value)

        from learnloop.settings import Settings
        from learnloop.store import Tables, bootstrap
        from learnloop.store.clients import dynamodb_client
        from learnloop_tools.local import EmbeddedMotoServer, StateStore
        from learnloop_tools.local.moto_server import MotoBackendAccess

        server = EmbeddedMotoServer(port=0)
        server.start()
        try:
            endpoint = server.endpoint_url
            moto_api(endpoint, "recorder/reset-recording")
            settings = Settings(
                stage="bench", table_prefix="bench-", bucket="bench", endpoint_url=endpoint
            )
            tables = Tables(settings)
            client = dynamodb_client(settings)
            events_table = settings.table_name("events")

            started = time.perf_counter()
            bootstrap(settings, tables=tables)
            seed(tables, args.events, settings.max_batch_events)
            seed_s = time.perf_counter() - started
            moto_api(endpoint, "recorder/stop-recording")
            assert count_events(client, events_table) == args.events

            # The runner's way (moto's in-process backend), then the portable way (the API).
            state = Path(tmp) / "state"
            direct = StateStore(state, direct=MotoBackendAccess())
            portable = StateStore(state)
            scan_snapshot = portable.snapshot(settings)
            snapshot = direct.snapshot(settings)

            def restore(store: StateStore) -> float:
                moto_api(endpoint, "reset")
                started = time.perf_counter()
                bootstrap(settings, tables=tables)
                assert store.restore(settings) is not None
                seconds = time.perf_counter() - started
                assert count_events(client, events_table) == args.events
                return seconds

            restore_s = restore(direct)
            batch_restore_s = restore(portable)

            moto_api(endpoint, "reset")
            started = time.perf_counter()
            moto_api(endpoint, "recorder/replay-recording")
            replay_s = time.perf_counter() - started
            replayed = count_events(client, events_table)
            assert replayed == args.events, replayed
            recording_bytes = recording.stat().st_size
            recorded_requests = sum(1 for _ in recording.open("rb"))
        finally:
            server.stop()

    figures = {
        "events": args.events,
        "seed_s": round(seed_s, 2),
        "snapshot_s": round(snapshot.seconds, 2),
        "restore_s": round(restore_s, 2),
        "snapshot_bytes": snapshot.bytes_on_disk,
        "snapshot_scan_s": round(scan_snapshot.seconds, 2),
        "restore_batch_write_s": round(batch_restore_s, 2),
        "recorder_bytes": recording_bytes,
        "recorder_requests": recorded_requests,
        "replay_s": round(replay_s, 2),
    }
    mb = 1e6
    rows = [
        ("snapshot, moto backend (chosen)", snapshot.seconds, restore_s, snapshot.bytes_on_disk),
        ("snapshot, Scan + BatchWriteItem", scan_snapshot.seconds, batch_restore_s, None),
        ("moto recorder, replay", 0.0, replay_s, recording_bytes),
    ]
    print(
        f"{args.events:,} events seeded in {seed_s:.1f} s; "
        f"the recorder logged {recorded_requests:,} requests"
    )
    print(f"{'approach':<32}  {'save':>7}  {'load':>7}  {'on disk':>9}")
    for name, save, load, size in rows:
        disk = "same" if size is None else f"{size / mb:.1f} MB"
        print(f"{name:<32}  {save:>5.2f} s  {load:>5.2f} s  {disk:>9}")
    if args.json:
        print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()

"""Bulk import of reactions into the embedded stack vs raw ``batch_write_item`` and single PUTs.

Starts the local stack in-process (:class:`learnloop_tools.local.Runner`: embedded moto
server and Chalice's local server on 127.0.0.1), writes ``--rows`` reactions as ``--parts``
JSON Lines files (``--users`` users, one reaction every 10 minutes each: no data-quality
flags), then measures (the import of a part and the raw write of the same part alternate, so
a shared machine's load falls on both alike)

* ``learnloop import reactions FILE`` (:func:`learnloop_tools.imports.import_file`): parse,
  validate each row with the route's model, judge bursts over the file, read what is stored
  (BatchGetItem of the reactions and their tombstones) and write (BatchWriteItem, 4 threads);
* raw boto3 ``batch_write_item`` of the items the import stores (built the same way, under
  other user ids: same shapes and sizes), 25 per request, 4 threads as the import's writer
  uses: the floor;
* the import run again on the same file (every row already stored: reads only, nothing
  written);
* ``PUT /v1/reactions`` one by one over a keep-alive HTTP session, on a sample of
  ``--put-sample`` rows, scaled to ``--rows`` (a full run would take most of an hour).

Usage::

    python bench/import.py [--rows 100000] [--users 2000] [--parts 10] [--put-sample 500] [--json]

With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _report import print_report

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "functions" / "app.py"
START = datetime(2026, 11, 1, tzinfo=UTC)


def reactions(run: str, rows: int, users: int) -> list[dict[str, Any]]:
    """``rows`` reactions of ``users`` users to coin cards, one per user every 10 minutes."""
    return [
        {
            "user_id": f"{run}-u{i % users}",
            "content_type": "coin",
            "external_id": f"card-{i}",
            "reaction": "like" if i % 3 else "dislike",
            "occurred_at": (START + timedelta(minutes=10 * (i // users))).isoformat(),
            "content": {"symbol": ["BTC", "ETH", "SOL"][i % 3], "title": f"card {i}"},
        }
        for i in range(rows)
    ]


def raw_write(runner: Any, items: list[dict[str, Any]], workers: int = 4) -> float:
    """Seconds to write ``items`` (DynamoDB JSON) with ``batch_write_item``, 25 a request."""
    from learnloop.store.clients import dynamodb_client

    client = dynamodb_client(runner.settings)
    table = runner.settings.table_name("reactions")
    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(chunk: list[dict[str, Any]]) -> None:
        pending = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending)["UnprocessedItems"]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write, chunks))
    return time.perf_counter() - started


def raw_items(tables: Any, rows: list[dict[str, Any]], renamed: str) -> list[dict[str, Any]]:
    """The items the import stores for ``rows`` (same shapes and sizes, built as
    :func:`learnloop.ingest.write_reactions` builds them), as DynamoDB JSON, under other ids."""
    from learnloop.clock import iso
    from learnloop.store.keys import day_shard, item_key

    items = []
    for row in rows:
        at = datetime.fromisoformat(row["occurred_at"])
        user = row["user_id"].replace(row["user_id"].split("-u")[0], renamed, 1)
        record = tables.reactions(
            user,
            item_key(row["content_type"], row["external_id"]),
            content_type=row["content_type"],
            external_id=row["external_id"],
            reaction=row["reaction"],
            content=row["content"],
            created_at=iso(at),
            updated_at=iso(at),
            day_shard=day_shard(at, user, shards=tables.settings.day_shards),
        )
        items.append(record.serialize())
    return items


def puts(runner: Any, rows: list[dict[str, Any]]) -> float:
    """Seconds to PUT ``rows`` one by one over one keep-alive session."""
    import requests

    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {runner.keys['ingest']}", "Content-Type": "application/json"}
    )
    url = f"{runner.api_url}/v1/reactions"
    session.put(url, data=json.dumps(rows[0])).raise_for_status()  # warm
    started = time.perf_counter()
    for row in rows[1:]:
        session.put(url, data=json.dumps(row)).raise_for_status()
    return (time.perf_counter() - started) * len(rows) / max(1, len(rows) - 1)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--put-sample", type=int, default=500)
    parser.add_argument("--parts", type=int, default=10, help="files the rows are split into")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)

    from learnloop.store import Tables
    from learnloop_tools.imports import import_file
    from learnloop_tools.local import Runner

    run = uuid.uuid4().hex[:6]
    rows = reactions(run, args.rows, args.users)
    size = -(-len(rows) // args.parts)
    parts = [rows[i : i + size] for i in range(0, len(rows), size)]
    import_s = raw_s = rerun_s = 0.0
    stored = again_accepted = again_duplicates = 0
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for index, part in enumerate(parts):
            paths.append(Path(tmp) / f"reactions-{index}.jsonl")
            paths[-1].write_text("\n".join(json.dumps(r) for r in part))
        runner = Runner(port=0, state_dir=Path(tmp) / "state", snapshot_seconds=0, app_path=APP)
        with runner:
            tables = Tables(runner.settings)
            # Import and raw writes alternate part by part, so the load of a shared machine
            # falls on both alike.
            for path, part in zip(paths, parts, strict=True):
                started = time.perf_counter()
                report = import_file("reactions", path, tables)
                import_s += time.perf_counter() - started
                stored += report["stored"]["accepted"]
                items = raw_items(tables, part, f"raw{run}")
                raw_s += raw_write(runner, items)
            assert stored == args.rows, stored
            for path in paths:
                started = time.perf_counter()
                again = import_file("reactions", path, tables)
                rerun_s += time.perf_counter() - started
                again_accepted += again["stored"]["accepted"]
                again_duplicates += again["stored"].get("duplicates", 0)
            assert (again_accepted, again_duplicates) == (0, args.rows)
            sample = reactions(f"put{run}", args.put_sample, max(1, args.put_sample // 10))
            put_s = puts(runner, sample) * args.rows / args.put_sample
    rows_n = args.rows
    figures = {
        "rows": rows_n,
        "users": args.users,
        "import_s": round(import_s, 2),
        "import_rows_per_s": round(rows_n / import_s, 1),
        "raw_batch_write_s": round(raw_s, 2),
        "raw_rows_per_s": round(rows_n / raw_s, 1),
        "import_over_raw": round(import_s / raw_s, 3),
        "import_over_raw_goal": 1.3,
        "rerun_s": round(rerun_s, 2),
        "rerun_accepted": again_accepted,
        "parts": args.parts,
        "put_sample": args.put_sample,
        "put_s_scaled": round(put_s, 1),
        "put_rows_per_s": round(rows_n / put_s, 1),
        "put_over_import": round(put_s / import_s, 1),
    }
    table = [
        (f"import {rows_n:,} reactions (JSONL)", f"{import_s:,.1f} s, {rows_n / import_s:,.0f}/s"),
        ("raw batch_write_item, same items", f"{raw_s:,.1f} s, {rows_n / raw_s:,.0f}/s"),
        ("import / raw (goal <= 1.3)", f"{import_s / raw_s:.2f}x"),
        ("re-run of the import (0 written)", f"{rerun_s:,.1f} s"),
        (
            f"PUT one by one ({args.put_sample} sampled, scaled)",
            f"{put_s:,.0f} s, {rows_n / put_s:,.0f}/s",
        ),
        ("PUTs / import", f"{put_s / import_s:.0f}x"),
    ]
    print_report(table, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

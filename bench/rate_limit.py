"""What per-key rate limiting costs a request: p50 latency with the token bucket on vs off.

Starts the local stack in-process (embedded moto server, Chalice's local server on 127.0.0.1)
and sends the same requests with the container's limiter on and off, alternating request by
request so background noise on a shared machine hits both alike:

* ``PUT /v1/reactions`` (one UpdateItem of its own): p50 / p90 latency, on vs off;
* ``POST /v1/events`` with 100 events per batch: events/s, on vs off (the ingest bench's path);
* one bucket write on its own (a key's first request, or any request of a quiet key: no lease
  to spend), p50 against a GetItem on the same table as the baseline.

A busy key spends leased tokens and writes once per several requests; a quiet key pays one
conditional UpdateItem per request.

Usage::

    python bench/rate_limit.py [--requests 300] [--batches 20] [--json]

With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _report import print_report

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "functions" / "app.py"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="reaction PUTs per side")
    parser.add_argument("--batches", type=int, default=20, help="event batches per side")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)

    import requests

    from learnloop.api import get_services
    from learnloop.api.ratelimit import limits_from_settings
    from learnloop_tools.local import Runner

    with (
        tempfile.TemporaryDirectory() as tmp,
        Runner(port=0, state_dir=tmp, snapshot_seconds=0, app_path=APP) as runner,
    ):
        session = requests.Session()
        session.headers.update(
            {"Authorization": f"Bearer {runner.keys['ingest']}", "Content-Type": "application/json"}
        )
        limiter = get_services().rate_limiter
        limits_on = limits_from_settings(runner.settings)
        run = uuid.uuid4().hex[:6]

        def reaction(i: int) -> float:
            body = {
                "user_id": f"u{i % 50}",
                "content_type": "meme",
                "external_id": f"m{i}",
                "reaction": "like",
            }
            started = time.perf_counter()
            reply = session.put(f"{runner.api_url}/v1/reactions", json=body)
            elapsed = time.perf_counter() - started
            reply.raise_for_status()
            return elapsed

        def batch(side: str, b: int) -> float:
            occurred = datetime(2026, 11, 20, 10, tzinfo=UTC).isoformat()
            body = {
                "events": [
                    {
                        "event_id": f"{run}-{side}-{b}-{i}",
                        "type": "alert_shown",
                        "user_id": f"u{i % 20}",
                        "occurred_at": occurred,
                        "properties": {"alert_id": f"a{i}"},
                    }
                    for i in range(100)
                ]
            }
            started = time.perf_counter()
            reply = session.post(f"{runner.api_url}/v1/events", json=body)
            elapsed = time.perf_counter() - started
            reply.raise_for_status()
            return elapsed

        on: list[float] = []
        off: list[float] = []
        reaction(-1)  # warm the connection, services and the key cache
        for i in range(args.requests):
            limiter.limits = dict(limits_on)
            on.append(reaction(2 * i))
            limiter.limits = {}
            off.append(reaction(2 * i + 1))
        events_on = events_off = 0.0
        for b in range(args.batches):
            limiter.limits = dict(limits_on)
            events_on += batch("on", b)
            limiter.limits = {}
            events_off += batch("off", b)
        limiter.limits = dict(limits_on)
        client = limiter.tables.rate_limits._get_connection().connection.client
        table = limiter.tables.rate_limits.Meta.table_name
        writes: list[float] = []
        reads: list[float] = []
        for i in range(args.requests):
            started = time.perf_counter()
            limiter.acquire(f"bench-{run}-{i}", "ingest")  # a new bucket: always one write
            writes.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.get_item(TableName=table, Key={"bucket": {"S": f"bench-{run}-{i}#ingest"}})
            reads.append(time.perf_counter() - started)

    n_events = args.batches * 100
    figures = {
        "requests_per_side": args.requests,
        "reaction_p50_ms_on": round(statistics.median(on) * 1000, 3),
        "reaction_p50_ms_off": round(statistics.median(off) * 1000, 3),
        "reaction_p90_ms_on": round(percentile(on, 0.9) * 1000, 3),
        "reaction_p90_ms_off": round(percentile(off, 0.9) * 1000, 3),
        "p50_overhead_ms": round((statistics.median(on) - statistics.median(off)) * 1000, 3),
        "events_per_s_on": round(n_events / events_on, 1),
        "events_per_s_off": round(n_events / events_off, 1),
        "events_ratio_off_over_on": round(events_on / events_off, 3),
        "bucket_write_p50_ms": round(statistics.median(writes) * 1000, 3),
        "get_item_p50_ms": round(statistics.median(reads) * 1000, 3),
    }
    rows = [
        ("PUT /v1/reactions p50, limiter on", f"{figures['reaction_p50_ms_on']:.2f} ms"),
        ("PUT /v1/reactions p50, limiter off", f"{figures['reaction_p50_ms_off']:.2f} ms"),
        ("p50 overhead of the token bucket", f"{figures['p50_overhead_ms']:+.2f} ms"),
        (
            "PUT /v1/reactions p90, on / off",
            f"{figures['reaction_p90_ms_on']:.2f} / {figures['reaction_p90_ms_off']:.2f} ms",
        ),
        ("POST /v1/events, limiter on", f"{figures['events_per_s_on']:,.0f} events/s"),
        ("POST /v1/events, limiter off", f"{figures['events_per_s_off']:,.0f} events/s"),
        ("events/s ratio off / on", f"{figures['events_ratio_off_over_on']:.3f}x"),
        ("one bucket write (quiet key), p50", f"{figures['bucket_write_p50_ms']:.2f} ms"),
        ("GetItem on the same table, p50", f"{figures['get_item_p50_ms']:.2f} ms"),
    ]
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

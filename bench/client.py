"""What learnloop.client costs over a bare HTTP session: events/s through ``POST /v1/events``.

Starts the local stack in-process (:class:`learnloop_tools.local.Runner`), then sends the same
kind of batches two ways, alternating batch by batch so background load hits both alike:

* ``Client.send_events`` (stdlib ``http.client``, event ids filled, retry bookkeeping, typed
  errors);
* a ``requests.Session`` posting pre-encoded bodies (what ``bench/ingest.py`` measures).

Usage::

    python bench/client.py [--batches 20] [--batch-size 100] [--json]

With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
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


def events(run: str, batch: int, size: int) -> list[dict[str, Any]]:
    """``size`` alert events of 20 users; ids left to the client on its side."""
    return [
        {
            "type": "alert_shown",
            "user_id": f"{run}-u{i % 20}",
            "occurred_at": (OCCURRED + timedelta(seconds=batch * size + i)).isoformat(),
            "properties": {"alert_id": f"{run}-{batch}-{i}", "alert_type": "price"},
        }
        for i in range(size)
    ]


def bench(runner: Any, batches: int, size: int) -> dict[str, float]:
    import requests

    from learnloop.client import Client

    key = runner.keys["ingest"]
    client = Client(runner.api_url, key=key)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    run = uuid.uuid4().hex[:6]
    client.send_events(events(f"warmc{run}", 0, size))  # connections, services, auth cache
    session.post(f"{runner.api_url}/v1/events", json={"events": events(f"warmr{run}", 0, size)})
    client_s = raw_s = 0.0
    for batch in range(batches):
        mine = events(f"c{run}", batch, size)
        theirs = json.dumps(
            {
                "events": [
                    {**e, "event_id": uuid.uuid4().hex} for e in events(f"r{run}", batch, size)
                ]
            }
        )
        started = time.perf_counter()
        summary = client.send_events(mine, batch_size=size)
        client_s += time.perf_counter() - started
        assert summary.totals["accepted"] == size, summary
        started = time.perf_counter()
        reply = session.post(f"{runner.api_url}/v1/events", data=theirs)
        raw_s += time.perf_counter() - started
        assert reply.status_code == 200 and reply.json()["accepted"] == size, reply.text
    total = batches * size
    return {"client_events_per_s": total / client_s, "requests_events_per_s": total / raw_s}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)

    from learnloop_tools.local import Runner

    with (
        tempfile.TemporaryDirectory() as tmp,
        Runner(port=0, state_dir=tmp, snapshot_seconds=0, app_path=APP) as runner,
    ):
        rates = bench(runner, args.batches, args.batch_size)
    ratio = rates["requests_events_per_s"] / rates["client_events_per_s"]
    figures = {
        "events": args.batches * args.batch_size,
        "batch_size": args.batch_size,
        "client_events_per_s": round(rates["client_events_per_s"], 1),
        "requests_events_per_s": round(rates["requests_events_per_s"], 1),
        "ratio_requests_over_client": round(ratio, 3),
    }
    rows = [
        ("learnloop.client send_events", f"{rates['client_events_per_s']:,.0f} events/s"),
        ("requests.Session, same bodies", f"{rates['requests_events_per_s']:,.0f} events/s"),
        ("ratio requests / client", f"{ratio:.2f}x"),
    ]
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

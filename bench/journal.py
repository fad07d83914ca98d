"""The trading journal: ingest with derived records, and the admin analytics over a month.

Seeds ``--users`` traders over ``--days`` days into an embedded moto server: each trader closes
``--trades`` trades a day (a third flagged ``pattern_detected``), gets an insight a week and
votes on it with an ``insight_helpful`` event. It measures

* ingest: events per second through :func:`learnloop.journal.events.ingest_journal_events`
  (events plus their occurrences and verdicts) against plain
  :func:`learnloop.ingest.ingest_events` on the same batches (a second stage);
* the daily rollup of every day of the range (with the journal section the admin routes read),
  then the admin reads over the whole range from it: activity (DAU/WAU/MAU, retention),
  pattern → outcome, insight effectiveness and quality.

Usage::

    python bench/journal.py [--users 100] [--days 28] [--trades 3] [--json]

With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import print_report

FIRST = date(2026, 10, 26)


def batches(users: int, days: int, trades: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for d in range(days):
        day = FIRST + timedelta(days=d)
        for u in range(users):
            user = f"trader-{u}"
            for t in range(trades):
                at = datetime(day.year, day.month, day.day, 9 + t, tzinfo=UTC).isoformat()
                trade = f"{user}-{d}-{t}"
                pnl = round(rng.gauss(0, 10), 2)
                events.append(
                    {
                        "type": "trade_closed",
                        "user_id": user,
                        "occurred_at": at,
                        "properties": {"trade_id": trade, "pnl": pnl},
                    }
                )
                if rng.random() < 1 / 3:
                    pattern = rng.choice(["revenge_trading", "fomo", "overtrading"])
                    events.append(
                        {
                            "type": "pattern_detected",
                            "user_id": user,
                            "occurred_at": at,
                            "properties": {"pattern_type": pattern, "trade_id": trade},
                        }
                    )
            if d % 7 == u % 7:
                at = datetime(day.year, day.month, day.day, 20, tzinfo=UTC).isoformat()
                insight = f"i-{user}-{d}"
                events.append(
                    {
                        "type": "insight_generated",
                        "user_id": user,
                        "occurred_at": at,
                        "properties": {"insight_id": insight, "insight_type": "risk"},
                    }
                )
                events.append(
                    {
                        "type": "insight_helpful" if rng.random() < 0.6 else "insight_not_helpful",
                        "user_id": user,
                        "occurred_at": at,
                        "properties": {"insight_id": insight, "engagement_seconds": 30},
                    }
                )
    return [{"events": events[i : i + 500]} for i in range(0, len(events), 500)]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--trades", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")

    from learnloop.ingest import ingest_events
    from learnloop.journal.analytics import activity_report, insights_report, patterns_report
    from learnloop.journal.events import ingest_journal_events
    from learnloop.journal.rollup import ROLLUP_SECTIONS
    from learnloop.rollups.job import rollup_day
    from learnloop.settings import Settings
    from learnloop.store import Tables, bootstrap
    from learnloop_tools.local import EmbeddedMotoServer

    bodies = batches(args.users, args.days, args.trades)
    n_events = sum(len(b["events"]) for b in bodies)
    now = datetime.combine(FIRST + timedelta(days=args.days), datetime.min.time(), UTC)
    last = FIRST + timedelta(days=args.days - 1)
    query = {"from": FIRST.isoformat(), "to": last.isoformat()}
    server = EmbeddedMotoServer(port=0)
    server.start()
    try:

        def stage(name: str) -> Tables:
            settings = Settings(
                stage=name, table_prefix=f"{name}-", bucket=name, endpoint_url=server.endpoint_url
            )
            tables = Tables(settings)
            bootstrap(settings, tables=tables)
            return tables

        plain, journal = stage("plain"), stage("journal")
        started = time.perf_counter()
        for body in bodies:
            ingest_events(plain, body, now=now)
        plain_s = time.perf_counter() - started
        started = time.perf_counter()
        for body in bodies:
            ingest_journal_events(journal, body, now=now)
        journal_s = time.perf_counter() - started

        def timed(run: Any) -> tuple[Any, float]:
            started = time.perf_counter()
            result = run()
            return result, time.perf_counter() - started

        _, rollups_s = timed(
            lambda: [
                rollup_day(journal, FIRST + timedelta(days=d), sections=ROLLUP_SECTIONS)
                for d in range(args.days)
            ]
        )
        rollup_s = rollups_s / args.days
        today = last + timedelta(days=2)  # every day of the range is past: read from the rollup
        _, activity_s = timed(lambda: activity_report(journal, query, today=today))
        patterns, patterns_s = timed(lambda: patterns_report(journal, query, today=today))
        _, insights_s = timed(lambda: insights_report(journal, query, today=today))
        occurrences = sum(p["occurrences"] for p in patterns["patterns"])
    finally:
        server.stop()

    figures = {
        "users": args.users,
        "days": args.days,
        "events": n_events,
        "occurrences": occurrences,
        "ingest_plain_events_per_s": round(n_events / plain_s),
        "ingest_journal_events_per_s": round(n_events / journal_s),
        "activity_s": round(activity_s, 2),
        "patterns_s": round(patterns_s, 2),
        "insights_s": round(insights_s, 2),
        "rollup_day_s": round(rollup_s, 2),
    }
    rows = [
        ("events (users x days)", f"{n_events:,} ({args.users} x {args.days})"),
        ("ingest, events only", f"{figures['ingest_plain_events_per_s']:,} events/s"),
        (
            "ingest, with occurrences + verdicts",
            f"{figures['ingest_journal_events_per_s']:,} events/s",
        ),
        ("GET /v1/admin/journal/activity", f"{activity_s:.2f} s"),
        ("GET /v1/admin/journal/patterns", f"{patterns_s:.2f} s"),
        ("GET /v1/admin/journal/insights", f"{insights_s:.2f} s"),
        ("rollup of one day (mean)", f"{rollup_s:.2f} s"),
    ]
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

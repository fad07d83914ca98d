"""Benchmark: ``learn`` over N new outcomes, chained invocations of a deadline vs one run.

Two stages of the embedded stack (the local stack's moto server) get the same N outcomes and
their content; one runs ``learn`` uninterrupted, the other as ``learnloop job run learn
--deadline-seconds S`` does (each invocation stops before S seconds and the next resumes from
the ledger checkpoint). Reported: invocations, total and per-outcome seconds of both, and
whether the chained run's result and bandit arms equal the uninterrupted run's.

Usage::

    PYTHONPATH=layers:. python bench/learn_chain.py [--outcomes 100000] [--deadline 60] [--json]

``measure(outcomes, deadline_seconds)`` is what ``bench/scale.py`` calls. With ``--json``
the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def _stage(endpoint: str) -> Any:
    from learnloop.settings import Settings
    from learnloop.store import Tables, bootstrap
    from learnloop.store.clients import s3_client

    stage = f"b{uuid.uuid4().hex[:8]}"
    settings = Settings(
        stage=stage,
        table_prefix=f"{stage}-",
        bucket=f"{stage}-bucket",
        endpoint_url=endpoint,
        pseudonym_secret="bench-secret",
    )
    tables = Tables(settings)
    bootstrap(settings, tables=tables, s3=s3_client(settings))
    return tables


def _plant(tables: Any, n: int) -> None:
    """``n`` decisions' content and outcomes, through the batch ingest functions, 100 a call."""
    from learnloop.ingest import ingest_outcomes
    from learnloop.ingest.content import ingest_content

    contents: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for i in range(n):
        posted = NOW - timedelta(days=1, hours=i % 24)
        contents.append(
            {
                "decision_id": f"d-{i}",
                "posted_at": posted.isoformat(),
                "bandit_arm": f"arm-{i % 7}",
                "content_type": "educational",
                "quality_score": (i % 10) / 10,
                "novelty_score": (i % 7) / 7,
                "expertise_level": 0.5,
                "length": "short",
            }
        )
        batch.append(
            {
                "decision_id": f"d-{i}",
                "collected_at": (posted + timedelta(hours=6)).isoformat(),
                "impressions": 1000,
                "likes": (i * 37) % 120,
            }
        )
        if len(batch) == 100:
            ingest_content(tables, {"content": contents}, now=NOW)
            ingest_outcomes(tables, {"outcomes": batch}, now=NOW)
            contents, batch = [], []
    if batch:
        ingest_content(tables, {"content": contents}, now=NOW)
        ingest_outcomes(tables, {"outcomes": batch}, now=NOW)


def _copy(source: Any, target: Any) -> None:
    """The content and outcomes of ``source`` into ``target``, item for item (raw)."""
    client = source.content._get_connection().connection._client
    for entity in ("content", "outcomes"):
        table = target.model(entity).Meta.table_name
        pages = client.get_paginator("scan").paginate(
            TableName=source.model(entity).Meta.table_name,
            PaginationConfig={"PageSize": 200},  # short requests: moto scans slowly
        )
        items = [item for page in pages for item in page.get("Items", [])]
        for start in range(0, len(items), 25):
            pending: Any = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def _arms(tables: Any) -> dict[tuple[str, str], tuple[float, ...]]:
    return {
        (a.scope, a.arm): (a.successes, a.failures, a.pulls, a.reward_sum)
        for a in tables.bandit_arms.scan()
    }


def measure(
    outcomes: int, deadline_seconds: float, *, profile: bool = False, reference: bool = True
) -> dict[str, Any]:
    """Ingest ``outcomes`` into two stages; run ``learn`` once and chained under
    ``deadline_seconds``; return invocations, seconds and whether the results are equal.
    ``profile`` prints the uninterrupted run's cProfile (cumulative) on stderr;
    ``reference=False`` runs the chained one alone (one stage; equality not checked)."""
    sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT)]
    # Fake credentials: the embedded stack accepts any, and nothing reaches a real account.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from learnloop.jobs import run_job, run_job_chained
    from learnloop.jobs.deadline import Deadline
    from learnloop_tools.local.moto_server import EmbeddedMotoServer

    server = EmbeddedMotoServer(port=0)
    server.start()
    try:
        once = _stage(server.endpoint_url)
        cut = _stage(server.endpoint_url) if reference else once
        started = time.perf_counter()
        _plant(once, outcomes)
        ingest_seconds = time.perf_counter() - started
        if reference:
            _copy(once, cut)
        started = time.perf_counter()
        if not reference:
            expected = None
        elif profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            expected = profiler.runcall(run_job, "learn", once, NOW)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        else:
            expected = run_job("learn", once, NOW)
        once_seconds = time.perf_counter() - started
        started = time.perf_counter()
        result = run_job_chained(
            "learn", cut, NOW, deadline=lambda: Deadline.after(deadline_seconds, margin=0.0)
        )
        chained_seconds = time.perf_counter() - started
        same_arms = _arms(cut) == _arms(once) if reference else None  # before it stops
    finally:
        server.stop()
    invocations = result.pop("invocations")

    def comparable(r: dict[str, Any]) -> dict[str, Any]:
        # Model versions are stamped with the wall clock: compare what was trained, not when.
        return {"bandits": r["bandits"], "models": sorted(r.get("models") or {})}

    return {
        "outcomes": outcomes,
        "deadline_seconds": deadline_seconds,
        "invocations": invocations,
        "ingest_seconds": round(ingest_seconds, 2),
        "uninterrupted_seconds": round(once_seconds, 2) if reference else None,
        "chained_seconds": round(chained_seconds, 2),
        "chained_ms_per_outcome": round(1000 * chained_seconds / max(outcomes, 1), 3),
        "uninterrupted_ms_per_outcome": (
            round(1000 * once_seconds / max(outcomes, 1), 3) if reference else None
        ),
        "same_result": comparable(result) == comparable(expected) if expected else None,
        "same_arms": same_arms,
        "counted": result["bandits"]["counted"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=100_000)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile of the one run")
    parser.add_argument(
        "--no-reference", action="store_true", help="the chained run alone (no equality check)"
    )
    args = parser.parse_args()
    figures = measure(
        args.outcomes, args.deadline, profile=args.profile, reference=not args.no_reference
    )
    sys.path.insert(0, str(_ROOT))
    from bench._report import print_report

    print_report([(k, str(v)) for k, v in figures.items()], figures, as_json=args.json)


if __name__ == "__main__":
    main()

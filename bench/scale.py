"""Capacity and cost model: measured units per event, request, job row and training row, the
1M/10M/100M events-a-day table, the first limit each route and job reaches, and a bounded
load test of the local stack.

Starts the local stack in-process (:class:`learnloop_tools.local.Runner`: embedded moto and
Chalice's local server on 127.0.0.1) and runs the sections of :data:`SECTIONS` in order, each
a function ``(Context) -> dict`` whose figures land under its name:

* ``requests``: each route family's calls, counted by :mod:`learnloop_tools.scale.units`
  (botocore calls → DynamoDB read/write units by the published rules, S3 requests and bytes);
* ``jobs``: the scheduled jobs over the rows the requests made (``learn`` per outcome,
  ``rollup_daily`` per event, ``load_decisions`` per decision) and training per training row;
* ``load``: requests/s, p50 and p99 per route family from one client, each loop bounded by
  ``--load-requests`` and ``--load-seconds``, with the counter off;
* ``model``: the per-unit figures times a traffic mix at 1M, 10M and 100M events a day → monthly
  cost (:mod:`learnloop_tools.scale.cost`, us-east-1 on-demand prices), the first limit per
  route and job, and Amazon Personalize's price for the same traffic.

Add a section by appending ``(name, function)`` to :data:`SECTIONS` (``learn_chain`` runs
``bench/learn_chain.py``'s ``measure(outcomes, deadline_seconds)`` when ``--chain-outcomes``
is above 0).

Usage::

    python bench/scale.py [--requests 20] [--load-requests 200] [--load-seconds 15] [--json]

With ``--json`` the last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _report import print_report

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "functions" / "app.py"
CONFIG = ROOT / "functions" / ".chalice" / "config.json"
BATCH = 25  # events per POST /v1/events in the traffic mix and the measurement

#: The traffic mix: route-family requests (and job rows) per ingested event. An assumption,
#: stated in docs/scale.md: one decision (bandit select) per 10 events, half of them clicked,
#: one recommendation list per 20 events, one post (content + its outcome) per 50.
MIX: dict[str, float] = {
    "events": 1.0 / BATCH,
    "reactions": 0.05,
    "select": 0.1,
    "feedback": 0.05,
    "recommendations": 0.05,
    "content": 0.02,
    "outcomes": 0.02,
    "predict": 0.02,
    "sentiment": 0.01,
    # jobs, per row
    "job_rollup_daily": 1.0,  # every event is rolled up once
    "job_learn": 0.02,  # every outcome is counted once
    "job_load_decisions": 0.1,  # every decision is loaded once
}
#: Rows each training run reads: the outcomes of the training window (60 days), daily.
TRAINING_WINDOW_DAYS = 60
#: The I/O-bound duration estimate for AWS (moto is much slower than DynamoDB, more so on a
#: shared machine): seconds per DynamoDB request, per S3 request, and per API request's own
#: work (parsing, validation, auth cache, JSON).
AWS_DYNAMODB_SECONDS = 0.010
AWS_S3_SECONDS = 0.020
AWS_REQUEST_SECONDS = 0.005
#: ... and per row a job handles (deserialising an item, the job's own Python work): assumed.
AWS_ROW_SECONDS = 0.000050
#: A Query page holds at most 1 MB: a job's reads need at least its read units' bytes / 1 MB
#: requests (eventually consistent: 8 KB per read unit).
PAGE_BYTES = 1024 * 1024
#: Peak hour over the average: limits are checked at the peak.
PEAK_FACTOR = 3.0
LEVELS = (1_000_000, 10_000_000, 100_000_000)


@dataclass
class Context:
    """What the sections share: arguments, the running stack, an HTTP session, figures."""

    args: argparse.Namespace
    runner: Any
    session: Any
    figures: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.runner.api_url}{path}"

    def call(self, method: str, path: str, body: Any = None, *, key: str = "ingest") -> Any:
        headers = {"Authorization": f"Bearer {self.runner.keys[key]}"}
        reply = self.session.request(method, self.url(path), json=body, headers=headers)
        return reply


# --- the requests ----------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _families(ctx: Context) -> dict[str, Callable[[int], tuple[str, str, Any, str]]]:
    """Route family → a function of a sequence number giving ``(method, path, body, key)``."""
    run = ctx.state.setdefault("run", uuid.uuid4().hex[:6])
    yesterday = _now() - timedelta(days=1)
    now = _now()
    decisions: list[str] = ctx.state.setdefault("decisions", [])

    def events(i: int) -> tuple[str, str, Any, str]:
        return (
            "POST",
            "/v1/events",
            {
                "events": [
                    {
                        "event_id": f"{run}-e{i}-{j}",
                        "type": "alert_shown",
                        "user_id": f"{run}-u{j % 20}",
                        # within yesterday whatever i is (a day has 86,400 seconds)
                        "occurred_at": (
                            yesterday.replace(hour=0, minute=0, second=0)
                            + timedelta(seconds=(i * BATCH + j) % 86_000)
                        ).isoformat(),
                        "session_id": f"s{i}",
                        "properties": {"alert_id": f"a{j}", "alert_type": "price"},
                    }
                    for j in range(BATCH)
                ]
            },
            "ingest",
        )

    def reactions(i: int) -> tuple[str, str, Any, str]:
        body = {
            "user_id": f"{run}-u{i % 20}",
            "content_type": "meme",
            "external_id": f"m{i % 50}",
            "reaction": "like" if i % 3 else "dislike",
        }
        return "PUT", "/v1/reactions", body, "ingest"

    def content(i: int) -> tuple[str, str, Any, str]:
        body = {
            "posted_at": (now - timedelta(hours=2, minutes=i)).isoformat(),
            "content_type": ["educational", "factual", "entertaining"][i % 3],
            "bandit_arm": f"hook:{['question', 'stat', 'story'][i % 3]}",
            "quality_score": round(0.3 + 0.6 * ((i * 37) % 100) / 100, 3),
            "novelty_score": round(((i * 53) % 100) / 100, 3),
            "expertise_level": 0.5,
            "text": "Why do most traders lose money? " * (1 + i % 4),
        }
        return "PUT", f"/v1/content/{run}-d{i}", body, "ingest"

    def outcomes(i: int) -> tuple[str, str, Any, str]:
        quality = 0.3 + 0.6 * ((i * 37) % 100) / 100
        body = {
            "decision_id": f"{run}-d{i}",
            "collected_at": (now - timedelta(minutes=30)).isoformat(),
            "impressions": 400,
            "likes": int(40 * quality),
            "retweets": 2,
            "replies": 1,
            "bookmarks": 1,
            "followers_gained": i % 2,
            "viral_score": float(i % 100),
        }
        return "POST", "/v1/outcomes", body, "ingest"

    def select(i: int) -> tuple[str, str, Any, str]:
        return "POST", "/v1/bandit/select", {"scope": "content"}, "read"

    def feedback(i: int) -> tuple[str, str, Any, str]:
        decision = decisions[i % len(decisions)] if decisions else f"{run}-none"
        return "POST", "/v1/feedback", {"decision_id": decision, "type": "click"}, "ingest"

    def recommendations(i: int) -> tuple[str, str, Any, str]:
        return "GET", f"/v1/recommendations?user_id={run}-u{i % 20}&k=10", None, "read"

    def predict(i: int) -> tuple[str, str, Any, str]:
        row = {"quality_score": 0.8, "content_type": "educational", "posted_hour": i % 24}
        return "POST", "/v1/predict/engagement", {"rows": [{**row, "length": "long"}]}, "read"

    def sentiment(i: int) -> tuple[str, str, Any, str]:
        texts = [f"BTC dumped {i % 30}% overnight, rekt", "ETH looks strong into the weekend"]
        return "POST", "/v1/sentiment", {"texts": texts[: 1 + i % 2]}, "read"

    return {
        "events": events,
        "reactions": reactions,
        "content": content,
        "outcomes": outcomes,
        "select": select,
        "feedback": feedback,
        "recommendations": recommendations,
        "predict": predict,
        "sentiment": sentiment,
    }


#: Families measured before the jobs (they make the rows the jobs read) and after them (they
#: need what the jobs made: a trained predictor, logged decisions).
BEFORE_JOBS = ("events", "reactions", "content", "outcomes", "sentiment")
AFTER_JOBS = ("select", "feedback", "recommendations", "predict")


def _per_request(usage: Any, n: int, seconds: float, *, per: int = 1) -> dict[str, Any]:
    """One request's (or, with ``per``, one row's) share of a counted block."""
    figures = usage.as_dict()
    divisor = n * per
    by_day = sum(v["wcu"] for k, v in figures["by_table"].items() if k.endswith("/by_day"))
    return {
        "rcu": figures["rcu"] / divisor,
        "wcu": figures["wcu"] / divisor,
        "by_day_wcu": by_day / divisor,
        "dynamodb_requests": figures["dynamodb_requests"] / divisor,
        "s3_tier1": figures["s3_tier1_requests"] / divisor,
        "s3_tier2": figures["s3_tier2_requests"] / divisor,
        "s3_bytes_in": figures["s3_bytes_in"] / divisor,
        "s3_bytes_out": figures["s3_bytes_out"] / divisor,
        "wall_seconds": seconds / divisor,
        "dynamodb_calls": {k: v / divisor for k, v in figures["dynamodb_calls"].items()},
        "by_table": {
            k: {"rcu": v["rcu"] / divisor, "wcu": v["wcu"] / divisor}
            for k, v in figures["by_table"].items()
        },
    }


def _measure_family(ctx: Context, name: str, n: int) -> dict[str, Any]:
    from learnloop_tools.scale.units import counting

    make = _families(ctx)[name]
    offset = ctx.state.setdefault("offset", {}).get(name, 0)
    statuses: dict[str, int] = {}
    with counting() as counter:
        started = time.perf_counter()
        for i in range(offset, offset + n):
            method, path, body, key = make(i)
            reply = ctx.call(method, path, body, key=key)
            statuses[str(reply.status_code)] = statuses.get(str(reply.status_code), 0) + 1
            if name == "select" and reply.status_code == 200:
                ctx.state["decisions"].append(reply.json().get("decision_id"))
        seconds = time.perf_counter() - started
    ctx.state["offset"][name] = offset + n
    figures = _per_request(counter.usage, n, seconds)
    figures["statuses"] = statuses
    if name == "events":
        figures["per_event"] = _per_request(counter.usage, n, seconds, per=BATCH)
    return figures


def section_requests(ctx: Context) -> dict[str, Any]:
    """Counted units per request of each route family (first half: before the jobs)."""
    # Warm every family once, uncounted: container start-up and caches are not per request.
    for name, make in _families(ctx).items():
        if name in BEFORE_JOBS:
            method, path, body, key = make(10_000 + 0)
            ctx.call(method, path, body, key=key)
    n = ctx.args.requests
    return {name: _measure_family(ctx, name, n) for name in BEFORE_JOBS}


def section_jobs(ctx: Context) -> dict[str, Any]:
    """Counted units per row of the scheduled jobs, then the request families that need them.

    A job has a fixed part (its queries over every day partition of its window, imports, a
    model's conversion) and a part per row; each is run at two sizes and the per-row figure is
    the difference over the added rows (the fixed part is reported apart).
    """
    from learnloop.jobs.learn import learn
    from learnloop.journal.rollup import ROLLUP_SECTIONS
    from learnloop.predictors.training import joined_rows
    from learnloop.rollups.job import rollup_daily
    from learnloop.store import Tables
    from learnloop_tools.scale.units import counting

    out: dict[str, Any] = {}
    tables = Tables(ctx.runner.settings)
    n = ctx.args.job_rows

    def counted(fn: Callable[[], Any]) -> tuple[Any, dict[str, Any], float]:
        with counting() as counter:
            started = time.perf_counter()
            result = fn()
            seconds = time.perf_counter() - started
        return result, counter.usage.as_dict(), seconds

    def slope(
        first: tuple[dict[str, Any], float, int], second: tuple[dict[str, Any], float, int]
    ) -> dict[str, Any]:
        """Per-row units: the difference of two runs over the difference of their rows."""
        (u1, s1, r1), (u2, s2, r2) = first, second
        added = max(1, r2 - r1)
        per_row = {
            "rcu": (u2["rcu"] - u1["rcu"]) / added,
            "wcu": (u2["wcu"] - u1["wcu"]) / added,
            "s3_tier1": (u2["s3_tier1_requests"] - u1["s3_tier1_requests"]) / added,
            "s3_tier2": (u2["s3_tier2_requests"] - u1["s3_tier2_requests"]) / added,
            "s3_bytes_in": 0.0,
            "dynamodb_requests": (u2["dynamodb_requests"] - u1["dynamodb_requests"]) / added,
            "wall_seconds": max(0.0, (s2 - s1) / added),
        }
        fixed = {
            "rcu": u1["rcu"] - r1 * per_row["rcu"],
            "wcu": u1["wcu"] - r1 * per_row["wcu"],
            "dynamodb_requests": u1["dynamodb_requests"] - r1 * per_row["dynamodb_requests"],
            "seconds": s1 - r1 * per_row["wall_seconds"],
        }
        runs = [
            {"rows": r, "rcu": u["rcu"], "wcu": u["wcu"], "seconds": round(t, 3)}
            for r, u, t in ((r1, u1, s1), (r2, u2, s2))
        ]
        return {**per_row, "fixed": fixed, "runs": runs}

    def post(family: str, count: int) -> None:
        make = _families(ctx)[family]
        offset = ctx.state.setdefault("offset", {}).get(family, 0)
        for i in range(offset, offset + count):
            method, path, body, key = make(i)
            reply = ctx.call(method, path, body, key=key)
            assert reply.status_code < 300, (family, reply.status_code, reply.text[:300])
        ctx.state["offset"][family] = offset + count

    # rollup_daily re-rolls the whole of yesterday: the batches so far plus n, then plus 2n more
    posted = ctx.state.get("offset", {}).get("events", 0) + 1  # + the warm-up batch
    post("events", n)
    _, u1, s1 = counted(lambda: rollup_daily(tables, _now(), sections=ROLLUP_SECTIONS))
    post("events", 2 * n)
    _, u2, s2 = counted(lambda: rollup_daily(tables, _now(), sections=ROLLUP_SECTIONS))
    out["rollup_daily"] = slope((u1, s1, (posted + n) * BATCH), (u2, s2, (posted + 3 * n) * BATCH))

    # learn's bandit part counts only the outcomes new since its last run; a first run takes
    # in the backlog (and reads back to its first watermark), then runs of n and 2n outcomes
    post("content", 3 * n)
    learn(tables, _now(), train=False)
    post("outcomes", n)
    r1, u1, s1 = counted(lambda: learn(tables, _now(), train=False))
    post("outcomes", 2 * n)
    r2, u2, s2 = counted(lambda: learn(tables, _now(), train=False))
    out["learn"] = slope((u1, s1, r1.bandits.counted), (u2, s2, r2.bandits.counted))

    # the training read: the joined rows of the window, at two sizes
    rows1, u1, s1 = counted(lambda: joined_rows(tables, _now() + timedelta(minutes=1)))
    post("content", 3 * n)
    post("outcomes", 3 * n)
    rows2, u2, s2 = counted(lambda: joined_rows(tables, _now() + timedelta(minutes=1)))
    out["training_read"] = slope((u1, s1, len(rows1)), (u2, s2, len(rows2)))

    # the whole learn job once (trains and publishes both predictors): its fixed cost
    result, usage, seconds = counted(lambda: ctx.runner.run_schedule("learn"))
    out["learn_run"] = {**usage, "seconds": seconds, "result": _summary(result)}
    ctx.runner.deliver_bucket_events()  # registration of what learn published

    requests = ctx.figures.setdefault("requests", {})
    requests["select"] = _measure_family(ctx, "select", ctx.args.requests)
    # decisions: loaded from the spool (AWS: from the API's log lines), per decision
    loaded, usage, seconds = counted(ctx.runner.load_decisions)
    decisions = max(1, int(loaded.get("loaded", 0)))
    out["load_decisions"] = _per_request(_Usage(usage), 1, seconds, per=decisions)
    out["load_decisions"]["rows"] = decisions
    for name in AFTER_JOBS:
        if name != "select":
            requests[name] = _measure_family(ctx, name, ctx.args.requests)
    return out


class _Usage:
    """A counted ``as_dict()`` dressed as a :class:`~learnloop_tools.scale.units.Usage`."""

    def __init__(self, figures: dict[str, Any]) -> None:
        self._figures = figures

    def as_dict(self) -> dict[str, Any]:
        return self._figures


def section_training(ctx: Context) -> dict[str, Any]:
    """Seconds per training row of the estimators, in memory and out of core, on synthetic
    engagement rows at two sizes (the slope: a run's fixed part is apart)."""
    import numpy as np

    from learnloop.predictors.training import fit_predictor

    rng = np.random.default_rng(0)
    start = datetime(2026, 10, 1, tzinfo=UTC)

    def rows(count: int) -> tuple[list[dict[str, Any]], list[float], list[str]]:
        quality = rng.uniform(size=count)
        features = [
            {
                "quality_score": float(q),
                "content_type": ["educational", "factual", "meme"][i % 3],
                "posted_at": (start + timedelta(minutes=i)).isoformat(),
                "length": ["short", "medium", "long"][i % 3],
            }
            for i, q in enumerate(quality)
        ]
        targets = list(0.01 + 0.04 * quality + 0.005 * rng.normal(size=count))
        return features, targets, [f["posted_at"] for f in features]

    out: dict[str, Any] = {}
    small, large = ctx.args.train_rows // 5, ctx.args.train_rows
    for path, threshold in (("memory", 10**12), ("streaming", 0)):
        times = []
        for count in (small, large):
            features, targets, stamps = rows(count)
            started = time.perf_counter()
            fit_predictor("engagement", features, targets, stamps, streaming_rows=threshold)
            times.append(time.perf_counter() - started)
        out[path] = {
            "rows": [small, large],
            "seconds": [round(t, 3) for t in times],
            "seconds_per_row": (times[1] - times[0]) / (large - small),
        }
    return out


def _summary(result: Any) -> Any:
    """A JSON-safe, short form of a job's result."""
    value = result.to_dict() if hasattr(result, "to_dict") else result
    text = json.dumps(value, default=str)
    return json.loads(text) if len(text) < 2_000 else text[:2_000]


# --- the load test ---------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def section_load(ctx: Context) -> dict[str, Any]:
    """Requests/s, p50 and p99 per family from one client, counter off, loops bounded."""
    out: dict[str, Any] = {}
    families = _families(ctx)
    for name in (*BEFORE_JOBS, *AFTER_JOBS):
        make = families[name]
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        started = time.perf_counter()
        deadline = started + ctx.args.load_seconds
        i = 100_000
        while len(latencies) < ctx.args.load_requests and time.perf_counter() < deadline:
            method, path, body, key = make(i)
            t0 = time.perf_counter()
            reply = ctx.call(method, path, body, key=key)
            latencies.append(time.perf_counter() - t0)
            statuses[str(reply.status_code)] = statuses.get(str(reply.status_code), 0) + 1
            i += 1
        elapsed = time.perf_counter() - started
        out[name] = {
            "requests": len(latencies),
            "seconds": round(elapsed, 3),
            "per_second": round(len(latencies) / elapsed, 2),
            "p50_ms": round(1000 * _percentile(latencies, 50), 2),
            "p99_ms": round(1000 * _percentile(latencies, 99), 2),
            "mean_ms": round(1000 * statistics.fmean(latencies), 2),
            "statuses": statuses,
        }
    return out


# --- the model -------------------------------------------------------------------------------


def _memory_gb() -> dict[str, float]:
    """Configured Lambda memory (GB): the API functions' and each job's."""
    config = json.loads(CONFIG.read_text())
    memory = {"api": config["lambda_memory_size"] / 1024}
    for name, entry in config.get("lambda_functions", {}).items():
        memory[name] = entry.get("lambda_memory_size", config["lambda_memory_size"]) / 1024
    return memory


def section_model(ctx: Context) -> dict[str, Any]:
    """1M/10M/100M events a day: monthly cost per service, Personalize, first limits.

    Units of DynamoDB and S3 are the counted ones. Lambda durations come two ways: ``moto``,
    the times measured here (an upper bound: moto and this shared machine are slow), and
    ``aws``, an I/O-bound estimate (:data:`AWS_DYNAMODB_SECONDS` per DynamoDB request,
    :data:`AWS_S3_SECONDS` per S3 request, :data:`AWS_REQUEST_SECONDS` per API request, plus
    the estimators' measured fit time per training row). ``levels`` uses ``aws``;
    ``levels_moto`` the measured times.
    """
    requests = ctx.figures["requests"]
    shards = (
        ctx.runner.settings.day_shards
        if ctx.runner is not None
        else int(ctx.figures.get("model", {}).get("day_shards", 4))
    )
    out: dict[str, Any] = {
        "mix_per_event": MIX,
        "training_window_days": TRAINING_WINDOW_DAYS,
        "peak_factor": PEAK_FACTOR,
        "day_shards": shards,
        "lambda_memory_gb": _memory_gb(),
        "aws_latency": {
            "dynamodb_request_s": AWS_DYNAMODB_SECONDS,
            "s3_request_s": AWS_S3_SECONDS,
            "api_request_s": AWS_REQUEST_SECONDS,
            "job_row_s": AWS_ROW_SECONDS,
        },
        "event_bytes": 1024 * requests["events"]["per_event"]["wcu"] / 2,
    }
    for mode in ("aws", "moto"):
        units = _units(ctx, mode)
        out["units" if mode == "aws" else "units_moto"] = {
            k: {m: round(v, 6) for m, v in u.items()} for k, u in units.items()
        }
        out["levels" if mode == "aws" else "levels_moto"] = _levels(ctx, units, shards)
    from learnloop_tools.scale.cost import Prices

    out["prices"] = {k: v for k, v in vars(Prices()).items() if not isinstance(v, tuple)}
    return out


def _units(ctx: Context, mode: str) -> dict[str, dict[str, float]]:
    """One unit of each kind (per request, per job row, per training row, per learn run)."""
    requests = ctx.figures["requests"]
    jobs = ctx.figures["jobs"]
    load = ctx.figures.get("load", {})
    memory = _memory_gb()
    counted = ("rcu", "wcu", "s3_tier1", "s3_tier2", "s3_bytes_in")

    def io_seconds(figures: dict[str, Any]) -> float:
        s3 = figures.get("s3_tier1", 0.0) + figures.get("s3_tier2", 0.0)
        return figures.get("dynamodb_requests", 0.0) * AWS_DYNAMODB_SECONDS + s3 * AWS_S3_SECONDS

    units: dict[str, dict[str, float]] = {}
    for name in (*BEFORE_JOBS, *AFTER_JOBS):
        measured = requests[name]
        if mode == "moto":  # the load test's p50, counter off
            seconds = load.get(name, {}).get("p50_ms", 1000 * measured["wall_seconds"]) / 1000
        else:
            seconds = AWS_REQUEST_SECONDS + io_seconds(measured)
        units[name] = {
            **{k: measured[k] for k in counted},
            "gb_seconds": memory["api"] * seconds,
            "seconds": seconds,
            "lambda_requests": 1.0,
            "api_requests": 1.0,
            "by_day_wcu": measured["by_day_wcu"],
        }
    for job, memory_name in (
        ("rollup_daily", "rollup_daily"),
        ("learn", "learn"),
        ("load_decisions", "api"),  # on AWS: the log subscription's loader function
    ):
        measured = jobs[job]
        seconds = measured["wall_seconds"] if mode == "moto" else _row_seconds(measured)
        units[f"job_{job}"] = {
            **{k: measured[k] for k in counted},
            "gb_seconds": memory[memory_name] * seconds,
            "seconds": seconds,
        }
    # a training row: its read (the joined rows) plus the estimator's time (the slower path)
    read = jobs["training_read"]
    fit = ctx.figures.get("training", {})
    fit_seconds = max(
        fit.get("memory", {}).get("seconds_per_row", 0.0),
        fit.get("streaming", {}).get("seconds_per_row", 0.0),
    )
    read_seconds = read["wall_seconds"] if mode == "moto" else _row_seconds(read)
    units["training_row"] = {
        **{k: read[k] for k in counted},
        "gb_seconds": memory["learn"] * (read_seconds + fit_seconds),
        "seconds": read_seconds + fit_seconds,
    }
    # learn's fixed part (training both predictors and the journal models, conversion,
    # publishing, registration); six runs a day
    run = jobs["learn_run"]
    seconds = (
        run["seconds"]
        if mode == "moto"
        else io_seconds(
            {
                "dynamodb_requests": run["dynamodb_requests"],
                "s3_tier1": run["s3_tier1_requests"],
                "s3_tier2": run["s3_tier2_requests"],
            }
        )
    )
    units["learn_fixed"] = {
        "rcu": run["rcu"],
        "wcu": run["wcu"],
        "s3_tier1": run["s3_tier1_requests"],
        "s3_tier2": run["s3_tier2_requests"],
        "gb_seconds": memory["learn"] * seconds,
        "seconds": seconds,
        "lambda_requests": 1.0,
    }
    return units


def _row_seconds(per_row: dict[str, Any]) -> float:
    """AWS estimate of one job row: its share of requests (at least its bytes read over a
    full page) at :data:`AWS_DYNAMODB_SECONDS`, plus :data:`AWS_ROW_SECONDS` of work."""
    pages = per_row.get("rcu", 0.0) * 2 * 4096 / PAGE_BYTES
    requests = max(per_row.get("dynamodb_requests", 0.0), pages)
    s3 = per_row.get("s3_tier1", 0.0) + per_row.get("s3_tier2", 0.0)
    return requests * AWS_DYNAMODB_SECONDS + s3 * AWS_S3_SECONDS + AWS_ROW_SECONDS


def _levels(ctx: Context, units: dict[str, dict[str, float]], shards: int) -> dict[str, Any]:
    """Cost, Personalize and limits at each level of :data:`LEVELS`."""
    from learnloop_tools.scale.cost import (
        Limits,
        Prices,
        Traffic,
        monthly_cost,
        personalize_cost,
        route_limits,
    )

    prices, limits = Prices(), Limits()
    memory = _memory_gb()
    event_wcu = ctx.figures["requests"]["events"]["per_event"]["wcu"]
    table: dict[str, Any] = {}
    for level in LEVELS:
        mix = Traffic(events_per_day=level, per_event=MIX).daily()
        # learn trains both predictors at each of its 6 runs a day, on the 60-day window
        mix["training_row"] = 6 * level * MIX["outcomes"] * TRAINING_WINDOW_DAYS
        mix["learn_fixed"] = 6.0
        # a month of events, content and outcomes held: an event is written twice in its
        # transaction, so its size is about half its write units in KB; posts about 1 KB
        gb = 30 * level * (event_wcu / 2 + MIX["content"] + MIX["outcomes"]) / 1024**2
        cost = monthly_cost(units, mix, prices, storage_gb=gb)
        personalize = personalize_cost(
            level,
            level * MIX["recommendations"],
            prices,
            bytes_per_event=1024 * event_wcu / 2,
            training_hours_per_month=30 * max(1.0, level / 1e6),
        )
        peak = {name: level * MIX[name] / 86_400 * PEAK_FACTOR for name in MIX}
        routes = [
            route_limits(
                name,
                peak[name],
                {"seconds": units[name]["seconds"], "max_wcu_one_key": units[name]["by_day_wcu"]},
                hot_partitions=shards,
                limits=limits,
            )
            for name in (*BEFORE_JOBS, *AFTER_JOBS)
        ]
        table[f"{level:,}"] = {
            "events_per_day": level,
            "monthly_cost": {k: round(v, 2) for k, v in cost.items()},
            "personalize_monthly_cost": {k: round(v, 2) for k, v in personalize.items()},
            "routes": [
                {
                    "route": r["route"],
                    "peak_per_s": round(peak[r["route"]], 2),
                    "first_limit": r["first_limit"],
                    "utilisation": round(r["at"], 4),
                }
                for r in routes
            ],
            "jobs": _job_limits(units, mix, memory, limits),
        }
    return table


def _job_limits(
    units: dict[str, dict[str, float]],
    mix: dict[str, float],
    memory: dict[str, float],
    limits: Any,
) -> list[dict[str, Any]]:
    """Each job's run against its Lambda's 15 minutes (``learn`` every 4 hours: its bandit
    rows, its fixed part and its training rows; ``rollup_daily`` daily; the decision loader
    per minute of log lines) and the training rows against the in-memory threshold."""
    from learnloop.settings import Settings

    out = []
    for job, runs in (("rollup_daily", 1), ("learn", 6), ("load_decisions", 1440)):
        rows = mix[f"job_{job}"] / runs
        seconds = rows * units[f"job_{job}"]["seconds"]
        if job == "learn":
            seconds += units["learn_fixed"]["seconds"]
            seconds += mix["training_row"] / 6 * units["training_row"]["seconds"]
        out.append(
            {
                "job": job,
                "rows_per_run": round(rows),
                "seconds_per_run": round(seconds, 1),
                "first_limit": "lambda_timeout",
                "utilisation": round(seconds / limits.lambda_timeout_s, 4),
            }
        )
    threshold = Settings().streaming_training_rows
    rows = mix["training_row"] / 6
    out.append(
        {
            "job": "training (in learn)",
            "rows_per_run": round(rows),
            "seconds_per_run": round(rows * units["training_row"]["seconds"], 1),
            "first_limit": "in-memory rows (the streaming path above)",
            "utilisation": round(rows / threshold, 4),
        }
    )
    return out


def section_learn_chain(ctx: Context) -> dict[str, Any]:
    """``learn`` on ``--chain-outcomes`` outcomes with chained 60 s invocations, from
    ``bench/learn_chain.py``; ``--chain-outcomes 0`` skips it."""
    path = Path(__file__).with_name("learn_chain.py")
    if ctx.args.chain_outcomes <= 0:
        return {"skipped": "--chain-outcomes 0"}
    spec = importlib.util.spec_from_file_location("learn_chain", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result: dict[str, Any] = module.measure(ctx.args.chain_outcomes, ctx.args.chain_deadline)
    return result


Section = tuple[str, Callable[[Context], dict[str, Any]]]
SECTIONS: list[Section] = [
    ("requests", section_requests),
    ("jobs", section_jobs),
    ("training", section_training),
    ("load", section_load),
    ("model", section_model),
    ("learn_chain", section_learn_chain),
]


def _rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    model = figures.get("model", {})
    for name, unit in model.get("units", {}).items():
        rows.append(
            (
                f"unit {name}",
                f"RCU {unit.get('rcu', 0):.3f}  WCU {unit.get('wcu', 0):.3f}  "
                f"GB-s {unit.get('gb_seconds', 0):.5f}  S3 put {unit.get('s3_tier1', 0):.3f} "
                f"get {unit.get('s3_tier2', 0):.3f}",
            )
        )
    for name, load in figures.get("load", {}).items():
        rows.append(
            (
                f"load {name}",
                f"{load['per_second']:.1f}/s  p50 {load['p50_ms']:.1f} ms  "
                f"p99 {load['p99_ms']:.1f} ms  ({load['requests']} req)",
            )
        )
    for level, entry in model.get("levels", {}).items():
        cost = entry["monthly_cost"]
        rows.append((f"{level}/day monthly", f"${cost['total']:,.0f}"))
        rows.append(
            (f"{level}/day Personalize", f"${entry['personalize_monthly_cost']['total']:,.0f}")
        )
        worst = max(entry["routes"], key=lambda r: r["utilisation"])
        rows.append(
            (
                f"{level}/day nearest route limit",
                f"{worst['route']}: {worst['first_limit']} at {worst['utilisation']:.0%}",
            )
        )
        for job in entry["jobs"]:
            rows.append(
                (
                    f"{level}/day job {job['job']}",
                    f"{job['rows_per_run']:,} rows/run, {job['first_limit']} at "
                    f"{job['utilisation']:.0%}",
                )
            )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="counted requests per family")
    parser.add_argument("--load-requests", type=int, default=200, help="load-test cap per family")
    parser.add_argument("--load-seconds", type=float, default=15.0, help="load-test time cap")
    parser.add_argument("--job-rows", type=int, default=40, help="rows added per job step")
    parser.add_argument("--train-rows", type=int, default=50_000, help="training slope size")
    parser.add_argument("--chain-outcomes", type=int, default=0)
    parser.add_argument("--chain-deadline", type=float, default=60.0)
    parser.add_argument("--only", nargs="*", help="run only these sections (in order)")
    parser.add_argument(
        "--model-from",
        type=Path,
        help="recompute only the model section from a previous run's JSON (no stack)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)

    import requests

    from learnloop_tools.local import Runner

    # Measure cost, not the rate limiter's refusals (its one write per request still counts).
    for scope in ("INGEST", "READ"):
        os.environ.setdefault(f"LEARNLOOP_RATE_LIMIT_{scope}_PER_SECOND", "1000000")
        os.environ.setdefault(f"LEARNLOOP_RATE_LIMIT_{scope}_BURST", "10000000")

    if args.model_from:
        last = args.model_from.read_text().strip().splitlines()[-1]
        figures = json.loads(last)
        ctx = Context(args=args, runner=None, session=None, figures=figures)
        figures["model"] = section_model(ctx)
        print_report(_rows(figures), figures, as_json=args.json)
        return figures

    figures = {"started": _now().isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(
            port=0, state_dir=tmp, snapshot_seconds=0, app_path=APP, bucket_poll_seconds=0
        )
        with runner, requests.Session() as session:
            # Jobs run when a section says so, never from the timer mid-measurement.
            runner.scheduler.stop()
            ctx = Context(args=args, runner=runner, session=session, figures=figures)
            for name, section in SECTIONS:
                if args.only and name not in args.only:
                    continue
                started = time.perf_counter()
                result = section(ctx)
                figures.setdefault(name, {}).update(result)
                figures.setdefault("section_seconds", {})[name] = round(
                    time.perf_counter() - started, 1
                )
                print(f"# {name}: {figures['section_seconds'][name]} s", file=sys.stderr)
    print_report(_rows(figures), figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

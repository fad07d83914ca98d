"""What logging decisions adds to ``select`` and ``recommend``, in process, in the same run.

Starts an embedded moto server on 127.0.0.1, a stage with two content arms, 24 timing arms and
an in-memory two-tower index (2,000 items, 32 dimensions), then times, interleaved call by
call so drift hits every mode alike:

* ``off``: no decision log (the answer still carries ``decision_id`` and propensities: the
  Thompson Monte Carlo and the exploration layer run in every mode);
* ``buffer``: a log whose write is discarded: building the record (pseudonym, TTL, day shard);
* ``on``: the table sink: one BatchWriteItem to moto over HTTP before the answer returns;
* ``stdout``: the AWS sink: one JSON line on stdout (redirected to ``/dev/null`` here; on Lambda
  the runtime ships it to CloudWatch Logs, the subscription loads it);
* ``spool``: the local sink: one line appended to a spool file (``flock`` + ``write(2)``).

It prints p50/p99 per mode and the added p50 of each sink over ``off`` (the goal is <= 1 ms).
Against moto the write is an HTTP round trip on loopback plus moto's own work, so ``on`` is a
pessimistic stand-in for DynamoDB from Lambda in the same region (single-digit ms).

Usage::

    python bench/decision_log.py [--calls 300] [--json]

With ``--json`` the last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_LAYERS = ROOT / "layers"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class _Cache:
    """Stands in for the container's VersionCache: one index, already loaded."""

    def __init__(self, index: Any) -> None:
        self.index = index

    def get(self, name: str) -> Any:
        return self.index

    def get_version(self, name: str, version: str | None) -> Any:
        return self.index


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per mode and route")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    if str(_LAYERS) not in sys.path:
        sys.path.insert(0, str(_LAYERS))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        os.environ.setdefault(name, value)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    import numpy as np
    from moto.server import ThreadedMotoServer

    from bench._report import print_report
    from learnloop.bandits.arms import ArmsCache
    from learnloop.bandits.select import select
    from learnloop.decisions.log import DecisionLog
    from learnloop.decisions.sink import SpoolSink, StdoutSink
    from learnloop.recommender.index import TwoTowerIndex
    from learnloop.recommender.recommend import recommend
    from learnloop.settings import Settings
    from learnloop.store import Tables, bootstrap
    from learnloop.store.clients import s3_client
    from learnloop.users.consent import ConsentCache

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        stage = f"b{uuid.uuid4().hex[:8]}"
        settings = Settings(
            stage=stage,
            table_prefix=f"{stage}-",
            bucket=f"{stage}-bucket",
            endpoint_url=f"http://{host}:{port}",
            pseudonym_secret="bench-secret",
        )
        tables = Tables(settings)
        bootstrap(settings, tables=tables, s3=s3_client(settings))
        at = "2026-11-20T09:00:00.000000Z"
        for arm, (s, f) in {"hook:a": (30, 10), "hook:b": (10, 30), "hook:c": (5, 5)}.items():
            tables.bandit_arms("content", arm, successes=s, failures=f, updated_at=at).save()
        for hour in range(24):
            tables.bandit_arms(
                "timing", str(hour), pulls=20 + hour, reward_sum=0.01 * hour, updated_at=at
            ).save()
        rng = np.random.default_rng(0)
        n_items, dim = 2000, 32
        index = TwoTowerIndex(
            "two_tower",
            "20261120T093000Z",
            item_keys=[f"meme#m{i}" for i in range(n_items)],
            content_types=["meme"] * n_items,
            popularity=[int(p) for p in rng.integers(0, 100, n_items)],
            item_matrix=rng.normal(size=(n_items, dim)).astype(np.float32),
            users=["p0"],
            user_matrix=rng.normal(size=(1, dim)).astype(np.float32),
        )
        cache = _Cache(index)
        arms = ArmsCache(tables, ttl_seconds=3600)
        consent = ConsentCache(tables, ttl_seconds=3600)

        import tempfile

        devnull = open(os.devnull, "w")  # noqa: SIM115 - closed with the server below
        spool_dir = Path(tempfile.mkdtemp(prefix="learnloop-spool-"))

        class Discarding(DecisionLog):
            def flush(self) -> int:
                with self._lock:
                    self._buffer = []
                return 0

        logs: dict[str, DecisionLog | None] = {
            "off": None,
            "buffer": Discarding(tables, consent=consent),
            "on": DecisionLog(tables, consent=consent),
            "stdout": DecisionLog(tables, consent=consent, sink=StdoutSink(devnull)),
            "spool": DecisionLog(tables, consent=consent, sink=SpoolSink(spool_dir)),
        }
        routes = {
            "select_content": lambda log: select(
                tables, {"scope": "content", "user_id": "u1"}, arms=arms, decisions=log
            ),
            "select_timing": lambda log: select(
                tables, {"scope": "timing", "user_id": "u1"}, arms=arms, decisions=log
            ),
            "recommend": lambda log: recommend(
                tables, cache, {"user_id": "u1", "k": "10"}, consent=consent, decisions=log
            ),
        }
        timings: dict[str, dict[str, list[float]]] = {r: {m: [] for m in logs} for r in routes}
        for route, fn in routes.items():
            for log in logs.values():
                for _ in range(20):  # warm-up: caches, connections, numpy
                    fn(log)
            for _ in range(args.calls):
                for mode, log in logs.items():
                    start = time.perf_counter()
                    fn(log)
                    timings[route][mode].append((time.perf_counter() - start) * 1000)
        # The write alone: one decision, one BatchWriteItem to moto.
        writer = DecisionLog(tables, consent=consent)
        shown = [{"item": "hook:a", "position": 0, "propensity": 0.5}]
        decision = {
            "surface": "bandit",
            "scope": "content",
            "policy": "thompson",
            "policy_version": at,
            "user_id": "u1",
            "shown": shown,
            "chosen": ["hook:a"],
        }
        writes = []
        for _ in range(args.calls):
            writer.add(**decision)
            start = time.perf_counter()
            writer.flush()
            writes.append((time.perf_counter() - start) * 1000)
        # What the request path pays per decision with each sink, alone (add + flush): the
        # route figures above carry the machine's noise, these isolate the log's own cost.
        handed: dict[str, list[float]] = {"table": [], "stdout": [], "spool": []}
        sinks = {"table": writer, "stdout": logs["stdout"], "spool": logs["spool"]}
        for _ in range(args.calls):
            for sink, log in sinks.items():
                assert log is not None
                start = time.perf_counter()
                log.add(**decision)
                log.flush()
                handed[sink].append((time.perf_counter() - start) * 1000)
    finally:
        server.stop()
        devnull.close()
        shutil.rmtree(spool_dir, ignore_errors=True)

    write_p50 = _percentile(writes, 50)
    figures: dict[str, Any] = {"calls": args.calls, "write_p50_ms": round(write_p50, 3)}
    rows: list[tuple[str, str]] = [("one BatchWriteItem to moto p50", f"{write_p50:.3f} ms")]
    figures["log_one_decision_p50_ms"] = {}
    for sink, values in handed.items():
        p50 = _percentile(values, 50)
        figures["log_one_decision_p50_ms"][sink] = round(p50, 3)
        rows.append(
            (
                f"log one decision, {sink} sink, p50 / p99",
                f"{p50:.3f} / {_percentile(values, 99):.3f} ms",
            )
        )
    for route, modes in timings.items():
        p50 = {mode: _percentile(values, 50) for mode, values in modes.items()}
        p99 = {mode: _percentile(values, 99) for mode, values in modes.items()}
        figures[route] = {
            "p50_ms": {m: round(v, 3) for m, v in p50.items()},
            "p99_ms": {m: round(v, 3) for m, v in p99.items()},
            "added_p50_ms": round(p50["on"] - p50["off"], 3),
            "added_p50_ms_without_write": round(p50["buffer"] - p50["off"], 3),
            "added_p50_ms_beyond_the_write": round(p50["on"] - p50["off"] - write_p50, 3),
            "ratio_on_off": round(p50["on"] / p50["off"], 3),
        }
        for mode in logs:
            rows.append((f"{route} p50 / p99 ({mode})", f"{p50[mode]:.3f} / {p99[mode]:.3f} ms"))
        for sink in ("stdout", "spool"):
            figures[route][f"added_p50_ms_{sink}"] = round(p50[sink] - p50["off"], 3)
            figures[route][f"ratio_{sink}_off"] = round(p50[sink] / p50["off"], 3)
            rows.append((f"{route} added p50 ({sink} - off)", f"{p50[sink] - p50['off']:.3f} ms"))
        rows.append((f"{route} added p50 (on - off)", f"{p50['on'] - p50['off']:.3f} ms"))
        rows.append((f"{route} added p50 (record only)", f"{p50['buffer'] - p50['off']:.3f} ms"))
        rows.append((f"{route} ratio on / off", f"{p50['on'] / p50['off']:.2f}"))
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

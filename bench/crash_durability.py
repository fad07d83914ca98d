"""``kill -9`` of ``learnloop up`` at random moments during ingest: is every acknowledged write
still there after a restart?

Each trial: client threads PUT reactions and POST event batches (all new ids) to a running
``learnloop up``; after a random 1-5 s the stack is killed with SIGKILL mid-ingest; it is
started again on the same state directory and every write that was answered 200 is looked
up in the restarted emulator. The API key printed before the kill must still work. Trials
run back to back on one state directory (each restart replays the journal over the last
snapshot). Also measured: the journal's cost per write (appending an entry), and the
acknowledged write rate during the trials.

Usage::

    python bench/crash_durability.py [--trials 10] [--threads 3] [--seed 18] [--json]

With ``--json`` the last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from _report import print_report

from learnloop_tools.local.env_file import read_env_file

LEARNLOOP = Path(sys.executable).parent / "learnloop"


def start(
    state_dir: Path, log: Path, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """``learnloop up`` on free ports; returns once it serves (local.env rewritten, health 200)."""
    env_file = state_dir / "local.env"
    before = env_file.stat().st_ino if env_file.exists() else None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "AWS_ENDPOINT"))}
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [str(LEARNLOOP), "up", "--port", "0", "--state-dir", str(state_dir)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"learnloop up exited:\n{log.read_text()[-3000:]}")
        if env_file.exists() and env_file.stat().st_ino != before:
            values = read_env_file(env_file)
            try:
                with urllib.request.urlopen(values["LEARNLOOP_API_URL"] + "/v1/health", timeout=5):
                    return process, values
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"learnloop up did not start in {timeout}s")


def send(env: dict[str, str], method: str, path: str, body: Any) -> int:
    request = urllib.request.Request(
        env["LEARNLOOP_API_URL"] + path, data=json.dumps(body).encode(), method=method
    )
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {env['LEARNLOOP_INGEST_KEY']}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # the stack was killed mid-request: not acknowledged
        return 0


def ingest(env: dict[str, str], tag: str, stop: threading.Event, acked: dict[str, list]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        user = f"{tag}-u{n % 17}"
        reaction = {"user_id": user, "content_type": "meme", "external_id": f"{tag}-m{n}"}
        status = send(env, "PUT", "/v1/reactions", {**reaction, "reaction": "like"})
        acked["statuses"].append(status)
        if status == 200:
            acked["reactions"].append((user, f"meme#{tag}-m{n}"))
        events = [
            {
                "event_id": f"{tag}-e{n}-{i}",
                "type": "app.opened",
                "user_id": user,
                "occurred_at": "2026-11-20T10:00:00Z",
            }
            for i in range(5)
        ]
        if send(env, "POST", "/v1/events", {"events": events}) == 200:
            acked["events"].extend((user, e["event_id"]) for e in events)


def stored(env: dict[str, str]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    prefix = env["LEARNLOOP_TABLE_PREFIX"]

    def scan(table: str) -> list[dict[str, Any]]:
        pages = client.get_paginator("scan").paginate(TableName=prefix + table)
        return [item for page in pages for item in page["Items"]]

    reactions = {(i["user_id"]["S"], i["item_key"]["S"]) for i in scan("reactions")}
    events = {(i["user_id"]["S"], i["event_id"]["S"]) for i in scan("events")}
    return reactions, events


def key_works(env: dict[str, str], key: str) -> bool:
    """Whether the ingest key printed before the kill is still accepted."""
    body = {"user_id": "k", "content_type": "meme", "external_id": "k", "reaction": "like"}
    return send({**env, "LEARNLOOP_INGEST_KEY": key}, "PUT", "/v1/reactions", body) == 200


def journal_append_seconds(entries: int = 5000) -> float:
    """Mean time to journal one 1 KB request (what each acknowledged write now pays)."""
    from learnloop_tools.local.journal import RequestJournal

    with tempfile.TemporaryDirectory() as folder:
        journal = RequestJournal(Path(folder))
        journal.open(1)
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/",
            "QUERY_STRING": "",
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems",
        }
        body = b"x" * 1024
        started = time.perf_counter()
        for _ in range(entries):
            journal.append(environ, body)
        elapsed = time.perf_counter() - started
        journal.close()
    return elapsed / entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--threads", type=int, default=3)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        state_dir, log = Path(folder) / "state", Path(folder) / "up.log"
        process, env = start(state_dir, log)
        acked: dict[str, list] = {"reactions": [], "events": [], "statuses": []}
        for trial in range(args.trials):
            key = env["LEARNLOOP_INGEST_KEY"]
            stop = threading.Event()
            threads = [
                threading.Thread(target=ingest, args=(env, f"t{trial}c{c}", stop, acked))
                for c in range(args.threads)
            ]
            key_works(env, key)  # warm the API (its first request imports the routes' code)
            before = len(acked["reactions"]) + len(acked["events"])
            started = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(1.0, 5.0))
            process.send_signal(signal.SIGKILL)  # mid-ingest: requests are in flight
            process.wait()
            seconds = time.monotonic() - started
            stop.set()
            for thread in threads:
                thread.join()
            process, env = start(state_dir, log)
            reactions, events = stored(env)
            lost = len(set(acked["reactions"]) - reactions) + len(set(acked["events"]) - events)
            writes = len(acked["reactions"]) + len(acked["events"]) - before
            results.append(
                {
                    "trial": trial,
                    "killed_after_s": round(seconds, 2),
                    "acknowledged": writes,
                    "lost": lost,
                    "key_works": key_works(env, key),
                }
            )
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)

    total = sum(r["acknowledged"] for r in results)
    lost = sum(r["lost"] for r in results)
    append_us = journal_append_seconds() * 1e6
    figures = {
        "statuses": {str(k): acked["statuses"].count(k) for k in set(acked["statuses"])},
        "trials": args.trials,
        "acknowledged_writes": total,
        "lost": lost,
        "keys_lost": sum(not r["key_works"] for r in results),
        "journal_append_us": round(append_us, 1),
        "per_trial": results,
    }
    rows = [
        ("trials (kill -9 mid-ingest)", str(args.trials)),
        ("acknowledged writes", str(total)),
        ("acknowledged writes lost", str(lost)),
        ("API keys lost", str(figures["keys_lost"])),
        ("journal append per write", f"{append_us:.1f} µs"),
    ]
    print_report(rows, figures, as_json=args.json)


if __name__ == "__main__":
    main()

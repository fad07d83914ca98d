"""`learnloop up` as a subprocess over real HTTP: ingest, errors, a restart that loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from learnloop_tools.local.env_file import read_env_file

pytestmark = pytest.mark.e2e

LEARNLOOP = Path(sys.executable).parent / "learnloop"
START_TIMEOUT = 30.0

REACTION = {"user_id": "u1", "content_type": "meme", "external_id": "m1", "reaction": "like"}
EVENTS = {
    "events": [
        {
            "event_id": f"e{i}",
            "type": "alert_shown",
            "user_id": "u1",
            "occurred_at": "2026-11-20T10:00:00Z",
            "properties": {"alert_id": f"a{i}"},
        }
        for i in range(5)
    ]
}


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path

    @property
    def url(self) -> str:
        return self.env["LEARNLOOP_API_URL"]

    def key(self, scope: str) -> str:
        return self.env[f"LEARNLOOP_{scope.upper()}_KEY"]

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
    ) -> Reply:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Reply(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            return Reply(error.code, json.loads(error.read() or b"null"))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=20)


def start(state_dir: Path, log: Path) -> Stack:
    env_file = state_dir / "local.env"
    before = env_file.stat().st_ino if env_file.exists() else None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "AWS_ENDPOINT"))}
    handle = log.open("ab")
    process = subprocess.Popen(
        [str(LEARNLOOP), "up", "--port", "0", "--state-dir", str(state_dir)],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
    )
    handle.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"learnloop up exited with {process.returncode}:\n{log.read_text()}")
        # local.env is replaced (new inode) once the stack serves; a restart finds the old one.
        if env_file.exists() and env_file.stat().st_ino != before:
            stack = Stack(process, read_env_file(env_file), log)
            if stack.call("GET", "/v1/health").status == 200:
                return stack
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"learnloop up did not start in {START_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def stack(state_dir: Path, tmp_path: Path) -> Iterator[Stack]:
    running = start(state_dir, tmp_path / "up.log")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def reactions_table(stack: Stack) -> Any:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.env["AWS_ENDPOINT_URL"],
        region_name=stack.env["AWS_DEFAULT_REGION"],
        aws_access_key_id=stack.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.env["AWS_SECRET_ACCESS_KEY"],
    )
    return client, f"{stack.env['LEARNLOOP_TABLE_PREFIX']}reactions"


def assert_envelope(reply: Reply, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert set(reply.body) == {"error"}
    error = reply.body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    return error


def test_up_serves_ingest_and_keeps_state_across_a_restart(
    stack: Stack, state_dir: Path, tmp_path: Path
) -> None:
    env_file = state_dir / "local.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    for name in ("LEARNLOOP_API_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "LEARNLOOP_BUCKET"):
        assert stack.env[name]
    ingest, read = stack.key("ingest"), stack.key("read")

    # Health is open.
    health = stack.call("GET", "/v1/health")
    assert (health.status, health.body["status"]) == (200, "ok")

    # Sentiment answers out of the box: the lexicon, while no model is in production.
    mood = stack.call(
        "POST", "/v1/sentiment", key=read, body={"texts": ["BTC dumped 20% overnight, rekt"]}
    )
    assert mood.status == 200, mood.body
    assert (mood.body["method"], mood.body["results"][0]["label"]) == ("lexicon", "negative")

    # A reaction PUT twice is one item: created_at kept, updated_at moved.
    first = stack.call("PUT", "/v1/reactions", key=ingest, body=REACTION)
    time.sleep(0.01)
    second = stack.call(
        "PUT", "/v1/reactions", key=ingest, body={**REACTION, "reaction": "dislike"}
    )
    assert first.status == second.status == 200
    assert second.body["created_at"] == first.body["created_at"]
    assert second.body["updated_at"] > first.body["updated_at"]
    client, table = reactions_table(stack)
    items = client.query(
        TableName=table,
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": "u1"}},
    )["Items"]
    assert [item["reaction"]["S"] for item in items] == ["dislike"]

    # An events batch posted twice is stored once.
    posted = stack.call("POST", "/v1/events", key=ingest, body=EVENTS)
    again = stack.call("POST", "/v1/events", key=ingest, body=EVENTS)
    assert (posted.status, posted.body["accepted"], posted.body["duplicates"]) == (200, 5, 0)
    assert (again.status, again.body["accepted"], again.body["duplicates"]) == (200, 0, 5)

    # Bad input: each a 4xx in the error envelope.
    assert_envelope(
        stack.call("PUT", "/v1/reactions", key=ingest, raw=b'{"user_id": '), 400, "bad_request"
    )
    invalid = assert_envelope(
        stack.call("PUT", "/v1/reactions", key=ingest, body={**REACTION, "reaction": "love"}),
        422,
        "validation_error",
    )
    assert [d["field"] for d in invalid["details"]] == ["reaction"]
    big = {"events": [{"type": "x.y", "user_id": "u1", "properties": {"pad": "x" * 1_100_000}}]}
    assert_envelope(
        stack.call("POST", "/v1/events", key=ingest, body=big), 413, "payload_too_large"
    )
    assert_envelope(stack.call("GET", "/v1/no-such-route", key=ingest), 404, "not_found")
    assert_envelope(stack.call("GET", "/v1/no-such-route"), 404, "not_found")
    assert_envelope(stack.call("PUT", "/v1/reactions", body=REACTION), 401, "unauthorized")
    assert_envelope(stack.call("POST", "/v1/events", key=read, body=EVENTS), 403, "forbidden")

    # Ctrl-C saves the state and exits 0.
    assert stack.stop() == 0
    assert (state_dir / "state" / "CURRENT").is_file()

    restarted = start(state_dir, tmp_path / "up.log")
    try:
        assert restarted.key("ingest") == ingest, "a restart reuses the keys in local.env"
        assert restarted.key("admin") == stack.key("admin")
        replay = restarted.call("POST", "/v1/events", key=ingest, body=EVENTS)
        assert (replay.status, replay.body["accepted"], replay.body["duplicates"]) == (200, 0, 5)
        client, table = reactions_table(restarted)
        stored = client.get_item(
            TableName=table, Key={"user_id": {"S": "u1"}, "item_key": {"S": "meme#m1"}}
        )
        assert stored["Item"]["reaction"]["S"] == "dislike"
        assert stored["Item"]["created_at"]["S"] == first.body["created_at"]
        api_keys = client.scan(TableName=f"{restarted.env['LEARNLOOP_TABLE_PREFIX']}api_keys")
        assert api_keys["Count"] == 3, "no new keys piled up"
        # SIGTERM stops cleanly too.
        restarted.process.send_signal(signal.SIGTERM)
        assert restarted.process.wait(timeout=20) == 0
    finally:
        if restarted.process.poll() is None:
            restarted.process.kill()
    log = (tmp_path / "up.log").read_text()
    assert "Ctrl-C to stop" in log
    assert "Traceback" not in log, log

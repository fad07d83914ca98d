"""local.env files, the emulator's write classification and DynamoDB JSON encoding: no network."""

from __future__ import annotations

import doctest
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from learnloop_tools.local import env_file, moto_server, runner, state
from learnloop_tools.local.env_file import read_env_file, write_env_file
from learnloop_tools.local.moto_server import ensure_local_credentials, is_state_changing
from learnloop_tools.local.state import StateStore


def test_env_file_round_trips_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "local.env"
    values = {"LEARNLOOP_API_URL": "http://127.0.0.1:8000", "ODD": 'a "b" c\\d', "EMPTY": ""}
    write_env_file(path, values, header="hello")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert read_env_file(path) == values
    write_env_file(path, {"A": "2"})  # replaced, not appended
    assert read_env_file(path) == {"A": "2"}
    assert [p.name for p in path.parent.iterdir()] == ["local.env"]


def test_missing_env_file_reads_as_empty(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / "nope.env") == {}


def test_credentials_are_only_filled_in_when_missing() -> None:
    env = {"AWS_ACCESS_KEY_ID": "mine"}
    assert ensure_local_credentials(env) == {
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    assert env["AWS_ACCESS_KEY_ID"] == "mine"


@pytest.mark.parametrize(
    ("method", "target", "changes"),
    [
        ("GET", "", False),
        ("HEAD", "", False),
        ("PUT", "", True),
        ("DELETE", "", True),
        ("POST", "DynamoDB_20120810.Scan", False),
        ("POST", "DynamoDB_20120810.BatchGetItem", False),
        ("POST", "DynamoDB_20120810.BatchWriteItem", True),
        ("POST", "DynamoDB_20120810.UpdateItem", True),
        ("POST", "DynamoDB_20120810.TransactWriteItems", True),
        ("POST", "AWSEvents.PutRule", True),
    ],
)
def test_write_classification(method: str, target: str, changes: bool) -> None:
    environ = {"REQUEST_METHOD": method, "HTTP_X_AMZ_TARGET": target}
    assert is_state_changing(environ) is changes


def test_no_snapshot_means_nothing_to_restore(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    assert store.current() is None
    assert store.size_on_disk() == 0


def test_a_dangling_current_pointer_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "state"
    root.mkdir()
    (root / "CURRENT").write_text("gone")
    assert StateStore(root).current() is None


def test_dynamodb_json_with_binary_survives_json() -> None:
    item = {
        "pk": {"S": "u1"},
        "n": {"N": "1.5"},
        "bin": {"B": b"\x00\xff"},
        "bins": {"BS": [b"a", b"\x01"]},
        "nested": {"M": {"l": {"L": [{"B": b"z"}, {"NULL": True}, {"BOOL": False}]}}},
        "ss": {"SS": ["a", "b"]},
    }
    encoded = json.loads(json.dumps(state._encode_item(item)))
    assert state._decode_item(encoded) == item


@pytest.mark.parametrize("module", [env_file, moto_server, runner, state])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


def test_app_schedules_become_jobs_called_like_lambda() -> None:
    import types

    from chalice import Chalice, Rate

    app = Chalice(app_name="t")

    @app.schedule(Rate(1, unit=Rate.DAYS))
    def rollup_daily(event: object) -> str:
        return f"{event.detail_type} at {event.time}"  # type: ignore[attr-defined]

    @app.route("/x")
    def not_a_schedule() -> dict[str, str]:
        return {}

    module = types.ModuleType("fake_app")
    module.app = app  # type: ignore[attr-defined]
    module.rollup_daily = rollup_daily  # type: ignore[attr-defined]
    [(name, expression, job)] = runner.app_schedules(module)
    assert name == "rollup_daily"
    assert state_free_text(expression) == "rate(1 day)"
    from learnloop_tools.local.schedule import scheduled_event

    when = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert job(scheduled_event(name, when)) == "Scheduled Event at 2026-11-20T02:00:00Z"


def state_free_text(expression: object) -> str:
    return expression if isinstance(expression, str) else expression.to_string()  # type: ignore[attr-defined]

"""The decision log off the request path: select writes a line (stdout or a spool file), the
loader writes the table, and clicks given before the load still join their decision."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from support.api import call

from learnloop.api import Services, set_services
from learnloop.api.auth import Authenticator
from learnloop.clock import utcnow
from learnloop.decisions.loader import load_lines, load_spool
from learnloop.decisions.log import read_decisions
from learnloop.decisions.sink import SpoolSink, encode_line
from learnloop.jobs import run_job
from learnloop.privacy.deletion import delete_user
from learnloop.users.consent import set_consent
from learnloop.users.pseudonym import pseudonymize
from learnloop.users.tombstones import write_tombstone

TODAY = utcnow().date()


def _use(settings: Any, tables: Any, **changes: Any) -> Any:
    changed = settings.with_overrides(**changes)
    tables.settings = changed
    set_services(
        Services(
            settings=changed, tables=tables, authenticator=Authenticator(tables, cache_seconds=0)
        )
    )
    return changed


@pytest.fixture
def spooled(settings: Any, tables: Any, tmp_path: Path) -> Iterator[Path]:
    spool = tmp_path / "decisions"
    _use(settings, tables, decision_sink="spool", decision_spool_dir=str(spool))
    yield spool
    set_services(None)


@pytest.fixture
def printed(settings: Any, tables: Any) -> Iterator[None]:
    _use(settings, tables, decision_sink="stdout")
    yield
    set_services(None)


def seed_arms(tables: Any) -> None:
    at = "2026-11-20T09:00:00.000000Z"
    tables.bandit_arms("content", "good", successes=30, failures=10, updated_at=at).save()
    tables.bandit_arms("content", "bad", successes=10, failures=30, updated_at=at).save()


def select(client: Any, keys: dict[str, str], **body: Any) -> dict[str, Any]:
    response = call(client, "POST", "/v1/bandit/select", key=keys["read"], body=body)
    assert response.status_code == 200, response.body
    return response.json_body


def feedback(client: Any, keys: dict[str, str], **body: Any) -> dict[str, Any]:
    response = call(client, "POST", "/v1/feedback", key=keys["ingest"], body=body)
    assert response.status_code == 200, response.body
    return response.json_body


def logged(tables: Any) -> dict[str, dict[str, Any]]:
    return {d["decision_id"]: d for d in read_decisions(tables, TODAY, TODAY)}


def test_spooled_decisions_reach_the_table_when_loaded_and_early_clicks_join_them(
    client: Any, keys: dict[str, str], tables: Any, spooled: Path
) -> None:
    seed_arms(tables)
    answers = [select(client, keys, scope="content", user_id="u1") for _ in range(4)]
    assert logged(tables) == {}  # answered, spooled, not loaded yet
    early = feedback(client, keys, decision_id=answers[0]["decision_id"], type="click")
    assert early["pending"] is True and early["item"] is None
    # Feedback on an item the decision did not show cannot be checked yet: left out at the join.
    feedback(client, keys, decision_id=answers[1]["decision_id"], type="click", item="nope")
    again = feedback(client, keys, decision_id=answers[0]["decision_id"], type="click")
    assert again["duplicate"] is True

    result = run_job("load_decisions", tables, utcnow())
    assert (result["files"], result["loaded"]) == (1, 4)
    assert list(spooled.iterdir()) == []
    rows = logged(tables)
    assert set(rows) == {a["decision_id"] for a in answers}
    first = rows[answers[0]["decision_id"]]
    assert first["clicks"] == [answers[0]["arm"]] and first["reward"] == 1.0
    assert first["shown"][0]["propensity"] == answers[0]["propensities"][0]
    assert first["user_id"] == pseudonymize("u1", tables.settings.pseudonym_secret)
    assert rows[answers[1]["decision_id"]]["clicks"] == []
    # Loaded, a later click is checked at once.
    late = feedback(client, keys, decision_id=answers[2]["decision_id"], type="click")
    assert late["pending"] is False and late["item"] == answers[2]["arm"]
    stats = call(client, "GET", "/v1/admin/decisions/stats", key=keys["admin"]).json_body
    [thompson] = stats["totals"]["by_policy"]
    assert (thompson["decisions"], thompson["clicks"], thompson["ctr"]) == (4, 2, 0.5)
    # Loading again (a retry) changes nothing.
    assert run_job("load_decisions", tables, utcnow())["loaded"] == 0


def test_feedback_on_an_id_that_cannot_be_a_decision_is_404_even_before_loading(
    client: Any, keys: dict[str, str], tables: Any, spooled: Path
) -> None:
    for decision_id in ("0" * 32, "000000000001" + "7" + "0" * 19):  # not time-ordered; 1970
        response = call(
            client,
            "POST",
            "/v1/feedback",
            key=keys["ingest"],
            body={"decision_id": decision_id, "type": "click"},
        )
        assert response.status_code == 404, decision_id


def test_stdout_lines_are_loaded_by_the_log_subscription_handler(
    client: Any,
    keys: dict[str, str],
    tables: Any,
    printed: None,
    app_module: ModuleType,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_arms(tables)
    capsys.readouterr()
    answers = [select(client, keys, scope="content") for _ in range(3)]
    lines = [line for line in capsys.readouterr().out.splitlines() if "learnloop_decision" in line]
    assert len(lines) == 3 and logged(tables) == {}
    # What CloudWatch Logs delivers to a subscription: gzipped, base64, with other lines.
    payload = {
        "messageType": "DATA_MESSAGE",
        "logEvents": [{"id": str(i), "message": m} for i, m in enumerate(["START", *lines])],
    }
    event = {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode()))}}
    event["awslogs"]["data"] = event["awslogs"]["data"].decode()
    result = app_module.on_decision_logs(event, None)
    assert (result["loaded"], result["skipped"]) == (3, 1)
    assert set(logged(tables)) == {a["decision_id"] for a in answers}


def test_a_user_deleted_before_the_load_is_loaded_without_an_id_and_early_feedback_goes_too(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, spooled: Path
) -> None:
    seed_arms(tables)
    kept = select(client, keys, scope="content", user_id="u1")
    feedback(client, keys, decision_id=kept["decision_id"], type="click")
    run_job("load_decisions", tables, utcnow())
    gone = select(client, keys, scope="content", user_id="u1")
    delete_user(tables, "u1", s3=s3)
    # The earlier decision and its feedback (stored without a user) are deleted with it.
    assert list(tables.decisions.query(kept["decision_id"])) == []
    run_job("load_decisions", tables, utcnow())
    assert logged(tables)[gone["decision_id"]]["user_id"] is None


class DynamoCalls:
    """The DynamoDB requests a client sends (a botocore hook on the real client, not a mock):
    ``(operation, tables, keys asked for)``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seen: list[tuple[str, str, int]] = []

    def __enter__(self) -> DynamoCalls:
        self.client.meta.events.register("before-parameter-build.dynamodb.*", self._record)
        return self

    def __exit__(self, *_: Any) -> None:
        # The client is the session's: leave no hook behind for the next test.
        self.client.meta.events.unregister("before-parameter-build.dynamodb.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        requested = params.get("RequestItems") or {}
        tables = str(params.get("TableName") or ",".join(requested))
        keys = sum(len(r.get("Keys", ())) for r in requested.values() if isinstance(r, dict))
        self.seen.append((model.name, tables, keys))

    def of(self, operation: str, table: str) -> list[int]:
        return [keys for op, name, keys in self.seen if op == operation and table in name]


def test_loading_reads_the_tombstones_of_distinct_users_in_batches_of_100(
    tables: Any, _dynamodb_client: Any
) -> None:
    secret = tables.settings.pseudonym_secret
    users = [f"u{n}" for n in range(150)]
    deleted, opted_out = {"u3", "u70", "u149"}, "u5"
    for user in deleted:
        write_tombstone(tables, pseudonymize(user, secret), now=utcnow())
    set_consent(tables, opted_out, {"consent": "opted_out"}, now=utcnow())
    at = utcnow()
    decisions: list[dict[str, Any]] = [
        {
            "decision_id": f"d{n:04d}",
            "created_at": at.isoformat(),
            "day_shard": f"{at.date().isoformat()}#0",
            # two decisions per user, and a few with no user at all
            "user_id": pseudonymize(users[n // 2], secret) if n < 300 else None,
            "scope": "content",
            "shown": [],
            "chosen": [],
        }
        for n in range(305)
    ]
    lines = [encode_line(d) for d in decisions] + [encode_line(decisions[0]), "START"]
    with DynamoCalls(_dynamodb_client) as calls:
        counts = load_lines(tables, lines)
    users_table = tables.users.Meta.table_name
    assert calls.of("GetItem", users_table) == []
    # 150 distinct pseudonyms, one consistent BatchGetItem per 100
    assert calls.of("BatchGetItem", users_table) == [100, 50]
    assert counts == {"lines": 307, "loaded": 305, "skipped": 1, "anonymized": 6}
    stored = logged(tables)
    assert len(stored) == 305
    anonymous = {f"d{n:04d}" for n in range(305) if n >= 300 or users[n // 2] in deleted}
    assert {d for d, row in stored.items() if row["user_id"] is None} == anonymous
    # an opted-out user is not deleted: their pseudonym stays on their decisions
    assert stored["d0010"]["user_id"] == pseudonymize(opted_out, secret)


def test_a_spool_file_claimed_while_a_writer_appends_loses_no_line(
    tables: Any, tmp_path: Path
) -> None:
    spool = tmp_path / "decisions"
    sink = SpoolSink(spool)
    total, loaded = 400, []
    line = {
        "created_at": "2026-11-20T09:30:00.000000Z",
        "day_shard": "2026-11-20#0",
        "shown": [],
        "chosen": [],
    }

    def write() -> None:
        for i in range(total):
            sink.emit({**line, "decision_id": f"d{i:04d}"})

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        loaded.append(load_spool(tables, spool)["loaded"])
    writer.join()
    loaded.append(load_spool(tables, spool)["loaded"])
    assert sum(loaded) == total
    assert len(list(tables.decisions.scan())) == total


def test_the_admin_export_has_decisions_pseudonymized_with_consent_and_deletion_applied(
    client: Any, keys: dict[str, str], tables: Any, s3: Any
) -> None:
    seed_arms(tables)
    answers = {u: select(client, keys, scope="content", user_id=u) for u in ("u1", "u2", "u3")}
    feedback(client, keys, decision_id=answers["u1"]["decision_id"], type="click")
    call(client, "PUT", "/v1/users/u2/consent", key=keys["ingest"], body={"consent": "opted_out"})
    delete_user(tables, "u3", s3=s3)
    day = TODAY.isoformat()
    response = call(client, "GET", f"/v1/admin/export?kind=decisions&from={day}", key=keys["admin"])
    assert response.status_code == 200, response.body
    rows = {r["decision_id"]: r for r in map(json.loads, response.body.decode().splitlines())}
    secret = tables.settings.pseudonym_secret
    # u2 opted out: left out; u3 deleted: its decisions are gone.
    assert set(rows) == {answers["u1"]["decision_id"]}
    [row] = rows.values()
    assert row["user"] == pseudonymize("u1", secret) and "u1" not in json.dumps(row)
    assert row["clicks"] == [answers["u1"]["arm"]] and row["shown"][0]["propensity"] > 0
    csv_text = call(
        client, "GET", f"/v1/admin/export?kind=decisions&from={day}&format=csv", key=keys["admin"]
    ).body.decode()
    assert csv_text.splitlines()[0].startswith("decision_id,created_at,user,surface")

"""``learnloop import {reactions,events,content,outcomes,insights}`` and the ``on_import``
job on an S3 object: the routes' validators (bad rows listed by line and field), the good
rows stored, nothing stored twice on a re-run or a redelivered event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from learnloop.jobs.imports import import_rows, on_import_created
from learnloop_tools.cli import main


@pytest.fixture
def env(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", settings.endpoint_url)
    monkeypatch.setenv("LEARNLOOP_STAGE", settings.stage)
    monkeypatch.setenv("LEARNLOOP_TABLE_PREFIX", settings.table_prefix)
    monkeypatch.setenv("LEARNLOOP_BUCKET", settings.bucket)
    monkeypatch.setenv("LEARNLOOP_PSEUDONYM_SECRET", settings.pseudonym_secret)
    return settings


def reaction(i: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "user_id": f"u{i % 5}",
        "content_type": "coin",
        "external_id": f"C{i}",
        "reaction": "like",
        "occurred_at": f"2026-11-19T{i % 24:02d}:{i % 60:02d}:00Z",
    }
    row.update(overrides)
    return row


def run(*args: str, tmp_path: Path) -> Any:
    return CliRunner().invoke(main, ["import", *args, "--state-dir", str(tmp_path / "state")])


def report_of(result: Any) -> dict[str, Any]:
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_bad_rows_are_listed_good_rows_stored_and_a_rerun_stores_nothing_twice(
    env: Any, tables: Any, tmp_path: Path
) -> None:
    rows: list[Any] = [reaction(i) for i in range(40)]
    rows[4]["reaction"] = "love"  # line 5
    rows[9]["occurred_at"] = "1990-01-01T00:00:00Z"  # line 10
    del rows[14]["occurred_at"]  # line 15: an import needs the time
    rows[19]["content"] = {"price": float("nan")}  # line 20: written as NaN
    lines = [json.dumps(row) for row in rows]
    lines[29] = "{not json"  # line 30
    lines.insert(35, "")  # a blank line is skipped
    path = tmp_path / "likes.jsonl"
    path.write_text("\n".join(lines) + "\n")

    first = run("reactions", str(path), "--report", str(tmp_path / "r.json"), tmp_path=tmp_path)
    assert first.exit_code == 2, first.output
    report = report_of(first)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (5, "reaction"),
        (10, "occurred_at"),
        (15, "occurred_at"),
        (20, "content.price"),
        (30, "line"),
    ]
    assert report["bad_rows"] == 5 and report["rows"] == 35
    assert report["stored"]["accepted"] == 35
    assert "reactions" in first.stderr  # the progress bar
    assert json.loads((tmp_path / "r.json").read_text())["bad_rows"] == 5
    count = sum(tables.reactions.count(f"u{u}") for u in range(5))
    assert count == 35

    again = report_of(run("reactions", str(path), tmp_path=tmp_path))
    assert again["stored"]["accepted"] == 0 and again["stored"]["duplicates"] == 35
    assert sum(tables.reactions.count(f"u{u}") for u in range(5)) == count


def test_a_csv_file_with_a_snapshot_column_and_a_burst_in_it(
    env: Any, tables: Any, tmp_path: Path
) -> None:
    header = "user_id,content_type,external_id,reaction,occurred_at,content\n"
    human = 'u1,coin,BTC,like,2026-11-19T09:00:00Z,"{""symbol"": ""BTC""}"\n'
    # 30 coins in one minute from one account: stored, flagged as the live path would.
    bot = "".join(f"bot,coin,C{i},like,2026-11-19T10:00:{i:02d}Z,\n" for i in range(30))
    path = tmp_path / "likes.csv"
    path.write_text(header + human + bot + "u2,coin,ETH,like,2026-11-19T09:00:00Z,{oops\n")
    result = run("reactions", str(path), tmp_path=tmp_path)
    report = report_of(result)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(33, "content")]
    assert report["stored"] == {
        "accepted": 31,
        "duplicates": 0,
        "stale": 0,
        "deleted": 0,
        "dropped": 0,
        "flagged": 30,
    }
    assert tables.reactions.get("u1", "coin#BTC").content == {"symbol": "BTC"}
    assert {r.quality for r in tables.reactions.query("bot")} == {"burst"}


def test_events_content_outcomes_and_insights_import_idempotently(tables: Any) -> None:
    events = [
        {
            "type": "alert_shown",
            "user_id": "u1",
            "occurred_at": f"2026-11-19T10:0{i}:00Z",
            "properties": {"alert_id": f"a{i}"},
        }
        for i in range(3)
    ] + [{"type": "alert_shown", "user_id": "u1", "occurred_at": "2026-11-19T10:00:00Z"}]
    content = [
        {"decision_id": f"d{i}", "posted_at": "2026-11-19T09:00:00Z", "topic": "btc"}
        for i in range(3)
    ] + [{"decision_id": "d9", "posted_at": "2026-11-19T09:00:00Z", "length": "huge"}]
    outcomes = [
        {"decision_id": f"d{i}", "collected_at": "2026-11-19T12:00:00Z", "impressions": 100}
        for i in range(3)
    ] + [{"decision_id": "d9", "impressions": 5}]
    insights = [
        {
            "insight_id": f"i{i}",
            "user_id": "u1",
            "insight_type": "tip",
            "created_at": "2026-11-19T12:00:00Z",
        }
        for i in range(3)
    ] + [{"insight_id": "i9", "user_id": "u1", "insight_type": "tip", "confidence": 2}]
    expected_errors = {
        "events": [(4, "properties.alert_id")],
        "content": [(4, "length")],
        "outcomes": [(4, "collected_at")],
        "insights": [(4, "confidence")],
    }
    for kind, rows in (
        ("events", events),
        ("content", content),
        ("outcomes", outcomes),
        ("insights", insights),
    ):
        data = "\n".join(json.dumps(row) for row in rows).encode()
        first = import_rows(tables, kind, data, f"{kind}.jsonl")
        assert [(e["line"], e["field"]) for e in first["errors"]] == expected_errors[kind], kind
        assert first["stored"]["accepted"] == 3, (kind, first)
        again = import_rows(tables, kind, data, f"{kind}.jsonl")
        # Events and content: already there; outcomes and insights: rewritten in place.
        assert again["stored"]["accepted"] == (0 if kind in ("events", "content") else 3), kind
    assert tables.events.count("u1") == 3
    assert sum(tables.content.count(f"d{i}") for i in range(3)) == 3
    assert sum(tables.outcomes.count(f"d{i}") for i in range(3)) == 3
    assert sum(tables.insights.count(f"i{i}") for i in range(3)) == 3


def test_the_job_imports_an_object_once_however_often_its_event_comes(tables: Any, s3: Any) -> None:
    bucket = tables.settings.bucket
    key = "imports/reactions/2026/legacy.jsonl"
    rows = [reaction(i) for i in range(12)] + [reaction(12, content_type="podcast")]
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(json.dumps(r) for r in rows).encode())
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": bucket}, "object": {"key": key}},
    }
    first = on_import_created(event, tables)
    assert first["report"] == "import-reports/reactions/2026/legacy.jsonl.json"
    assert (first["rows"], first["bad_rows"], first["stored"]["accepted"]) == (12, 1, 12)
    stored = json.loads(s3.get_object(Bucket=bucket, Key=first["report"])["Body"].read())
    assert stored["errors"] == [
        {"line": 13, "field": "content_type", "message": stored["errors"][0]["message"]}
    ]
    second = on_import_created(event, tables)
    assert second["stored"]["accepted"] == 0 and second["stored"]["duplicates"] == 12
    assert sum(tables.reactions.count(f"u{u}") for u in range(5)) == 12
    other = {**event, "detail": {"bucket": {"name": bucket}, "object": {"key": "imports/x.csv"}}}
    assert on_import_created(other, tables)["skipped"]

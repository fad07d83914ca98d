"""export_training_data by hand (the CLI) and on schedule (the app's handler)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from support.stage import stage_environment

from learnloop.ingest import put_reaction
from learnloop.users.pseudonym import pseudonymize
from learnloop_tools.cli import main
from learnloop_tools.local.runner import app_schedules
from learnloop_tools.local.schedule import scheduled_event


def react(tables: Any, user: str, at: str) -> None:
    put_reaction(
        tables,
        {
            "user_id": user,
            "content_type": "coin",
            "external_id": "BTC",
            "reaction": "like",
            "occurred_at": at,
        },
        now=datetime(2026, 11, 22, tzinfo=UTC),
    )


def reactions_file(s3: Any, bucket: str, day: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=bucket, Key=f"exports/{day}/reactions.jsonl")["Body"].read()
    return [json.loads(line) for line in body.splitlines()]


def test_cli_exports_a_given_date(
    settings: Any, tables: Any, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in stage_environment(settings).items():
        monkeypatch.setenv(name, value)
    react(tables, "u1", "2026-11-20T10:00:00Z")
    result = CliRunner().invoke(
        main, ["job", "run", "export_training_data", "--date", "2026-11-20"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["date"] == "2026-11-20" and summary["rows"]["reactions.jsonl"] == 1
    rows = reactions_file(s3, settings.bucket, "2026-11-20")
    assert [r["user"] for r in rows] == [pseudonymize("u1", settings.pseudonym_secret)]


def test_the_app_schedules_the_export_after_the_rollup(
    app_module: Any, services: Any, tables: Any, s3: Any
) -> None:
    schedules = {
        name: (expression if isinstance(expression, str) else expression.to_string(), handler)
        for name, expression, handler in app_schedules(app_module)
    }
    assert schedules["export_training_data"][0] == "cron(45 0 * * ? *)"
    assert schedules["rollup_daily"][0] == "cron(15 0 * * ? *)"
    react(tables, "u2", "2026-11-21T08:00:00Z")
    handler = schedules["export_training_data"][1]
    result = handler(
        scheduled_event("export_training_data", datetime(2026, 11, 22, 0, 45, tzinfo=UTC))
    )
    assert result["date"] == "2026-11-21" and result["changed"] is True
    assert len(reactions_file(s3, tables.settings.bucket, "2026-11-21")) == 1

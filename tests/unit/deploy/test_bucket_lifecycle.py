"""The bucket's lifecycle rules, applied to the keys the code writes: daily exports and import
reports expire, the labelled training rows under ``exports/labelled/`` never do."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from learnloop.jobs.imports import REPORT_PREFIX
from learnloop.jobs.spool import RunSpool
from learnloop.privacy.exports import export_prefix
from learnloop.sentiment.labelled import LABELLED_KEY
from learnloop.settings import Settings
from learnloop_tools.deploy.runtimes import get_runtime
from learnloop_tools.deploy.template import TemplateOptions, bucket_resources


def rules() -> list[dict[str, Any]]:
    options = TemplateOptions(stage="dev", runtime=get_runtime())
    bucket = bucket_resources(Settings(stage="dev", bucket="b"), options)["Bucket"]
    return list(bucket["Properties"]["LifecycleConfiguration"]["Rules"])


def expires_after(key: str) -> int | None:
    """Days after which S3 deletes the current version of ``key``: the shortest enabled rule
    whose prefix the key starts with (S3 matches prefixes literally; no rule: never)."""
    days = [
        rule["ExpirationInDays"]
        for rule in rules()
        if rule["Status"] == "Enabled"
        and "ExpirationInDays" in rule
        and key.startswith(rule.get("Prefix", ""))
    ]
    return min(days, default=None)


@pytest.mark.parametrize("day", [date(2026, 11, 20), date(2031, 1, 1), date(2999, 12, 31)])
def test_daily_exports_expire_after_the_export_retention(day: date) -> None:
    assert expires_after(f"{export_prefix(day)}events.jsonl") == 90


def test_labelled_training_rows_never_expire() -> None:
    assert LABELLED_KEY.startswith("exports/labelled/")
    assert expires_after(LABELLED_KEY) is None
    assert expires_after("exports/labelled/other.jsonl") is None


def test_import_reports_expire_after_a_month() -> None:
    assert expires_after(f"{REPORT_PREFIX}reactions/2026-11-20/upload.csv.json") == 30


def test_an_abandoned_runs_spooled_rows_expire_within_days() -> None:
    key = RunSpool(None, "b", "learn", "3f2a9c1b7e44").key("window/2026-11-20#0")
    assert expires_after(key) == 3


def test_models_and_imports_are_untouched_by_expiry() -> None:
    assert expires_after("models/engagement/v1/manifest.json") is None

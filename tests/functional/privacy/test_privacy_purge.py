"""A deletion over many export days: bounded in the request, finished by ``privacy_purge``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from support.api import call
from support.stage import stage_environment

from learnloop.api import Services, set_services
from learnloop.api.auth import Authenticator
from learnloop.ingest import put_reaction
from learnloop.jobs import run_job
from learnloop.privacy.exports import DATA_FILES, export_day, export_prefix, purge_export
from learnloop.privacy.purge import PURGE_JOB, privacy_purge, purge_key
from learnloop.store import Tables
from learnloop.users.pseudonym import pseudonymize
from learnloop_tools.cli import main

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
FIRST = date(2026, 11, 1)
DAYS = 12
USER = "zed-4711"
OTHER = "yara-0815"
KEPT = "xavi-2323"


class Ticking:
    """A fake monotonic clock: every read is one second later than the one before."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class CountingS3:
    """A boto3 S3 client that counts get_object / put_object calls per key."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.gets: Counter[str] = Counter()
        self.puts: Counter[str] = Counter()

    def get_object(self, **kwargs: Any) -> Any:
        self.gets[kwargs["Key"]] += 1
        return self._client.get_object(**kwargs)

    def put_object(self, **kwargs: Any) -> Any:
        self.puts[kwargs["Key"]] += 1
        return self._client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def seed_exports(tables: Any, s3: Any, users: tuple[str, ...] = (USER, OTHER, KEPT)) -> list[str]:
    """``DAYS`` daily exports, every user in each; returns the prefixes, oldest first."""
    prefixes = []
    for n in range(DAYS):
        day = FIRST + timedelta(days=n)
        for user in users:
            put_reaction(
                tables,
                {
                    "user_id": user,
                    "content_type": "coin",
                    "external_id": f"C{n}{user[:2].upper()}",
                    "reaction": "like",
                    "occurred_at": f"{day.isoformat()}T10:00:00Z",
                },
                now=NOW,
            )
        export_day(tables, day, s3=s3, now=NOW)
        prefixes.append(export_prefix(day))
    return prefixes


def export_text(s3: Any, bucket: str, prefix: str) -> str:
    return "".join(
        s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read().decode()
        for name in DATA_FILES
    )


def assert_manifest_matches(s3: Any, bucket: str, prefix: str) -> None:
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read())
    for name in DATA_FILES:
        data = s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()
        assert manifest["files"][name]["sha256"] == hashlib.sha256(data).hexdigest(), prefix
        assert manifest["files"][name]["rows"] == data.count(b"\n"), prefix


@pytest.fixture
def budgeted(services: Any, _dynamodb_client: Any) -> Iterator[Any]:
    """Install services whose settings give a deletion ``seconds`` and whose clock ticks."""

    def install(seconds: float, clock: Any = None) -> Tables:
        settings = dataclasses.replace(services.settings, deletion_sync_seconds=seconds)
        tables = Tables(settings, dynamodb_client=_dynamodb_client)
        extra = {"clock": clock} if clock is not None else {}
        set_services(
            Services(
                settings=settings,
                tables=tables,
                authenticator=Authenticator(tables, cache_seconds=0),
                **extra,
            )
        )
        return tables

    yield install
    set_services(services)


def test_a_slow_deletion_answers_202_and_the_job_finishes_it(
    client: Any, keys: dict, tables: Any, s3: Any, budgeted: Any
) -> None:
    bucket = tables.settings.bucket
    prefixes = seed_exports(tables, s3)
    pseudonym = pseudonymize(USER, tables.settings.pseudonym_secret)
    # The clock is read at the start and before each round of 8 days: one round fits in 1.5 s.
    budgeted(1.5, Ticking())

    reply = call(client, "DELETE", f"/v1/users/{USER}", key=keys["admin"])
    assert reply.status_code == 202, reply.body
    receipt = json.loads(reply.body)
    assert receipt["tables"]["reactions"] == DAYS
    exports = receipt["exports"]
    assert (exports["status"], exports["days_done"], exports["days_pending"]) == ("pending", 8, 4)
    newest, oldest = prefixes[4:], prefixes[:4]
    assert sorted(exports["removed"]) == newest
    for prefix in newest:
        assert pseudonym not in export_text(s3, bucket, prefix)
        assert_manifest_matches(s3, bucket, prefix)
    for prefix in oldest:
        assert pseudonym in export_text(s3, bucket, prefix)
    tombstone = tables.users.get(f"tombstone#{pseudonym}")
    assert tombstone.receipt["exports"]["status"] == "pending"

    # The queue: one item, the pseudonym only, the days not reached.
    item = tables.ledger.get(purge_key(pseudonym))
    assert item.pending_prefixes == set(oldest) and item.user_id is None
    assert USER not in json.dumps(item.attribute_values, default=str)

    # Deleting again while pending is harmless: no second item, nothing new queued.
    again = call(client, "DELETE", f"/v1/users/{USER}", key=keys["admin"])
    assert again.status_code == 202 and json.loads(again.body)["already_deleted"] is True
    queued = list(tables.ledger.by_pending.query(PURGE_JOB))
    assert [e.key for e in queued] == [purge_key(pseudonym)]
    assert queued[0].pending_prefixes == set(oldest)

    counting = CountingS3(s3)
    result = run_job("privacy_purge", tables, NOW, s3=counting)
    assert result["pending_users"] == 1 and result["completed_users"] == 1
    assert result["prefixes_done"] == 4 and result["prefixes_left"] == 0
    for prefix in prefixes:
        text = export_text(s3, bucket, prefix)
        assert pseudonym not in text
        assert pseudonymize(OTHER, tables.settings.pseudonym_secret) in text
        assert_manifest_matches(s3, bucket, prefix)
    assert not list(tables.ledger.by_pending.query(PURGE_JOB))
    done = tables.users.get(f"tombstone#{pseudonym}").receipt["exports"]
    assert (done["status"], done["days_done"], done["days_pending"]) == ("complete", DAYS, 0)

    # Running it again changes nothing.
    rerun = CountingS3(s3)
    again_result = privacy_purge(tables, NOW, s3=rerun)
    assert again_result.pending_users == 0 and not rerun.puts


def test_two_pending_deletions_are_purged_with_one_rewrite_per_file(
    client: Any, keys: dict, tables: Any, s3: Any, budgeted: Any
) -> None:
    bucket = tables.settings.bucket
    prefixes = seed_exports(tables, s3)
    secret = tables.settings.pseudonym_secret
    gone = [pseudonymize(user, secret) for user in (USER, OTHER)]
    budgeted(0)  # nothing synchronously: every day waits for the job
    for user in (USER, OTHER):
        reply = call(client, "DELETE", f"/v1/users/{user}", key=keys["admin"])
        assert reply.status_code == 202
        assert json.loads(reply.body)["exports"]["days_pending"] == DAYS

    counting = CountingS3(s3)
    result = privacy_purge(tables, NOW, s3=counting)
    assert (result.pending_users, result.completed_users) == (2, 2)
    assert result.prefixes_rewritten == DAYS
    # One read and one write of every file, although two deletions were pending.
    for prefix in prefixes:
        for name in (*DATA_FILES, "manifest.json"):
            assert counting.puts[prefix + name] <= 1, prefix + name
            assert counting.gets[prefix + name] == 1, prefix + name
        # events.jsonl holds no rows here, so it needs no rewrite.
        changed = ("reactions.jsonl", "items.jsonl", "manifest.json")
        assert all(counting.puts[prefix + name] == 1 for name in changed), prefix
        text = export_text(s3, bucket, prefix)
        assert not any(p in text for p in gone)
        assert pseudonymize(KEPT, secret) in text
        assert_manifest_matches(s3, bucket, prefix)
        manifest = json.loads(
            s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read()
        )
        assert manifest["excluded_users"] == 2
    for pseudonym in gone:
        receipt = tables.users.get(f"tombstone#{pseudonym}").receipt
        assert receipt["exports"]["status"] == "complete"
        assert receipt["exports"]["days_done"] == DAYS

    rerun = CountingS3(s3)
    assert privacy_purge(tables, NOW, s3=rerun).pending_users == 0
    assert not rerun.puts


def test_the_job_stops_at_its_budget_and_the_next_run_finishes(
    client: Any, keys: dict, tables: Any, s3: Any, budgeted: Any
) -> None:
    bucket = tables.settings.bucket
    prefixes = seed_exports(tables, s3, users=(USER, KEPT))
    pseudonym = pseudonymize(USER, tables.settings.pseudonym_secret)
    budgeted(0)
    assert call(client, "DELETE", f"/v1/users/{USER}", key=keys["admin"]).status_code == 202

    # Start, one round of 3 prefixes, then out of time.
    first = privacy_purge(tables, NOW, s3=s3, budget_seconds=1.5, clock=Ticking(), workers=3)
    assert (first.prefixes_done, first.prefixes_left, first.completed_users) == (3, DAYS - 3, 0)
    item = tables.ledger.get(purge_key(pseudonym))
    assert item.pending_prefixes == set(prefixes[: DAYS - 3])
    assert tables.users.get(f"tombstone#{pseudonym}").receipt["exports"]["status"] == "pending"

    second = privacy_purge(tables, NOW, s3=s3)
    assert (second.prefixes_done, second.completed_users) == (DAYS - 3, 1)
    assert all(pseudonym not in export_text(s3, bucket, p) for p in prefixes)
    assert tables.users.get(f"tombstone#{pseudonym}").receipt["exports"]["status"] == "complete"


class RacingS3(CountingS3):
    """Before its first conditional write, another writer rewrites the same prefix."""

    def __init__(self, client: Any, race: Any) -> None:
        super().__init__(client)
        self.race = race

    def put_object(self, **kwargs: Any) -> Any:
        if self.race is not None and "IfMatch" in kwargs:
            race, self.race = self.race, None
            race()
        return super().put_object(**kwargs)


def test_a_concurrent_rewrite_is_not_undone(tables: Any, s3: Any) -> None:
    bucket = tables.settings.bucket
    prefix = seed_exports(tables, s3)[-1]
    secret = tables.settings.pseudonym_secret
    mine, theirs = pseudonymize(USER, secret), pseudonymize(OTHER, secret)
    racing = RacingS3(s3, lambda: purge_export(s3, bucket, prefix, {theirs}))

    assert set(purge_export(racing, bucket, prefix, {mine})) == {mine}
    text = export_text(s3, bucket, prefix)
    # The other writer's removal survived: this rewrite lost its If-Match and re-read.
    assert mine not in text and theirs not in text
    assert pseudonymize(KEPT, secret) in text
    assert_manifest_matches(s3, bucket, prefix)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read())
    assert manifest["excluded_users"] == 2


def test_the_job_runs_from_the_cli_and_on_schedule(
    settings: Any, tables: Any, s3: Any, app_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from learnloop_tools.local.runner import app_schedules

    for name, value in stage_environment(settings).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["job", "run", "privacy_purge"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["job"] == "privacy_purge"
    schedules = {
        name: expression if isinstance(expression, str) else expression.to_string()
        for name, expression, _ in app_schedules(app_module)
    }
    assert schedules["privacy_purge"] == "rate(1 hour)"


def test_the_openapi_document_says_a_deletion_may_be_pending(client: Any) -> None:
    document = json.loads(client.http.get("/v1/openapi.json").body)
    responses = document["paths"]["/v1/users/{user_id}"]["delete"]["responses"]
    assert {"200", "202"} <= set(responses)
    assert "privacy_purge" in responses["202"]["description"]

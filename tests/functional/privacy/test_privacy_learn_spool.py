"""A resumable ``learn`` run's S3 spool (``checkpoints/learn/{run}/``) and deleting a user.

The spool holds what the run read of the content and outcomes tables: rows about decisions
(posts), which name no user. So a user deleted while a run is paused has nothing of theirs in
it, even when the decisions were answered for them, and the run then finishes undisturbed.
"""

from __future__ import annotations

import gzip
import itertools
from datetime import timedelta
from typing import Any

from support.api import call

from learnloop.clock import utcnow
from learnloop.jobs import run_job, run_job_chained
from learnloop.jobs.deadline import CHECKPOINT_PREFIX, Checkpoint, Deadline
from learnloop.jobs.spool import SPOOL_PREFIX
from learnloop.predictors.training import training_days
from learnloop.users.pseudonym import pseudonymize

#: Distinctive, so a substring search finds nothing by chance.
USER = "zed-4711"
OTHER = "yara-0815"


def one_unit_each() -> Deadline:
    """A fake deadline with room for one unit an invocation (no wall clock)."""
    ticks = itertools.count()
    return Deadline(lambda: 2.5 - next(ticks), margin=0.0)


def seed(client: Any, keys: dict[str, str], tables: Any) -> dict[str, list[str]]:
    """Six decisions answered for each user over HTTP, each published with an outcome, and
    the users' reactions and events on the same day; the decision ids by user."""
    at = "2026-11-20T09:00:00.000000Z"
    for arm in ("good", "bad"):
        tables.bandit_arms("content", arm, successes=20, failures=20, updated_at=at).save()
    posted = utcnow() - timedelta(hours=3)
    decided: dict[str, list[str]] = {}
    for n, user in enumerate([USER, OTHER] * 6):
        answer = call(
            client,
            "POST",
            "/v1/bandit/select",
            key=keys["read"],
            body={"scope": "content", "user_id": user},
        ).json_body
        decided.setdefault(user, []).append(answer["decision_id"])
        content = {
            "posted_at": posted.isoformat(),
            "bandit_arm": answer["arm"],
            "content_type": "educational",
            "quality_score": 0.5,
            "text": "a post about rates",
        }
        path = f"/v1/content/{answer['decision_id']}"
        assert call(client, "PUT", path, key=keys["ingest"], body=content).status_code == 200
        outcome = {
            "decision_id": answer["decision_id"],
            "collected_at": (posted + timedelta(hours=1)).isoformat(),
            "impressions": 1000,
            "likes": 10 * n,
        }
        response = call(client, "POST", "/v1/outcomes", key=keys["ingest"], body=outcome)
        assert response.status_code == 200, response.body
    for user in (USER, OTHER):
        reaction = {
            "user_id": user,
            "content_type": "coin",
            "external_id": "BTC",
            "reaction": "like",
            "occurred_at": posted.isoformat(),
        }
        response = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=reaction)
        assert response.status_code == 200, response.body
    return decided


def spooled(s3: Any, bucket: str) -> dict[str, str]:
    """Every spooled object of the stage, decompressed, by key."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=SPOOL_PREFIX).get("Contents", [])
    return {
        o["Key"]: gzip.decompress(
            s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        ).decode()
        for o in listed
    }


def learn_until_only_train_is_left(tables: Any, s3: Any, now: Any) -> None:
    """Invoke ``learn`` one unit at a time until every training day is spooled."""
    parts = len(training_days(tables, now)) * tables.settings.day_shards
    for _ in range(100):
        result = run_job("learn", tables, now, deadline=one_unit_each(), s3=s3, chunk_size=4)
        assert "resume" in result, "the run finished before the test could look"
        [entry] = [e for e in tables.ledger.scan() if e.key.startswith(CHECKPOINT_PREFIX)]
        done = Checkpoint.load(tables, entry.key).done
        if sum(1 for unit in done if unit.startswith("training/")) == parts:
            return
    raise AssertionError("the run never reached its training unit")


def test_a_paused_learn_runs_spool_names_no_user_and_the_run_outlives_a_deletion(
    client: Any, keys: dict[str, str], tables: Any, s3: Any
) -> None:
    tables.settings = tables.settings.with_overrides(training_window_days=2)
    decided = seed(client, keys, tables)
    now = utcnow()
    learn_until_only_train_is_left(tables, s3, now)
    before = spooled(s3, tables.settings.bucket)
    units = {key.split("/")[3] for key in before}  # checkpoints/learn/{run}/{unit}/...
    assert units == {"window", "chunks", "training"}
    text = "\n".join(before.values())
    # The rows about the user's decisions are there, and nothing that names the user.
    assert all(decision in text for decision in decided[USER])
    pseudonym = pseudonymize(USER, tables.settings.pseudonym_secret)
    assert USER not in text and pseudonym not in text
    assert OTHER not in text

    response = call(client, "DELETE", f"/v1/users/{USER}", key=keys["admin"])
    assert response.status_code == 200, response.body
    assert response.json_body["tables"]["decisions"] == 6
    # Deletion has nothing to do in the spool; the paused run finishes as it would have.
    assert spooled(s3, tables.settings.bucket) == before
    result = run_job_chained("learn", tables, now, deadline=one_unit_each, s3=s3, chunk_size=4)
    assert result["bandits"]["counted"] == 12
    assert spooled(s3, tables.settings.bucket) == {}

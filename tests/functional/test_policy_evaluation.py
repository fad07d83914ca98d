"""A candidate bandit configuration evaluated on the decision log, gated, promoted and served.

Decisions are logged through ``POST /v1/bandit/select`` (the stored arms lean to ``good``:
Beta(3, 2) against Beta(2, 3), so production picks it about three times in four) with a known
reward structure: every ``good`` decision is clicked (``POST /v1/feedback``), no ``bad`` one
is. Production's logged value is about 0.76. A candidate that learns from the log (prior 2/2,
replayed in batches of 25) plays ``good`` after its first batch, about 0.9; one buried under a
100000/100000 prior stays near a coin flip, about 0.5: worse than production.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.api import call
from support.bandit_log import log_bandit_decisions

from learnloop.api import Services, set_services
from learnloop.api.auth import Authenticator
from learnloop.clock import utcnow
from learnloop.decisions.evaluation import evaluate_policy, policy_artifact
from learnloop.decisions.log import read_decisions
from learnloop.jobs import run_job
from learnloop.models.artifacts import write_artifact
from learnloop.models.registration import register_model
from learnloop.models.registry import production_record
from learnloop_tools.local.s3_events import object_created_event

TODAY = utcnow().date()
BETTER = "thompson:prior=2/2"
WORSE = "thompson:prior=100000/100000"
DECISIONS = 200


@pytest.fixture
def fresh(settings: Any, tables: Any) -> Any:
    """The stage's services re-reading the production policy on every request."""
    changed = settings.with_overrides(model_check_seconds=0.0)
    tables.settings = changed
    services = Services(
        settings=changed, tables=tables, authenticator=Authenticator(tables, cache_seconds=0)
    )
    set_services(services)
    yield tables
    set_services(None)


def select(client: Any, keys: dict[str, str], **body: Any) -> dict[str, Any]:
    response = call(client, "POST", "/v1/bandit/select", key=keys["read"], body=body)
    assert response.status_code == 200, response.body
    return response.json_body  # type: ignore[no-any-return]


def log_decisions(client: Any, keys: dict[str, str], tables: Any) -> None:
    at = "2026-11-20T09:00:00.000000Z"
    tables.bandit_arms("content", "good", successes=2, failures=1, updated_at=at).save()
    tables.bandit_arms("content", "bad", successes=1, failures=2, updated_at=at).save()
    for seed in range(DECISIONS):
        answer = select(client, keys, scope="content", seed=seed)
        if answer["arm"] == "good":
            response = call(
                client,
                "POST",
                "/v1/feedback",
                key=keys["ingest"],
                body={"decision_id": answer["decision_id"], "type": "click"},
            )
            assert response.status_code == 200, response.body


def deliver(client: Any, bucket: str, key: str) -> dict[str, Any]:
    response = client.lambda_.invoke("on_model_dropped", object_created_event(bucket, key))
    [result] = response.payload
    return result  # type: ignore[no-any-return]


def test_the_better_candidate_is_promoted_on_its_lower_bound_and_then_serves(
    client: Any, keys: dict[str, str], fresh: Any, s3: Any
) -> None:
    tables = fresh
    log_decisions(client, keys, tables)
    records = list(read_decisions(tables, TODAY, TODAY))
    reports = {
        spec: evaluate_policy(records, spec, batch_size=25, n_resamples=300, start=TODAY, end=TODAY)
        for spec in (BETTER, WORSE)
    }
    better, worse = reports[BETTER], reports[WORSE]
    assert better["rows"]["used"] == worse["rows"]["used"] == DECISIONS
    assert 0.66 < better["production"]["estimate"] < 0.86  # P(Beta(3, 2) > Beta(2, 3)) ~ 0.76
    assert better["gate"]["decision"] == "promote" and better["gate"]["promote"]
    assert better["value"]["ci_low"] > better["production"]["estimate"]
    assert set(better["estimates"]) == {"ipw", "snipw", "dm", "dr"}
    assert worse["gate"]["decision"] == "keep"
    assert worse["value"]["ci_high"] < worse["production"]["estimate"]  # worse, not a tie

    # Registered through the bucket event: the worse one first, with no production yet.
    bucket = tables.settings.bucket
    results = {}
    for minute, spec in enumerate((WORSE, BETTER)):
        now = datetime(2026, 12, 7, 0, minute, tzinfo=UTC)
        name, version, files, manifest = policy_artifact(reports[spec], now=now)
        keys_written = write_artifact(s3, bucket, name, version, files, manifest)
        results[spec] = deliver(client, bucket, keys_written[-1])
    assert results[WORSE]["status"] == "candidate" and not results[WORSE]["promoted"]
    assert "does not beat production" in results[WORSE]["reason"]
    assert results[BETTER]["status"] == "production" and results[BETTER]["promoted"]
    promoted = results[BETTER]["version"]
    assert production_record(tables, "bandit_policy").target == promoted
    comparison = tables.models.get("bandit_policy", promoted).comparison
    assert comparison["rule"] == "ope_lower_bound" and comparison["decision"] == "promote"
    assert comparison["interval"][0] == better["value"]["ci_low"]
    assert comparison["production"] == better["production"]["estimate"]
    assert comparison["range"]["from"] == TODAY.isoformat()
    kept = tables.models.get("bandit_policy", results[WORSE]["version"]).comparison
    assert kept["decision"] == "keep" and kept["production_version"] is None

    # Select now runs with the promoted prior and logs its version.
    answer = select(client, keys, scope="content")
    assert answer["policy_version"] == promoted
    assert answer["arms_version"] == "2026-11-20T09:00:00.000000Z"
    assert answer["posteriors"]["good"]["alpha"] == 4.0  # 2 successes + the prior's 2
    logged = next(
        d for d in read_decisions(tables, TODAY, TODAY) if d["decision_id"] == answer["decision_id"]
    )
    assert logged["policy_version"] == promoted
    assert logged["context"]["arms_version"] == "2026-11-20T09:00:00.000000Z"


def test_without_a_policy_version_select_behaves_as_before(
    client: Any, keys: dict[str, str], fresh: Any
) -> None:
    fresh.bandit_arms("content", "a", successes=3, failures=1, updated_at="2026-11-20").save()
    answer = select(client, keys, scope="content")
    assert answer["policy_version"] == "2026-11-20" and "arms_version" not in answer
    assert answer["posteriors"]["a"]["alpha"] == 4.0


def synthetic_report(spec: str = BETTER) -> dict[str, Any]:
    """Uniform logging over good (always pays) and bad (never): production 0.5, BETTER ~0.75."""
    records = [
        {
            "surface": "bandit",
            "scope": "content",
            "chosen": [arm],
            "shown": [{"item": arm, "position": 0, "propensity": 0.5}],
            "reward": 1.0 if arm == "good" else 0.0,
            "created_at": "2026-12-06T10:00:00Z",
        }
        for arm in ["good", "bad"] * 100
    ]
    return evaluate_policy(records, spec, n_resamples=200)


@pytest.mark.parametrize(
    ("policy", "margin", "status"),
    [
        ("not_worse", 0.5, "candidate"),  # the stage's margin, not the report's 0, decides
        ("never", 0.0, "candidate"),
        ("always", 0.5, "production"),
    ],
)
def test_registration_applies_the_stage_margin_and_the_promotion_policy(
    tables: Any, s3: Any, policy: str, margin: float, status: str
) -> None:
    tables.settings = tables.settings.with_overrides(policy_promotion_margin=margin)
    report = synthetic_report()
    assert report["gate"]["decision"] == "promote" and report["gate"]["margin"] == 0.0
    name, version, files, manifest = policy_artifact(report)
    key = write_artifact(s3, tables.settings.bucket, name, version, files, manifest)[-1]
    result = register_model(tables, s3, bucket=tables.settings.bucket, key=key, policy=policy)
    assert result.status == status
    comparison = result.comparison
    assert comparison is not None and comparison["margin"] == margin
    assert comparison["decision"] == ("keep" if margin > 0.3 else "promote")
    assert comparison["rows"] == 200 and comparison["estimator"] == "dr"


def test_the_daily_job_publishes_the_candidates_its_gate_promotes_once(
    tables: Any, s3: Any
) -> None:
    log_bandit_decisions(tables, n=200)
    tables.settings = tables.settings.with_overrides(
        policy_candidates=(BETTER, WORSE, "ucb1:epsilon=0.1", "thompson:prior=x"),
        policy_promotion_margin=0.1,
    )
    now = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC).replace(hour=2)
    first = run_job("evaluate_policies", tables, now, s3=s3)
    assert first["to"] == TODAY.isoformat()
    rows = {row["candidate"]: row for row in first["candidates"]}
    better, worse = rows[BETTER], rows[WORSE]
    assert better["decision"] == "promote" and better["lower_bound"] > 0.6
    assert worse["decision"] == "keep" and worse["published"] is None
    assert rows["ucb1:epsilon=0.1"]["decision"] == "error"  # no timing decision logged
    assert "no usable bandit decision" in rows["ucb1:epsilon=0.1"]["note"]
    assert "bad setting" in rows["thompson:prior=x"]["note"]
    version = better["published"]
    key = f"models/bandit_policy/{version}/manifest.json"
    registered = register_model(tables, s3, bucket=tables.settings.bucket, key=key)
    assert registered.status == "production"  # registration agrees under the same margin
    again = run_job("evaluate_policies", tables, now.replace(hour=3), s3=s3)
    rerun = {row["candidate"]: row for row in again["candidates"]}[BETTER]
    assert rerun["published"] is None and "production already" in rerun["note"]

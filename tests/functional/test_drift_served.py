"""Drift of the container-trained models against moto's server, and what the job does about it.

Two-tower: a planted model whose users each like the items of one group; recent likes on
their own group keep recall@10 at its validation figure, likes that moved to another group
(the recommendations stopped matching what users like) make it fall and alert. Sentiment: a
head trained on balanced labelled texts labels recent reaction snapshots; a recent mix of
only positive texts moves the predicted label mix and alerts. Each alert records a retrain
request, which the local stack then carries out (or says why it cannot).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from support.model_drops import T0
from support.sentiment import drop_text_encoder, labelled_texts, register, tiny_encoder
from support.two_tower import TwoTowerData, drop_two_tower

from learnloop.drift.actions import pending_requests, timeline
from learnloop.drift.ledger import RETRAIN_JOB
from learnloop.ingest.reactions import put_reaction
from learnloop.jobs import run_job
from learnloop.models.artifacts import new_version, write_artifact
from learnloop.users.pseudonym import pseudonymize
from learnloop_tools.local.retrain import run_pending_retrains, unavailable_reason

NOW = T0 + timedelta(days=3)
GROUPS, PER_GROUP, DIM, USERS = 6, 5, 8, 30


def item_key(group: int, j: int) -> str:
    return f"news#g{group}i{j}"


def planted_two_tower(tables: Any, s3: Any) -> None:
    """Users of group g have vector e_g; the items of group g sit near e_g (recall@10 of a
    user's own-group likes is 1); validation recorded recall@10 0.9."""
    rng = np.random.default_rng(0)
    basis = np.eye(DIM, dtype=np.float32)
    keys = [item_key(g, j) for g in range(GROUPS) for j in range(PER_GROUP)]
    items = np.stack(
        [basis[g] + rng.normal(0, 0.05, DIM) for g in range(GROUPS) for _ in range(PER_GROUP)]
    ).astype(np.float32)
    secret = tables.settings.pseudonym_secret
    users = [pseudonymize(f"u{u}", secret) for u in range(USERS)]
    user_matrix = np.stack([basis[u % GROUPS] for u in range(USERS)]).astype(np.float32)
    data = TwoTowerData(item_keys=keys, item_matrix=items, users=users, user_matrix=user_matrix)
    key = drop_two_tower(tables, s3, data, metrics={"recall@10": 0.9, "ndcg@10": 0.8})
    assert register(tables, s3, key).status == "production"


def like(tables: Any, user: str, key: str, at: Any, content: dict[str, Any] | None = None) -> None:
    content_type, external_id = key.split("#", 1)
    body = {
        "user_id": user,
        "content_type": content_type,
        "external_id": external_id,
        "reaction": "like",
        "occurred_at": at.isoformat(),
    }
    if content is not None:
        body["content"] = content
    put_reaction(tables, body, now=at)


def post_likes(tables: Any, *, shift: int) -> None:
    """Before training each user liked item 0 of their group; in the last days, items 1 and 2
    of group ``(g + shift) % GROUPS``."""
    for u in range(USERS):
        own = u % GROUPS
        like(tables, f"u{u}", item_key(own, 0), T0 - timedelta(days=1))
        for j in (1, 2):
            like(tables, f"u{u}", item_key((own + shift) % GROUPS, j), NOW - timedelta(hours=5 + j))


def test_two_tower_recommendations_that_still_match_raise_no_alert(tables: Any, s3: Any) -> None:
    planted_two_tower(tables, s3)
    post_likes(tables, shift=0)
    result = run_job("drift_check", tables, NOW, s3=s3)
    report = result["models"]["two_tower"]
    assert (report["users"], report["likes"]) == (USERS, 2 * USERS)
    assert report["performance"]["metric"] == "recall@10"
    assert report["performance"]["recent"] == 1.0
    assert report["performance"]["validation"] == 0.9
    assert report["performance"]["recent_hit_rate@10"] == 1.0
    assert result["alerts"] == [] and result["actions"] == []


def test_two_tower_with_too_few_known_users_is_skipped_saying_why(tables: Any, s3: Any) -> None:
    planted_two_tower(tables, s3)
    for u in range(5):
        like(tables, f"u{u}", item_key((u + 1) % GROUPS, 1), NOW - timedelta(hours=3))
    like(tables, "stranger", item_key(0, 1), NOW - timedelta(hours=3))  # unknown to the model
    result = run_job("drift_check", tables, NOW, s3=s3)
    report = result["models"]["two_tower"]
    assert report["users"] == 5 and "performance" not in report
    assert report["skipped"] == (
        "5 known users liked known items in the last 7 days; a drift check needs at least 20"
    )
    assert result["alerts"] == [] and result["actions"] == []


def test_two_tower_hit_rate_drift_records_a_retrain_request(tables: Any, s3: Any) -> None:
    planted_two_tower(tables, s3)
    post_likes(tables, shift=1)
    result = run_job("drift_check", tables, NOW, s3=s3)
    performance = result["models"]["two_tower"]["performance"]
    assert performance["recent"] < 0.5
    [alert] = result["alerts"]
    assert (alert["model"], alert["metric"], alert["feature"]) == ("two_tower", "recall@10", None)
    assert alert["threshold"] == pytest.approx(0.8)
    [action] = result["actions"]
    assert (action["model"], action["action"], action["version"]) == (
        "two_tower",
        "retrain_requested",
        None,
    )
    assert action["trigger"] == [alert]
    # The request waits in the ledger's by_pending index for the local stack / a task.
    assert [(r["model"], r["at"]) for r in pending_requests(tables)] == [
        ("two_tower", result["checked_at"])
    ]
    entry = tables.ledger.get(f"drift_action#{result['checked_at']}#two_tower")
    assert entry.pending_job == RETRAIN_JOB
    [shown] = timeline(tables)
    assert (shown["outcome"], shown["outcome_reason"]) == (
        "pending",
        "waiting for the training job",
    )
    # Without torch here the local stack says so, and the request stays pending.
    done = run_pending_retrains(tables, s3, missing=lambda name: "train", run=_never)
    assert done == [
        {
            "model": "two_tower",
            "at": result["checked_at"],
            "version": None,
            "reason": unavailable_reason("train"),
        }
    ]
    assert len(pending_requests(tables)) == 1
    assert timeline(tables)[0]["reason"] == (
        "retrain requested; training job unavailable here: install .[train]"
    )
    # A redelivered check neither requests again nor sends another event.
    assert run_job("drift_check", tables, NOW, s3=s3)["actions"][0]["at"] == action["at"]
    assert len(pending_requests(tables)) == 1


def _never(name: str, args: Any) -> int:
    raise AssertionError(f"{name} must not run")


def test_a_retrain_request_puts_an_event_on_the_configured_bus(
    tables: Any, s3: Any, settings: Any
) -> None:
    from learnloop.drift.actions import RETRAIN_DETAIL_TYPE, _announce
    from learnloop.store.clients import events_client

    events = events_client(settings)
    events.create_event_bus(Name="learnloop-test-bus")
    sent: list[dict[str, Any]] = []

    class Recording:
        def put_events(self, **kwargs: Any) -> Any:
            sent.append(kwargs)
            return events.put_events(**kwargs)

    configured = tables.settings.with_overrides(event_bus_name="learnloop-test-bus")
    stage = type("Stage", (), {"settings": configured})()
    value = {"at": "2026-11-23T09:00:00Z", "model": "sentiment", "trigger": [], "reason": "r"}
    assert _announce(stage, value, Recording()) is True
    [entry] = sent[0]["Entries"]
    assert (entry["DetailType"], entry["EventBusName"]) == (
        RETRAIN_DETAIL_TYPE,
        "learnloop-test-bus",
    )
    assert json.loads(entry["Detail"])["model"] == "sentiment"
    # No bus configured: no event (the ledger item alone is the request).
    assert _announce(tables, value, Recording()) is False and len(sent) == 1


# --- sentiment -----------------------------------------------------------------------------------


@pytest.fixture
def sentiment_head(tables: Any, s3: Any) -> str:
    """A production head trained on balanced labelled texts over the tiny encoder."""
    from training_jobs.sentiment.job import build_artifact, train_sentiment

    key, encoder_version = drop_text_encoder(tables, s3)
    assert register(tables, s3, key).status == "production"
    texts, labels = labelled_texts(20)
    training = train_sentiment(texts, labels, tiny_encoder(), Cs=(1.0,), cv=3)
    files, manifest = build_artifact(
        training, {"name": "text_encoder", "version": encoder_version}, version=new_version(T0)
    )
    assert manifest["extra"]["label_mix"] == {
        "negative": pytest.approx(1 / 3, abs=1e-6),
        "neutral": pytest.approx(1 / 3, abs=1e-6),
        "positive": pytest.approx(1 / 3, abs=1e-6),
    }
    written = write_artifact(
        s3, tables.settings.bucket, "sentiment", manifest["version"], files, manifest
    )
    assert register(tables, s3, written[-1]).status == "production"
    return str(manifest["version"])


def post_snapshots(tables: Any, texts: list[str]) -> None:
    """One reaction per text, its content snapshot carrying the text."""
    for i, text in enumerate(texts):
        like(tables, f"r{i}", f"news#t{i}", NOW - timedelta(hours=2), {"title": text})


def test_a_sentiment_mix_like_training_raises_no_alert(
    tables: Any, s3: Any, sentiment_head: str
) -> None:
    texts, _ = labelled_texts(40, seed=1)
    post_snapshots(tables, sorted(set(texts)))
    result = run_job("drift_check", tables, NOW, s3=s3)
    report = result["models"]["sentiment"]
    assert report["version"] == sentiment_head and report["texts"] >= 100
    assert report["label_mix"]["tvd"] < 0.2
    assert result["alerts"] == []


def test_sentiment_label_mix_drift_is_retrained_by_the_local_stack(
    tables: Any, s3: Any, sentiment_head: str
) -> None:
    from training_jobs.sentiment.data import DEFAULT_DATA_KEY
    from training_jobs.sentiment.job import main

    texts, labels = labelled_texts(80, seed=2)
    positive = sorted({t for t, y in zip(texts, labels, strict=True) if y == "positive"})
    post_snapshots(tables, positive)
    result = run_job("drift_check", tables, NOW, s3=s3)
    mix = result["models"]["sentiment"]["label_mix"]
    assert mix["recent"]["positive"] > 0.9 and mix["tvd"] > 0.5
    [alert] = result["alerts"]
    assert (alert["model"], alert["feature"], alert["metric"]) == ("sentiment", "label_mix", "tvd")
    [action] = result["actions"]
    assert action["action"] == "retrain_requested"

    # The local stack runs the sentiment job (in-process here) on the labelled data in S3.
    body = "".join(
        json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels, strict=True)
    )
    s3.put_object(Bucket=tables.settings.bucket, Key=DEFAULT_DATA_KEY, Body=body.encode())
    ran: list[str] = []

    def in_process(name: str, args: Any) -> int:
        ran.append(name)
        return main(["--cv", "3", *args], settings=tables.settings, s3=s3, tables=tables)

    [done] = run_pending_retrains(tables, s3, run=in_process, missing=lambda name: None)
    assert ran == ["sentiment"]
    assert done["version"] and done["version"] != sentiment_head
    assert pending_requests(tables) == []
    [shown] = timeline(tables)
    assert (shown["version"], shown["outcome"]) == (done["version"], "pending")
    # The manifest's arrival registers it; the timeline then shows the decision.
    registered = register(tables, s3, f"models/sentiment/{done['version']}/manifest.json")
    [shown] = timeline(tables)
    assert shown["outcome"] == ("promoted" if registered.status == "production" else "kept")
    assert registered.reason in shown["outcome_reason"]

"""A container model's drift retrain request is done when a version made after it registers.

On AWS the stage's rule starts the job's Fargate task from the request's event, and the task
never touches the ledger: the S3 drop of the version it publishes, through ``on_model_dropped``,
marks the request carried out.
"""

from __future__ import annotations

from typing import Any

from support.drift_requests import CHECKED_AT, request_retrain
from support.model_drops import drop
from support.two_tower import drop_two_tower

from learnloop.drift.actions import pending_requests
from learnloop.drift.ledger import action_key
from learnloop_tools.local.s3_events import object_created_event


def deliver(client: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    response = client.lambda_.invoke("on_model_dropped", object_created_event(bucket, key))
    return response.payload  # type: ignore[no-any-return]


def test_a_version_made_after_the_request_carries_it_out_once(
    client: Any, tables: Any, s3: Any
) -> None:
    bucket = tables.settings.bucket
    request_retrain(tables, "two_tower")  # checked at 2026-11-20T01:30
    # Neither another model's version nor a two-tower version made before the check does it.
    deliver(client, bucket, drop(tables, s3, minute=0))
    deliver(client, bucket, drop_two_tower(tables, s3, minute=-8 * 60))  # 01:00
    assert [r["model"] for r in pending_requests(tables)] == ["two_tower"]

    key = drop_two_tower(tables, s3, minute=0)  # 09:00, after the check
    [result] = deliver(client, bucket, key)
    assert pending_requests(tables) == []
    action = tables.ledger.get(action_key(CHECKED_AT, "two_tower")).value
    assert (action["action"], action["version"]) == ("retrained", result["version"])
    assert action["reason"] == f"retrained: the two_tower job published {result['version']}"
    # A redelivery of the drop changes nothing.
    deliver(client, bucket, key)
    assert tables.ledger.get(action_key(CHECKED_AT, "two_tower")).value == action

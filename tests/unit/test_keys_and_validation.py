from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from learnloop.api.auth import Scope
from learnloop.api.auth.keys import Principal
from learnloop.clock import iso
from learnloop.exceptions import ValidationError
from learnloop.ingest.events import parse_event_batch
from learnloop.store.keys import day_partitions, day_shard

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def test_iso_sorts_like_time() -> None:
    a = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    b = datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC)
    assert iso(a) < iso(b)


def test_day_shard_is_stable_and_in_the_day_partitions() -> None:
    ts = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
    assert day_shard(ts, "u1", shards=4) == day_shard(ts, "u1", shards=4)
    shards = {day_shard(ts, f"user-{i}", shards=4) for i in range(100)}
    assert shards == set(day_partitions(date(2026, 11, 20), shards=4))


def test_admin_grants_everything_other_scopes_only_themselves() -> None:
    admin = Principal("a", "p", frozenset({Scope.ADMIN}))
    reader = Principal("r", "p", frozenset({Scope.READ}))
    assert all(admin.can(scope) for scope in Scope)
    assert reader.can(Scope.READ) and not reader.can(Scope.INGEST) and not reader.can(Scope.ADMIN)


def test_parse_event_batch_names_every_bad_event() -> None:
    body = {
        "events": [
            {
                "type": "alert_shown",
                "user_id": "u",
                "occurred_at": "2026-11-20T00:00:00Z",
                "properties": {},
            },
            {
                "type": "alert_shown",
                "user_id": "bad id",
                "occurred_at": "2026-11-20T00:00:00Z",
                "properties": {"alert_id": "a"},
            },
        ],
        "extra": True,
    }
    with pytest.raises(ValidationError) as info:
        parse_event_batch(body, max_events=500, now=NOW)
    fields = {d["field"] for d in info.value.details}
    assert fields == {"extra", "events[0].properties.alert_id", "events[1].user_id"}

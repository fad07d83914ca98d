"""POST /v1/events: batches, idempotency, per-type validation."""

from __future__ import annotations

import json
from typing import Any

from support.api import call, error_of, fields_of


def event(i: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "event_id": f"e-{i}",
        "type": "alert_shown",
        "user_id": f"u{i % 3}",
        "occurred_at": f"2026-11-20T10:{i % 60:02d}:00Z",
        "properties": {"alert_id": f"a{i}"},
    }
    body.update(overrides)
    return body


def stored_events(tables: Any) -> list[Any]:
    return [e for e in tables.events.scan()]


def test_a_batch_sent_twice_is_stored_once(client: Any, keys: dict, tables: Any) -> None:
    batch = {"events": [event(i) for i in range(30)]}
    first = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    second = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    assert first.json_body == {"accepted": 30, "duplicates": 0, "dropped": 0}
    assert second.json_body == {"accepted": 0, "duplicates": 30, "dropped": 0}
    assert len(stored_events(tables)) == 30


def test_events_without_ids_get_deterministic_ids(client: Any, keys: dict, tables: Any) -> None:
    batch = {"events": [{k: v for k, v in event(i).items() if k != "event_id"} for i in range(5)]}
    first = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    second = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    assert first.json_body["accepted"] == 5
    assert second.json_body == {"accepted": 0, "duplicates": 5, "dropped": 0}
    ids = {e.event_id for e in stored_events(tables)}
    assert len(ids) == 5 and all(len(i) == 32 for i in ids)


def test_duplicates_inside_one_batch_count_once(client: Any, keys: dict, tables: Any) -> None:
    batch = {"events": [event(1), event(1), event(2)]}
    response = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    assert response.json_body == {"accepted": 2, "duplicates": 1, "dropped": 0}
    assert len(stored_events(tables)) == 2


def test_partly_new_batch(client: Any, keys: dict) -> None:
    call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": [event(1)]})
    response = call(
        client, "POST", "/v1/events", key=keys["ingest"], body={"events": [event(1), event(2)]}
    )
    assert response.json_body == {"accepted": 1, "duplicates": 1, "dropped": 0}


def test_invalid_items_reject_the_whole_batch_naming_each(
    client: Any, keys: dict, tables: Any
) -> None:
    batch = {
        "events": [
            event(0),
            event(1, type="trade_created", properties={"trade_id": "t1", "side": "hold"}),
            event(2, occurred_at="yesterday"),
            event(3, type="checkout"),
            event(4),
        ]
    }
    response = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    assert response.status_code == 422
    details = error_of(response)["details"]
    assert {d["index"] for d in details} == {1, 2, 3}
    assert {
        "events[1].properties.side",
        "events[1].properties.symbol",
        "events[1].properties.quantity",
        "events[1].properties.price",
        "events[2].occurred_at",
        "events[3].type",
    } == fields_of(response)
    assert stored_events(tables) == []


def test_custom_namespaced_types_are_free_form(client: Any, keys: dict) -> None:
    batch = {"events": [event(0, type="acme.checkout_started", properties={"cart": [1, 2]})]}
    response = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    assert response.status_code == 200
    assert response.json_body["accepted"] == 1


def test_every_spec_type_is_accepted_with_its_properties(
    client: Any, keys: dict, tables: Any
) -> None:
    examples = {
        "trade_created": {
            "trade_id": "t",
            "symbol": "BTC",
            "side": "buy",
            "quantity": 1,
            "price": 2,
        },
        "trade_updated": {"trade_id": "t", "price": 3},
        "trade_deleted": {"trade_id": "t"},
        "emotion_analyzed": {"emotion": "fear", "confidence": 0.8},
        "pattern_viewed": {"pattern_id": "p"},
        "pattern_detected": {"pattern_type": "revenge_trading", "confidence": 0.5},
        "insight_helpful": {"insight_id": "i"},
        "insight_not_helpful": {"insight_id": "i"},
        "insight_generated": {"insight_id": "i"},
        "chat_message_sent": {"message_length": 42},
        "alert_shown": {"alert_id": "a"},
        "alert_dismissed": {"alert_id": "a"},
        "alert_heeded": {"alert_id": "a"},
        "prediction_made": {"model": "engagement", "prediction": 0.1},
        "model_updated": {"model": "engagement", "version": "v2"},
    }
    batch = {
        "events": [event(i, type=t, properties=p) for i, (t, p) in enumerate(examples.items())]
    }
    response = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    assert response.status_code == 200, response.body
    assert response.json_body["accepted"] == len(examples)
    assert sorted(e.type for e in stored_events(tables)) == sorted(examples)


def test_batch_size_limits(client: Any, keys: dict) -> None:
    empty = call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": []})
    huge = call(
        client,
        "POST",
        "/v1/events",
        key=keys["ingest"],
        body={"events": [event(i) for i in range(501)]},
    )
    assert empty.status_code == huge.status_code == 422
    assert fields_of(empty) == fields_of(huge) == {"events"}
    assert "501" in error_of(huge)["details"][0]["message"]


def test_future_events_are_refused(client: Any, keys: dict) -> None:
    response = call(
        client,
        "POST",
        "/v1/events",
        key=keys["ingest"],
        body={"events": [event(0, occurred_at="2999-01-01T00:00:00Z")]},
    )
    assert response.status_code == 422
    assert fields_of(response) == {"events[0].occurred_at"}


def test_events_are_readable_by_day_partition(client: Any, keys: dict, tables: Any) -> None:
    from datetime import date

    from learnloop.store.keys import day_partitions

    call(
        client,
        "POST",
        "/v1/events",
        key=keys["ingest"],
        body={"events": [event(i) for i in range(9)]},
    )
    found = [
        e.event_id
        for partition in day_partitions(date(2026, 11, 20), shards=tables.settings.day_shards)
        for e in tables.events.by_day.query(partition)
    ]
    assert sorted(found) == sorted(f"e-{i}" for i in range(9))
    stored = tables.events.get("u1", "2026-11-20T10:01:00.000000Z#e-1")
    assert stored.expires_at is not None
    assert json.loads(json.dumps(stored.properties)) == {"alert_id": "a1"}


def test_metrics_count_accepted_and_duplicates(client: Any, keys: dict, capsys: Any) -> None:
    batch = {"events": [event(i) for i in range(4)]}
    call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    # Powertools writes each value as a list: [4.0] for one data point of 4.
    accepted = [m["EventsAccepted"] for m in emf if "EventsAccepted" in m]
    duplicates = [m["EventsDuplicate"] for m in emf if "EventsDuplicate" in m]
    assert accepted == [[4.0], [0.0]]
    assert duplicates == [[0.0], [4.0]]


def test_a_retry_with_a_new_occurred_at_is_a_duplicate_not_a_second_event(
    client: Any, keys: dict, tables: Any
) -> None:
    first = event(1, event_id="retry-1")
    again = event(1, event_id="retry-1", occurred_at="2026-11-20T10:59:59Z")
    sent = call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": [first]})
    retried = call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": [again]})
    assert sent.json_body["accepted"] == 1
    assert retried.json_body == {"accepted": 0, "duplicates": 1, "dropped": 0}
    both = call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": [first, again]})
    assert both.json_body["duplicates"] == 2
    assert [e.occurred_at for e in stored_events(tables)] == ["2026-11-20T10:01:00.000000Z"]

"""PUT /v1/users/{user_id}/consent and what ingest does for opted-out and deleted users."""

from __future__ import annotations

import json
from typing import Any

from support.api import call, error_of, fields_of

from learnloop.clock import utcnow
from learnloop.users.consent import ConsentCache, excluded_pseudonyms, set_consent
from learnloop.users.pseudonym import pseudonymize
from learnloop.users.tombstones import write_tombstone


def reaction(user: str = "u1", item: str = "m1") -> dict[str, Any]:
    return {"user_id": user, "content_type": "meme", "external_id": item, "reaction": "like"}


def event(user: str, n: int) -> dict[str, Any]:
    return {
        "event_id": f"{user}-e{n}",
        "type": "alert_shown",
        "user_id": user,
        "occurred_at": "2026-11-20T10:00:00Z",
        "properties": {"alert_id": f"a{n}"},
    }


def consent(client: Any, key: str, user: str, value: str) -> Any:
    return call(client, "PUT", f"/v1/users/{user}/consent", key=key, body={"consent": value})


def stored_events(tables: Any, user: str) -> list[str]:
    return sorted(e.event_id for e in tables.events.query(user))


def test_opted_out_user_is_accepted_and_dropped_then_stored_again_after_opt_in(
    client: Any, keys: dict, tables: Any
) -> None:
    reply = consent(client, keys["ingest"], "u1", "opted_out")
    assert reply.status_code == 200
    assert json.loads(reply.body)["consent"] == "opted_out"

    put = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=reaction())
    assert put.status_code == 202
    assert json.loads(put.body)["dropped"] is True
    assert list(tables.reactions.query("u1")) == []

    batch = {"events": [event("u1", 1), event("u1", 2)]}
    posted = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    assert posted.status_code == 202
    assert json.loads(posted.body) == {"accepted": 0, "duplicates": 0, "dropped": 2}
    assert stored_events(tables, "u1") == []

    mixed = {"events": [event("u1", 3), event("u2", 1)]}
    posted = call(client, "POST", "/v1/events", key=keys["ingest"], body=mixed)
    assert posted.status_code == 200  # something was stored
    assert json.loads(posted.body) == {"accepted": 1, "duplicates": 0, "dropped": 1}
    assert stored_events(tables, "u1") == [] and stored_events(tables, "u2") == ["u2-e1"]

    call(
        client,
        "POST",
        "/v1/insights",
        key=keys["ingest"],
        body={"insight_id": "i1", "user_id": "u2", "insight_type": "tip"},
    )
    feedback = call(
        client,
        "POST",
        "/v1/insights/i1/feedback",
        key=keys["ingest"],
        body={"user_id": "u1", "helpful": True},
    )
    assert feedback.status_code == 202 and json.loads(feedback.body)["dropped"] is True
    assert [r.record for r in tables.insights.query("i1")] == ["insight"]
    insight = call(
        client,
        "POST",
        "/v1/insights",
        key=keys["ingest"],
        body={"insight_id": "i2", "user_id": "u1", "insight_type": "tip", "text": "about u1"},
    )
    assert insight.status_code == 202 and json.loads(insight.body)["dropped"] is True
    assert list(tables.insights.query("i2")) == []

    assert pseudonymize("u1", tables.settings.pseudonym_secret) in excluded_pseudonyms(tables)

    assert consent(client, keys["ingest"], "u1", "opted_in").status_code == 200
    assert excluded_pseudonyms(tables) == set()
    put = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=reaction())
    assert put.status_code == 200 and "dropped" not in json.loads(put.body)
    assert [r.item_key for r in tables.reactions.query("u1")] == ["meme#m1"]
    posted = call(client, "POST", "/v1/events", key=keys["ingest"], body=batch)
    assert json.loads(posted.body) == {"accepted": 2, "duplicates": 0, "dropped": 0}


def test_setting_the_same_consent_twice_changes_nothing(tables: Any) -> None:
    first = set_consent(tables, "u1", {"consent": "opted_out"})
    again = set_consent(tables, "u1", {"consent": "opted_out"})
    assert again == first
    item = tables.users.get("u1")
    assert item.pseudonym == pseudonymize("u1", tables.settings.pseudonym_secret)
    assert item.excluded == "opted_out"


def test_consent_scope_and_validation(client: Any, keys: dict) -> None:
    assert consent(client, keys["read"], "u1", "opted_out").status_code == 403
    assert consent(client, keys["admin"], "u1", "opted_out").status_code == 200
    bad = consent(client, keys["ingest"], "u1", "maybe")
    assert bad.status_code == 422 and fields_of(bad) == {"consent"}
    bad_id = consent(client, keys["ingest"], "bad%20id", "opted_out")
    assert bad_id.status_code == 422 and fields_of(bad_id) == {"user_id"}
    empty = call(client, "PUT", "/v1/users/u1/consent", key=keys["ingest"], raw=b"{}")
    assert empty.status_code == 422 and fields_of(empty) == {"consent"}


def test_a_deleted_user_is_dropped_and_cannot_opt_back_in(
    client: Any, keys: dict, tables: Any
) -> None:
    write_tombstone(tables, pseudonymize("u9", tables.settings.pseudonym_secret), now=utcnow())
    put = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=reaction("u9"))
    assert put.status_code == 202
    assert list(tables.reactions.query("u9")) == []
    reply = consent(client, keys["ingest"], "u9", "opted_in")
    assert reply.status_code == 409 and error_of(reply)["code"] == "user_deleted"


def test_cache_trusts_a_lookup_for_its_ttl(tables: Any) -> None:
    clock = [100.0]
    other_container = ConsentCache(tables, ttl_seconds=10, clock=lambda: clock[0])
    assert other_container.dropped(["u1", "u2"]) == set()
    set_consent(tables, "u1", {"consent": "opted_out"})  # through another container
    assert other_container.dropped(["u1"]) == set()  # still trusted
    clock[0] += 10.5
    assert other_container.dropped(["u1", "u2"]) == {"u1"}
    # The container that changed the consent knows the change at once (it notes it).
    this_container = ConsentCache(tables, ttl_seconds=10, clock=lambda: clock[0])
    assert this_container.dropped(["u1"]) == {"u1"}
    set_consent(tables, "u1", {"consent": "opted_in"}, cache=this_container)
    assert this_container.dropped(["u1"]) == set()


def test_cache_trusts_the_excluded_pseudonyms_for_its_ttl(tables: Any) -> None:
    clock = [100.0]
    other_container = ConsentCache(tables, ttl_seconds=10, clock=lambda: clock[0])
    assert other_container.excluded_pseudonyms() == frozenset()
    set_consent(tables, "u1", {"consent": "opted_out"})  # through another container
    assert other_container.excluded_pseudonyms() == frozenset()  # still trusted
    clock[0] += 10.5
    u1 = pseudonymize("u1", tables.settings.pseudonym_secret)
    assert other_container.excluded_pseudonyms() == {u1}
    # The container that changed a consent re-reads at once.
    set_consent(tables, "u1", {"consent": "opted_in"}, cache=other_container)
    assert other_container.excluded_pseudonyms() == frozenset()


def test_a_request_after_the_first_costs_no_consent_call_whoever_it_names(
    tables: Any, monkeypatch: Any
) -> None:
    import learnloop.users.consent as module

    set_consent(tables, "u1", {"consent": "opted_out"})
    per_user = []
    monkeypatch.setattr(module, "lookup_dropped", lambda t, users: per_user.append(users) or set())
    reads = []
    whole_set = module._excluded_up_to
    monkeypatch.setattr(
        module, "_excluded_up_to", lambda t, limit: reads.append(1) or whole_set(t, limit)
    )
    clock = [100.0]
    cache = ConsentCache(tables, ttl_seconds=10, clock=lambda: clock[0])
    assert cache.dropped(["u1", "u2"]) == {"u1"}
    for n in range(20):  # new users every time: still no call
        assert cache.dropped([f"new{n}"]) == set()
    assert (reads, per_user) == ([1], [])
    clock[0] += 10.5
    assert cache.dropped(["u1"]) == {"u1"} and reads == [1, 1]  # one re-read per TTL


def test_an_opt_out_after_a_cached_read_is_honoured_even_when_the_index_lags(
    tables: Any, monkeypatch: Any
) -> None:
    import learnloop.users.consent as module

    clock = [100.0]
    cache = ConsentCache(tables, ttl_seconds=10, clock=lambda: clock[0])
    assert cache.dropped(["u1"]) == set()  # cached: u1 is not excluded
    # The index behind the set lags the table (a GSI is eventually consistent): re-reads
    # in the next seconds do not show the opt-out yet.
    monkeypatch.setattr(module, "_excluded_up_to", lambda t, limit: frozenset())
    set_consent(tables, "u1", {"consent": "opted_out"}, cache=cache)  # through this container
    assert cache.dropped(["u1"]) == {"u1"}
    u1 = pseudonymize("u1", tables.settings.pseudonym_secret)
    assert u1 in cache.excluded_pseudonyms()
    clock[0] += 15  # past a re-read that still lags
    assert cache.dropped(["u1"]) == {"u1"}
    monkeypatch.undo()
    clock[0] += 10  # the note has expired; the index shows the opt-out by now
    assert cache.dropped(["u1"]) == {"u1"}
    set_consent(tables, "u1", {"consent": "opted_in"}, cache=cache)
    assert cache.dropped(["u1"]) == set()


def test_past_the_set_limit_users_are_looked_up_one_by_one(tables: Any) -> None:
    for user in ("u1", "u2", "u3"):
        set_consent(tables, user, {"consent": "opted_out"})
    clock = [100.0]
    cache = ConsentCache(tables, ttl_seconds=10, clock=lambda: clock[0], max_excluded=2)
    assert cache.dropped(["u1", "u3", "u4"]) == {"u1", "u3"}
    assert cache._excluded is None  # not held: too many
    set_consent(tables, "u4", {"consent": "opted_out"}, cache=cache)
    assert cache.dropped(["u4"]) == {"u4"}

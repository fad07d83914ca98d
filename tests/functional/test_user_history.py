"""A user's history for serving, against moto's server: keyed reads, the cache, exclusion.

The store calls are counted through a botocore event hook on the tables' shared client (what
goes over the wire), not by patching our code. Expected rankings are brute force.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from support.api import call
from support.model_drops import T0
from support.stage import new_stage_settings
from support.two_tower import TwoTowerData, drop_two_tower

from learnloop.clock import iso, utcnow
from learnloop.ingest.reactions import put_reaction
from learnloop.models.registration import register_model
from learnloop.recommender.history import HistoryCache, read_history
from learnloop.users.pseudonym import pseudonymize

TYPES = ("meme", "news", "coin")


@pytest.fixture
def settings(aws_endpoint: str, request: pytest.FixtureRequest) -> Any:
    """A fresh stage; ``recommend_exclude`` from the test's indirect parameter."""
    mode = getattr(request, "param", "all")
    return new_stage_settings(aws_endpoint).with_overrides(recommend_exclude=mode)


class Calls:
    """DynamoDB operations sent by one client, as botocore sees them."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.seen.append((model.name, params))

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]

    def clear(self) -> None:
        self.seen.clear()


@pytest.fixture
def calls(tables: Any) -> Iterator[Calls]:
    client = tables.reactions._get_connection().connection._client
    counter = Calls()
    client.meta.events.register("before-parameter-build.dynamodb", counter)
    yield counter
    client.meta.events.unregister("before-parameter-build.dynamodb", counter)


def react(tables: Any, user: str, item_key: str, reaction: str) -> None:
    content_type, external_id = item_key.split("#", 1)
    put_reaction(
        tables,
        {
            "user_id": user,
            "content_type": content_type,
            "external_id": external_id,
            "reaction": reaction,
        },
    )


def event(user: str, item_key: str, minutes_ago: int, kind: str = "acme.item_viewed") -> dict:
    content_type, external_id = item_key.split("#", 1)
    return {
        "type": kind,
        "user_id": user,
        "occurred_at": iso(utcnow() - timedelta(minutes=minutes_ago)),
        "properties": {"content_type": content_type, "external_id": external_id},
    }


def post_events(client: Any, keys: dict[str, str], events: list[dict]) -> None:
    response = call(client, "POST", "/v1/events", key=keys["ingest"], body={"events": events})
    assert response.status_code in (200, 202), response.body


def test_a_history_read_is_two_keyed_queries_and_never_a_scan(
    tables: Any, client: Any, keys: dict[str, str], calls: Calls
) -> None:
    react(tables, "u1", "meme#a", "like")
    react(tables, "u1", "news#b", "dislike")
    for other in range(30):  # other users' rows are never read
        react(tables, f"other{other}", f"meme#x{other}", "like")
    # Five events naming items, oldest first; with events=3 only the newest three count.
    post_events(
        client,
        keys,
        [event("u1", f"coin#c{i}", minutes_ago=50 - i) for i in range(5)]
        + [event("u1", "meme#a", minutes_ago=1), event("other1", "coin#zz", minutes_ago=1)],
    )
    calls.clear()
    history = read_history(tables, "u1", events=3)
    assert calls.names() == ["Query", "Query"]
    tables_read = [params["TableName"] for _, params in calls.seen]
    assert tables_read == [tables.reactions.Meta.table_name, tables.events.Meta.table_name]
    for _, params in calls.seen:
        assert "IndexName" not in params
        (value,) = params["ExpressionAttributeValues"].values()
        assert value == {"S": "u1"}  # the partition key: one user's items only
    assert history.reacted == {"meme#a", "news#b"} and history.liked == ("meme#a",)
    # Newest three events: meme#a (already a reaction), coin#c4, coin#c3.
    assert history.interacted == {"coin#c4", "coin#c3"}
    assert history.excluded("all") == {"meme#a", "news#b", "coin#c4", "coin#c3"}
    assert history.excluded("reactions") == {"meme#a", "news#b"}
    calls.clear()
    assert read_history(tables, "u1", events=0).interacted == frozenset()
    assert calls.names() == ["Query"]
    assert read_history(tables, "nobody").reacted == frozenset()


def test_the_cache_trusts_a_read_for_its_ttl_and_forgets_on_a_write(
    tables: Any, calls: Calls
) -> None:
    now = [100.0]
    cache = HistoryCache(tables, ttl_seconds=5.0, events=10, clock=lambda: now[0])
    react(tables, "u1", "meme#a", "like")
    calls.clear()
    assert cache.get("u1").reacted == {"meme#a"}
    assert calls.names() == ["Query", "Query"]
    react(tables, "u1", "meme#b", "like")  # written through "another container"
    calls.clear()
    now[0] = 104.9
    assert cache.get("u1").reacted == {"meme#a"}  # trusted: stale for at most the TTL
    assert calls.names() == []
    now[0] = 105.0
    assert cache.get("u1").reacted == {"meme#a", "meme#b"}
    assert calls.names() == ["Query", "Query"]
    react(tables, "u1", "meme#c", "dislike")
    cache.forget("u1")  # the container that took the write
    assert "meme#c" in cache.get("u1").reacted
    cache.forget_senders({"events": [{"user_id": "u1"}, "junk"]})
    calls.clear()
    cache.get("u1")
    assert calls.names() == ["Query", "Query"]
    cache.get("u1")
    calls.clear()
    cache.forget_senders({"reactions": [{"user_id": "u1"}]}, "reactions")  # a reactions batch
    cache.get("u1")
    assert calls.names() == ["Query", "Query"]
    cache.forget_senders("not a batch")  # ignored
    # No cache: every call reads.
    uncached = HistoryCache(tables, ttl_seconds=0, events=0, clock=lambda: now[0])
    calls.clear()
    uncached.get("u1")
    uncached.get("u1")
    assert calls.names() == ["Query", "Query"]


def test_the_cache_drops_the_least_recently_read_users(tables: Any, calls: Calls) -> None:
    cache = HistoryCache(tables, ttl_seconds=60, events=0, clock=lambda: 0.0, max_users=2)
    for user in ("u1", "u2", "u1", "u3"):  # u2 is the least recently read when u3 arrives
        cache.get(user)
    calls.clear()
    cache.get("u1")
    cache.get("u3")
    assert calls.names() == []
    cache.get("u2")
    assert calls.names() == ["Query"]


# --- through the API -------------------------------------------------------------------------


def make_data(secret: str) -> TwoTowerData:
    rng = np.random.default_rng(3)
    n_items = 30
    return TwoTowerData(
        item_keys=[f"{TYPES[i % 3]}#it{i}" for i in range(n_items)],
        item_matrix=rng.normal(size=(n_items, 8)).astype(np.float32),
        users=[pseudonymize(u, secret) for u in ("u0", "u1")],
        user_matrix=rng.normal(size=(2, 8)).astype(np.float32),
        popularity=[int(p) for p in rng.integers(0, 30, n_items)],
    )


@pytest.fixture
def model(tables: Any, s3: Any) -> TwoTowerData:
    data = make_data(tables.settings.pseudonym_secret)
    key = drop_two_tower(tables, s3, data, metrics={"ndcg@10": 0.3})
    result = register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0)
    assert result.status == "production", result.reason
    return data


def recommended(client: Any, keys: dict[str, str], path: str, **query: Any) -> list[str]:
    response = call(client, "GET", f"{path}?{urlencode(query)}", key=keys["read"])
    assert response.status_code == 200, response.body
    return [item["item_key"] for item in json.loads(response.body)["items"]]


def ranked(data: TwoTowerData, scores: np.ndarray, exclude: set[str], k: int) -> list[str]:
    order = [data.item_keys[i] for i in np.argsort(-scores, kind="stable")]
    return [key for key in order if key not in exclude][:k]


@pytest.mark.parametrize("settings", ["all", "reactions"], indirect=True)
def test_recommendations_leave_out_every_interaction_unless_configured(
    client: Any, keys: dict[str, str], tables: Any, model: TwoTowerData
) -> None:
    data = model
    before = recommended(client, keys, "/v1/recommendations", user_id="u1", k=10)
    # Viewed (an event naming the item), liked, and viewed by someone else.
    post_events(client, keys, [event("u1", before[0], 5), event("u0", before[2], 5)])
    call(
        client,
        "PUT",
        "/v1/reactions",
        key=keys["ingest"],
        body={
            "user_id": "u1",
            "content_type": before[1].split("#")[0],
            "external_id": before[1].split("#")[1],
            "reaction": "like",
        },
    )
    after = recommended(client, keys, "/v1/recommendations", user_id="u1", k=10)
    interactions = {before[0], before[1]} if tables.settings.recommend_exclude == "all" else set()
    left_out = interactions | {before[1]}
    assert after == ranked(data, data.item_matrix @ data.user_matrix[1], left_out, 10)
    assert before[1] not in after and before[2] in after
    assert (before[0] in after) is (tables.settings.recommend_exclude == "reactions")
    # Similar items for this user leave out the same items (and the item itself).
    anchor = data.item_keys[0]
    similar = recommended(
        client, keys, f"/v1/items/{anchor.replace('#', '/')}/similar", k=29, user_id="u1"
    )
    assert not (left_out | {anchor}) & set(similar)
    assert len(similar) == 29 - len(left_out - {anchor})
    everyone = recommended(client, keys, f"/v1/items/{anchor.replace('#', '/')}/similar", k=29)
    assert set(everyone) == set(data.item_keys) - {anchor}

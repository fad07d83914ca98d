"""Coin-reaction sentiment counts distinct users per coin and day, over HTTP.

Reactions go through ``PUT /v1/reactions``, the real rollup job writes the day, and
``GET /v1/sentiment/market`` reads it back. One account liking 60 items of one coin (coin
cards, each its own ``external_id``, the coin in the snapshot's ``symbol``) is one vote.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from support.api import call

from learnloop.rollups.job import rollup_day

DAY1, DAY2 = date(2026, 11, 19), date(2026, 11, 20)


def react(
    client: Any, key: str, user: str, external_id: str, reaction: str, at: str, symbol: str = ""
) -> None:
    body: dict[str, Any] = {
        "user_id": user,
        "content_type": "coin",
        "external_id": external_id,
        "reaction": reaction,
        "occurred_at": at,
    }
    if symbol:
        body["content"] = {"symbol": symbol, "title": f"{symbol} card"}
    response = call(client, "PUT", "/v1/reactions", key=key, body=body)
    assert response.status_code == 200, response.body


def coins(client: Any, key: str, to: date) -> dict[str, Any]:
    response = call(client, "GET", f"/v1/sentiment/market?days=1&to={to}", key=key)
    assert response.status_code == 200, response.body
    return {c["coin"]: c for c in json.loads(response.body)["coins"]}


def test_one_accounts_60_likes_of_a_coin_count_once(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    ingest = keys["ingest"]
    # Day 1: "whale" likes 60 BTC cards; u2 likes the BTC coin itself; u3 likes a BTC card,
    # then changes its mind on another one later that day (its latest reaction wins; the
    # ticker's case does not make it another coin).
    for i in range(60):
        react(client, ingest, "whale", f"btc-card-{i}", "like", f"2026-11-19T10:{i:02d}:00Z", "BTC")
    react(client, ingest, "u2", "BTC", "like", "2026-11-19T12:00:00Z")
    react(client, ingest, "u3", "btc-card-1", "like", "2026-11-19T12:00:00Z", "BTC")
    react(client, ingest, "u3", "btc-card-2", "dislike", "2026-11-19T13:00:00Z", "btc")
    rollup_day(tables, DAY1)

    btc = coins(client, keys["read"], DAY1)["BTC"]
    # Hand-computed: 3 users, 2 like (whale, u2), 1 dislike (u3); no day before: velocity 0.5.
    # score = 0.6 * 2/3 + 0.4 * 0.5 = 0.6
    assert (btc["likes"], btc["dislikes"], btc["reactions"]) == (2, 1, 3)
    assert btc["positive_share"] == 0.666667
    assert btc["series"][0]["velocity"] == 0.5
    assert btc["score"] == 0.6
    # The cards are items of BTC, not coins of their own.
    assert set(coins(client, keys["read"], DAY1)) == {"BTC"}

    # Day 2: the whale likes 60 more cards, u4 dislikes BTC. 2 users today, 3 the day before:
    # velocity = 2 / (2 + 3) = 0.4; positive share 1/2; score = 0.6 * 0.5 + 0.4 * 0.4 = 0.46.
    for i in range(60, 120):
        react(
            client,
            ingest,
            "whale",
            f"btc-card-{i}",
            "like",
            f"2026-11-20T{i // 60:02d}:{i % 60:02d}:00Z",
            "BTC",
        )
    react(client, ingest, "u4", "BTC", "dislike", "2026-11-20T09:00:00Z")
    rollup_day(tables, DAY2)

    btc = coins(client, keys["read"], DAY2)["BTC"]
    assert (btc["likes"], btc["dislikes"], btc["reactions"]) == (1, 1, 2)
    assert btc["series"][0]["velocity"] == 0.4
    assert btc["score"] == 0.46

"""POST /v1/sentiment and GET /v1/sentiment/market over the real app, against moto's server.

A tiny text encoder is registered, the real sentiment job trains on synthetic labelled texts
read from the stage's bucket and publishes there, and registration promotes the head; the
route must then give back the labels the texts were built with. Market sentiment comes from
rollups written by the real rollup job over reactions sent through the API.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from support.api import call, error_of, fields_of
from support.model_drops import T0
from support.sentiment import (
    CLASS_TOKEN,
    drop_text_encoder,
    labelled_texts,
    register,
    tiny_encoder,
)

from learnloop.models.artifacts import new_version, write_artifact
from learnloop.rollups.job import rollup_day
from training_jobs.sentiment.data import DEFAULT_DATA_KEY
from training_jobs.sentiment.job import build_artifact, main, train_sentiment

EXPECTED = {"the coin up": "positive", "market down dog": "negative", "meme news": "neutral"}


def upload_labelled(tables: Any, s3: Any, per_class: int = 20) -> None:
    texts, labels = labelled_texts(per_class)
    body = "".join(
        json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels, strict=True)
    )
    s3.put_object(Bucket=tables.settings.bucket, Key=DEFAULT_DATA_KEY, Body=body.encode())


@pytest.fixture
def encoder_version(tables: Any, s3: Any) -> str:
    key, version = drop_text_encoder(tables, s3)
    assert register(tables, s3, key).status == "production"
    return version


@pytest.fixture
def sentiment_version(tables: Any, s3: Any, encoder_version: str) -> str:
    upload_labelled(tables, s3)
    code = main(
        ["--cv", "3", "--version", new_version(T0)], settings=tables.settings, s3=s3, tables=tables
    )
    assert code == 0
    result = register(tables, s3, f"models/sentiment/{new_version(T0)}/manifest.json")
    assert (result.status, result.promoted) == ("production", True), result.reason
    return result.version


def post(client: Any, key: str, body: Any) -> Any:
    return call(client, "POST", "/v1/sentiment", key=key, body=body)


def test_without_a_production_model_the_lexicon_answers(client: Any, keys: dict[str, str]) -> None:
    texts = ["BTC dumped 20% overnight, rekt", "ETH to the moon, very bullish", "Board meets"]
    response = post(client, keys["read"], {"texts": texts})
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert (body["model"], body["method"], body["text_encoder"]) == ("lexicon", "lexicon", None)
    assert body["version"].startswith("vader-")
    assert [r["label"] for r in body["results"]] == ["negative", "positive", "neutral"]
    for result in body["results"]:
        assert result["method"] == "lexicon"
        probabilities = result["probabilities"]
        assert set(probabilities) == set(CLASS_TOKEN)
        assert abs(sum(probabilities.values()) - 1.0) < 1e-9
        assert result["score"] == probabilities[result["label"]]


def test_the_trained_head_gives_back_the_planted_labels(
    client: Any, keys: dict[str, str], sentiment_version: str, encoder_version: str
) -> None:
    response = post(client, keys["read"], {"texts": list(EXPECTED)})
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert (body["model"], body["version"]) == ("sentiment", sentiment_version)
    assert body["text_encoder"] == {"model": "text_encoder", "version": encoder_version}
    assert [r["label"] for r in body["results"]] == list(EXPECTED.values())
    # the frozen-head job writes no routing: the model alone answers
    assert body["method"] == "model"
    assert {r["method"] for r in body["results"]} == {"model"}
    for result in body["results"]:
        probabilities = result["probabilities"]
        assert set(probabilities) == set(CLASS_TOKEN)
        assert abs(sum(probabilities.values()) - 1.0) < 1e-5
        assert result["score"] == probabilities[result["label"]] == max(probabilities.values())


def test_the_head_keeps_the_encoder_it_was_trained_on_after_the_alias_moves(
    client: Any,
    keys: dict[str, str],
    tables: Any,
    s3: Any,
    sentiment_version: str,
    encoder_version: str,
) -> None:
    # A re-exported encoder (other weights) becomes production; the head must not follow it.
    key, version = drop_text_encoder(tables, s3, minute=24 * 60, seed=7)
    assert register(tables, s3, key).status == "production"
    body = json.loads(post(client, keys["read"], {"texts": list(EXPECTED)}).body)
    assert body["text_encoder"]["version"] == encoder_version != version
    assert [r["label"] for r in body["results"]] == list(EXPECTED.values())


def test_a_head_pinned_to_an_unregistered_encoder_is_409_naming_it(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, encoder_version: str
) -> None:
    texts, labels = labelled_texts(12)
    training = train_sentiment(texts, labels, tiny_encoder(), Cs=(1.0,), cv=3)
    files, manifest = build_artifact(
        training, {"name": "text_encoder", "version": "20200101T000000Z"}, version=new_version(T0)
    )
    key = write_artifact(
        s3, tables.settings.bucket, "sentiment", manifest["version"], files, manifest
    )
    assert register(tables, s3, key[-1]).status == "production"
    response = post(client, keys["read"], {"texts": ["coin up"]})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "text_encoder_unavailable"
    assert "20200101T000000Z" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "texts"),
        ({"texts": []}, "texts"),
        ({"texts": ["coin up"] * 65}, "texts"),
        ({"texts": "coin up"}, "texts"),
        ({"texts": ["x" * 2001]}, "texts[0]"),
        ({"texts": ["coin up", 7]}, "texts[1]"),
        ({"texts": ["coin up", "   "]}, "texts[1]"),
        ({"texts": ["coin up"], "model": "other"}, "model"),
        (["coin up"], "body"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: Any, keys: dict[str, str], body: Any, field: str
) -> None:
    response = post(client, keys["read"], body)
    assert response.status_code == 422, response.body
    assert field in fields_of(response)


# --- market sentiment --------------------------------------------------------------------------


def react(client: Any, keys: dict[str, str], user: str, coin: str, reaction: str, at: str) -> None:
    body = {
        "user_id": user,
        "content_type": "coin",
        "external_id": coin,
        "reaction": reaction,
        "occurred_at": at,
    }
    assert call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=body).status_code == 200


def market(client: Any, keys: dict[str, str], query: str) -> Any:
    return call(client, "GET", f"/v1/sentiment/market?{query}", key=keys["read"])


def test_market_sentiment_is_empty_without_rollups(client: Any, keys: dict[str, str]) -> None:
    response = market(client, keys, "days=7&to=2026-11-20")
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body == {
        "from": "2026-11-14",
        "to": "2026-11-20",
        "days": 7,
        "days_with_stats": 0,
        "coins": [],
    }
    assert json.loads(market(client, keys, "").body)["days"] == 7


def test_market_sentiment_from_the_rollup_job(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    # Day 1: BTC 3 likes 1 dislike, ETH 1 dislike. Day 2: BTC 1 like 1 dislike.
    for user, reaction in (("u1", "like"), ("u2", "like"), ("u3", "like"), ("u4", "dislike")):
        react(client, keys, user, "BTC", reaction, "2026-11-19T10:00:00Z")
    react(client, keys, "u1", "ETH", "dislike", "2026-11-19T11:00:00Z")
    react(client, keys, "u5", "BTC", "like", "2026-11-20T10:00:00Z")
    react(client, keys, "u6", "BTC", "dislike", "2026-11-20T10:00:00Z")
    first = rollup_day(tables, date(2026, 11, 19)).stats["coin_sentiment"]
    second = rollup_day(tables, date(2026, 11, 20)).stats["coin_sentiment"]
    response = market(client, keys, "days=3&to=2026-11-20")
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert (body["from"], body["to"], body["days_with_stats"]) == ("2026-11-18", "2026-11-20", 2)
    btc, eth = body["coins"]
    assert (btc["coin"], eth["coin"]) == ("BTC", "ETH")  # most reactions first
    assert [p["date"] for p in btc["series"]] == ["2026-11-19", "2026-11-20"]
    assert [p["score"] for p in btc["series"]] == [first["BTC"]["score"], second["BTC"]["score"]]
    weighted = (first["BTC"]["score"] * 4 + second["BTC"]["score"] * 2) / 6
    assert btc["score"] == pytest.approx(weighted, abs=1e-6)
    assert (btc["reactions"], btc["likes"], btc["dislikes"]) == (6, 4, 2)
    assert btc["positive_share"] == round(4 / 6, 6) and btc["days_with_reactions"] == 2
    assert eth["score"] == first["ETH"]["score"] and eth["positive_share"] == 0.0
    # One day only: the 20th.
    only = json.loads(market(client, keys, "days=1&to=2026-11-20").body)["coins"]
    assert [(c["coin"], c["reactions"]) for c in only] == [("BTC", 2)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("days=0", "days"),
        ("days=93", "days"),
        ("days=x", "days"),
        ("days=1.5", "days"),
        ("to=2026-13-01", "to"),
        ("to=yesterday", "to"),
        ("window=7", "window"),
    ],
)
def test_bad_market_queries_are_422_naming_the_field(
    client: Any, keys: dict[str, str], query: str, field: str
) -> None:
    response = market(client, keys, query)
    assert response.status_code == 422, response.body
    assert field in fields_of(response)

"""POST /v1/texts and GET /v1/sentiment/{symbols,pages,users}/{id} over the real app.

Texts are scored by a stand-in scorer that reads the polarity written in the text
(``"[+0.8] ..."``), so every aggregate below is computed by hand from the texts sent.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from support.api import call, error_of, fields_of

from learnloop.sentiment import summaries
from learnloop.sentiment import texts as texts_module
from learnloop.sentiment.texts import Scored

TAG = re.compile(r"^\[([+-]?\d+(?:\.\d+)?)\]")


def stand_in_scorer(batch: list[str], *, cache: Any = None) -> list[Scored]:
    scores = []
    for text in batch:
        polarity = float(TAG.match(text).group(1))  # type: ignore[union-attr]
        label = "positive" if polarity > 0 else "negative" if polarity < 0 else "neutral"
        scores.append(Scored(label, polarity, {label: 1.0}, "lexicon"))
    return scores


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Scores with the stand-in; records every batch it was asked to score."""
    batches: list[list[str]] = []

    def scorer(batch: list[str], *, cache: Any = None) -> list[Scored]:
        batches.append(list(batch))
        return stand_in_scorer(batch)

    monkeypatch.setattr(texts_module, "score_batch", scorer)
    return batches


def text(text_id: str, source: str, polarity: float, at: str, **kw: Any) -> dict[str, Any]:
    return {
        "text_id": text_id,
        "source": source,
        "text": f"[{polarity:+}] some words",
        "published_at": at,
        **kw,
    }


def post(client: Any, key: str, items: list[dict[str, Any]]) -> Any:
    return call(client, "POST", "/v1/texts", key=key, body={"texts": items})


def get(client: Any, key: str, path: str) -> dict[str, Any]:
    response = call(client, "GET", path, key=key)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


BTC_TEXTS = [
    # Nov 19: reddit -0.4 alone.
    text("r1", "reddit", -0.4, "2026-11-19T08:00:00Z", symbols=["btc"]),
    # Nov 20: news 0.8 and 0.4 (mean 0.6), twitter -0.5, telegram 1.0, discord 0.2 (unknown
    # source: weight 0.1), and an ETH-only reddit text that must not count for BTC.
    text("n1", "news", 0.8, "2026-11-20T09:00:00Z", symbols=["BTC", "ETH"]),
    text("n2", "News", 0.4, "2026-11-20T10:00:00Z", symbols=["BTC"]),
    text("t1", "twitter", -0.5, "2026-11-20T11:00:00Z", symbols=["BTC"]),
    text("g1", "telegram", 1.0, "2026-11-20T12:00:00Z", symbols=["BTC"]),
    text("d1", "discord", 0.2, "2026-11-20T13:00:00Z", symbols=["BTC"]),
    text("e1", "reddit", -1.0, "2026-11-20T14:00:00Z", symbols=["ETH"]),
]


def test_symbol_sentiment_is_source_weighted_hand_computed(
    client: Any, keys: dict[str, str], scored: list[list[str]]
) -> None:
    response = post(client, keys["ingest"], BTC_TEXTS)
    assert response.status_code == 200, response.body
    reply = json.loads(response.body)
    assert (reply["accepted"], reply["duplicates"], reply["dropped"]) == (7, 0, 0)
    assert reply["results"][1] == {
        "text_id": "n1",
        "status": "stored",
        "label": "positive",
        "polarity": 0.8,
        "method": "lexicon",
    }

    btc = get(client, keys["read"], "/v1/sentiment/symbols/btc?from=2026-11-19&to=2026-11-20")
    assert btc["symbol"] == "BTC"
    nov19, nov20 = btc["series"]
    # Nov 19: only reddit: renormalised, its own mean (not 0.2 * -0.4).
    assert (nov19["score"], nov19["volume"]) == (-0.4, 1)
    # Nov 20: (0.4 * 0.6 + 0.3 * -0.5 + 0.1 * 1.0 + 0.1 * 0.2) / (0.4 + 0.3 + 0.1 + 0.1)
    #       = (0.24 - 0.15 + 0.1 + 0.02) / 0.9 = 0.233333
    assert (nov20["score"], nov20["volume"]) == (0.233333, 5)
    assert nov20["sources"]["news"] == {"volume": 2, "mean": 0.6}
    assert nov20["change"] == round(0.233333 + 0.4, 6)
    assert btc["trend"] == {"slope": 0.633333, "change": 0.633333}
    # The range: news 0.6, twitter -0.5, reddit -0.4, telegram 1.0, discord 0.2:
    # (0.24 - 0.15 - 0.08 + 0.1 + 0.02) / 1.1 = 0.118182
    assert btc["score"] == 0.118182
    assert btc["volume"] == 6 and btc["truncated"] is False
    assert btc["weights"] == {"news": 0.4, "twitter": 0.3, "reddit": 0.2, "telegram": 0.1}
    assert btc["unknown_source_weight"] == 0.1

    eth = get(client, keys["read"], "/v1/sentiment/symbols/ETH?window=day&to=2026-11-20")
    # news 0.8 and reddit -1.0: (0.32 - 0.2) / 0.6 = 0.2
    assert (eth["score"], eth["volume"], len(eth["series"])) == (0.2, 2, 7)


def test_redelivery_is_idempotent_and_not_rescored(
    client: Any, keys: dict[str, str], scored: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = json.loads(post(client, keys["ingest"], BTC_TEXTS[:2]).body)
    again = post(client, keys["ingest"], [BTC_TEXTS[1], BTC_TEXTS[2], BTC_TEXTS[2]])
    reply = json.loads(again.body)
    assert first["accepted"] == 2
    assert (reply["accepted"], reply["duplicates"]) == (1, 2)
    assert [r["status"] for r in reply["results"]] == ["duplicate", "stored", "duplicate"]
    assert scored[-1] == [BTC_TEXTS[2]["text"]]  # only the new text was scored
    btc = get(client, keys["read"], "/v1/sentiment/symbols/BTC?from=2026-11-19&to=2026-11-20")
    assert btc["volume"] == 3 and btc["truncated"] is False

    # Past the read cap the newest texts are kept and the answer says from when it is whole.
    monkeypatch.setattr(summaries, "MAX_ROWS", 2)
    btc = get(client, keys["read"], "/v1/sentiment/symbols/BTC?from=2026-11-19&to=2026-11-20")
    assert (btc["volume"], btc["truncated"]) == (2, True)
    assert btc["complete_from"] == "2026-11-20T09:00:00.000000Z"
    assert [w["volume"] for w in btc["series"]] == [0, 2]


def test_page_and_user_sentiment(client: Any, keys: dict[str, str], scored: Any) -> None:
    comments = [
        text("c1", "app", 0.5, "2026-11-20T10:05:00Z", user_id="u1", page="checkout"),
        text("c2", "app", -0.5, "2026-11-20T10:55:00Z", user_id="u1", page="checkout"),
        text("c3", "app", 1.0, "2026-11-20T11:00:00Z", user_id="u2", page="checkout"),
        text("c4", "app", -1.0, "2026-11-20T11:30:00Z", user_id="u1", page="onboarding"),
    ]
    assert post(client, keys["ingest"], comments).status_code == 200
    page = get(client, keys["read"], "/v1/sentiment/pages/checkout?window=hour&to=2026-11-20")
    assert (page["page"], page["volume"], page["users"], len(page["series"])) == (
        "checkout",
        3,
        2,
        24,
    )
    # One unknown source: its mean, (0.5 - 0.5 + 1.0) / 3.
    assert page["score"] == 0.333333
    assert [page["series"][h]["score"] for h in (10, 11)] == [0.0, 1.0]
    user = get(client, keys["read"], "/v1/sentiment/users/u1?from=2026-11-20&to=2026-11-20")
    assert (user["volume"], user["score"]) == (3, -0.333333)
    assert "users" not in user
    funnel = get(
        client, keys["read"], "/v1/sentiment/funnel?pages=checkout,onboarding&to=2026-11-20"
    )
    steps = [(s["page"], s["score"], s["volume"], s["users"], s["change"]) for s in funnel["steps"]]
    # checkout (0.5 - 0.5 + 1.0) / 3, then onboarding -1.0: a drop of 1.333333.
    assert steps == [("checkout", 0.333333, 3, 2, None), ("onboarding", -1.0, 1, 1, -1.333333)]


def test_texts_without_a_scorer_are_stored_and_counted(
    client: Any, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(texts_module, "score_batch", lambda batch, *, cache=None: None)
    reply = json.loads(post(client, keys["ingest"], BTC_TEXTS[:1]).body)
    assert (reply["accepted"], reply["unscored"]) == (1, 1)
    assert reply["results"][0]["label"] is None
    btc = get(client, keys["read"], "/v1/sentiment/symbols/BTC?to=2026-11-19")
    assert (btc["volume"], btc["scored"], btc["score"]) == (1, 0, None)


def test_an_opted_out_authors_texts_are_dropped(
    client: Any, keys: dict[str, str], scored: Any
) -> None:
    consent = call(
        client, "PUT", "/v1/users/u9/consent", key=keys["admin"], body={"consent": "opted_out"}
    )
    assert consent.status_code == 200, consent.body
    response = post(
        client, keys["ingest"], [text("x1", "app", 0.5, "2026-11-20T10:00:00Z", user_id="u9")]
    )
    assert response.status_code == 202
    assert json.loads(response.body)["dropped"] == 1
    assert scored == []


#: (body, the field its 422 names); one test walks them all (a stage per case is slow).
BAD_TEXTS = [
    ({"texts": []}, "texts"),
    ({"texts": [text("a", "News!", 0.1, "2026-11-20T10:00:00Z")]}, "texts[0].source"),
    (
        {"texts": [{**text("a", "news", 0.1, "2026-11-20T10:00:00Z"), "text": ""}]},
        "texts[0].text",
    ),
    (
        {"texts": [{**text("a", "news", 0.1, "2026-11-20T10:00:00Z"), "text": "x" * 2001}]},
        "texts[0].text",
    ),
    (
        {"texts": [{**text("a", "news", 0.1, "2026-11-20T10:00:00Z"), "text": 7}]},
        "texts[0].text",
    ),
    (
        {"texts": [text("a", "news", 0.1, "2026-11-20T10:00:00Z", symbols=["$BTC"])]},
        "texts[0].symbols[0]",
    ),
    (
        {"texts": [text("a", "news", 0.1, "2026-11-20T10:00:00Z", symbols=["X"] * 21)]},
        "texts[0].symbols",
    ),
    ({"texts": [text("a/b", "news", 0.1, "2026-11-20T10:00:00Z")]}, "texts[0].text_id"),
    ({"texts": [text("a", "news", 0.1, "2026-11-20T10:00:00")]}, "texts[0].published_at"),
    ({"texts": [text("a", "news", 0.1, "2999-01-01T00:00:00Z")]}, "texts[0].published_at"),
    ({"texts": [text("a", "news", 0.1, "1999-12-31T00:00:00Z")]}, "texts[0].published_at"),
    ({"texts": [text("a", "news", 0.1, "2026-11-20T10:00:00Z", page="a b")]}, "texts[0].page"),
    (
        {"texts": [text("a", "news", 0.1, "2026-11-20T10:00:00Z", user_id="")]},
        "texts[0].user_id",
    ),
    ({"texts": [text("a", "news", 0.1, "2026-11-20T10:00:00Z", mood="x")]}, "texts[0].mood"),
    (
        {"texts": [text(f"a{i}", "news", 0.1, "2026-11-20T10:00:00Z") for i in range(65)]},
        "texts",
    ),
]


def test_bad_texts_are_422_naming_the_field(client: Any, keys: dict[str, str], scored: Any) -> None:
    for body, field in BAD_TEXTS:
        response = call(client, "POST", "/v1/texts", key=keys["ingest"], body=body)
        assert response.status_code == 422, (field, response.body)
        assert field in fields_of(response), (field, error_of(response))
    assert scored == []


BAD_QUERIES = [
    ("/v1/sentiment/symbols/BTC?window=week", "window"),
    ("/v1/sentiment/symbols/BTC?from=2026-11-21&to=2026-11-20", "from"),
    ("/v1/sentiment/symbols/BTC?from=2026-01-01&to=2026-11-20", "from"),
    ("/v1/sentiment/symbols/BTC?window=hour&from=2026-11-01&to=2026-11-20", "from"),
    ("/v1/sentiment/symbols/BTC?to=2026-13-01", "to"),
    ("/v1/sentiment/symbols/BTC?to=1900-01-01", "to"),
    ("/v1/sentiment/symbols/BTC?extra=1", "extra"),
    ("/v1/sentiment/symbols/%24BTC", "symbol"),
    ("/v1/sentiment/symbols/" + "A" * 21, "symbol"),
    ("/v1/sentiment/pages/a%20b", "page"),
    ("/v1/sentiment/users/%00", "user_id"),
    ("/v1/sentiment/funnel", "pages"),
    ("/v1/sentiment/funnel?pages=checkout", "pages"),
    ("/v1/sentiment/funnel?pages=a,a", "pages"),
    ("/v1/sentiment/funnel?pages=a,b%20c", "pages[1]"),
    ("/v1/sentiment/funnel?pages=" + ",".join(f"p{i}" for i in range(11)), "pages"),
    ("/v1/sentiment/funnel?pages=a,b&window=week", "window"),
]


def test_bad_queries_are_422_naming_the_field(client: Any, keys: dict[str, str]) -> None:
    for path, field in BAD_QUERIES:
        response = call(client, "GET", path, key=keys["read"])
        assert response.status_code == 422, (path, response.body)
        assert field in fields_of(response), (path, error_of(response))


def test_scopes(client: Any, keys: dict[str, str], scored: Any) -> None:
    assert post(client, keys["read"], BTC_TEXTS[:1]).status_code == 403
    for path in ("symbols/BTC", "pages/p1", "users/u1", "funnel?pages=a,b"):
        assert call(client, "GET", f"/v1/sentiment/{path}", key=keys["ingest"]).status_code == 403
        assert call(client, "GET", f"/v1/sentiment/{path}").status_code == 401

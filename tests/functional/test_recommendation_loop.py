"""The recommendation loop end to end, against moto's server: reactions over HTTP → the daily
training export → the two-tower job → registration of its drop → recommendations over HTTP.

Users come in two planted taste groups (memes, news); each liked some of their group's items.
Nothing here is built by hand to a contract: every artifact is what the real code wrote.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import urlencode

import pytest
from support.api import call
from support.stage import stage_environment

from learnloop.clock import utcnow
from learnloop.models.registration import register_model
from learnloop.privacy.exports import export_day
from learnloop.users.pseudonym import pseudonymize
from training_jobs.two_tower.job import main as train_main

pytestmark = pytest.mark.heavy(35)  # seconds in CI: see tests/conftest.py

GROUPS = {"meme": [f"m{i}" for i in range(10)], "news": [f"n{i}" for i in range(10)]}
TEXT = {"meme": "a funny cat meme with a caption", "news": "markets rates inflation headline"}


def user_group(user: str) -> str:
    return "meme" if user.startswith("a") else "news"


@pytest.fixture
def reacted(client: Any, keys: dict[str, str]) -> dict[str, set[str]]:
    """Every user's reacted item keys, after sending the reactions over HTTP."""
    rng = random.Random(7)
    users = [f"a{i}" for i in range(14)] + [f"b{i}" for i in range(14)]
    seen: dict[str, set[str]] = {}
    for user in users:
        group = user_group(user)
        other = "news" if group == "meme" else "meme"
        reactions = [(group, item, "like") for item in rng.sample(GROUPS[group], 6)]
        reactions.append((other, rng.choice(GROUPS[other]), "dislike"))
        for content_type, item, reaction in reactions:
            body = {
                "user_id": user,
                "content_type": content_type,
                "external_id": item,
                "reaction": reaction,
                "content": {"title": f"{TEXT[content_type]} {item}"},
            }
            response = call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=body)
            assert response.status_code == 200, response.body
        seen[user] = {f"{ct}#{item}" for ct, item, _ in reactions}
    return seen


def recommend(client: Any, key: str, **query: Any) -> dict[str, Any]:
    response = call(client, "GET", f"/v1/recommendations?{urlencode(query)}", key=key)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def test_reactions_to_recommendations(
    client: Any,
    keys: dict[str, str],
    tables: Any,
    s3: Any,
    reacted: dict[str, set[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = tables.settings
    export = export_day(tables, utcnow().date(), s3=s3)
    assert export.rows["reactions.jsonl"] == sum(len(v) for v in reacted.values())
    # b13 opts out after the export was written: training must leave them out all the same.
    body = {"consent": "opted_out"}
    opted_out = call(client, "PUT", "/v1/users/b13/consent", key=keys["ingest"], body=body)
    assert opted_out.status_code == 200
    for name, value in stage_environment(settings).items():
        monkeypatch.setenv(name, value)
    args = ["--epochs", "40", "--patience", "40", "--batch-size", "64", "--quiet"]
    assert train_main([*args, "--text-encoder", "hashing"]) == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    result = register_model(tables, s3, bucket=settings.bucket, key=summary["keys"][-1])
    assert (result.name, result.status) == ("two_tower", "production"), result.reason
    key = f"models/two_tower/{result.version}/users.json"
    users = json.loads(s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read())["users"]
    assert pseudonymize("b13", settings.pseudonym_secret) not in users
    assert pseudonymize("b12", settings.pseudonym_secret) in users

    on_taste = total = 0
    for user, seen in reacted.items():
        if user == "b13":
            continue
        body = recommend(client, keys["read"], user_id=user, k=3)
        assert (body["model"], body["version"]) == ("two_tower", result.version)
        assert body["strategy"] == "two_tower"
        got = [item["item_key"] for item in body["items"]]
        assert len(got) == 3 and not set(got) & seen  # never an item they reacted to
        on_taste += sum(key.startswith(user_group(user) + "#") for key in got)
        total += len(got)
    # Each user has 4 unseen items of their own group left; the model must find them.
    assert on_taste / total >= 0.8, (on_taste, total)
    # The opted-out user is not personalised; a type filter holds.
    assert recommend(client, keys["read"], user_id="b13", k=3, seed=1)["strategy"] == "popular"
    news = recommend(client, keys["read"], user_id="a0", k=5, content_type="news")["items"]
    assert news and all(item["content_type"] == "news" for item in news)

"""Issue 19: the job's ALS candidate published in the two-tower format and served by the
existing serving code over HTTP; the popularity floor of registration."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from support.api import call
from support.model_drops import T0
from support.planted import export_days, planted, put_exports
from support.stage import stage_environment
from support.two_tower import drop_two_tower, random_data

from learnloop.models.registration import register_model
from learnloop.users.pseudonym import pseudonymize
from training_jobs.two_tower import main

FILES = {
    "user_tower.onnx",
    "item_tower.onnx",
    "item_embeddings.npy",
    "items.json",
    "user_embeddings.npy",
    "users.json",
    "manifest.json",
}


def register(tables: Any, s3: Any, key: str, **kwargs: Any) -> Any:
    return register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0, **kwargs)


def run_job(
    tables: Any, s3: Any, monkeypatch: pytest.MonkeyPatch, flags: list[str]
) -> tuple[str, dict[str, bytes], dict[str, str]]:
    """Exports of users the API can name (pseudonyms of ``p0``...), the job run with
    ``flags``; returns the manifest key, the files and user id → pseudonym."""
    settings = tables.settings
    for name, value in stage_environment(settings).items():
        monkeypatch.setenv(name, value)
    rows, items = planted(n_users=40, seed=2)
    names = {user: f"p{n}" for n, user in enumerate(dict.fromkeys(r[0] for r in rows))}
    ids = {names[u]: pseudonymize(names[u], settings.pseudonym_secret) for u in names}
    rows = [(ids[names[u]], key, at) for u, key, at in rows]
    put_exports(s3, settings.bucket, export_days(rows, items))
    code = main([*flags, "--budget-seconds", "0", "--text-encoder", "none",
                 "--no-exclusion-lookup", "--quiet"])  # fmt: skip
    assert code == 0
    listed = s3.list_objects_v2(Bucket=settings.bucket, Prefix="models/two_tower/")["Contents"]
    files = {}
    for entry in listed:
        body = s3.get_object(Bucket=settings.bucket, Key=entry["Key"])["Body"].read()
        files[entry["Key"].rsplit("/", 1)[1]] = body
    key = next(e["Key"] for e in listed if e["Key"].endswith("manifest.json"))
    return key, files, ids


@pytest.fixture
def als_artifact(
    tables: Any, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, bytes], dict[str, str]]:
    """The job with the ALS candidate only, no search, settings for 40 users (the defaults
    suit MovieLens-sized data)."""
    flags = ["--candidates", "als", "--als-regularization", "0.1", "--als-alpha", "10"]
    return run_job(tables, s3, monkeypatch, flags)


def test_an_als_winner_is_published_in_the_two_tower_format_and_served_over_http(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, als_artifact: Any
) -> None:
    key, files, ids = als_artifact
    assert set(files) == FILES
    manifest = json.loads(files["manifest.json"])
    extra = manifest["extra"]
    assert extra["model"] == "als" and extra["selection"]["winner"] == "als"
    assert extra["hyperparameters"]["regularization"] == 0.1
    assert extra["towers"]["model"] == "als" and extra["text_dim"] == 0
    assert extra["popularity_floor"]["users"] == extra["test_users"] > 0
    assert extra["split"]["eligible_users"] == 40
    # the planted tastes are easy: ALS beats popularity on the held-out users, and is promoted
    assert extra["popularity_floor"]["passed"], extra["popularity_floor"]
    result = register(tables, s3, key)
    assert result.promoted, result.reason
    items = json.loads(files["items.json"])["item_keys"]
    users = json.loads(files["users.json"])["users"]
    V = np.load(io.BytesIO(files["item_embeddings.npy"]))
    U = np.load(io.BytesIO(files["user_embeddings.npy"]))
    user = "p3"
    query = urlencode({"user_id": user, "k": 5})
    response = call(client, "GET", f"/v1/recommendations?{query}", key=keys["read"])
    body = json.loads(response.body)
    assert response.status_code == 200, body
    assert (body["strategy"], body["version"]) == ("two_tower", result.version)
    scores = V @ U[users.index(ids[user])]
    expected = [items[i] for i in np.argsort(-scores, kind="stable")[:5]]
    assert [i["item_key"] for i in body["items"]] == expected
    np.testing.assert_allclose(
        [i["score"] for i in body["items"]], np.sort(scores)[::-1][:5], rtol=1e-5
    )
    # similar items: cosine over the ALS item factors
    first = items[0]
    content_type, external_id = first.split("#", 1)
    similar = call(client, "GET", f"/v1/items/{content_type}/{external_id}/similar?k=3",
                   key=keys["read"])  # fmt: skip
    assert similar.status_code == 200
    norms = np.linalg.norm(V, axis=1)
    cosine = V @ V[0] / np.where(norms * norms[0] > 0, norms * norms[0], np.inf)
    cosine[0] = -np.inf
    top = [items[i] for i in np.argsort(-cosine, kind="stable")[:3]]
    assert [i["item_key"] for i in json.loads(similar.body)["items"]] == top


def test_a_version_below_popularity_is_never_promoted(tables: Any, s3: Any) -> None:
    below = {"ndcg@10": 0.074, "popularity_ndcg@10": 0.085}
    # not as the first version...
    first = register(tables, s3, drop_two_tower(tables, s3, random_data(seed=1), minute=0,
                                                 metrics=below))  # fmt: skip
    assert (first.status, first.promoted) == ("candidate", False)
    assert first.reason.startswith("popularity_floor")
    assert first.comparison["rule"] == "popularity_floor"
    assert first.comparison["floor"]["popularity"] == 0.085
    # ...nor under the 'always' policy
    forced = register(tables, s3, drop_two_tower(tables, s3, random_data(seed=2), minute=1,
                                                  metrics=below), policy="always")  # fmt: skip
    assert not forced.promoted and forced.comparison["rule"] == "popularity_floor"
    above = {"ndcg@10": 0.09, "popularity_ndcg@10": 0.085}
    good = register(tables, s3, drop_two_tower(tables, s3, random_data(seed=3), minute=2,
                                                metrics=above))  # fmt: skip
    assert (good.status, good.promoted) == ("production", True), good.reason
    # ...nor over a production version it would otherwise be compared with
    later = register(tables, s3, drop_two_tower(tables, s3, random_data(seed=4), minute=3,
                                                 metrics=below))  # fmt: skip
    assert not later.promoted and later.comparison["rule"] == "popularity_floor"


def test_an_ease_winner_serves_new_users_and_similar_items_from_its_history_rows(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = ["--candidates", "ease", "--ease-regularization", "2.5"]
    key, files, _ = run_job(tables, s3, monkeypatch, flags)
    assert set(files) == FILES | {"history_embeddings.npy"}
    extra = json.loads(files["manifest.json"])["extra"]
    assert extra["model"] == extra["towers"]["model"] == "ease"
    assert extra["hyperparameters"]["regularization"] == 2.5
    assert extra["popularity_floor"]["passed"], extra["popularity_floor"]
    result = register(tables, s3, key)
    assert result.promoted, result.reason
    items = json.loads(files["items.json"])["item_keys"]
    V = np.load(io.BytesIO(files["item_embeddings.npy"]))
    H = np.load(io.BytesIO(files["history_embeddings.npy"]))
    # A user who arrived after training: their profile is the mean of their likes' history
    # rows, so their recommendations are EASE's scores for exactly those likes.
    liked = items[:3]
    for item in liked:
        content_type, external_id = item.split("#", 1)
        body = {"user_id": "newcomer", "content_type": content_type,
                "external_id": external_id, "reaction": "like"}  # fmt: skip
        assert call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=body).status_code in (
            200,
            201,
        )
    response = call(client, "GET", "/v1/recommendations?user_id=newcomer&k=5", key=keys["read"])
    answer = json.loads(response.body)
    assert (response.status_code, answer["strategy"]) == (200, "history"), answer
    scores = V @ H[:3].mean(axis=0)
    ranked = [items[i] for i in np.argsort(-scores, kind="stable") if items[i] not in liked]
    assert [i["item_key"] for i in answer["items"]] == ranked[:5]
    # similar items: what EASE recommends to a user whose only item is this one
    content_type, external_id = items[0].split("#", 1)
    similar = call(client, "GET", f"/v1/items/{content_type}/{external_id}/similar?k=3",
                   key=keys["read"])  # fmt: skip
    weights = V @ H[0]
    weights[0] = -np.inf
    top = [items[i] for i in np.argsort(-weights, kind="stable")[:3]]
    assert [i["item_key"] for i in json.loads(similar.body)["items"]] == top

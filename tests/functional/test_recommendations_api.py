"""GET /v1/recommendations and the /similar routes over the real app, against moto's server.

A two-tower version built to contract C is registered through the real registration path;
expected answers are brute-force rankings computed here, independently of the serving code.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from support.api import call, error_of, fields_of
from support.model_drops import T0
from support.text_encoders import tiny_embedding, tiny_encoder_onnx, tiny_tokenizer_json
from support.two_tower import TwoTowerData, drop_two_tower

from learnloop.exceptions import ModelLoadError
from learnloop.models.artifacts import build_manifest, write_artifact
from learnloop.models.cache import S3ArtifactLoader, VersionCache
from learnloop.models.registration import register_model
from learnloop.recommender.index import load_two_tower_artifact
from learnloop.users.pseudonym import pseudonymize

TYPES = ("meme", "news", "coin")
USERS = [f"u{i}" for i in range(6)]  # u5 is not in the model
DIM = 8


def make_data(secret: str, seed: int = 0) -> TwoTowerData:
    rng = np.random.default_rng(seed)
    n_items = 40
    return TwoTowerData(
        item_keys=[f"{TYPES[i % 3]}#it{i}" for i in range(n_items)],
        item_matrix=rng.normal(size=(n_items, DIM)).astype(np.float32),
        users=[pseudonymize(u, secret) for u in USERS[:5]],
        user_matrix=rng.normal(size=(5, DIM)).astype(np.float32),
        popularity=[int(p) for p in rng.integers(0, 30, n_items)],
    )


@pytest.fixture
def model(tables: Any, s3: Any) -> tuple[TwoTowerData, str]:
    data = make_data(tables.settings.pseudonym_secret)
    key = drop_two_tower(tables, s3, data, metrics={"ndcg@10": 0.3})
    result = register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0)
    assert result.status == "production", result.reason
    return data, result.version


def get(client: Any, key: str, path: str, **query: Any) -> Any:
    return call(client, "GET", f"{path}?{urlencode(query)}" if query else path, key=key)


def react(
    client: Any,
    keys: dict[str, str],
    user: str,
    item_key: str,
    reaction: str,
    content: dict[str, Any] | None = None,
) -> None:
    content_type, external_id = item_key.split("#", 1)
    body: dict[str, Any] = {
        "user_id": user,
        "content_type": content_type,
        "external_id": external_id,
        "reaction": reaction,
    }
    if content is not None:
        body["content"] = content
    assert call(client, "PUT", "/v1/reactions", key=keys["ingest"], body=body).status_code == 200


def expected(
    data: TwoTowerData,
    vector: np.ndarray,
    k: int,
    *,
    exclude: set[str] = frozenset(),  # type: ignore[assignment]
    content_type: str | None = None,
) -> list[str]:
    scores = data.item_matrix @ vector
    ranked = [data.item_keys[i] for i in np.argsort(-scores, kind="stable")]
    return [
        key
        for key in ranked
        if key not in exclude and (content_type is None or key.startswith(content_type + "#"))
    ][:k]


def keys_of(response: Any) -> list[str]:
    return [item["item_key"] for item in json.loads(response.body)["items"]]


def test_no_production_model_is_409(client: Any, keys: dict[str, str], tables: Any) -> None:
    response = get(client, keys["read"], "/v1/recommendations", user_id="u0")
    assert response.status_code == 409
    assert error_of(response)["code"] == "no_production_model"
    for path in ("/v1/users/u0/similar", "/v1/items/meme/it0/similar"):
        assert get(client, keys["read"], path).status_code == 409


def test_a_known_user_gets_the_exact_top_k_with_the_model_version(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str]
) -> None:
    data, version = model
    response = get(client, keys["read"], "/v1/recommendations", user_id="u1", k=7)
    assert response.status_code == 200
    body = json.loads(response.body)
    assert (body["model"], body["version"], body["strategy"]) == ("two_tower", version, "two_tower")
    assert keys_of(response) == expected(data, data.user_matrix[1], 7)
    first = body["items"][0]
    assert first["item_key"] == f"{first['content_type']}#{first['external_id']}"
    np.testing.assert_allclose(
        [i["score"] for i in body["items"]],
        sorted((data.item_matrix @ data.user_matrix[1]).tolist(), reverse=True)[:7],
        rtol=1e-5,
    )
    news = get(client, keys["read"], "/v1/recommendations", user_id="u1", k=5, content_type="news")
    assert keys_of(news) == expected(data, data.user_matrix[1], 5, content_type="news")


def test_recommendations_never_include_items_the_user_reacted_to(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str]
) -> None:
    data, _ = model
    before = keys_of(get(client, keys["read"], "/v1/recommendations", user_id="u2", k=10))
    # Reactions made after training: the top three (liked or disliked) and a few others.
    reacted = {
        before[0]: "like",
        before[1]: "dislike",
        before[2]: "like",
        data.item_keys[5]: "dislike",
        data.item_keys[6]: "like",
    }
    for item_key, reaction in reacted.items():
        react(client, keys, "u2", item_key, reaction)
    react(client, keys, "u3", before[3], "like")  # someone else's reaction changes nothing
    for k in (1, 10, 35, 100):
        for content_type in (None, *TYPES):
            query = {
                "user_id": "u2",
                "k": k,
                **({"content_type": content_type} if content_type else {}),
            }
            got = keys_of(get(client, keys["read"], "/v1/recommendations", **query))
            assert not set(reacted) & set(got)
            assert got == expected(
                data, data.user_matrix[2], k, exclude=set(reacted), content_type=content_type
            )
    assert before[3] in keys_of(get(client, keys["read"], "/v1/recommendations", user_id="u2"))


def test_an_unknown_user_gets_seeded_popular_with_exploration(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str]
) -> None:
    data, version = model
    first = get(client, keys["read"], "/v1/recommendations", user_id="u5", k=5, seed=7)
    body = json.loads(first.body)
    assert (body["strategy"], body["version"]) == ("popular", version)
    assert keys_of(first) == keys_of(
        get(client, keys["read"], "/v1/recommendations", user_id="u5", k=5, seed=7)
    )
    lists = {
        tuple(keys_of(get(client, keys["read"], "/v1/recommendations", user_id="u5", k=5, seed=s)))
        for s in range(8)
    }
    assert len(lists) > 1  # exploration: other seeds, other lists
    # The fallback leans to popular items: over seeds, the mean popularity shown is above average.
    popularity = dict(zip(data.item_keys, data.popularity, strict=True))
    shown = [popularity[k] for ranked in lists for k in ranked]
    assert np.mean(shown) > np.mean(data.popularity)
    react(client, keys, "u-new", data.item_keys[0], "dislike")
    for s in range(5):
        got = keys_of(
            get(client, keys["read"], "/v1/recommendations", user_id="u-new", k=39, seed=s)
        )
        assert data.item_keys[0] not in got and len(got) == 39


def test_an_unknown_user_who_liked_known_items_gets_their_neighbours(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str]
) -> None:
    data, _ = model
    liked = [data.item_keys[3], data.item_keys[8]]
    for item_key in liked:
        react(client, keys, "late-user", item_key, "like")
    response = get(client, keys["read"], "/v1/recommendations", user_id="late-user", k=5)
    assert json.loads(response.body)["strategy"] == "history"
    profile = data.item_matrix[[3, 8]].mean(axis=0)
    assert keys_of(response) == expected(data, profile, 5, exclude=set(liked))


def test_similar_users_and_items(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str], tables: Any
) -> None:
    data, version = model
    response = get(client, keys["read"], "/v1/users/u0/similar", k=2)
    body = json.loads(response.body)
    assert (response.status_code, body["version"]) == (200, version)
    U = data.user_matrix
    cosine = U @ U[0] / (np.linalg.norm(U, axis=1) * np.linalg.norm(U[0]))
    assert [u["user"] for u in body["users"]] == [data.users[i] for i in np.argsort(-cosine)[1:3]]
    assert pseudonymize("u0", tables.settings.pseudonym_secret) not in [
        u["user"] for u in body["users"]
    ]

    response = get(client, keys["read"], "/v1/items/news/it1/similar", k=4, content_type="coin")
    items = json.loads(response.body)["items"]
    M = data.item_matrix
    cosine = M @ M[1] / (np.linalg.norm(M, axis=1) * np.linalg.norm(M[1]))
    ranked = [data.item_keys[i] for i in np.argsort(-cosine) if data.item_keys[i][:4] == "coin"]
    assert [i["item_key"] for i in items] == ranked[:4]
    unfiltered = keys_of(get(client, keys["read"], "/v1/items/news/it1/similar", k=39))
    assert "news#it1" not in unfiltered and len(unfiltered) == 39


BAD_QUERIES: list[tuple[str, dict[str, Any], int, str]] = [
    ("/v1/recommendations", {"user_id": "u0", "k": 0}, 422, "k"),
    ("/v1/recommendations", {"user_id": "u0", "k": 101}, 422, "k"),
    ("/v1/recommendations", {"user_id": "u0", "k": "ten"}, 422, "k"),
    ("/v1/recommendations", {"user_id": "u0", "content_type": "video"}, 422, "content_type"),
    ("/v1/recommendations", {"k": 3}, 422, "user_id"),
    ("/v1/recommendations", {"user_id": "u 0"}, 422, "user_id"),
    ("/v1/recommendations", {"user_id": "u0", "colour": "red"}, 422, "colour"),
    ("/v1/recommendations", {"user_id": "u0", "seed": -1}, 422, "seed"),
    ("/v1/users/u0/similar", {"k": 1000}, 422, "k"),
    ("/v1/users/nobody/similar", {}, 404, "user_id"),
    ("/v1/items/video/it1/similar", {}, 422, "content_type"),
    ("/v1/items/meme/unknown/similar", {}, 404, "external_id"),
    ("/v1/items/meme/it0/similar", {"content_type": "video"}, 422, "content_type"),
]


def test_bad_queries_are_4xx_naming_the_field(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str]
) -> None:
    # One stage for every case: the model is registered once.
    for path, query, status, field in BAD_QUERIES:
        response = get(client, keys["read"], path, **query)
        assert response.status_code == status, (path, query, response.body)
        assert field in fields_of(response), (path, query, response.body)


def test_an_item_published_after_training_is_embedded_from_its_text(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str], tables: Any, s3: Any
) -> None:
    data, version = model
    react(client, keys, "u0", "meme#brand-new", "like", content={"title": "the cat", "url": "x"})
    # No text encoder in production yet: the item cannot be embedded.
    assert get(client, keys["read"], "/v1/items/meme/brand-new/similar").status_code == 404
    files = {"model.onnx": tiny_encoder_onnx(), "tokenizer.json": tiny_tokenizer_json()}
    manifest = build_manifest(
        "text_encoder", version, files, ["input_ids", "attention_mask"],
        {"cosine_min": 1.0}, (T0, T0), 1, extra={"kind": "text_encoder"}, now=T0,
    )  # fmt: skip
    bucket = tables.settings.bucket
    key = write_artifact(s3, bucket, "text_encoder", version, files, manifest)[-1]
    assert register_model(tables, s3, bucket=bucket, key=key, now=T0).status == "production"

    response = get(client, keys["read"], "/v1/items/meme/brand-new/similar", k=5)
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert (body["strategy"], body["version"]) == ("text", version)
    assert body["text_encoder"] == {"model": "text_encoder", "version": version}
    # The item tower by hand: unknown-id slot 0 + the type's row + the projected text.
    vector = (
        data.item_matrix[0]
        + data.type_table[data.type_vocab.index("meme")]
        + tiny_embedding(["the", "cat"]) @ data.projection
    )
    M = data.item_matrix
    cosine = M @ vector / (np.linalg.norm(M, axis=1) * np.linalg.norm(vector))
    assert keys_of(response) == [data.item_keys[i] for i in np.argsort(-cosine)[:5]]
    np.testing.assert_allclose(
        [i["score"] for i in body["items"]], np.sort(cosine)[::-1][:5], rtol=1e-4
    )


def test_the_routes_need_a_read_key(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str]
) -> None:
    assert get(client, "nope", "/v1/recommendations", user_id="u0").status_code == 401
    assert get(client, keys["ingest"], "/v1/recommendations", user_id="u0").status_code == 403


def test_the_cache_swaps_to_a_new_version_and_keeps_the_last_good_one(
    tables: Any, s3: Any, model: tuple[TwoTowerData, str]
) -> None:
    _, version = model
    loader = S3ArtifactLoader(tables, s3)
    cache: VersionCache[Any] = VersionCache(
        loader.production, lambda ref: load_two_tower_artifact(loader, ref), check_seconds=0
    )
    assert cache.get("two_tower").version == version
    newer = make_data(tables.settings.pseudonym_secret, seed=1)
    key = drop_two_tower(tables, s3, newer, minute=5, metrics={"ndcg@10": 0.4})
    new_version = register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0).version
    index = cache.get("two_tower")
    assert index.version == new_version
    np.testing.assert_array_equal(index.user_vector(newer.users[0]), newer.user_matrix[0])
    # Someone overwrites a served file after registration: serving refuses it, keeps the last.
    bucket, prefix = tables.settings.bucket, f"models/two_tower/{new_version}/"
    s3.put_object(Bucket=bucket, Key=prefix + "users.json", Body=b'{"users": []}')
    with pytest.raises(ModelLoadError, match="sha256"):
        load_two_tower_artifact(loader, loader.production("two_tower"))  # type: ignore[arg-type]


def test_opted_out_and_deleted_users_are_not_personalised_from_the_model(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str]
) -> None:
    # The model still holds u1's and u2's embeddings (until it is retrained); serving must not
    # use them once u1 opted out and u2 was deleted.
    consent = call(
        client, "PUT", "/v1/users/u1/consent", key=keys["ingest"], body={"consent": "opted_out"}
    )
    assert consent.status_code == 200
    assert call(client, "DELETE", "/v1/users/u2", key=keys["admin"]).status_code == 200
    for user in ("u1", "u2"):
        response = get(client, keys["read"], "/v1/recommendations", user_id=user, k=5, seed=1)
        assert json.loads(response.body)["strategy"] == "popular"
        assert get(client, keys["read"], f"/v1/users/{user}/similar").status_code == 404
    known = get(client, keys["read"], "/v1/recommendations", user_id="u3", k=5)
    assert json.loads(known.body)["strategy"] == "two_tower"


def test_similar_users_never_lists_users_who_left_after_training(
    client: Any, keys: dict[str, str], model: tuple[TwoTowerData, str], tables: Any
) -> None:
    data, _ = model
    U = data.user_matrix
    cosine = U @ U[0] / (np.linalg.norm(U, axis=1) * np.linalg.norm(U[0]))
    ranked = [data.users[i] for i in np.argsort(-cosine)[1:]]

    def similar_to_u0() -> list[str]:
        response = get(client, keys["read"], "/v1/users/u0/similar", k=3)
        return [u["user"] for u in json.loads(response.body)["users"]]

    assert similar_to_u0() == ranked[:3]
    # The two nearest neighbours leave after training: one opts out, one is deleted.
    user_of = {pseudonymize(u, tables.settings.pseudonym_secret): u for u in USERS}
    opted_out, deleted = user_of[ranked[0]], user_of[ranked[1]]
    body = {"consent": "opted_out"}
    response = call(client, "PUT", f"/v1/users/{opted_out}/consent", key=keys["ingest"], body=body)
    assert response.status_code == 200
    assert call(client, "DELETE", f"/v1/users/{deleted}", key=keys["admin"]).status_code == 200
    assert similar_to_u0() == ranked[2:]  # the two others the model holds

"""Approximate top-k (faiss IVF) against exact search on generated embeddings.

The vectors are low-rank plus noise around a few hundred centres, as trained embeddings are
(isotropic Gaussian vectors have no neighbourhood structure for any index to find); the
expected answers are brute-force rankings computed here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from learnloop.recommender.ann import (
    ANN_ITEMS_COSINE_FILE,
    ANN_ITEMS_FILE,
    AnnIndex,
    build_ann_files,
    load_ann_files,
)
from learnloop.recommender.index import TwoTowerIndex, load_two_tower

TYPES = ("meme", "news", "coin", "ai_insight")
N_ITEMS, N_USERS, DIM = 8000, 3000, 16


def embeddings(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    basis = np.random.default_rng(7).normal(size=(8, DIM))
    picked = centres[rng.integers(0, len(centres), n)]
    latent = picked + 0.5 * rng.normal(size=(n, 8))
    noise = 0.1 * rng.normal(size=(n, DIM))
    return np.asarray(latent @ basis + noise, dtype=np.float32)


@pytest.fixture(scope="module")
def world() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(100, 8))
    return {
        "items": embeddings(N_ITEMS, rng, centres),
        "users": embeddings(N_USERS, rng, centres),
        "queries": embeddings(100, rng, centres),
    }


@pytest.fixture(scope="module")
def files(world: dict[str, np.ndarray]) -> dict[str, bytes]:
    return build_ann_files(world["items"], world["users"], min_rows=1000)


def recall_at_10(found: list[list[int]], exact: list[list[int]]) -> float:
    return float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)]))


def test_inner_product_recall_at_10_is_high(world: dict[str, np.ndarray]) -> None:
    items, queries = world["items"], world["queries"]
    ann = AnnIndex("ip", n_probes=16).fit(items)
    exact = [np.argsort(-(items @ q))[:10].tolist() for q in queries]
    found = [ann.search(q, 10).tolist() for q in queries]
    assert recall_at_10(found, exact) >= 0.95
    # Fewer probes read fewer cells: recall drops (the knob is real), never above one probe more.
    few = AnnIndex.from_bytes(ann.to_bytes(), "ip", n_probes=1)
    assert recall_at_10([few.search(q, 10).tolist() for q in queries], exact) < recall_at_10(
        found, exact
    )


def test_cosine_recall_at_10_is_high(world: dict[str, np.ndarray]) -> None:
    items, queries = world["items"], world["queries"]
    unit = items / np.linalg.norm(items, axis=1, keepdims=True)
    ann = AnnIndex("cosine", n_probes=16).fit(items)
    exact = [np.argsort(-(unit @ q))[:10].tolist() for q in queries]
    found = [ann.search(q, 10).tolist() for q in queries]
    assert recall_at_10(found, exact) >= 0.95


def test_the_bytes_round_trip_and_bad_bytes_are_refused(world: dict[str, np.ndarray]) -> None:
    ann = AnnIndex("ip").fit(world["items"][:2000])
    again = AnnIndex.from_bytes(ann.to_bytes(), "ip")
    assert (again.n_rows_, again.dim_) == (2000, DIM)
    query = world["queries"][0]
    assert again.search(query, 10).tolist() == ann.search(query, 10).tolist()
    with pytest.raises(ValueError):
        AnnIndex.from_bytes(b"not an index", "ip")
    with pytest.raises(ValueError):
        AnnIndex("euclid")  # type: ignore[arg-type]


def test_files_are_built_only_above_the_threshold(world: dict[str, np.ndarray]) -> None:
    items, users = world["items"], world["users"]
    assert build_ann_files(items, users, min_rows=10_000) == {}
    only_items = build_ann_files(items, users, min_rows=5000)
    assert sorted(only_items) == [ANN_ITEMS_FILE, ANN_ITEMS_COSINE_FILE]
    # An index that does not match the matrices (rows or width) is not loaded.
    assert load_ann_files(only_items, n_items=N_ITEMS - 1, n_users=N_USERS, dim=DIM) == {}
    assert load_ann_files(only_items, n_items=N_ITEMS, n_users=N_USERS, dim=DIM + 1) == {}


def artifact(world: dict[str, np.ndarray], extra: dict[str, bytes]) -> dict[str, bytes]:
    def npy(array: np.ndarray) -> bytes:
        import io

        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()

    items = {
        # Types interleaved: the index regroups rows by type, the ANN ids stay artifact rows.
        "item_keys": [f"{TYPES[i % 4]}#i{i}" for i in range(N_ITEMS)],
        "content_types": [TYPES[i % 4] for i in range(N_ITEMS)],
        "popularity": [1] * N_ITEMS,
    }
    return {
        "item_embeddings.npy": npy(world["items"]),
        "items.json": json.dumps(items).encode(),
        "user_embeddings.npy": npy(world["users"]),
        "users.json": json.dumps({"users": [f"p{u}" for u in range(N_USERS)]}).encode(),
        **extra,
    }


def exact_keys(index: TwoTowerIndex, found: list[tuple[int, float]]) -> list[str]:
    return [index.item_keys[row] for row, _ in found]


def test_served_answers_match_exact_search(
    world: dict[str, np.ndarray], files: dict[str, bytes]
) -> None:
    approximate = load_two_tower("two_tower", "v", artifact(world, files), ann_min_rows=1000)
    exact = load_two_tower("two_tower", "v", artifact(world, {}))
    assert sorted(approximate.ann) == sorted(files) and exact.ann == {}
    overlaps = []
    for user in range(0, N_USERS, 60):
        vector = approximate.user_matrix[user]
        excluded = [exact.item_keys[r] for r, _ in exact.recommend(vector, k=5)]
        for content_type in (None, "news"):
            got = approximate.recommend(vector, k=10, content_type=content_type, exclude=excluded)
            want = exact.recommend(vector, k=10, content_type=content_type, exclude=excluded)
            keys = exact_keys(approximate, got)
            # Never an excluded item or another type; scores are exact dot products.
            assert not set(keys) & set(excluded)
            assert content_type is None or all(k.startswith("news#") for k in keys)
            rows = [approximate.item_row[k] for k in keys]
            np.testing.assert_allclose(
                [s for _, s in got], approximate.item_matrix[rows] @ vector, rtol=1e-5
            )
            overlaps.append(len(set(keys) & set(exact_keys(exact, want))) / 10)
        similar = approximate.similar_users(f"p{user}", k=10)
        assert similar is not None and f"p{user}" not in {approximate.users[r] for r, _ in similar}
    assert np.mean(overlaps) >= 0.95
    key = exact.item_keys[0]
    got_similar = approximate.similar_items(key, k=10)
    want_similar = exact.similar_items(key, k=10)
    assert got_similar is not None and want_similar is not None
    assert (
        len(set(exact_keys(approximate, got_similar)) & set(exact_keys(exact, want_similar))) >= 9
    )


def test_without_the_index_or_below_the_threshold_search_is_exact(
    world: dict[str, np.ndarray], files: dict[str, bytes]
) -> None:
    old = load_two_tower("two_tower", "old", artifact(world, {}), ann_min_rows=1000)
    small = load_two_tower("two_tower", "v", artifact(world, files), ann_min_rows=N_ITEMS + 1)
    reference = TwoTowerIndex(
        "two_tower",
        "ref",
        item_keys=[f"{TYPES[i % 4]}#i{i}" for i in range(N_ITEMS)],
        content_types=[TYPES[i % 4] for i in range(N_ITEMS)],
        popularity=[1] * N_ITEMS,
        item_matrix=world["items"],
        users=[f"p{u}" for u in range(N_USERS)],
        user_matrix=world["users"],
    )
    vector = world["queries"][3]
    want = [reference.item_keys[r] for r, _ in reference.recommend(vector, k=50)]
    for index in (old, small):
        assert [index.item_keys[r] for r, _ in index.recommend(vector, k=50)] == want


def test_too_few_candidates_fall_back_to_exact(
    world: dict[str, np.ndarray], files: dict[str, bytes]
) -> None:
    index = load_two_tower("two_tower", "v", artifact(world, files), ann_min_rows=1000)
    vector = world["queries"][5]
    everything = [index.item_keys[r] for r, _ in index.recommend(vector, k=100)]
    # Excluding all but a handful of a type's items: the probed cells cannot supply k, so the
    # answer comes from exact search, and it is the exact answer.
    news = [k for k in index.item_keys if k.startswith("news#")]
    kept = news[:7]
    excluded = [k for k in news if k not in kept]
    got = index.recommend(vector, k=10, content_type="news", exclude=excluded)
    assert sorted(index.item_keys[r] for r, _ in got) == sorted(kept)
    assert len(everything) == 100

"""TwoTowerIndex against brute force: exact top-K, filters, exclusions, the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from learnloop.exceptions import ModelLoadError, NoProductionModelError
from learnloop.models.cache import ProductionRef, VersionCache
from learnloop.recommender.index import TwoTowerIndex, load_two_tower, top_k

TYPES = ("meme", "news", "coin")


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    rng = np.random.default_rng(11)
    n_items, n_users, dim = 60, 12, 8
    # Interleaved types, so regrouping rows by type really moves them.
    types = [TYPES[(i * 7) % 3] for i in range(n_items)]
    return {
        "item_keys": [f"{t}#x{i}" for i, t in enumerate(types)],
        "content_types": types,
        "popularity": [int(p) for p in rng.integers(0, 50, n_items)],
        "item_matrix": rng.normal(size=(n_items, dim)).astype(np.float32),
        "users": [f"user-{u}" for u in range(n_users)],
        "user_matrix": rng.normal(size=(n_users, dim)).astype(np.float32),
    }


@pytest.fixture(scope="module")
def index(data: dict[str, object]) -> TwoTowerIndex:
    return TwoTowerIndex("two_tower", "20261120T093000Z", **data)  # type: ignore[arg-type]


def brute_force(
    data: dict[str, object],
    query: np.ndarray,
    k: int,
    *,
    content_type: str | None = None,
    exclude: set[str] = frozenset(),
    cosine: bool = False,  # type: ignore[assignment]
) -> list[str]:
    keys: list[str] = data["item_keys"]  # type: ignore[assignment]
    matrix: np.ndarray = data["item_matrix"]  # type: ignore[assignment]
    types: list[str] = data["content_types"]  # type: ignore[assignment]
    scores = matrix @ query
    if cosine:
        scores = scores / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    ranked = sorted(range(len(keys)), key=lambda i: -scores[i])
    return [
        keys[i]
        for i in ranked
        if (content_type is None or types[i] == content_type) and keys[i] not in exclude
    ][:k]


def test_top_k_is_the_sorted_prefix() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=1000).astype(np.float32)
    for k in (1, 10, 999, 1000, 1500):
        assert top_k(scores.copy(), k).tolist() == np.argsort(-scores)[:k].tolist()
    scores[:995] = -np.inf
    assert sorted(top_k(scores, 10).tolist()) == list(range(995, 1000))
    assert top_k(scores[:0], 3).tolist() == []


@pytest.mark.parametrize("content_type", [None, *TYPES, "unknown"])
@pytest.mark.parametrize("k", [1, 5, 25, 100])
def test_recommend_is_exact_top_k_of_the_type_without_excluded_items(
    index: TwoTowerIndex, data: dict[str, object], content_type: str | None, k: int
) -> None:
    keys: list[str] = data["item_keys"]  # type: ignore[assignment]
    exclude = set(keys[::4])
    for user in ("user-0", "user-7"):
        query = index.user_vector(user)
        assert query is not None
        found = index.recommend(query, k=k, content_type=content_type, exclude=exclude)
        got = [index.item_keys[row] for row, _ in found]
        assert got == brute_force(data, query, k, content_type=content_type, exclude=exclude)
        assert not exclude & set(got)
        assert all(
            index.content_types[row] == (content_type or index.content_types[row])
            for row, _ in found
        )
        scores = [s for _, s in found]
        assert scores == sorted(scores, reverse=True)


def test_rows_are_grouped_by_type_and_maps_stay_aligned(
    index: TwoTowerIndex, data: dict[str, object]
) -> None:
    keys: list[str] = data["item_keys"]  # type: ignore[assignment]
    matrix: np.ndarray = data["item_matrix"]  # type: ignore[assignment]
    for kind, rows in index.type_slices.items():
        assert set(index.content_types[rows]) == {kind}
    for original, key in enumerate(keys):
        np.testing.assert_array_equal(index.item_matrix[index.item_row[key]], matrix[original])
    assert index.item_matrix.flags["C_CONTIGUOUS"]


def test_popular_is_seeded_explores_and_respects_filters(
    index: TwoTowerIndex, data: dict[str, object]
) -> None:
    first = index.popular(k=5, random_state=42)
    assert first == index.popular(k=5, random_state=42)
    assert any(index.popular(k=5, random_state=seed) != first for seed in range(1, 20))
    exclude = {index.item_keys[row] for row, _ in first}
    again = index.popular(k=5, content_type="news", exclude=exclude, random_state=42)
    assert not exclude & {index.item_keys[row] for row, _ in again}
    assert {index.content_types[row] for row, _ in again} == {"news"}


def test_popular_favours_popular_items_but_explores_the_rest() -> None:
    index = TwoTowerIndex(
        "two_tower",
        "v",
        item_keys=[f"meme#{i}" for i in range(4)],
        content_types=["meme"] * 4,
        popularity=[80, 40, 2, 0],
        item_matrix=np.eye(4, dtype=np.float32),
        users=["u"],
        user_matrix=np.ones((1, 4), dtype=np.float32),
    )
    tops = [index.popular(k=1, n_users=100, random_state=s)[0][0] for s in range(300)]
    counts = np.bincount(tops, minlength=4)
    assert counts[0] == counts.max() and counts[0] > 250  # the most liked item usually wins
    rare = [index.popular(k=3, n_users=100, random_state=s) for s in range(300)]
    assert any(3 in {r for r, _ in draw} for draw in rare)  # never-liked items still surface


def test_similar_items_and_users_are_cosine_neighbours(
    index: TwoTowerIndex, data: dict[str, object]
) -> None:
    keys: list[str] = data["item_keys"]  # type: ignore[assignment]
    matrix: np.ndarray = data["item_matrix"]  # type: ignore[assignment]
    found = index.similar_items(keys[3], k=5)
    assert found is not None
    got = [index.item_keys[row] for row, _ in found]
    assert got == brute_force(data, matrix[3], 5, exclude={keys[3]}, cosine=True)
    assert all(-1.0 <= s <= 1.0 for _, s in found)
    assert index.similar_items("meme#nope", k=5) is None
    users = index.similar_users("user-2", k=3)
    assert users is not None and 2 not in [r for r, _ in users]
    U: np.ndarray = data["user_matrix"]  # type: ignore[assignment]
    cos = (U @ U[2]) / (np.linalg.norm(U, axis=1) * np.linalg.norm(U[2]))
    cos[2] = -np.inf
    assert [r for r, _ in users] == np.argsort(-cos)[:3].tolist()
    assert index.similar_users("nobody", k=3) is None


def test_history_vector_is_the_mean_of_known_items(index: TwoTowerIndex) -> None:
    a, b = index.item_keys[0], index.item_keys[5]
    expected = (index.item_matrix[0] + index.item_matrix[5]) / 2
    np.testing.assert_allclose(index.history_vector([a, b, "meme#unknown"]), expected, rtol=1e-6)
    assert index.history_vector(["meme#unknown"]) is None


def test_history_vector_averages_the_shipped_history_rows(data: dict[str, object]) -> None:
    # EASE ships its own history rows: a new user's profile is their mean, in the
    # artifact's row order although the index regroups rows by type.
    keys: list[str] = data["item_keys"]  # type: ignore[assignment]
    items: np.ndarray = data["item_matrix"]  # type: ignore[assignment]
    history = -3.0 * items[:, ::-1].copy()
    index = TwoTowerIndex("two_tower", "v", **data, history_matrix=history)  # type: ignore[arg-type]
    expected = (history[1] + history[4]) / 2
    np.testing.assert_allclose(index.history_vector([keys[1], keys[4]]), expected, rtol=1e-6)
    # recommendations still score the item rows
    assert index.recommend(expected, k=3)[0][0] == index.item_row[brute_force(data, expected, 1)[0]]
    # similar items are the item-item weights: the items a user of this one item is offered
    found = index.similar_items(keys[7], k=4)
    assert found is not None
    expected_keys = [k for k in brute_force(data, history[7], 5) if k != keys[7]][:4]
    assert [index.item_keys[row] for row, _ in found] == expected_keys


def test_load_two_tower_refuses_mismatched_files() -> None:
    import io
    import json

    def npy(a: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, a)
        return buffer.getvalue()

    files = {
        "item_embeddings.npy": npy(np.ones((2, 3), np.float32)),
        "items.json": json.dumps(
            {
                "item_keys": ["meme#a", "meme#b"],
                "content_types": ["meme", "meme"],
                "popularity": [1, 2],
            }
        ).encode(),
        "user_embeddings.npy": npy(np.ones((1, 3), np.float32)),
        "users.json": json.dumps({"users": ["p1"]}).encode(),
    }
    assert load_two_tower("two_tower", "v", files).n_items == 2
    with pytest.raises(ModelLoadError, match="do not match"):
        load_two_tower("two_tower", "v", {**files, "users.json": b'{"users": []}'})
    with pytest.raises(ModelLoadError, match="does not load"):
        load_two_tower("two_tower", "v", {**files, "item_embeddings.npy": b"junk"})
    history = {**files, "history_embeddings.npy": npy(np.full((2, 3), 2.0, np.float32))}
    assert load_two_tower("two_tower", "v", history).history_vector(["meme#a"]).tolist() == [
        2.0,
        2.0,
        2.0,
    ]
    with pytest.raises(ModelLoadError, match="do not match"):
        load_two_tower(
            "two_tower", "v", {**files, "history_embeddings.npy": npy(np.ones((2, 4), np.float32))}
        )


class Box:
    def __init__(self, version: str) -> None:
        self.version = version


def test_version_cache_keeps_the_last_good_version_of_anything() -> None:
    alias: dict[str, str | None] = {"two_tower": "v1"}
    broken = {"v2"}
    clock = [0.0]

    def production(name: str) -> ProductionRef | None:
        version = alias[name]
        return None if version is None else ProductionRef(name, version, f"models/{name}/")

    def load(ref: ProductionRef) -> Box:
        if ref.version in broken:
            raise ModelLoadError("corrupt")
        return Box(ref.version)

    cache: VersionCache[Box] = VersionCache(
        production, load, check_seconds=10, clock=lambda: clock[0]
    )
    first = cache.get("two_tower")
    alias["two_tower"] = "v2"
    clock[0] = 11
    assert cache.get("two_tower") is first  # v2 fails to load: v1 keeps serving
    broken.clear()
    clock[0] = 22
    assert cache.get("two_tower").version == "v2"
    alias["two_tower"] = None
    clock[0] = 33
    with pytest.raises(NoProductionModelError):
        cache.get("two_tower")


def test_popular_over_a_large_catalogue_draws_from_a_pool() -> None:
    rng = np.random.default_rng(5)
    n = 6000
    types = [TYPES[i % 3] for i in range(n)]
    popularity = (rng.pareto(1.5, n) * 10).astype(int).tolist()
    index = TwoTowerIndex(
        "two_tower", "v", item_keys=[f"{t}#{i}" for i, t in enumerate(types)],
        content_types=types, popularity=popularity,
        item_matrix=rng.normal(size=(n, 4)).astype(np.float32),
        users=["u"], user_matrix=np.ones((1, 4), np.float32),
    )  # fmt: skip
    head = [index.item_keys[r] for r, _ in index.popular(k=50, n_users=5000, random_state=1)]
    exclude = set(head[:20])
    for seed in range(5):
        found = index.popular(k=10, n_users=5000, content_type="coin", exclude=exclude,
                              random_state=seed, pool=100)  # fmt: skip
        assert found == index.popular(k=10, n_users=5000, content_type="coin", exclude=exclude,
                                      random_state=seed, pool=100)  # fmt: skip
        keys = [index.item_keys[r] for r, _ in found]
        assert len(keys) == 10 and not exclude & set(keys)
        assert {index.content_types[r] for r, _ in found} == {"coin"}
        shown = np.mean([index.popularity[r] for r, _ in found])
        assert shown > 5 * np.mean(popularity)  # popular items lead

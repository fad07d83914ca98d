"""The pure parts of ``bench/movielens_api.py`` on generated ratings: the two splits, the
per-user metrics (against ``training_jobs.metrics``), popularity's exclusion and the bootstrap.
No stack, no MovieLens files."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from training_jobs.metrics import ranking_metrics

BENCH = Path(__file__).resolve().parents[3] / "bench"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    # The bench scripts import their siblings (``_report``, ``movielens``) as top-level modules.
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("movielens_api")
    finally:
        sys.path.remove(str(BENCH))


def ratings(seed: int = 0, users: int = 40, items: int = 60) -> np.ndarray:
    """``user, item, rating, time`` rows: each user rates a random third of the items."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, users + 1):
        for item in rng.choice(items, size=items // 3, replace=False):
            rows.append([user, int(item) + 1, int(rng.integers(1, 6)), int(rng.integers(0, 10**6))])
    return np.array(rows, dtype=np.int64)


def test_user_split_holds_out_each_users_newest_likes(bench: ModuleType) -> None:
    rows = ratings()
    split = bench.split_user(rows)
    likes = rows[rows[:, 2] >= 4]
    for user, held in split.test.items():
        mine = likes[likes[:, 0] == user]
        assert len(mine) >= 5
        assert len(held) == max(1, int(0.2 * len(mine)))
        trained = split.train[split.train[:, 0] == user]
        cut = min(int(mine[mine[:, 1] == i][0, 3]) for i in held)
        # Nothing ingested after the first held-out like; no held-out like ingested.
        assert (trained[:, 3] <= cut).all()
        assert not held & set(trained[:, 1].tolist())
        # Every earlier like is ingested (time ties with the cut go by item, as held out).
        assert {i for i, t in mine[:, [1, 3]].tolist() if t < cut} <= set(trained[:, 1].tolist())
    # Ratings of 3 are neither; users with fewer than 5 likes are ingested whole.
    assert (split.train[:, 2] != 3).all()
    for user in set(rows[:, 0].tolist()) - set(split.test):
        theirs = rows[(rows[:, 0] == user) & (rows[:, 2] != 3)]
        assert len(split.train[split.train[:, 0] == user]) == len(theirs)


def test_time_split_cuts_everyone_at_one_moment(bench: ModuleType) -> None:
    rows = ratings(seed=1)
    split = bench.split_time(rows)
    reactions = rows[rows[:, 2] != 3]
    cut = split.train[:, 3].max()
    assert len(split.train) == pytest.approx(0.8 * len(reactions), abs=2)
    later = reactions[(reactions[:, 3] > cut) & (reactions[:, 2] >= 4)]
    known = set(split.train[:, 0].tolist())
    assert set(split.test) <= known
    assert sum(map(len, split.test.values())) == sum(u in known for u in later[:, 0].tolist())


def test_per_user_metrics_match_the_jobs_definitions(bench: ModuleType) -> None:
    rng = np.random.default_rng(2)
    test = {u: set(rng.choice(30, size=int(rng.integers(1, 8)), replace=False).tolist())
            for u in range(50)}  # fmt: skip
    tops = {u: rng.permutation(30)[:10].tolist() for u in test}
    scored = bench.score_lists(tops, test)
    reference = ranking_metrics(np.array([tops[u] for u in sorted(test)]),
                                [test[u] for u in sorted(test)], ks=(10,))  # fmt: skip
    for name in ("ndcg", "precision", "recall"):
        assert scored[name].mean() == pytest.approx(reference[f"{name}@10"])
    # A user the route answered with nothing scores zero, not an error.
    assert bench.score_lists({}, {1: {3}})["ndcg"].tolist() == [0.0]


def test_popularity_leaves_out_what_the_user_reacted_to(bench: ModuleType) -> None:
    train = np.array([[1, 5, 5, 0], [2, 5, 4, 0], [3, 5, 5, 0], [2, 6, 5, 0], [3, 6, 4, 0],
                      [1, 7, 1, 0], [4, 7, 5, 0]])  # fmt: skip
    tops = bench.popularity_tops(train, [1, 2, 4], k=3)
    # Item 5 (3 likes) before 6 (2) before 7 (1); user 1 disliked 7, so it is left out too.
    assert tops == {1: [6], 2: [7], 4: [5, 6]}


def test_bootstrap_interval_is_seeded_and_covers_the_mean(bench: ModuleType) -> None:
    values = np.random.default_rng(3).random(300)
    low, high = bench.bootstrap_interval(values, seed=7)
    assert (low, high) == bench.bootstrap_interval(values, seed=7)
    assert low < values.mean() < high
    # The interval of the mean is about 4 standard errors wide.
    assert high - low == pytest.approx(3.92 * values.std() / np.sqrt(300), rel=0.15)


def test_rows_carry_the_users_time_and_the_item_text(bench: ModuleType) -> None:
    rows = bench.reaction_rows(np.array([[7, 50, 5, 874965758], [7, 9, 1, 874965758]]),
                               {50: "Star Wars (1977). Action"})  # fmt: skip
    assert rows[0] == {
        "user_id": "u7",
        "content_type": "movie",
        "external_id": "50",
        "reaction": "like",
        "occurred_at": "1997-09-22T22:02:38+00:00",
        "content": {"text": "Star Wars (1977). Action"},
    }
    assert rows[1]["reaction"] == "dislike"

"""Issue 19: the per-user split, the budgeted search, the ALS candidate and the refit on every
positive of the two-tower job's model selection."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest

from training_jobs.exceptions import NotEnoughInteractionsError
from training_jobs.two_tower import tuning
from training_jobs.two_tower.als import ALSRecommender
from training_jobs.two_tower.data import Interaction, per_user_split
from training_jobs.two_tower.factor_export import check_factor_towers, export_factor_towers
from training_jobs.two_tower.quality import similarity_report
from training_jobs.two_tower.selection import select_model


def rows(n_users: int = 40, seed: int = 0) -> list[Interaction]:
    """Users with 1-14 positives over 30 days, shuffled; item tastes by user group."""
    rng = random.Random(seed)
    out = []
    for u in range(n_users):
        n = 1 + (u * 7) % 14
        for j in range(n):
            item = f"meme#{(u % 4) * 6 + rng.randrange(8)}-{j % 3}"
            out.append(
                Interaction(f"u{u}", item, f"2026-11-{1 + rng.randrange(28):02d}T00:00:{j:02d}Z")
            )
    rng.shuffle(out)
    return out


def test_every_user_with_enough_history_is_in_validation_and_test() -> None:
    data = rows()
    split = per_user_split(data, holdout=0.1, min_history=3)
    counts: dict[str, int] = {}
    for row in data:
        counts[row.user] = counts.get(row.user, 0) + 1
    eligible = sorted(u for u, n in counts.items() if n >= 3)
    assert split.eligible == eligible
    assert {r.user for r in split.valid} == set(eligible) == {r.user for r in split.test}
    # users with too little history train only
    assert all(counts[r.user] >= 3 for r in split.valid + split.test)
    # every positive lands in exactly one part
    assert sorted(split.train + split.valid + split.test) == sorted(data)
    for user in eligible:
        n = counts[user]
        k = max(1, int(0.1 * n))
        assert sum(r.user == user for r in split.test) == k
        assert sum(r.user == user for r in split.valid) == k


def test_no_later_positive_of_a_user_trains_the_model_scored_on_their_earlier_ones() -> None:
    data = rows(seed=3)
    split = per_user_split(data)
    for user in split.eligible:
        train = [(r.at, r.item_key) for r in split.train if r.user == user]
        valid = [(r.at, r.item_key) for r in split.valid if r.user == user]
        test = [(r.at, r.item_key) for r in split.test if r.user == user]
        assert max(train) <= min(valid) and max(valid) <= min(test)
    # deterministic whatever the input order
    assert per_user_split(list(reversed(data))) == split


def test_a_split_with_no_eligible_user_is_refused() -> None:
    with pytest.raises(NotEnoughInteractionsError):
        per_user_split([Interaction("a", "m#1", "2026-11-01"), Interaction("b", "m#1", "x")])


class _Fake:
    """An estimator whose fit costs ``cost`` seconds of the fake clock."""

    def __init__(self, clock: list[float], cost: float, params: dict[str, Any]) -> None:
        self.clock, self.cost, self.params = clock, cost, params
        self.best_epoch_ = 3

    def fit(self, pairs: Iterable[Any], **_: Any) -> _Fake:
        self.clock[0] += self.cost
        return self

    def user_ndcg(self, pairs: Iterable[Any], **_: Any) -> dict[str, float]:
        value = self.params.get("factors") or self.params.get("embedding_dim") or 0
        return {"u": float(value) / 1000.0}


@pytest.fixture
def fake_fits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    clock = [0.0]

    def build(candidate: str, params: dict[str, Any], random_state: Any) -> _Fake:
        return _Fake(clock, 10.0, params)

    monkeypatch.setattr(tuning, "build", build)
    return clock


def _tune(clock: list[float], budget: float, **kwargs: Any) -> tuning.Search:
    return tuning.tune(
        [("u", "a")], [("u", "b")], budget_seconds=budget, clock=lambda: clock[0], **kwargs
    )


def test_the_search_stops_when_another_trial_would_overrun_the_budget(
    fake_fits: list[float],
) -> None:
    # 10 s per trial, 35 s budget, one candidate: trials start at 0, 10, 20 (30 + 10 > 35).
    search = _tune(fake_fits, 35.0, candidates=("two_tower",))
    assert len(search.trials) == 3
    assert "budget" in search.stopped["two_tower"]
    # EASE may use 15 % (5 s) and ALS 40 % (14 s): their defaults only; two-tower gets the
    # 15 s left: one trial (10 + 10 > 15). With 45 s (ALS 18 s), two-tower gets 25 s: two.
    fake_fits[0] = 0.0
    search = _tune(fake_fits, 35.0)
    assert [t.candidate for t in search.trials] == ["ease", "als", "two_tower"]
    fake_fits[0] = 0.0
    search = _tune(fake_fits, 45.0)
    assert [t.candidate for t in search.trials] == ["ease", "als", "two_tower", "two_tower"]
    # A zero budget still scores every candidate's defaults once.
    fake_fits[0] = 0.0
    search = _tune(fake_fits, 0.0)
    assert [t.candidate for t in search.trials] == ["ease", "als", "two_tower"]
    assert search.trials[0].params == tuning.EASE_DEFAULTS
    assert search.trials[1].params["factors"] == tuning.ALS_DEFAULTS["factors"]
    assert search.trials[2].params["loss"] == tuning.TWO_TOWER_DEFAULTS["loss"]
    # max_trials caps a study with budget to spare
    fake_fits[0] = 0.0
    search = _tune(fake_fits, 1e6, candidates=("als",), max_trials=4)
    assert len(search.trials) == 4 and search.stopped["als"] == "max_trials: 4"


def test_the_search_varies_settings_pins_given_ones_and_picks_the_best(
    fake_fits: list[float],
) -> None:
    search = _tune(
        fake_fits, 1e6, max_trials=6, fixed={"two_tower": {"loss": "in_batch", "epochs": 4}}
    )
    als = [t.params["factors"] for t in search.trials if t.candidate == "als"]
    assert len(set(als)) > 1  # the sampler explores
    towers = [t for t in search.trials if t.candidate == "two_tower"]
    assert all(t.params["loss"] == "in_batch" and t.params["epochs"] == 4 for t in towers)
    best = max(search.trials, key=lambda t: t.score)
    assert search.winner().score == best.score


def test_als_towers_reproduce_the_factors_and_fold_in_a_new_user() -> None:
    pairs = [(r.user, r.item_key) for r in rows()]
    model = ALSRecommender(factors=6, iterations=4, random_state=0).fit(pairs)
    towers = export_factor_towers(model)
    assert check_factor_towers(model, towers) < 1e-5
    assert [i["name"] for i in towers.spec["user_tower"]["inputs"]] == ["user_index", "history"]
    assert towers.spec["model"] == "als"


def test_the_published_model_is_refit_on_every_positive() -> None:
    data = rows(n_users=30, seed=5)
    unique = {(r.user, r.item_key) for r in data}
    chosen = select_model(data, candidates=("als",), budget_seconds=0, random_state=0)
    split = chosen.split
    published = chosen.published
    # every positive (test part included) trained the published model...
    assert int(published.popularity_.sum()) == len(unique)
    row = {key: n for n, key in enumerate(published.item_ids_)}
    user_row = {u: n for n, u in enumerate(published.user_ids_)}
    for r in split.test:
        assert row[r.item_key] in published.history_[user_row[r.user]]
    # ...while the held-out figures come from a model that never saw the test part
    held = select_model(data, candidates=("als",), budget_seconds=0, random_state=0, refit=False)
    seen = {(r.user, r.item_key) for r in split.train + split.valid}
    assert int(held.published.popularity_.sum()) == len(seen)
    assert chosen.metrics == held.metrics
    assert {"ndcg@10", "popularity_ndcg@10"} <= set(chosen.metrics)
    floor = chosen.popularity_floor()
    assert floor["passed"] == (floor["candidate"] >= floor["popularity"])
    assert chosen.to_dict()["winner"] == "als"


def test_similarity_report_tells_collapsed_embeddings_from_separated_ones() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(4), 10)
    history = [
        {int(i) for i in rng.choice(np.flatnonzero(groups == g), 6, replace=False)}
        for g in rng.integers(0, 4, 300)
    ]
    separated = np.eye(4)[groups] + 0.05 * rng.normal(size=(40, 4))
    collapsed = np.ones((40, 4)) + 0.01 * rng.normal(size=(40, 4))
    good = similarity_report(separated, history, k=5, neighbours=9, min_users=1)
    bad = similarity_report(collapsed, history, k=5, neighbours=9, min_users=1)
    assert bad["cosine"]["p5"] > 0.99 and good["cosine"]["p50"] < 0.5
    assert good["cooccurrence_agreement@5"] > 0.9 > bad["cooccurrence_agreement@5"]


@pytest.mark.parametrize(
    "argv",
    [["--candidates", "knn"], ["--candidates", ","], ["--holdout", "0.5"], ["--max-trials", "0"],
     ["--budget-seconds", "-1"]],
)  # fmt: skip
def test_the_job_refuses_bad_search_options_before_reading_anything(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from training_jobs.two_tower import main

    assert main(argv) == 2
    assert "two_tower: --" in capsys.readouterr().err

"""Issue 19: EASE, the closed-form item-item candidate, published as factors the serving reads."""

from __future__ import annotations

import random

import numpy as np
import pytest

from learnloop.exceptions import ValidationError
from training_jobs.exceptions import TrainingDataError
from training_jobs.two_tower import ease as ease_module
from training_jobs.two_tower import tuning
from training_jobs.two_tower.data import Interaction
from training_jobs.two_tower.ease import EASERecommender, ease_weights
from training_jobs.two_tower.estimator import ItemCatalog
from training_jobs.two_tower.factor_export import check_factor_towers, export_factor_towers
from training_jobs.two_tower.selection import select_model


def pairs(n_users: int = 40, n_items: int = 15, seed: int = 3) -> list[tuple[str, str]]:
    """Two taste groups over overlapping item ranges, 3-8 positives a user."""
    rng = random.Random(seed)
    out = []
    for u in range(n_users):
        offset = 0 if u % 2 else n_items // 3
        for _ in range(rng.randint(3, 8)):
            out.append((f"u{u}", f"meme#{offset + rng.randrange(2 * n_items // 3)}"))
    return sorted(set(out))


def test_ease_weights_are_each_items_ridge_regression_on_the_others() -> None:
    # EASE's closed form must equal what it claims to be: per item j, the ridge regression of
    # column j on every other column (B_jj = 0), solved here directly.
    rng = np.random.default_rng(0)
    x = (rng.random((30, 6)) < 0.4).astype(float)
    lam = 2.5
    b = ease_weights(x, lam)
    for j in range(6):
        others = [i for i in range(6) if i != j]
        a = x[:, others]
        ridge = np.linalg.solve(a.T @ a + lam * np.eye(5), a.T @ x[:, j])
        np.testing.assert_allclose(b[others, j], ridge, atol=1e-10)
        assert b[j, j] == 0.0


def test_at_full_rank_the_published_scores_rank_as_ease_does() -> None:
    data = pairs()
    model = EASERecommender(regularization=3.0, factors=20, random_state=0).fit(data)
    n_items = len(model.item_ids_)
    x = np.zeros((len(model.user_ids_), n_items))
    for u, rows in enumerate(model.history_):
        x[u, list(rows)] = 1.0
    reference = x @ ease_weights(x, 3.0)
    published = model.user_embeddings_ @ model.item_embeddings_.T
    # a user's profile is the mean of their rows: EASE's scores over their item count
    np.testing.assert_allclose(published * x.sum(1, keepdims=True), reference, atol=1e-4)
    # similar items are the weights of B's row: what a user of that one item is offered
    row = model.item_ids_.index("meme#2")
    weights = ease_weights(x, 3.0)[row]
    weights[row] = -np.inf
    expected = [model.item_ids_[i] for i in np.argsort(-weights, kind="stable")[:3]]
    assert [key for key, _ in model.similar_items("meme#2", n=3)] == expected
    # the shipped history rows reproduce a known user's embedding from their items alone
    history = model.history_matrix()
    np.testing.assert_allclose(
        history[list(model.history_[0])].mean(0), model.user_embeddings_[0], atol=1e-6
    )


def test_items_without_positives_get_zero_rows_and_big_catalogues_are_refused() -> None:
    data = pairs()
    keys = [*sorted({i for _, i in data}), "meme#never"]
    catalog = ItemCatalog(keys, ["meme"] * len(keys))
    model = EASERecommender(regularization=3.0, factors=4, random_state=0).fit(
        data, catalog=catalog
    )
    row = model.item_ids_.index("meme#never")
    assert not model.item_embeddings_[row].any() and not model.history_embeddings_[row].any()
    assert model.item_embeddings_.shape == (len(keys), 4)
    with pytest.raises(ValidationError) as refused:
        EASERecommender(max_items=5).fit(data)
    assert refused.value.details[0]["field"] == "max_items"


def test_the_ease_towers_fold_in_a_new_user_from_the_history_rows() -> None:
    model = EASERecommender(regularization=3.0, factors=6, random_state=0).fit(pairs())
    towers = export_factor_towers(model)
    assert towers.spec["model"] == "ease"
    assert check_factor_towers(model, towers) < 1e-4
    import onnxruntime as ort

    from training_jobs.two_tower.onnx_export import USER_TOWER_FILE

    session = ort.InferenceSession(
        towers.files[USER_TOWER_FILE], providers=["CPUExecutionProvider"]
    )
    history = np.zeros((1, len(model.item_ids_)), np.float32)
    history[0, list(model.history_[3])] = 1.0
    cold = session.run(None, {"user_index": np.array([-1]), "history": history})[0]
    # an unseen user with user 3's items gets user 3's profile: EASE needs no user factors
    np.testing.assert_allclose(cold[0], model.user_embeddings_[3], atol=1e-5)


def test_the_search_tries_ease_first_and_the_job_skips_it_above_its_item_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = pairs()
    valid = [(f"u{u}", f"meme#{u % 10}") for u in range(40)]
    search = tuning.tune(data, valid, candidates=("ease", "als"), budget_seconds=1e6, max_trials=3)
    assert [t.candidate for t in search.trials] == ["ease"] * 3 + ["als"] * 3
    assert search.trials[0].params == tuning.EASE_DEFAULTS
    assert len({t.params["regularization"] for t in search.trials[:3]}) == 3
    # The limit counts every positive's item (the refit's data), not the search's share.
    rows = [Interaction(u, i, f"2026-11-{1 + n % 28:02d}") for n, (u, i) in enumerate(data)]
    n_items = len({i for _, i in data})
    monkeypatch.setattr(ease_module, "MAX_ITEMS", n_items - 1)
    chosen = select_model(rows, candidates=("ease", "als"), budget_seconds=0)
    assert [t.candidate for t in chosen.search.trials] == ["als"]
    assert f"{n_items} items with positives" in chosen.search.stopped["ease"]
    with pytest.raises(TrainingDataError, match="no candidate"):
        select_model(rows, candidates=("ease",), budget_seconds=0)
    monkeypatch.setattr(ease_module, "MAX_ITEMS", n_items)
    pinned = select_model(rows, candidates=("ease",), budget_seconds=0, ease_params={"factors": 5})
    assert pinned.winner.candidate == "ease" and pinned.published.item_embeddings_.shape[1] == 5

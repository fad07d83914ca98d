"""TwoTowerRecommender on a planted-preference world: it learns, repeats, excludes, exports."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from support.planted import planted

from learnloop.exceptions import NotFittedError, ValidationError
from training_jobs.two_tower.data import Interaction, chronological_split
from training_jobs.two_tower.estimator import ItemCatalog, TwoTowerRecommender, catalog_from
from training_jobs.two_tower.onnx_export import check_towers, export_towers
from training_jobs.two_tower.text import HashingTextEmbedder

SMALL = {"embedding_dim": 16, "epochs": 30, "patience": 30, "batch_size": 32}


def world(seed: int = 0) -> tuple[list[Any], list[Any], ItemCatalog]:
    rows, items = planted(seed=seed)
    train, valid, _ = chronological_split([Interaction(*row) for row in rows])
    keys = sorted(items)
    embed = HashingTextEmbedder(dim=16)
    catalog = ItemCatalog(
        keys, [items[k]["content_type"] for k in keys], embed([items[k]["text"] for k in keys])
    )
    return [(r.user, r.item_key) for r in train], [(r.user, r.item_key) for r in valid], catalog


@pytest.fixture(scope="module")
def fitted() -> tuple[TwoTowerRecommender, list[Any], list[Any]]:
    train, valid, catalog = world()
    model = TwoTowerRecommender(**SMALL, random_state=0)
    return model.fit(train, catalog=catalog, validation=valid), train, valid


def test_planted_preferences_beat_popularity_on_the_validation_split(fitted: Any) -> None:
    model, _, valid = fitted
    scores = model.evaluate(valid, ks=(10,))
    assert scores["users"] >= 30
    assert scores["ndcg@10"] > scores["popularity_ndcg@10"] + 0.15, scores
    assert scores["recall@10"] > scores["popularity_recall@10"], scores
    assert model.best_epoch_ == 1 + int(np.argmax(model.validation_curve_))


def test_same_random_state_same_model_other_state_other_model() -> None:
    train, _valid, catalog = world()
    params = {**SMALL, "epochs": 3}
    a = TwoTowerRecommender(**params, random_state=5).fit(train, catalog=catalog)
    b = TwoTowerRecommender(**params, random_state=5).fit(train, catalog=catalog)
    c = TwoTowerRecommender(**params, random_state=6).fit(train, catalog=catalog)
    np.testing.assert_array_equal(a.item_embeddings_, b.item_embeddings_)
    np.testing.assert_array_equal(a.user_embeddings_, b.user_embeddings_)
    assert not np.allclose(a.item_embeddings_, c.item_embeddings_)


def test_recommend_excludes_training_items_or_the_given_seen_items(fitted: Any) -> None:
    model, train, _ = fitted
    user = train[0][0]
    liked = {item for u, item in train if u == user}
    recommended = [key for key, _ in model.recommend(user, n=20)]
    assert len(recommended) == 20 and liked.isdisjoint(recommended)
    scores = [score for _, score in model.recommend(user, n=20)]
    assert scores == sorted(scores, reverse=True)
    given = set(recommended[:5])
    again = [key for key, _ in model.recommend(user, n=20, seen=given)]
    assert given.isdisjoint(again) and liked & set(again)  # training items may come back
    everything = [
        key for key, _ in model.recommend(user, n=len(model.item_ids_), exclude_seen=False)
    ]
    assert sorted(everything) == sorted(model.item_ids_)


def test_items_without_positives_are_embedded_from_their_text() -> None:
    train, _valid, catalog = world()
    cold = "coin#c0-new"  # cluster 0's words, never liked
    keys = [*catalog.item_keys, cold]
    embed = HashingTextEmbedder(dim=16)
    text = np.vstack([catalog.text_embeddings, embed(["bitcoin halving 3"])])
    catalog = ItemCatalog(keys, [*catalog.content_types, "coin"], text)
    model = TwoTowerRecommender(**SMALL, id_dropout=0.3, random_state=0).fit(train, catalog=catalog)
    row = model.item_ids_.index(cold)
    assert model.popularity_[row] == 0 and np.isfinite(model.item_embeddings_[row]).all()
    neighbours = [key for key, _ in model.similar_items(cold, n=5)]
    assert sum(key.startswith("coin#c0-") for key in neighbours) >= 4, neighbours


def test_onnx_towers_reproduce_the_torch_embeddings(fitted: Any) -> None:
    import onnxruntime as ort

    model, _, _ = fitted
    towers = export_towers(model)
    assert check_towers(model, towers, atol=1e-4) <= 1e-4
    for blob in towers.files.values():
        import onnx

        proto = onnx.load_from_string(blob)
        assert proto.ir_version <= 9
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) <= 17
    # An unknown item (-1) is embedded like an item with no positives: content type + text.
    session = ort.InferenceSession(towers.files["item_tower.onnx"])
    text = model.text_embeddings_[:1]
    feeds = {"item_index": np.array([-1], dtype=np.int64),
             "content_type": model.item_content_types_[:1], "text_embedding": text}  # fmt: skip
    unknown = session.run(None, feeds)[0]
    import torch

    with torch.no_grad():
        expected = model.net_.item_vectors_from(
            torch.zeros(1, dtype=torch.long),
            torch.from_numpy(model.item_content_types_[:1] + 1),
            torch.from_numpy(text),
        ).numpy()
    np.testing.assert_allclose(unknown, expected, atol=1e-5)


@pytest.mark.parametrize(("loss", "batch_size"), [("full", 64), ("multinomial", 8)])
def test_the_other_losses_also_learn(fitted: Any, loss: str, batch_size: int) -> None:
    _, train, valid = fitted
    _, _, catalog = world()
    params = {**SMALL, "epochs": 20, "batch_size": batch_size}
    model = TwoTowerRecommender(**params, loss=loss, random_state=0).fit(
        train, catalog=catalog, validation=valid
    )
    scores = model.evaluate(valid, ks=(10,))
    assert scores["ndcg@10"] > scores["popularity_ndcg@10"], scores


def test_unfitted_and_misconfigured_models_raise_named_errors() -> None:
    with pytest.raises(NotFittedError):
        TwoTowerRecommender().recommend("u")
    with pytest.raises(NotFittedError):
        export_towers(TwoTowerRecommender())
    with pytest.raises(ValidationError) as caught:
        TwoTowerRecommender(loss="bpr", embedding_dim=0).fit([("a", "meme#1"), ("b", "meme#2")])
    fields = {d["field"] for d in caught.value.details}
    assert {"loss", "embedding_dim"} <= fields


def test_catalog_from_embeds_only_items_with_text() -> None:
    from training_jobs.two_tower.data import Item

    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.ones((len(texts), 2), dtype=np.float32)

    items = {"news#1": Item("news#1", "news", "x"), "meme#2": Item("meme#2", "meme")}
    catalog = catalog_from(items, embed)
    assert calls == [["x"]]
    assert catalog.text_embeddings is not None
    assert catalog.text_embeddings.tolist() == [[1.0, 1.0], [0.0, 0.0]]

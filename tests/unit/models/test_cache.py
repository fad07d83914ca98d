"""ModelCache against an in-memory loader: loading, swapping, keeping the last good model."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from learnloop.exceptions import ConflictError, ModelLoadError, NoProductionModelError
from learnloop.models.cache import ModelCache, ProductionRef, load_model
from learnloop.models.conversion import to_onnx
from learnloop.predictors.features import (
    ENGAGEMENT_FEATURES,
    FOLLOW_THROUGH_FEATURES,
    engagement_matrix,
)

V1, V2, V3 = "20261120T093000Z", "20261121T093000Z", "20261122T093000Z"


def _ridge(seed: int) -> tuple[Ridge, bytes]:
    rng = np.random.default_rng(seed)
    X = rng.random((60, len(ENGAGEMENT_FEATURES))).astype(np.float32)
    y = X @ rng.normal(size=X.shape[1]) * 0.01 + 0.03
    model = Ridge(alpha=1.0).fit(X, y)
    return model, to_onnx(model, ENGAGEMENT_FEATURES)


@pytest.fixture(scope="module")
def ridges() -> dict[str, tuple[Ridge, bytes]]:
    return {V1: _ridge(1), V2: _ridge(2)}


class FakeLoader:
    """Aliases and bytes in dicts; counts calls."""

    def __init__(self) -> None:
        self.alias: dict[str, str] = {}
        self.files: dict[tuple[str, str], bytes] = {}
        self.alias_reads = 0
        self.reads = 0
        self.fail_alias = False

    def production(self, name: str) -> ProductionRef | None:
        self.alias_reads += 1
        if self.fail_alias:
            raise OSError("dynamodb unavailable")
        version = self.alias.get(name)
        if version is None:
            return None
        return ProductionRef(name, version, f"models/{name}/{version}/")

    def read(self, ref: ProductionRef) -> bytes:
        self.reads += 1
        try:
            return self.files[(ref.name, ref.version)]
        except KeyError:
            raise ModelLoadError(f"no such object {ref.s3_prefix}model.onnx") from None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def loader(ridges: dict[str, tuple[Ridge, bytes]]) -> FakeLoader:
    fake = FakeLoader()
    for version, (_, onnx) in ridges.items():
        fake.files[("engagement", version)] = onnx
    fake.alias["engagement"] = V1
    return fake


def _rows() -> np.ndarray:
    return engagement_matrix(
        [
            {
                "quality_score": 0.8,
                "content_type": "educational",
                "posted_hour": 9,
                "length": "long",
            },
            {"quality_score": 0.1, "content_type": "meme", "posted_hour": 23, "length": "short"},
        ]
    )


def test_first_use_loads_the_production_model(
    loader: FakeLoader, ridges: dict[str, tuple[Ridge, bytes]]
) -> None:
    cache = ModelCache(loader, clock=FakeClock())
    model = cache.get("engagement")
    assert (model.name, model.version) == ("engagement", V1)
    assert model.feature_names == ENGAGEMENT_FEATURES
    X = _rows()
    np.testing.assert_allclose(model.predict(X), ridges[V1][0].predict(X), atol=1e-5)
    assert cache.get("engagement") is model
    assert (loader.alias_reads, loader.reads) == (1, 1)


def test_alias_is_rechecked_only_after_check_seconds_and_a_new_version_swaps_in(
    loader: FakeLoader,
) -> None:
    clock = FakeClock()
    cache = ModelCache(loader, check_seconds=30, clock=clock)
    first = cache.get("engagement")
    loader.alias["engagement"] = V2
    clock.now += 29.9
    assert cache.get("engagement") is first
    assert loader.alias_reads == 1
    clock.now += 0.2
    second = cache.get("engagement")
    assert second.version == V2 and second is not first
    assert (loader.alias_reads, loader.reads) == (2, 2)
    clock.now += 31  # same version: one GetItem, no download
    assert cache.get("engagement") is second
    assert (loader.alias_reads, loader.reads) == (3, 2)


def test_a_corrupt_new_version_keeps_the_last_good_model_and_is_retried(
    loader: FakeLoader, ridges: dict[str, tuple[Ridge, bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    cache = ModelCache(loader, check_seconds=30, clock=clock)
    good = cache.get("engagement")
    loader.files[("engagement", V3)] = b"\x08\x07not an onnx model"
    loader.alias["engagement"] = V3
    clock.now += 31
    assert cache.get("engagement") is good
    X = _rows()
    np.testing.assert_allclose(good.predict(X), ridges[V1][0].predict(X), atol=1e-5)
    clock.now += 1  # no retry before the next check
    assert cache.get("engagement") is good and loader.reads == 2
    loader.files[("engagement", V3)] = ridges[V2][1]  # fixed upload
    clock.now += 30
    assert cache.get("engagement").version == V3
    assert loader.reads == 3


def test_a_missing_object_or_failing_alias_check_keeps_the_last_good_model(
    loader: FakeLoader,
) -> None:
    clock = FakeClock()
    cache = ModelCache(loader, check_seconds=30, clock=clock)
    good = cache.get("engagement")
    loader.alias["engagement"] = V3  # no bytes for V3
    clock.now += 31
    assert cache.get("engagement") is good
    loader.fail_alias = True
    clock.now += 31
    assert cache.get("engagement") is good


def test_no_production_model_is_a_named_conflict(loader: FakeLoader) -> None:
    cache = ModelCache(loader)
    with pytest.raises(NoProductionModelError) as info:
        cache.get("follow_through")
    assert isinstance(info.value, ConflictError) and info.value.status == 409
    assert "no production model for 'follow_through' yet" in info.value.message


def test_a_corrupt_first_version_raises_a_load_error(loader: FakeLoader) -> None:
    loader.files[("engagement", V3)] = b"garbage"
    loader.alias["engagement"] = V3
    with pytest.raises(ModelLoadError):
        ModelCache(loader).get("engagement")


def test_a_classifier_outputs_probabilities() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((80, 3)).astype(np.float32)
    y = (X[:, 0] + X[:, 2] > 1).astype(int)
    clf = LogisticRegression().fit(X, y)
    model = load_model("follow_through", V1, to_onnx(clf, FOLLOW_THROUGH_FEATURES))
    assert model.is_classifier
    np.testing.assert_allclose(model.predict(X[:5]), clf.predict_proba(X[:5]), atol=1e-5)


def test_swapping_while_threads_predict_never_raises(loader: FakeLoader) -> None:
    clock = FakeClock()
    cache = ModelCache(loader, check_seconds=0.0, clock=clock)  # every get re-checks
    X = _rows()
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        try:
            while not stop.is_set():
                model = cache.get("engagement")
                assert model.predict(X).shape == (2,)
                seen.add(model.version)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        for i in range(40):
            loader.alias["engagement"] = (V1, V2)[i % 2]
            clock.now += 1
            threading.Event().wait(0.005)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert not errors, errors[:3]
    assert seen == {V1, V2}

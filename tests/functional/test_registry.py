"""The model registry against moto's server: promote, rollback, history, listing, conflicts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from support.model_drops import T0, drop

from learnloop.exceptions import ConflictError, NotFoundError
from learnloop.models.registration import register_model
from learnloop.models.registry import PRODUCTION_ALIAS, ModelRegistry, production_record


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> Any:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def registry(tables: Any) -> ModelRegistry:
    return ModelRegistry(tables, clock=Clock())


@pytest.fixture
def versions(tables: Any, s3: Any) -> list[str]:
    """Three registered engagement versions; the first is production (the others never were)."""
    found = []
    for minute in range(3):
        key = drop(tables, s3, minute=minute, metrics={"r2": 0.5 - minute / 10})
        found.append(
            register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0).version
        )
    return found


def statuses(registry: ModelRegistry) -> list[str]:
    return [v["status"] for v in registry.versions("engagement")]


def test_promote_then_rollback_restores_the_previous_version(
    tables: Any, registry: ModelRegistry, versions: list[str]
) -> None:
    v1, v2, _ = versions
    assert statuses(registry) == ["production", "candidate", "candidate"]
    moved = registry.promote("engagement", v2, actor="ana", reason="fresher data")
    assert (moved["from"], moved["to"], moved["changed"]) == (v1, v2, True)
    alias = production_record(tables, "engagement")
    assert alias is not None
    assert (alias.version, alias.target, alias.previous) == (PRODUCTION_ALIAS, v2, v1)
    assert alias.s3_prefix == f"models/engagement/{v2}/"
    assert statuses(registry) == ["archived", "production", "candidate"]

    back = registry.rollback("engagement", actor="bo", reason="bad predictions")
    assert (back["from"], back["to"]) == (v2, v1)
    assert production_record(tables, "engagement").target == v1  # type: ignore[union-attr]
    assert statuses(registry) == ["production", "archived", "candidate"]

    history = registry.history("engagement")
    assert [(h["action"], h["from"], h["to"], h["actor"], h["reason"]) for h in history] == [
        ("rollback", v2, v1, "bo", "bad predictions"),
        ("promote", v1, v2, "ana", "fresher data"),
        ("promote", None, v1, "registration", history[-1]["reason"]),
    ]
    assert all(h["at"] for h in history)
    # Nothing earlier than the first version: another rollback has nowhere to go.
    with pytest.raises(ConflictError):
        registry.rollback("engagement", actor="bo", reason="again")


def test_successive_rollbacks_walk_back(registry: ModelRegistry, versions: list[str]) -> None:
    v1, v2, v3 = versions
    registry.promote("engagement", v2, actor="ana", reason="r")
    registry.promote("engagement", v3, actor="ana", reason="r")
    assert registry.rollback("engagement", actor="ana", reason="r")["to"] == v2
    assert registry.rollback("engagement", actor="ana", reason="r")["to"] == v1


def test_promoting_production_again_changes_nothing(
    registry: ModelRegistry, versions: list[str]
) -> None:
    assert registry.promote("engagement", versions[0], actor="a", reason="r")["changed"] is False
    assert len(registry.history("engagement")) == 1


def test_unknown_names_and_versions_are_not_found(
    registry: ModelRegistry, versions: list[str]
) -> None:
    with pytest.raises(NotFoundError):
        registry.promote("engagement", "20200101T000000Z", actor="a", reason="r")
    with pytest.raises(NotFoundError):
        registry.promote("engagement", PRODUCTION_ALIAS, actor="a", reason="r")
    with pytest.raises(NotFoundError):
        registry.promote("nope", "20200101T000000Z", actor="a", reason="r")
    with pytest.raises(NotFoundError):
        registry.versions("nope")
    with pytest.raises(NotFoundError):
        registry.rollback("nope", actor="a", reason="r")
    assert registry.production("nope") is None


def test_rollback_without_production_conflicts(registry: ModelRegistry) -> None:
    with pytest.raises(ConflictError):
        registry.rollback("follow_through", actor="a", reason="r")


def test_a_rejected_version_cannot_be_promoted(tables: Any, s3: Any, registry: Any) -> None:
    def wrong_sha(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        manifest["files"]["model.onnx"]["sha256"] = "0" * 64

    key = drop(tables, s3, edit=wrong_sha)
    rejected = register_model(tables, s3, bucket=tables.settings.bucket, key=key)
    with pytest.raises(ConflictError):
        registry.promote("engagement", rejected.version, actor="a", reason="r")
    assert registry.production("engagement") is None


def test_a_stale_promotion_conflicts(
    tables: Any, registry: ModelRegistry, versions: list[str]
) -> None:
    # Another admin moved production between our read of the alias and our write.
    stale = production_record(tables, "engagement")
    registry.promote("engagement", versions[1], actor="ana", reason="r")
    record = tables.models.get("engagement", versions[2])
    with pytest.raises(ConflictError):
        registry._move("engagement", "promote", stale, record, [], actor="bo", reason="r")
    assert production_record(tables, "engagement").target == versions[1]  # type: ignore[union-attr]


def test_list_models_includes_registered_names(
    tables: Any, s3: Any, registry: ModelRegistry, versions: list[str]
) -> None:
    register_model(tables, s3, bucket=tables.settings.bucket, key=drop(tables, s3, name="churn"))
    listed = registry.list_models()
    assert sorted(listed) == ["churn", "engagement", "follow_through"]
    assert listed["engagement"]["production"] == versions[0]
    assert [v["version"] for v in listed["engagement"]["versions"]] == versions
    assert listed["follow_through"] == {"production": None, "versions": []}
    # churn names no key metric, but it is the first: promoted.
    assert listed["churn"]["production"] is not None

"""What the admin routes and the CLI do with the registry: validated requests, JSON replies."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints

from learnloop.models.registration import on_s3_event
from learnloop.models.registry import ModelRegistry
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables
from learnloop.validation import Identifier, Strict, validate

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ModelNameIn(Strict):
    name: Identifier


class PromoteIn(Strict):
    """``POST /v1/models/{name}/promote``."""

    version: Identifier
    reason: Reason = "promoted by hand"


class RollbackIn(Strict):
    """``POST /v1/models/{name}/rollback``."""

    reason: Reason = "rolled back by hand"


def list_models(tables: Tables) -> dict[str, Any]:
    """Every model with its production version, its versions and its production history."""
    registry = ModelRegistry(tables)
    models = registry.list_models()
    for name, info in models.items():
        info["history"] = registry.history(name)
    return {"models": models}


def promote(tables: Tables, name: str, body: Any, *, actor: str) -> dict[str, Any]:
    """Point ``name``'s production alias at the version in ``body``."""
    key = validate(ModelNameIn, {"name": name})
    request = validate(PromoteIn, body if body is not None else {})
    return ModelRegistry(tables).promote(
        key.name, request.version, actor=actor, reason=request.reason
    )


def rollback(tables: Tables, name: str, body: Any, *, actor: str) -> dict[str, Any]:
    """Point ``name``'s production alias back at the version before the current one."""
    key = validate(ModelNameIn, {"name": name})
    request = validate(RollbackIn, body if body is not None else {})
    return ModelRegistry(tables).rollback(key.name, actor=actor, reason=request.reason)


def on_model_dropped(event: dict[str, Any], tables: Tables) -> list[dict[str, Any]]:
    """Register the model versions an S3 "Object Created" event announces (the app's trigger).

    Examples
    --------
    >>> on_model_dropped(object_created_event, tables)  # doctest: +SKIP
    [{'name': 'engagement', 'version': '20261120T093000Z', 'status': 'production', ...}]
    """
    settings = tables.settings
    results = on_s3_event(event, tables, s3_client(settings), settings.bucket)
    return [result.to_dict() for result in results]


#: The EventBridge pattern of a dropped model file (the handler keeps only manifest.json).
MODEL_DROPPED_PATTERN: dict[str, Any] = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"object": {"key": [{"prefix": "models/"}]}},
}

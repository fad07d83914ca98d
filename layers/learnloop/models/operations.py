"""What the admin routes and the CLI do with the registry: validated requests, JSON replies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from learnloop.clock import utcnow
from learnloop.exceptions import NotFoundError, ValidationError
from learnloop.models.promotion import LoggedGate, registered_set, set_registered_set
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


class EvaluationSetIn(Strict):
    """``PUT /v1/models/{name}/evaluation``: the set to compare versions of ``name`` on."""

    key: Annotated[str, StringConstraints(pattern=r"^evaluation/[a-z0-9_-]+/[0-9a-f]{64}\.npz$")]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    source: Literal["holdout", "domain", "reference"]
    rows: Annotated[int, Field(ge=0)] | None = None
    #: A pinned set is not replaced by the domain set of a later version.
    pinned: bool = True


def get_evaluation_set(tables: Tables, name: str) -> dict[str, Any]:
    """The registered evaluation set of ``name`` and its history (404 when it has none)."""
    key = validate(ModelNameIn, {"name": name})
    current = registered_set(tables, key.name)
    if current is None:
        raise NotFoundError(f"{key.name} has no registered evaluation set")
    return {"name": key.name, **current}


def put_evaluation_set(tables: Tables, name: str, body: Any, *, actor: str) -> dict[str, Any]:
    """Pin the evaluation set versions of ``name`` are compared on; the set must exist in the
    bucket and match its sha256 (422 naming ``key`` otherwise)."""
    from learnloop.models.evaluation import EvaluationSetError, read_set

    key = validate(ModelNameIn, {"name": name})
    request = validate(EvaluationSetIn, body if body is not None else {})
    ref = request.model_dump(exclude={"pinned"})
    try:
        arrays = read_set(s3_client(tables.settings), tables.settings.bucket, ref)
    except EvaluationSetError as exc:
        details = [{"field": "key", "message": exc.message}]
        raise ValidationError(exc.message, details=details) from exc
    if ref["rows"] is None:
        held_out: Any = next((arrays[k] for k in ("y", "labels", "users") if k in arrays), [])
        ref["rows"] = len(held_out)
    value = set_registered_set(
        tables, key.name, ref, version=None, actor=actor, now=utcnow(), pinned=request.pinned
    )
    return {"name": key.name, **value}


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


def on_model_dropped(
    event: dict[str, Any],
    tables: Tables,
    *,
    logged_gates: Mapping[str, LoggedGate] | None = None,
) -> list[dict[str, Any]]:
    """Register the model versions an S3 "Object Created" event announces (the app's trigger).

    ``logged_gates``: valuations on the decision log by kind (the app passes the two-tower
    one; see :mod:`learnloop.models.promotion`).

    Examples
    --------
    >>> on_model_dropped(object_created_event, tables)  # doctest: +SKIP
    [{'name': 'engagement', 'version': '20261120T093000Z', 'status': 'production', ...}]
    """
    settings = tables.settings
    results = on_s3_event(
        event, tables, s3_client(settings), settings.bucket, logged_gates=logged_gates
    )
    return [result.to_dict() for result in results]


#: The EventBridge pattern of a dropped model file (the handler keeps only manifest.json).
MODEL_DROPPED_PATTERN: dict[str, Any] = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"object": {"key": [{"prefix": "models/"}]}},
}

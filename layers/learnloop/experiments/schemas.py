"""Request models of the experiment routes, as pydantic models (the OpenAPI document uses them).

Examples
--------
>>> body = ExperimentIn.model_validate({"name": "Onboarding", "goal_event_type": "app.signup",
...     "variants": [{"name": "control", "weight": 1}, {"name": "b", "weight": 3}]})
>>> [v.name for v in body.variants], body.status
(['control', 'b'], None)
>>> normalised_weights([1, 3])
[0.25, 0.75]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from learnloop.validation import Identifier, ShortText, Strict

DRAFT, RUNNING, STOPPED = "draft", "running", "stopped"
STATUSES: tuple[str, ...] = (DRAFT, RUNNING, STOPPED)
#: The analytics event type that records an exposure (properties: experiment_id, variant).
EXPOSURE_EVENT_TYPE = "experiment_exposure"
MIN_VARIANTS, MAX_VARIANTS = 2, 10

VariantName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]*$")
]
#: As ``EventIn.type``: whatever type an app may send as an event.
EventType = Annotated[str, StringConstraints(min_length=1, max_length=64)]


#: A model name (``engagement``, ``two_tower``, ``sentiment``) or a version id.
ModelKey = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
]


class VariantIn(Strict):
    """One variant: its name (an id, sent back in exposures), its relative weight, and the
    model versions it serves (``{"engagement": "20261121T000000Z"}``; none: production)."""

    name: VariantName
    weight: Annotated[float, Field(gt=0.0, le=1e6, allow_inf_nan=False)]
    models: Annotated[dict[ModelKey, ModelKey], Field(max_length=8)] | None = None


class ExperimentIn(Strict):
    """``PUT /v1/admin/experiments/{experiment_id}``: the whole experiment.

    The first variant is the control. Weights are relative (``[1, 1]`` is 50/50) and stored
    normalised. ``status`` left out keeps the current one (``draft`` for a new experiment).
    """

    name: ShortText
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    variants: list[VariantIn] = Field(min_length=MIN_VARIANTS, max_length=MAX_VARIANTS)
    goal_event_type: EventType
    status: Literal["draft", "running", "stopped"] | None = None

    @field_validator("variants")
    @classmethod
    def _unique_names(cls, variants: list[VariantIn]) -> list[VariantIn]:
        seen: set[str] = set()
        for variant in variants:
            if variant.name in seen:
                raise ValueError(f"variant names must be unique; {variant.name!r} repeats")
            seen.add(variant.name)
        return variants

    @field_validator("goal_event_type")
    @classmethod
    def _not_the_exposure(cls, value: str) -> str:
        if value == EXPOSURE_EVENT_TYPE:
            raise ValueError(f"the goal cannot be {EXPOSURE_EVENT_TYPE!r}, the exposure itself")
        return value


class ExperimentKeyIn(Strict):
    """The id in ``/v1/.../experiments/{experiment_id}``."""

    experiment_id: Identifier


class AssignmentIn(Strict):
    """The query of ``GET /v1/experiments/{experiment_id}/assignment``."""

    user_id: Identifier


def normalised_weights(weights: Sequence[float]) -> list[float]:
    """``weights`` scaled to sum to 1 (they are validated positive and finite)."""
    total = float(sum(weights))
    return [float(w) / total for w in weights]


__all__ = [
    "DRAFT",
    "EXPOSURE_EVENT_TYPE",
    "MAX_VARIANTS",
    "MIN_VARIANTS",
    "RUNNING",
    "STATUSES",
    "STOPPED",
    "AssignmentIn",
    "ExperimentIn",
    "ExperimentKeyIn",
    "VariantIn",
    "normalised_weights",
]

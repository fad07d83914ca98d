"""Which model version an A/B experiment serves a user: the shape that serving code receives.

Serving code (predictors, recommender, sentiment) sits below the experiments in the layers, so
it never looks experiments up itself: it is handed an ``assign(model, user_id)`` callable (the
API's :class:`learnloop.experiments.models.ModelVariants`) and serves what it answers.

Examples
--------
>>> ModelAssignment("ranker-ab", "challenger", "20261121T000000Z").as_variant()
{'experiment_id': 'ranker-ab', 'variant': 'challenger'}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["AssignModel", "ModelAssignment"]


@dataclass(frozen=True)
class ModelAssignment:
    """A user's variant of a running experiment, and the version of one model it names
    (``None``: the variant names none, so production serves)."""

    experiment_id: str
    variant: str
    version: str | None

    def as_variant(self) -> dict[str, str]:
        """``{"experiment_id", "variant"}``: what replies and the decision log carry."""
        return {"experiment_id": self.experiment_id, "variant": self.variant}


#: ``assign(model_name, user_id)``: the user's assignment for that model, or None.
AssignModel = Callable[[str, str], ModelAssignment | None]

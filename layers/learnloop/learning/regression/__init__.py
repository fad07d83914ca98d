"""Engagement and follow-through predictors: shared features and scikit-learn trainers.

``features`` imports only numpy (serving uses it); the trainers need scikit-learn, so their
names are imported on first use.

Examples
--------
>>> len(ENGAGEMENT_FEATURES), FOLLOW_THROUGH_FEATURES
(12, ('novelty_score', 'expertise_level', 'viral_score_scaled'))
"""

from __future__ import annotations

import importlib
from typing import Any

from learnloop.learning.regression.features import (
    CATEGORICAL_FEATURES,
    ENGAGEMENT_CONTENT_TYPES,
    ENGAGEMENT_FEATURES,
    FOLLOW_THROUGH_FEATURES,
    engagement_matrix,
    follow_through_matrix,
    hour_of,
    length_bucket,
)

_TRAINERS = (
    "ENGAGEMENT_MODEL",
    "FOLLOW_THROUGH_MODEL",
    "TrainedPredictor",
    "train_engagement_model",
    "train_follow_through_model",
)

__all__ = [
    "CATEGORICAL_FEATURES",
    "ENGAGEMENT_CONTENT_TYPES",
    "ENGAGEMENT_FEATURES",
    "ENGAGEMENT_MODEL",
    "FOLLOW_THROUGH_FEATURES",
    "FOLLOW_THROUGH_MODEL",
    "TrainedPredictor",
    "engagement_matrix",
    "follow_through_matrix",
    "hour_of",
    "length_bucket",
    "train_engagement_model",
    "train_follow_through_model",
]


def __getattr__(name: str) -> Any:
    # Import scikit-learn only when a trainer is asked for, never on the serving path.
    if name in _TRAINERS:
        module = importlib.import_module("learnloop.learning.regression.predictors")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""``POST /v1/predict/engagement`` and ``/v1/predict/follow-through``: rows in, predictions out.

Bodies are validated with pydantic (every bad field named, ``rows[3].quality_score``), turned
into features by the same functions training uses
(:func:`~learnloop.predictors.features.engagement_matrix` and
:func:`~learnloop.predictors.features.follow_through_matrix`), and run through the
production ONNX model held by a :class:`~learnloop.models.cache.ModelCache`.

Importing this module is cheap (pydantic only): numpy and onnxruntime are imported on the first
prediction, so the API module can import it at the top without slowing ingest cold starts.

Examples
--------
>>> predict_engagement(services.model_cache, {"rows": [  # doctest: +SKIP
...     {"quality_score": 0.8, "content_type": "educational", "posted_hour": 9,
...      "length": "medium"}]})
{'model': 'engagement', 'version': '20261120T093000Z', 'predictions': [0.0412...]}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, StringConstraints

from learnloop.exceptions import ModelLoadError
from learnloop.validation import Identifier, Strict, validate

if TYPE_CHECKING:
    import numpy as np

    from learnloop.models.cache import LoadedModel, ModelCache
    from learnloop.models.variants import AssignModel

__all__ = [
    "ENGAGEMENT_MODEL",
    "FOLLOW_THROUGH_MODEL",
    "MAX_ROWS",
    "EngagementRowIn",
    "FollowThroughRowIn",
    "PredictEngagementIn",
    "PredictFollowThroughIn",
    "predict_engagement",
    "predict_follow_through",
]

ENGAGEMENT_MODEL = "engagement"
FOLLOW_THROUGH_MODEL = "follow_through"
MAX_ROWS = 1000

# strict: a JSON true is not a score and 9.0 is not an hour.
Score = Annotated[float, Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)]
ViralScore = Annotated[float, Field(ge=0.0, le=100.0, strict=True, allow_inf_nan=False)]
Hour = Annotated[int, Field(ge=0, le=23, strict=True)]
ContentType = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class EngagementRowIn(Strict):
    """One post to score; an unknown (or absent) ``content_type`` counts as ``other``."""

    quality_score: Score
    content_type: ContentType | None = None
    posted_hour: Hour
    length: Literal["short", "medium", "long"]


class FollowThroughRowIn(Strict):
    """One post's novelty, expertise (0-1) and viral score (0-100)."""

    novelty_score: Score
    expertise_level: Score
    viral_score: ViralScore


class PredictEngagementIn(Strict):
    """``{"rows": [...]}`` with 1 to 1000 rows; ``user_id`` serves that user's A/B variant."""

    rows: list[EngagementRowIn] = Field(min_length=1, max_length=MAX_ROWS)
    user_id: Identifier | None = None


class PredictFollowThroughIn(Strict):
    """``{"rows": [...]}`` with 1 to 1000 rows."""

    rows: list[FollowThroughRowIn] = Field(min_length=1, max_length=MAX_ROWS)


def predict_engagement(
    cache: ModelCache, body: Any, *, assign: AssignModel | None = None
) -> dict[str, Any]:
    """Predicted engagement rate of each row, from the production ``engagement`` model, or,
    given ``user_id`` and an experiment whose variants name engagement versions (``assign``,
    see :mod:`learnloop.experiments.models`), from the user's variant's version; the reply
    then names the ``variant`` and the ``version`` that served.

    Parameters
    ----------
    cache : ModelCache
        The container's model cache (``services.model_cache``).
    body : Any
        The parsed JSON body: ``{"rows": [{"quality_score", "content_type", "posted_hour",
        "length"}, ...]}``.

    Returns
    -------
    dict
        ``{"model": "engagement", "version": ..., "predictions": [float, ...]}``, one
        prediction per row, in order.

    Raises
    ------
    ValidationError
        When the body breaks the schema (422; ``details`` name ``rows[i].field``).
    NoProductionModelError
        When no engagement model is in production yet (409).

    Examples
    --------
    >>> row = {"quality_score": 0.8, "posted_hour": 9, "length": "short"}
    >>> predict_engagement(cache, {"rows": [row]})["predictions"]  # doctest: +SKIP
    [0.0312...]
    """
    # numpy loads on the first prediction: app.py imports this module on every cold start
    from learnloop.predictors.features import ENGAGEMENT_FEATURES, engagement_matrix

    request = validate(PredictEngagementIn, body)
    X = engagement_matrix([row.model_dump() for row in request.rows])
    assignment = assign(ENGAGEMENT_MODEL, request.user_id) if assign and request.user_id else None
    model = cache.get_version(ENGAGEMENT_MODEL, assignment.version if assignment else None)
    _check_features(model, ENGAGEMENT_FEATURES)
    reply = _reply(model, model.predict(X))
    if assignment is not None:
        reply["variant"] = assignment.as_variant()
    return reply


def predict_follow_through(cache: ModelCache, body: Any) -> dict[str, Any]:
    """Probability that each row's post gains followers, from the ``follow_through`` model.

    Parameters
    ----------
    cache : ModelCache
        The container's model cache (``services.model_cache``).
    body : Any
        The parsed JSON body: ``{"rows": [{"novelty_score", "expertise_level",
        "viral_score"}, ...]}``.

    Returns
    -------
    dict
        ``{"model": "follow_through", "version": ..., "predictions": [p, ...]}`` where ``p``
        is the probability of follow-through (class 1), one per row.

    Raises
    ------
    ValidationError
        When the body breaks the schema (422; ``details`` name ``rows[i].field``).
    NoProductionModelError
        When no follow-through model is in production yet (409).

    Examples
    --------
    >>> predict_follow_through(cache, {"rows": [  # doctest: +SKIP
    ...     {"novelty_score": 0.7, "expertise_level": 0.4, "viral_score": 55}]})["predictions"]
    [0.61...]
    """
    # numpy loads on the first prediction: app.py imports this module on every cold start
    from learnloop.predictors.features import FOLLOW_THROUGH_FEATURES, follow_through_matrix

    request = validate(PredictFollowThroughIn, body)
    X = follow_through_matrix([row.model_dump() for row in request.rows])
    model = cache.get(FOLLOW_THROUGH_MODEL)
    _check_features(model, FOLLOW_THROUGH_FEATURES)
    if not model.is_classifier:
        raise ModelLoadError(
            f"{model.name} version {model.version} outputs no probabilities; it is not a classifier"
        )
    probabilities = model.predict(X)
    return _reply(model, probabilities[:, -1])


def _check_features(model: LoadedModel, expected: tuple[str, ...]) -> None:
    # A model trained on other features would silently answer nonsense: refuse it instead.
    if model.feature_names and model.feature_names != expected:
        raise ModelLoadError(
            f"{model.name} version {model.version} takes features {list(model.feature_names)}; "
            f"this server builds {list(expected)}"
        )


def _reply(model: LoadedModel, predictions: np.ndarray) -> dict[str, Any]:
    return {
        "model": model.name,
        "version": model.version,
        "predictions": [float(p) for p in predictions.tolist()],
    }

"""The insight quality score, per insight and per insight type.

The product brief's formula, its weights in settings::

    score = 0.4 * positive_rate + 0.3 * engagement + 0.3 * complexity_match

* ``positive_rate``: helpful verdicts / all verdicts (both channels: the feedback route and
  the ``insight_helpful`` / ``insight_not_helpful`` events, one verdict per user);
* ``engagement``: the mean over verdicts that carry ``engagement_seconds`` of
  ``min(engagement_seconds / insight_engagement_target_seconds, 1)`` (default target 60 s):
  reading an insight for a minute or more counts as full engagement, and a few outliers who
  leave a tab open cannot dominate the mean;
* ``complexity_match``: ``1 - |complexity - user_level|`` (both in [0, 1], given when the
  insight is stored): 1 when the insight is pitched at its user's level.

A term that cannot be computed (no verdict yet, no engagement measured, no complexity given)
is left out and the other weights are rescaled to sum to what they did, so a score always
lies in [0, 1]; ``terms`` says which terms it used.

Examples
--------
>>> weights = QualityWeights(feedback=0.4, engagement=0.3, complexity=0.3, target_seconds=60)
>>> quality_score({"complexity": 0.8, "user_level": 0.6},
...               [{"helpful": True, "engagement_seconds": 30},
...                {"helpful": False, "engagement_seconds": 120}], weights)["score"]
0.665
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from learnloop.exceptions import NotFoundError
from learnloop.ingest.schemas import InsightKeyIn
from learnloop.settings import Settings
from learnloop.store.records import INSIGHT_RECORD
from learnloop.store.tables import Tables
from learnloop.validation import validate

_DIGITS = 6
#: Insight partitions the per-type report reads at once.
_READ_WORKERS = 8


@dataclass(frozen=True)
class QualityWeights:
    """The formula's weights and the engagement target (from settings)."""

    feedback: float
    engagement: float
    complexity: float
    target_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> QualityWeights:
        return cls(
            feedback=settings.insight_quality_feedback_weight,
            engagement=settings.insight_quality_engagement_weight,
            complexity=settings.insight_quality_complexity_weight,
            target_seconds=settings.insight_engagement_target_seconds,
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, _DIGITS) + 0.0


def components(
    insights: Sequence[Mapping[str, Any]],
    feedback: Sequence[Mapping[str, Any]],
    weights: QualityWeights,
) -> dict[str, Any]:
    """The three terms over ``insights`` and their ``feedback`` pooled (one insight: its own).

    Examples
    --------
    >>> w = QualityWeights(feedback=0.4, engagement=0.3, complexity=0.3, target_seconds=60)
    >>> components([{}], [{"helpful": True}, {"helpful": True}, {"helpful": False}], w)
    {'positive_rate': 0.666667, 'engagement': None, 'complexity_match': None, 'feedback': 3, 'helpful': 2}
    """  # noqa: E501
    verdicts = [f for f in feedback if isinstance(f.get("helpful"), bool)]
    helpful = sum(1 for f in verdicts if f["helpful"])
    seconds = [s for s in (_number(f.get("engagement_seconds")) for f in verdicts) if s is not None]
    matches = []
    for insight in insights:
        complexity, level = _number(insight.get("complexity")), _number(insight.get("user_level"))
        if complexity is not None and level is not None:
            matches.append(1 - abs(complexity - level))
    engaged = [min(s / weights.target_seconds, 1.0) for s in seconds if s >= 0]
    return {
        "positive_rate": _round(helpful / len(verdicts)) if verdicts else None,
        "engagement": _round(math.fsum(engaged) / len(engaged)) if engaged else None,
        "complexity_match": _round(math.fsum(matches) / len(matches)) if matches else None,
        "feedback": len(verdicts),
        "helpful": helpful,
    }


def combine(terms: Mapping[str, float | None], weights: QualityWeights) -> dict[str, Any]:
    """The weighted score of the terms that exist, weights rescaled to their full sum.

    Examples
    --------
    >>> w = QualityWeights(feedback=0.4, engagement=0.3, complexity=0.3, target_seconds=60)
    >>> combine({"positive_rate": 1.0, "engagement": None, "complexity_match": 0.5}, w)
    {'score': 0.785714, 'terms': ['positive_rate', 'complexity_match']}
    """
    pairs = [
        ("positive_rate", weights.feedback),
        ("engagement", weights.engagement),
        ("complexity_match", weights.complexity),
    ]
    used = [(name, weight) for name, weight in pairs if terms.get(name) is not None]
    total = sum(weight for _, weight in pairs)
    present = sum(weight for _, weight in used)
    if not used or present <= 0:
        return {"score": None, "terms": [name for name, _ in used]}
    weighted = math.fsum(weight * float(terms[name] or 0.0) for name, weight in used)
    score = weighted * total / present
    return {"score": _round(score), "terms": [name for name, _ in used]}


def quality_score(
    insight: Mapping[str, Any], feedback: Sequence[Mapping[str, Any]], weights: QualityWeights
) -> dict[str, Any]:
    """One insight's score and its terms."""
    terms = components([insight], feedback, weights)
    return {**combine(terms, weights), **terms}


def _partition(
    tables: Tables, insight_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    insight = None
    feedback = []
    for item in tables.insights.query(insight_id):
        if item.record == INSIGHT_RECORD:
            insight = dict(item.attribute_values)
        elif item.record.startswith("feedback#"):
            feedback.append(dict(item.attribute_values))
    return insight, feedback


def insight_quality(tables: Tables, insight_id: str) -> dict[str, Any]:
    """``GET /v1/insights/{insight_id}/quality``: one insight's score (one Query).

    Raises
    ------
    NotFoundError
        When the insight was never stored (404).
    """
    key = validate(InsightKeyIn, {"insight_id": insight_id})
    insight, feedback = _partition(tables, key.insight_id)
    if insight is None:
        raise NotFoundError(
            f"insight {key.insight_id!r} does not exist",
            details=[{"field": "insight_id", "message": "no such insight"}],
        )
    weights = QualityWeights.from_settings(tables.settings)
    return {
        "insight_id": key.insight_id,
        "insight_type": insight.get("insight_type"),
        **quality_score(insight, feedback, weights),
        "weights": _weights(weights),
    }


def quality_by_type(tables: Tables, insights: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per insight type: the score of its insights' pooled terms and the mean per-insight score.

    Reads each insight's partition (one Query each, a few at once) for its feedback.
    """
    weights = QualityWeights.from_settings(tables.settings)
    rows = list(insights)
    with ThreadPoolExecutor(max_workers=_READ_WORKERS) as pool:
        partitions = list(pool.map(lambda r: _partition(tables, str(r["insight_id"])), rows))
    groups: dict[str, list[tuple[Mapping[str, Any], list[dict[str, Any]]]]] = {}
    for row, (stored, feedback) in zip(rows, partitions, strict=True):
        groups.setdefault(str(row.get("insight_type") or "unknown"), []).append(
            (stored or row, feedback)
        )
    report = []
    for kind in sorted(groups):
        members = groups[kind]
        pooled = components([i for i, _ in members], [f for _, fs in members for f in fs], weights)
        scores = [
            s
            for s in (quality_score(i, fs, weights)["score"] for i, fs in members)
            if s is not None
        ]
        report.append(
            {
                "insight_type": kind,
                "insights": len(members),
                **combine(pooled, weights),
                **pooled,
                "mean_insight_score": _round(math.fsum(scores) / len(scores)) if scores else None,
            }
        )
    return report


def _weights(weights: QualityWeights) -> dict[str, float]:
    return {
        "positive_rate": weights.feedback,
        "engagement": weights.engagement,
        "complexity_match": weights.complexity,
        "engagement_target_seconds": weights.target_seconds,
    }


__all__ = [
    "QualityWeights",
    "combine",
    "components",
    "insight_quality",
    "quality_by_type",
    "quality_score",
]

"""Feature derivation shared by training and serving: layout, encodings, validation."""

from __future__ import annotations

import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from learnloop.exceptions import ValidationError
from learnloop.predictors.features import (
    ENGAGEMENT_CONTENT_TYPES,
    ENGAGEMENT_FEATURES,
    FOLLOW_THROUGH_FEATURES,
    engagement_matrix,
    follow_through_matrix,
    hour_of,
    length_bucket,
)

LAYERS = Path(__file__).resolve().parents[3] / "layers"


def row(**overrides: object) -> dict:
    base = {"quality_score": 0.5, "content_type": "factual", "posted_hour": 3, "length": "short"}
    return {**base, **overrides}


def features(**overrides: object) -> dict[str, float]:
    return dict(
        zip(ENGAGEMENT_FEATURES, engagement_matrix([row(**overrides)])[0].tolist(), strict=True)
    )


def test_feature_names_are_fixed() -> None:
    # The order is a contract with every published model: changing it means retraining.
    assert ENGAGEMENT_FEATURES == (
        "quality_score",
        "content_type_educational",
        "content_type_factual",
        "content_type_entertaining",
        "content_type_promotional",
        "length_medium",
        "length_long",
        "hour_sin",
        "hour_cos",
        "slot_morning",
        "slot_afternoon",
        "slot_evening",
    )
    assert FOLLOW_THROUGH_FEATURES == ("novelty_score", "expertise_level", "viral_score_scaled")


def test_matrix_shape_and_dtype() -> None:
    X = engagement_matrix([row(), row(posted_hour=20)])
    assert X.shape == (2, len(ENGAGEMENT_FEATURES))
    assert X.dtype == np.float32
    assert engagement_matrix([]).shape == (0, len(ENGAGEMENT_FEATURES))
    assert follow_through_matrix([]).shape == (0, 3)


@pytest.mark.parametrize("content_type", ENGAGEMENT_CONTENT_TYPES)
def test_known_content_type_sets_its_indicator(content_type: str) -> None:
    got = features(content_type=content_type.upper() + " ")
    indicators = {k: v for k, v in got.items() if k.startswith("content_type_")}
    assert indicators == {
        f"content_type_{t}": float(t == content_type) for t in ENGAGEMENT_CONTENT_TYPES
    }


@pytest.mark.parametrize("content_type", ["meme", "", None])
def test_other_content_types_are_the_all_zero_baseline(content_type: str | None) -> None:
    got = features(content_type=content_type)
    assert all(v == 0.0 for k, v in got.items() if k.startswith("content_type_"))


def test_missing_content_type_is_other() -> None:
    r = row()
    del r["content_type"]
    assert engagement_matrix([r])[0, 1:5].tolist() == [0.0] * 4


@pytest.mark.parametrize(
    ("length", "medium", "long"), [("short", 0.0, 0.0), ("medium", 1.0, 0.0), ("long", 0.0, 1.0)]
)
def test_length_indicators(length: str, medium: float, long: float) -> None:
    got = features(length=length)
    assert (got["length_medium"], got["length_long"]) == (medium, long)


@pytest.mark.parametrize(
    ("text_len", "bucket"),
    [
        (0, "short"),
        (99, "short"),
        (100, "medium"),
        (279, "medium"),
        (280, "long"),
        (10_000, "long"),
    ],
)
def test_length_bucket(text_len: int, bucket: str) -> None:
    assert length_bucket(text_len) == bucket


@pytest.mark.parametrize("bad", [-1, 2.5, True, "100"])
def test_length_bucket_rejects_non_counts(bad: object) -> None:
    with pytest.raises(ValidationError):
        length_bucket(bad)  # type: ignore[arg-type]


def test_length_falls_back_to_text() -> None:
    got = features(length=None, text="x" * 150)
    assert (got["length_medium"], got["length_long"]) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("hour", "slots"),
    [
        (0, (0, 0, 0)),
        (5, (0, 0, 0)),
        (6, (1, 0, 0)),
        (11, (1, 0, 0)),
        (12, (0, 1, 0)),
        (17, (0, 1, 0)),
        (18, (0, 0, 1)),
        (23, (0, 0, 1)),
    ],
)
def test_hour_encoding(hour: int, slots: tuple[int, int, int]) -> None:
    got = features(posted_hour=hour)
    assert got["hour_sin"] == pytest.approx(math.sin(2 * math.pi * hour / 24), abs=1e-6)
    assert got["hour_cos"] == pytest.approx(math.cos(2 * math.pi * hour / 24), abs=1e-6)
    assert (got["slot_morning"], got["slot_afternoon"], got["slot_evening"]) == slots


def test_hour_wraps_around_midnight() -> None:
    X = engagement_matrix([row(posted_hour=23), row(posted_hour=0), row(posted_hour=12)])
    near = np.linalg.norm(X[0, 7:9] - X[1, 7:9])
    far = np.linalg.norm(X[1, 7:9] - X[2, 7:9])
    assert near < 0.3 < far


def test_hour_from_posted_at_in_utc() -> None:
    from_posted_at = features(posted_hour=None, posted_at="2026-11-20T20:15:00-05:00")
    assert from_posted_at == features(posted_hour=1)
    assert hour_of("2026-11-20T09:30:00.000000Z") == 9


def test_numbers_from_dynamodb_and_numpy_are_accepted() -> None:
    got = features(quality_score=Decimal("0.25"), posted_hour=np.int64(7))
    assert got["quality_score"] == 0.25
    assert features(posted_hour=7.0) == features(posted_hour=7)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quality_score": 1.5}, "quality_score"),
        ({"quality_score": -0.1}, "quality_score"),
        ({"quality_score": float("nan")}, "quality_score"),
        ({"quality_score": True}, "quality_score"),
        ({"quality_score": "0.5"}, "quality_score"),
        ({"quality_score": None}, "quality_score"),
        ({"posted_hour": 24}, "posted_hour"),
        ({"posted_hour": 7.5}, "posted_hour"),
        ({"posted_hour": "7"}, "posted_hour"),
        ({"posted_hour": None}, "posted_hour"),
        ({"posted_hour": None, "posted_at": "yesterday"}, "posted_at"),
        ({"length": "huge"}, "length"),
        ({"length": None}, "length"),
        ({"content_type": 5}, "content_type"),
    ],
)
def test_bad_engagement_values_name_row_and_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        engagement_matrix([row(), row(**overrides)])
    assert caught.value.status == 422
    assert caught.value.details == [
        {"field": f"rows[1].{field}", "index": 1, "message": caught.value.details[0]["message"]}
    ]
    assert f"rows[1].{field}" in caught.value.message


def test_every_bad_field_is_reported() -> None:
    with pytest.raises(ValidationError) as caught:
        engagement_matrix([row(quality_score=2), row(), row(posted_hour=-1, length="xl"), "nope"])
    assert [d["field"] for d in caught.value.details] == [
        "rows[0].quality_score",
        "rows[2].length",
        "rows[2].posted_hour",
        "rows[3]",
    ]


def test_follow_through_features() -> None:
    X = follow_through_matrix([{"novelty_score": 0.2, "expertise_level": 1, "viral_score": 100}])
    np.testing.assert_allclose(X, [[0.2, 1.0, 1.0]])


@pytest.mark.parametrize(
    ("field", "value"),
    [("viral_score", 150), ("viral_score", -1), ("expertise_level", 1.1), ("novelty_score", None)],
)
def test_bad_follow_through_values(field: str, value: object) -> None:
    good = {"novelty_score": 0.2, "expertise_level": 0.3, "viral_score": 10}
    with pytest.raises(ValidationError) as caught:
        follow_through_matrix([good, {**good, field: value}])
    assert caught.value.details[0]["field"] == f"rows[1].{field}"
    assert caught.value.details[0]["index"] == 1


def test_features_module_imports_no_scikit_learn() -> None:
    code = (
        "import sys, learnloop.predictors.features, learnloop.predictors; "
        "bad = {'sklearn', 'skl2onnx', 'onnxruntime', 'scipy'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(LAYERS)}, timeout=60
    )

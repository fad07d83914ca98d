"""The pure parts of drift's actions and served-model checks: outcomes, label mixes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from learnloop.drift.actions import outcome
from learnloop.drift.served import training_mix
from learnloop.drift.statistics import label_mix, mix_psi, total_variation

LABELS = ["negative", "neutral", "positive"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("production", "promoted"),
        ("archived", "promoted"),  # it was production, and has been replaced since
        ("candidate", "kept"),
        ("rejected", "rejected"),
    ],
)
def test_the_outcome_is_the_registry_decision(status: str, expected: str) -> None:
    record = SimpleNamespace(status=status, reason="because")
    action = {"action": "retrained", "version": "20261120T013000Z"}
    assert outcome(action, record) == (expected, "because")


def test_no_version_or_no_record_yet_is_pending_and_cooldown_has_no_outcome() -> None:
    assert outcome({"action": "retrained", "version": "v"}, None)[0] == "pending"
    assert outcome({"action": "retrain_requested", "version": None}, None)[0] == "pending"
    assert outcome({"action": "cooldown", "version": None}, None) == (None, None)
    assert outcome({"action": "skipped", "version": None}, None) == (None, None)


def test_label_mix_distance_is_zero_for_the_same_mix_and_one_for_disjoint_ones() -> None:
    even = label_mix(LABELS * 10, LABELS)
    assert even == pytest.approx(dict.fromkeys(LABELS, 1 / 3))
    assert total_variation(even, even) == 0.0 and mix_psi(even, even) == 0.0
    only_positive = label_mix(["positive"] * 5, LABELS)
    assert total_variation(even, only_positive) == pytest.approx(2 / 3)
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1.0
    assert mix_psi(even, only_positive) > 1.0


def test_the_training_mix_prefers_the_recorded_mix_then_the_counts() -> None:
    assert training_mix({"label_mix": {"positive": 1.0}}, LABELS) == {
        "negative": 0.0,
        "neutral": 0.0,
        "positive": 1.0,
    }
    counts = {"negative": 2, "neutral": 1, "positive": 1}
    assert training_mix({"label_counts": counts}, LABELS) == {
        "negative": 0.5,
        "neutral": 0.25,
        "positive": 0.25,
    }
    assert training_mix({}, LABELS) is None

"""Registration's reading of the job's same-split figures (learnloop.models.champion)."""

from __future__ import annotations

from typing import Any

import numpy as np

from learnloop.models.champion import (
    CHAMPION_FILE,
    paired_interval,
    per_user_file,
    same_split_comparison,
)


def artifact(
    candidate: list[float], production: list[float], *, version: str = "v1"
) -> tuple[dict[str, Any], dict[str, bytes]]:
    users = [f"u{n}" for n in range(len(candidate))]
    blob = per_user_file(
        users,
        {"ndcg@10": candidate, "recall@10": candidate},
        {"ndcg@10": production, "recall@10": production},
    )
    manifest = {
        "evaluation": {"key": "evaluation/two_tower/x.npz", "sha256": "ab" * 32},
        "extra": {
            "champion": {
                "status": "compared",
                "production_version": version,
                "users": len(users),
                "split": {"test": len(users)},
                "candidate": {"model": "als"},
                "production": {"model": "two_tower"},
            }
        },
    }
    return manifest, {CHAMPION_FILE: blob}


def test_figures_against_the_current_production_decide() -> None:
    manifest, files = artifact([0.2, 0.4, 0.6, 0.8], [0.5, 0.5, 0.5, 0.5])
    fields, note = same_split_comparison(manifest, files, "v1", resamples=200)
    assert note is None and fields is not None
    assert fields["candidate"] == 0.5 and fields["production"] == 0.5
    assert abs(fields["delta"]) < 1e-12
    assert fields["users"] == 4 and fields["set"] == manifest["evaluation"]
    assert fields["interval"][0] < 0 < fields["interval"][1]
    assert fields["candidate_settings"] == {"model": "als"}


def test_figures_about_another_version_or_unreadable_ones_do_not() -> None:
    manifest, files = artifact([0.2, 0.4], [0.5, 0.5])
    fields, note = same_split_comparison(manifest, files, "v2", resamples=50)
    assert fields is None and "production is now v2" in str(note)
    fields, note = same_split_comparison(manifest, {CHAMPION_FILE: b"not npz"}, "v1", resamples=50)
    assert fields is None and CHAMPION_FILE in str(note)
    fields, note = same_split_comparison(manifest, {}, "v1", resamples=50)
    assert fields is None and "lists no" in str(note)
    refused = {"extra": {"champion": {"status": "not_comparable", "reason": "no such loss"}}}
    assert "no such loss" in str(same_split_comparison(refused, {}, "v1", resamples=50)[1])
    assert same_split_comparison({"extra": {}}, {}, "v1", resamples=50) == (None, None)


def test_the_interval_is_over_users_and_seeded() -> None:
    deltas = np.r_[np.full(30, 0.2), np.full(30, -0.1)]
    first = paired_interval(deltas, resamples=300)
    assert first == paired_interval(deltas, resamples=300)
    assert first is not None and first[0] < 0.05 < first[1]

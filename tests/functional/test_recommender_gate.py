"""A new two-tower version is valued on the recommendations production logged (IIPS) before
promotion: promoted when its lower bound beats production's logged clicks, kept otherwise, and
compared offline (saying so) when the log is too thin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.two_tower import TwoTowerData, drop_two_tower

from learnloop.api import Services
from learnloop.api.auth import Authenticator
from learnloop.clock import utcnow
from learnloop.decisions.feedback import put_feedback
from learnloop.jobs import run_job
from learnloop.models.registration import register_model
from learnloop.recommender.gate import value_on_log
from learnloop.recommender.recommend import recommend
from learnloop.users.pseudonym import pseudonymize

USERS = ("u0", "u1")
CLICKED = "meme#it7"
GATES = {"two_tower": value_on_log}


def data(tables: Any, user_vector: np.ndarray) -> TwoTowerData:
    """60 memes: it0-it4 lead along e1 (10 down to 6), it7 next (3, plus 1 along e0), the rest
    near 0. A user along e1 gets it0-it4 and it7 first in their pool; one along e0 gets it7."""
    rng = np.random.default_rng(0)
    items = rng.normal(scale=0.01, size=(60, 8))
    for i in range(5):
        items[i, 1] = 10 - i
    items[7, 1], items[7, 0] = 3.0, 1.0
    secret = tables.settings.pseudonym_secret
    return TwoTowerData(
        item_keys=[f"meme#it{i}" for i in range(60)],
        item_matrix=items.astype(np.float32),
        users=[pseudonymize(u, secret) for u in USERS],
        user_matrix=np.tile(user_vector, (2, 1)).astype(np.float32),
    )


def axis(i: int, scale: float = 1.0) -> np.ndarray:
    vector = np.zeros(8)
    vector[i] = scale
    return vector


@pytest.fixture
def logged(settings: Any, tables: Any, s3: Any, tmp_path: Path) -> Iterator[Services]:
    """Production (users along e1) and its logged answers: it7 clicked whenever shown."""
    changed = settings.with_overrides(
        recommend_epsilon=0.2,
        recommend_explore_pool=5,
        recommender_ope_min_decisions=100,
        decision_sink="spool",
        decision_spool_dir=str(tmp_path / "spool"),
    )
    tables.settings = changed
    key = drop_two_tower(tables, s3, data(tables, axis(1)), metrics={"ndcg@10": 0.3})
    first = register_model(tables, s3, bucket=changed.bucket, key=key, logged_gates=GATES)
    assert first.status == "production", first.reason
    yield Services(
        settings=changed, tables=tables, authenticator=Authenticator(tables, cache_seconds=0)
    )


def answer(services: Services, n: int) -> None:
    """``n`` answers as the route gives them (exploration seeded), logged and loaded."""
    tables = services.tables
    answers = [
        recommend(
            tables,
            services.recommender_cache,
            {"user_id": USERS[i % 2], "k": "5", "seed": str(i)},
            consent=services.consent,
            decisions=services.decision_log,
        )
        for i in range(n)
    ]
    assert run_job("load_decisions", tables, utcnow())["loaded"] == n
    for reply in answers:
        if CLICKED in [item["item_key"] for item in reply["items"]]:
            click = {"decision_id": reply["decision_id"], "type": "click", "item": CLICKED}
            assert put_feedback(tables, click)["pending"] is False


def register(tables: Any, s3: Any, user_vector: np.ndarray, minute: int) -> Any:
    key = drop_two_tower(tables, s3, data(tables, user_vector), minute=minute)
    return register_model(
        tables, s3, bucket=tables.settings.bucket, key=key, now=utcnow(), logged_gates=GATES
    )


def test_a_version_whose_lower_bound_beats_production_on_the_log_is_promoted(
    logged: Services, s3: Any
) -> None:
    answer(logged, 160)
    better = register(logged.tables, s3, axis(0), minute=1)  # it7 first: clicked 80 % of answers
    assert better.status == "production", better.reason
    comparison = logged.tables.models.get("two_tower", better.version).comparison
    assert comparison["rule"] == "ope_lower_bound" and comparison["estimator"] == "iips"
    assert comparison["rows"] == 160 and comparison["decision"] == "promote"
    # Production showed it7 only when exploring its pool: 0.2 clicks per answer.
    assert comparison["production"] == pytest.approx(0.2, abs=0.06)
    assert comparison["interval"][0] > comparison["production"]
    assert comparison["candidate"] == pytest.approx(0.8, abs=0.25)


def test_a_version_that_would_not_show_what_was_clicked_is_kept(logged: Services, s3: Any) -> None:
    answer(logged, 100)
    worse = register(logged.tables, s3, axis(1, -1.0), minute=2)  # it7 among its last
    assert worse.status == "candidate"
    assert worse.reason.startswith("ope_lower_bound: the lower bound does not beat production")
    comparison = logged.tables.models.get("two_tower", worse.version).comparison
    assert comparison["candidate"] == 0.0 and comparison["decision"] == "keep"


def test_with_too_few_logged_decisions_the_offline_comparison_decides_and_says_so(
    logged: Services, s3: Any
) -> None:
    answer(logged, 20)
    thin = register(logged.tables, s3, axis(0), minute=3)
    comparison = logged.tables.models.get("two_tower", thin.version).comparison
    assert comparison["ope"]["status"] == "too_few_decisions"
    assert comparison["ope"]["rows"] == {"used": 20, "skipped": 0}
    assert comparison.get("rule") != "ope_lower_bound"

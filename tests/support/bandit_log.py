"""Bandit decisions logged as select logs them, with clicks on a known arm."""

from __future__ import annotations

from typing import Any

from learnloop.decisions.feedback import put_feedback
from learnloop.decisions.log import DecisionLog


def log_bandit_decisions(tables: Any, n: int = 200) -> None:
    """``n`` content decisions, alternately ``good`` (always clicked) and ``bad`` (never),
    each logged with propensity 0.5: production's value is exactly 0.5."""
    log = DecisionLog(tables)
    for i in range(n):
        arm = "good" if i % 2 == 0 else "bad"
        decision_id = log.add(
            surface="bandit",
            scope="content",
            policy="thompson",
            policy_version="prior",
            user_id=None,
            shown=[{"item": arm, "position": 0, "propensity": 0.5}],
            chosen=[arm],
        )
        log.flush()
        if arm == "good":
            put_feedback(tables, {"decision_id": decision_id, "type": "click"})

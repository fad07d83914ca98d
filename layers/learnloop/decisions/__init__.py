"""Decisions: what the bandits and recommenders chose, and what a different policy would earn.

- ``log``: the per-container :class:`~learnloop.decisions.log.DecisionLog` (batched writes,
  propensities as the policies state them) and :func:`~learnloop.decisions.log.read_decisions`
  (decisions joined with their feedback).
- ``feedback``: ``POST /v1/feedback``, stored idempotently per (decision, type, item).
- ``ope``: off-policy estimators (IPW, SNIPW, DM, DR, slate IIPS) over logged feedback, numpy only.
- ``replay``: logged bandit decisions → ``ope`` inputs for a candidate bandit configuration.
- ``evaluation``: a candidate's report (every estimator, production's logged value, the
  promotion gate) and its ``bandit_policy`` artifact (``learnloop evaluate policy``).

Importing the package loads nothing; numpy comes with the modules that use it.
"""

from __future__ import annotations

__all__: list[str] = []

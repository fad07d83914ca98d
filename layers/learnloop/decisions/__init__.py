"""Decisions: every bandit choice and recommendation list, logged with propensities, the
feedback apps report on them, and (``ope``) off-policy evaluation over those logs.

- ``log``: the per-container :class:`~learnloop.decisions.log.DecisionLog` (batched writes)
  and :func:`~learnloop.decisions.log.read_decisions` (decisions joined with feedback).
- ``feedback``: ``POST /v1/feedback``, stored idempotently per (decision, type, item).

Importing the package loads nothing heavy (no numpy).
"""

from __future__ import annotations

__all__: list[str] = []

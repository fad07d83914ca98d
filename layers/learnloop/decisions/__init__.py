"""Decisions: what the bandits and recommenders chose, and what a different policy would earn.

- ``ope``: off-policy estimators (IPW, SNIPW, DM, DR, slate IIPS) over logged feedback, numpy only.
- ``replay``: logged bandit decisions → ``ope`` inputs for a candidate bandit configuration.

Importing the package loads nothing; numpy comes with the modules that use it.
"""

from __future__ import annotations

__all__: list[str] = []

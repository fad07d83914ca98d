"""Bandits: which content hook and which posting hour to use next, learned from outcomes.

- ``base``, ``thompson``, ``ucb``, ``policies``: the algorithms in mabwiser's vocabulary
  (``fit``, ``partial_fit``, ``predict``, ``predict_expectations``), pure numpy, one per module.
- ``updates``: the ``learn`` job's bandit step: each decision's outcome counted exactly once.
- ``arms``: the per-container cache of the ``bandit_arms`` table.
- ``select``: ``POST /v1/bandit/select``; ``posteriors``: ``GET /v1/admin/bandits``.

Importing the package loads nothing; numpy comes with the algorithm modules.
"""

from __future__ import annotations

__all__: list[str] = []

"""Learning: bandits (``learning.bandits``), predictors (``learning.regression``), rollups.

Subpackages are imported explicitly, so each Lambda path pays only for what it uses.
"""

from __future__ import annotations

__all__: list[str] = []

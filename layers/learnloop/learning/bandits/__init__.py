"""Multi-armed bandits in mabwiser's vocabulary, one algorithm per module.

``BANDITS`` maps a policy name (as stored in config or the ``bandit_arms`` scope) to its class,
so callers pick an implementation by name rather than by ``isinstance``.

Examples
--------
>>> bandit = BANDITS["ucb1"](arms=["9", "18"], random_state=0).fit(["9", "18"], [0.02, 0.05])
>>> sorted(BANDITS)
['thompson', 'ucb1']
>>> bandit.predict()
'18'
"""

from __future__ import annotations

from learnloop.learning.bandits.base import Bandit
from learnloop.learning.bandits.thompson import ThompsonSampling
from learnloop.learning.bandits.ucb import UCB1

BANDITS: dict[str, type[Bandit]] = {"thompson": ThompsonSampling, "ucb1": UCB1}

__all__ = ["BANDITS", "UCB1", "Bandit", "ThompsonSampling"]

"""The bandit policies by name, so callers pick an implementation from config, not ``isinstance``.

Examples
--------
>>> bandit = BANDITS["ucb1"](arms=["9", "18"], random_state=0).fit(["9", "18"], [0.02, 0.05])
>>> sorted(BANDITS)
['thompson', 'ucb1']
>>> bandit.predict()
'18'
"""

from __future__ import annotations

from learnloop.bandits.base import Bandit
from learnloop.bandits.thompson import ThompsonSampling
from learnloop.bandits.ucb import UCB1

#: Policy name (as stored in config or the ``bandit_arms`` scope) → its class.
BANDITS: dict[str, type[Bandit]] = {"thompson": ThompsonSampling, "ucb1": UCB1}

__all__ = ["BANDITS"]

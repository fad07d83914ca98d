"""UCB1 on the mean of a real-valued reward: timing slots ("0".."23") on engagement rate.

An arm's score is its mean reward plus an exploration bonus::

    score(a) = mean(a) + alpha * scale * sqrt(2 * ln(N) / n(a))

with ``n(a)`` the arm's pulls and ``N`` all pulls; an arm never pulled scores ``inf``, so every
arm is tried before any is repeated. Classic UCB1 assumes rewards in [0, 1] (``scale`` = 1).
Engagement rates are small (about 0.01-0.1), so a bonus of that size would swamp every
difference between hours and the bandit would never stop exploring. ``scale`` therefore puts the
bonus on the rewards' own scale: ``reward_scale`` when given, else the largest absolute arm mean
observed so far (1.0 while there is none, or it is 0). Hoeffding's bound for rewards in
``[0, b]`` scales the same way with ``b``; the largest mean stands in for ``b`` because the stored
state is only ``(pulls, reward_sum)`` per arm, and it keeps ``fit``, ``partial_fit`` and
:meth:`UCB1.from_stats` exactly equivalent. ``alpha`` tunes exploration on top (0 is greedy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from learnloop.bandits.base import Bandit
from learnloop.exceptions import ValidationError


class UCB1(Bandit):
    """UCB1 with the exploration bonus on the rewards' scale (see the module docstring).

    Parameters
    ----------
    arms : sequence of str
        The arms to choose from.
    alpha : float, default 1.0
        Non-negative multiplier of the exploration bonus; 0 plays the best mean.
    reward_scale : float or None, default None
        Positive width of the reward range for the bonus; None uses the largest absolute arm
        mean observed (1.0 before any).
    random_state : int or None, default None
        Seed of the tie-breaks (e.g. among arms never pulled).

    Attributes
    ----------
    arms_ : list[str]
        The current arms.
    pulls_ : dict[str, int]
        Arm → number of rewards observed.
    reward_sums_ : dict[str, float]
        Arm → sum of those rewards.

    Examples
    --------
    >>> bandit = UCB1(arms=["9", "13", "18"], random_state=0)
    >>> bandit = bandit.fit(["9", "13"], [0.02, 0.05])
    >>> bandit.predict()  # "18" was never tried
    '18'
    >>> bandit.partial_fit(["18"] * 3, [0.01, 0.02, 0.015]).pulls_
    {'9': 1, '13': 1, '18': 3}
    """

    pulls_: dict[str, int]
    reward_sums_: dict[str, float]

    def __init__(
        self,
        *,
        arms: Sequence[str],
        alpha: float = 1.0,
        reward_scale: float | None = None,
        random_state: int | None = None,
    ) -> None:
        self.arms = arms
        self.alpha = alpha
        self.reward_scale = reward_scale
        self.random_state = random_state

    @classmethod
    def from_stats(
        cls,
        stats: Mapping[str, tuple[int, float]],
        *,
        arms: Sequence[str] | None = None,
        alpha: float = 1.0,
        reward_scale: float | None = None,
        random_state: int | None = None,
    ) -> UCB1:
        """A fitted bandit whose state is stored ``(pulls, reward_sum)`` statistics.

        Parameters
        ----------
        stats : mapping of str to (int, float)
            Arm → (pulls, reward_sum), e.g. read from the ``bandit_arms`` table.
        arms : sequence of str, optional
            The arms to choose from; arms missing from ``stats`` start unpulled. Defaults to
            the keys of ``stats``, in order.
        alpha, reward_scale, random_state
            As in the constructor.

        Returns
        -------
        UCB1
            A fitted bandit.

        Raises
        ------
        ValidationError
            On pulls that are not a non-negative whole number, a reward sum that is not finite
            or is non-zero with no pulls, or an arm of ``stats`` not in ``arms``.

        Examples
        --------
        >>> hours = [str(h) for h in range(24)]
        >>> bandit = UCB1.from_stats({"9": (10, 0.3), "18": (10, 0.6)}, arms=hours)
        >>> bandit.to_stats()["18"]
        (10, 0.6)
        """
        bandit = cls(
            arms=list(stats) if arms is None else list(arms),
            alpha=alpha,
            reward_scale=reward_scale,
            random_state=random_state,
        )
        bandit.fit([], [])

        def store(arm: str, values: tuple[int, float]) -> None:
            bandit.pulls_[arm], bandit.reward_sums_[arm] = values

        bandit._load_state(
            stats,
            field="stats",
            parse=_pulls_and_sum,
            store=store,
            expected="expected (pulls >= 0, finite sum)",
            error="invalid bandit statistics",
        )
        return bandit

    def to_stats(self) -> dict[str, tuple[int, float]]:
        """Arm → (pulls, reward_sum): the state to store, the inverse of :meth:`from_stats`.

        Returns
        -------
        dict[str, tuple[int, float]]
            The statistics of every arm, in ``arms_`` order.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> UCB1(arms=["a", "b"]).fit(["a", "a"], [0.25, 0.5]).to_stats()
        {'a': (2, 0.75), 'b': (0, 0.0)}
        """
        self._check_fitted()
        return {arm: (self.pulls_[arm], self.reward_sums_[arm]) for arm in self.arms_}

    def mean_rewards(self) -> dict[str, float | None]:
        """Arm → observed mean reward (None for an arm never pulled).

        Returns
        -------
        dict[str, float or None]
            In ``arms_`` order.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> UCB1(arms=["a", "b"]).fit(["a", "a"], [0.25, 0.5]).mean_rewards()
        {'a': 0.375, 'b': None}
        """
        self._check_fitted()
        return {
            arm: (self.reward_sums_[arm] / self.pulls_[arm] if self.pulls_[arm] else None)
            for arm in self.arms_
        }

    # -- Bandit ----------------------------------------------------------------------------------

    def _validate_hyperparameters(self) -> None:
        details: list[dict[str, Any]] = []
        if not (isinstance(self.alpha, int | float) and math.isfinite(self.alpha)) or (
            self.alpha < 0
        ):
            details.append({"field": "alpha", "message": "must be a finite number >= 0"})
        scale = self.reward_scale
        if scale is not None and not (
            isinstance(scale, int | float) and math.isfinite(scale) and scale > 0
        ):
            details.append({"field": "reward_scale", "message": "must be None or a number > 0"})
        if details:
            raise ValidationError("invalid UCB1 hyperparameters", details=details)

    def _validate_rewards(self, rewards: np.ndarray) -> list[dict[str, Any]]:
        return self._reward_details(~np.isfinite(rewards), "reward must be a finite number")

    def _reset(self) -> None:
        self.pulls_ = dict.fromkeys(self.arms_, 0)
        self.reward_sums_ = dict.fromkeys(self.arms_, 0.0)

    def _fold(self, pulls: np.ndarray, reward_sums: np.ndarray) -> None:
        for i, arm in enumerate(self.arms_):
            self.pulls_[arm] += int(pulls[i])
            self.reward_sums_[arm] += float(reward_sums[i])

    def _scores(self) -> np.ndarray:
        pulls = np.array([self.pulls_[arm] for arm in self.arms_], dtype=np.float64)
        sums = np.array([self.reward_sums_[arm] for arm in self.arms_], dtype=np.float64)
        tried = pulls > 0
        scores = np.full(len(pulls), np.inf)
        if not tried.any():
            return scores
        means = sums[tried] / pulls[tried]
        scale = self.reward_scale
        if scale is None:
            scale = float(np.abs(means).max()) or 1.0
        bonus = self.alpha * scale * np.sqrt(2.0 * math.log(pulls.sum()) / pulls[tried])
        scores[tried] = means + bonus
        return scores

    def _add_arm_state(self, arm: str) -> None:
        self.pulls_[arm] = 0
        self.reward_sums_[arm] = 0.0


def whole_pulls(pulls: float, reward_sum: float) -> tuple[int, float]:
    """Stored pulls as the whole number UCB1 counts, keeping the arm's mean reward.

    With ``LEARNLOOP_BANDIT_DISCOUNT`` < 1 stored pulls decay to fractions; truncating 1.9
    pulls to 1 would nearly double the hour's mean. Under half a pull the hour is forgotten:
    it counts as unpulled and is tried again.

    Examples
    --------
    >>> pulls, total = whole_pulls(1.9, 0.057)
    >>> pulls, round(total / pulls, 6), whole_pulls(0.4, 0.02)
    (2, 0.03, (0, 0.0))
    """
    whole = round(pulls)
    if whole == 0:
        return 0, 0.0
    return whole, reward_sum * whole / pulls


def _pulls_and_sum(pair: Any) -> tuple[int, float] | None:
    """``pair`` as (whole pulls >= 0, finite sum, 0 when unpulled), or None when it is not."""
    try:
        pulls, total = (float(v) for v in pair)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(pulls) and pulls >= 0 and pulls.is_integer() and math.isfinite(total)):
        return None
    if pulls == 0 and total != 0:
        return None
    return int(pulls), total

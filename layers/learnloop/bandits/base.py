"""The surface every bandit shares, in mabwiser's vocabulary.

A bandit holds a list of arms (strings, e.g. content styles or posting hours "0".."23"), learns
from ``(decision, reward)`` pairs with :meth:`Bandit.fit` / :meth:`Bandit.partial_fit`, and
chooses an arm with :meth:`Bandit.predict`. :meth:`Bandit.predict_expectations` returns, per
arm, the score that :meth:`Bandit.predict` maximizes (a posterior draw for Thompson sampling, an
upper confidence bound for UCB1).

The shared logic lives here once: validation of arms, decisions and rewards, per-arm sufficient
statistics (pulls and reward sums of a batch), random tie-breaking, ``add_arm``. An
implementation folds a batch's statistics into its state and scores the arms.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import numpy as np

from learnloop.exceptions import NotFittedError, ValidationError

# A bad batch can be long; the first few bad entries say enough.
_MAX_DETAILS = 20


class Bandit(ABC):
    """Base of every bandit: subclasses set ``arms`` and ``random_state`` in ``__init__``.

    Attributes
    ----------
    arms_ : list[str]
        The arms the bandit currently chooses from (``arms`` plus any :meth:`add_arm`).
    """

    arms: Sequence[str]
    random_state: int | None
    arms_: list[str]
    _rng: np.random.Generator

    # -- the shared surface ----------------------------------------------------------------------

    def fit(self, decisions: Sequence[str], rewards: Sequence[float]) -> Self:
        """Learn from scratch: forget any previous state, then learn from one batch.

        Parameters
        ----------
        decisions : sequence of str
            The arm chosen for each observation; every one must be in ``arms``.
        rewards : sequence of float
            The reward each decision earned, aligned with ``decisions``. May be empty, which
            leaves every arm at its prior.

        Returns
        -------
        Self
            The fitted bandit.

        Raises
        ------
        ValidationError
            On bad hyperparameters, duplicate arms, an unknown arm, a length mismatch or a bad
            reward; ``details`` names the offending index.

        Examples
        --------
        >>> from learnloop.bandits.thompson import ThompsonSampling
        >>> ThompsonSampling(arms=["a", "b"]).fit(["a", "b", "a"], [1, 0, 1]).successes_
        {'a': 2.0, 'b': 0.0}
        """
        self._validate_hyperparameters()
        self.arms_ = _validated_arms(self.arms)
        self._rng = np.random.default_rng(self.random_state)
        self._reset()
        pulls, reward_sums = self._batch_statistics(decisions, rewards)
        self._fold(pulls, reward_sums)
        return self

    def partial_fit(self, decisions: Sequence[str], rewards: Sequence[float]) -> Self:
        """Learn from one more batch on top of the current state (``fit`` if not fitted yet).

        An empty batch changes nothing.

        Parameters
        ----------
        decisions : sequence of str
            The arm chosen for each observation.
        rewards : sequence of float
            The reward each decision earned.

        Returns
        -------
        Self
            The updated bandit.

        Raises
        ------
        ValidationError
            On an unknown arm, a length mismatch or a bad reward.

        Examples
        --------
        >>> from learnloop.bandits.ucb import UCB1
        >>> bandit = UCB1(arms=["a", "b"]).fit(["a"], [0.5])
        >>> bandit.partial_fit(["a", "b"], [0.25, 0.1]).pulls_
        {'a': 2, 'b': 1}
        """
        if not self._is_fitted():
            return self.fit(decisions, rewards)
        pulls, reward_sums = self._batch_statistics(decisions, rewards)
        if pulls.sum() > 0:
            self._fold(pulls, reward_sums)
        return self

    def predict(self) -> str:
        """The arm to play next: the arm with the highest score, ties broken at random.

        Returns
        -------
        str
            One of ``arms_``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit` (or a ``from_*`` constructor).

        Examples
        --------
        >>> from learnloop.bandits.thompson import ThompsonSampling
        >>> bandit = ThompsonSampling(arms=["a", "b"], random_state=1)
        >>> bandit.fit(["a"] * 50 + ["b"] * 50, [1] * 45 + [0] * 55).predict()
        'a'
        """
        self._check_fitted()
        scores = self._scores()
        best = np.flatnonzero(scores == scores.max())
        choice = best[0] if len(best) == 1 else best[self._rng.integers(len(best))]
        return self.arms_[int(choice)]

    def predict_expectations(self) -> dict[str, float]:
        """Per arm, the score :meth:`predict` maximizes (it may be random, and may be ``inf``).

        Returns
        -------
        dict[str, float]
            Arm → score, in ``arms_`` order.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> from learnloop.bandits.ucb import UCB1
        >>> UCB1(arms=["a", "b"], alpha=0.0).fit(["a"], [0.5]).predict_expectations()
        {'a': 0.5, 'b': inf}
        """
        self._check_fitted()
        return dict(zip(self.arms_, (float(s) for s in self._scores()), strict=True))

    def add_arm(self, arm: str) -> Self:
        """Start choosing ``arm`` too, at its prior (the ``arms`` hyperparameter is left as is).

        Parameters
        ----------
        arm : str
            A new, non-empty arm name.

        Returns
        -------
        Self
            The bandit, with ``arm`` appended to ``arms_``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`; fit with no data (``fit([], [])``) to start from priors.
        ValidationError
            When ``arm`` is not a non-empty string or is already an arm.

        Examples
        --------
        >>> from learnloop.bandits.thompson import ThompsonSampling
        >>> bandit = ThompsonSampling(arms=["a"]).fit([], [])
        >>> bandit.add_arm("b").arms_
        ['a', 'b']
        """
        self._check_fitted()
        _validated_arms([*self.arms_, arm])
        self.arms_.append(arm)
        self._add_arm_state(arm)
        return self

    def _load_state(
        self,
        state: Mapping[str, Any],
        *,
        field: str,
        parse: Callable[[Any], Any],
        store: Callable[[str, Any], None],
        expected: str,
        error: str,
    ) -> None:
        """Set stored per-arm state on a fitted bandit; every bad entry is named in the error."""
        details: list[dict[str, Any]] = []
        for arm, raw in state.items():
            if arm not in self.arms_:
                details.append({"field": f"{field}.{arm}", "message": "not one of arms"})
                continue
            values = parse(raw)
            if values is None:
                details.append({"field": f"{field}.{arm}", "message": expected})
                continue
            store(arm, values)
        if details:
            raise ValidationError(error, details=details)

    # -- what an implementation provides ---------------------------------------------------------

    @abstractmethod
    def _validate_hyperparameters(self) -> None:
        """Raise :class:`ValidationError` on a bad hyperparameter."""

    @abstractmethod
    def _validate_rewards(self, rewards: np.ndarray) -> list[dict[str, Any]]:
        """One detail per bad reward (an empty list when all are fine)."""

    @abstractmethod
    def _reset(self) -> None:
        """Set every arm of ``arms_`` to its prior."""

    @abstractmethod
    def _fold(self, pulls: np.ndarray, reward_sums: np.ndarray) -> None:
        """Fold a non-empty batch's per-arm pulls and reward sums (``arms_`` order) in."""

    @abstractmethod
    def _scores(self) -> np.ndarray:
        """Per-arm scores in ``arms_`` order; :meth:`predict` plays the highest."""

    @abstractmethod
    def _add_arm_state(self, arm: str) -> None:
        """Give a new arm its prior state."""

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _reward_details(bad: np.ndarray, message: str) -> list[dict[str, Any]]:
        """Details naming every index where ``bad`` is true (for the reward checks)."""
        return [
            {"field": f"rewards[{i}]", "index": int(i), "message": message}
            for i in np.flatnonzero(bad)[:_MAX_DETAILS]
        ]

    def _is_fitted(self) -> bool:
        return hasattr(self, "arms_")

    def _check_fitted(self) -> None:
        if not self._is_fitted():
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit (possibly with no "
                "data) or build it from stored statistics first"
            )

    def _batch_statistics(
        self, decisions: Sequence[str], rewards: Sequence[float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-arm pulls and reward sums of one batch, after validating all of it."""
        decisions = list(decisions)
        try:
            values = np.asarray(rewards, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValidationError(
                "rewards must be numbers",
                details=[{"field": "rewards", "message": "not a sequence of numbers"}],
            ) from None
        if len(decisions) != len(values):
            raise ValidationError(
                f"{len(decisions)} decisions but {len(values)} rewards",
                details=[{"field": "rewards", "message": "length differs from decisions"}],
            )
        position = {arm: i for i, arm in enumerate(self.arms_)}
        index = np.empty(len(decisions), dtype=np.intp)
        details: list[dict[str, Any]] = []
        for i, decision in enumerate(decisions):
            if isinstance(decision, str) and decision in position:
                index[i] = position[decision]
            else:
                details.append(
                    {"field": f"decisions[{i}]", "index": i, "message": f"unknown arm {decision!r}"}
                )
        details += self._validate_rewards(values)
        if details:
            details.sort(key=lambda d: d["index"])
            raise ValidationError(
                f"{len(details)} bad decisions or rewards, first at index {details[0]['index']}",
                details=details[:_MAX_DETAILS],
            )
        k = len(self.arms_)
        pulls = np.bincount(index, minlength=k).astype(np.float64)
        reward_sums = np.bincount(index, weights=values, minlength=k)
        return pulls, reward_sums


def _validated_arms(arms: Sequence[str]) -> list[str]:
    """``arms`` as a list, or :class:`ValidationError` naming the bad or repeated ones."""
    if isinstance(arms, str):
        raise ValidationError(
            "arms must be a sequence of names, not one string",
            details=[{"field": "arms", "message": "expected a list of strings"}],
        )
    arms = list(arms)
    details: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, arm in enumerate(arms):
        if not isinstance(arm, str) or not arm:
            details.append({"field": f"arms[{i}]", "index": i, "message": "not a non-empty string"})
        elif arm in seen:
            details.append({"field": f"arms[{i}]", "index": i, "message": f"repeated arm {arm!r}"})
        else:
            seen.add(arm)
    if not arms:
        details.append({"field": "arms", "message": "at least one arm is needed"})
    if details:
        raise ValidationError("invalid arms", details=details[:_MAX_DETAILS])
    return arms

"""Thompson sampling over binary rewards with Beta(successes + 1, failures + 1) posteriors.

Content arms use it: a decision succeeds when its engagement rate beats a threshold. The
scheduled job keeps each arm's counts in DynamoDB (``bandit_arms``), rebuilds the bandit with
:meth:`ThompsonSampling.from_counts`, folds in new outcomes with ``partial_fit`` and stores
:meth:`ThompsonSampling.to_counts` back.

``discount`` < 1 forgets: before each non-empty ``partial_fit`` batch every arm's counts are
multiplied by it, so an observation ``b`` batches old weighs ``discount ** b``; the posterior then
follows preferences that drift. ``fit`` is one batch from scratch, so the discount does not touch
it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from learnloop.bandits.base import Bandit
from learnloop.exceptions import ValidationError


class ThompsonSampling(Bandit):
    """Beta-Bernoulli Thompson sampling (mabwiser's ``LearningPolicy.ThompsonSampling``).

    Parameters
    ----------
    arms : sequence of str
        The arms to choose from.
    discount : float, default 1.0
        In (0, 1]: the factor old counts are multiplied by before each ``partial_fit`` batch.
        1.0 never forgets.
    prior : tuple of float, default (1.0, 1.0)
        The Beta(a, b) pseudo-counts every arm starts from (a production ``bandit_policy``
        version may set it; see :mod:`learnloop.bandits.configured`).
    random_state : int or None, default None
        Seed of the posterior draws (and tie-breaks); ``fit`` restarts the stream.

    Attributes
    ----------
    arms_ : list[str]
        The current arms.
    successes_ : dict[str, float]
        Arm → (discounted) number of rewards equal to 1.
    failures_ : dict[str, float]
        Arm → (discounted) number of rewards equal to 0.

    Examples
    --------
    >>> bandit = ThompsonSampling(arms=["educational", "promotional"], random_state=7)
    >>> bandit = bandit.fit(["educational"] * 40 + ["promotional"] * 40, [1] * 30 + [0] * 50)
    >>> bandit.successes_
    {'educational': 30.0, 'promotional': 0.0}
    >>> bandit.predict()
    'educational'
    """

    successes_: dict[str, float]
    failures_: dict[str, float]

    def __init__(
        self,
        *,
        arms: Sequence[str],
        discount: float = 1.0,
        prior: tuple[float, float] = (1.0, 1.0),
        random_state: int | None = None,
    ) -> None:
        self.arms = arms
        self.discount = discount
        self.prior = prior
        self.random_state = random_state

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, tuple[float, float]],
        *,
        arms: Sequence[str] | None = None,
        discount: float = 1.0,
        prior: tuple[float, float] = (1.0, 1.0),
        random_state: int | None = None,
    ) -> ThompsonSampling:
        """A fitted bandit whose state is stored ``(successes, failures)`` counts.

        Parameters
        ----------
        counts : mapping of str to (float, float)
            Arm → (successes, failures), e.g. read from the ``bandit_arms`` table.
        arms : sequence of str, optional
            The arms to choose from; arms missing from ``counts`` start at the prior. Defaults
            to the keys of ``counts``, in order.
        discount, prior, random_state
            As in the constructor.

        Returns
        -------
        ThompsonSampling
            A fitted bandit.

        Raises
        ------
        ValidationError
            On a count that is negative or not finite, or an arm of ``counts`` not in ``arms``.

        Examples
        --------
        >>> bandit = ThompsonSampling.from_counts({"a": (3, 1), "b": (0, 2)}, arms=["a", "b", "c"])
        >>> bandit.to_counts()
        {'a': (3.0, 1.0), 'b': (0.0, 2.0), 'c': (0.0, 0.0)}
        """
        bandit = cls(
            arms=list(counts) if arms is None else list(arms),
            discount=discount,
            prior=prior,
            random_state=random_state,
        )
        bandit.fit([], [])

        def store(arm: str, values: tuple[float, float]) -> None:
            bandit.successes_[arm], bandit.failures_[arm] = values

        bandit._load_state(
            counts,
            field="counts",
            parse=_non_negative_pair,
            store=store,
            expected="expected (successes, failures) >= 0",
            error="invalid bandit counts",
        )
        return bandit

    def to_counts(self) -> dict[str, tuple[float, float]]:
        """Arm → (successes, failures): the state to store, the inverse of :meth:`from_counts`.

        Returns
        -------
        dict[str, tuple[float, float]]
            The counts of every arm, in ``arms_`` order.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> ThompsonSampling(arms=["a", "b"]).fit(["a", "a", "b"], [1, 0, 1]).to_counts()
        {'a': (1.0, 1.0), 'b': (1.0, 0.0)}
        """
        self._check_fitted()
        return {arm: (self.successes_[arm], self.failures_[arm]) for arm in self.arms_}

    def posterior_summary(self, *, n_draws: int = 20_000) -> dict[str, dict[str, float]]:
        """Per arm: Beta ``alpha``, ``beta``, posterior ``mean``, a 95 % interval and ``pulls``.

        The equal-tailed interval (``ci_low``, ``ci_high``) is the 2.5 % and 97.5 % quantiles
        of ``n_draws`` posterior draws: pure numpy, so serving needs no scipy. The draws come
        from a generator seeded with ``random_state`` of their own, so the summary is
        reproducible and does not disturb :meth:`predict`'s stream; with 20 000 draws the
        quantiles are within about 0.005 of the exact ones. ``pulls`` is
        ``successes + failures`` (discounted when ``discount`` < 1).

        Parameters
        ----------
        n_draws : int, default 20000
            Posterior draws per arm for the interval.

        Returns
        -------
        dict[str, dict[str, float]]
            Arm → ``{"alpha", "beta", "mean", "ci_low", "ci_high", "pulls"}``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> bandit = ThompsonSampling.from_counts({"a": (30, 70)}, random_state=0)
        >>> s = bandit.posterior_summary()["a"]
        >>> s["alpha"], s["beta"], round(s["mean"], 4), s["pulls"]
        (31.0, 71.0, 0.3039, 100.0)
        >>> 0.21 < s["ci_low"] < 0.23 and 0.39 < s["ci_high"] < 0.41
        True
        """
        self._check_fitted()
        if n_draws < 100:
            raise ValidationError(
                "n_draws must be at least 100",
                details=[{"field": "n_draws", "message": "too few draws for a 95 % interval"}],
            )
        alpha, beta = self._posterior()
        draws = np.random.default_rng(self.random_state).beta(
            alpha[:, None], beta[:, None], size=(len(alpha), n_draws)
        )
        low, high = np.quantile(draws, [0.025, 0.975], axis=1)
        return {
            arm: {
                "alpha": float(alpha[i]),
                "beta": float(beta[i]),
                "mean": float(alpha[i] / (alpha[i] + beta[i])),
                "ci_low": float(low[i]),
                "ci_high": float(high[i]),
                "pulls": float(alpha[i] + beta[i] - sum(self.prior)),
            }
            for i, arm in enumerate(self.arms_)
        }

    def posterior_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Every arm's Beta posterior ``(alpha, beta)``, in ``arms_`` order.

        Examples
        --------
        >>> alpha, beta = ThompsonSampling.from_counts({"a": (3, 1)}).posterior_parameters()
        >>> alpha.tolist(), beta.tolist()
        ([4.0], [2.0])
        """
        self._check_fitted()
        return self._posterior()

    # -- Bandit ----------------------------------------------------------------------------------

    def _validate_hyperparameters(self) -> None:
        if not (isinstance(self.discount, int | float) and 0.0 < self.discount <= 1.0):
            raise ValidationError(
                f"discount must be in (0, 1], got {self.discount!r}",
                details=[{"field": "discount", "message": "must be in (0, 1]"}],
            )
        prior = tuple(self.prior)
        if len(prior) != 2 or not all(
            isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in prior
        ):
            raise ValidationError(
                f"prior must be two positive pseudo-counts, got {self.prior!r}",
                details=[{"field": "prior", "message": "must be two positive pseudo-counts"}],
            )

    def _validate_rewards(self, rewards: np.ndarray) -> list[dict[str, Any]]:
        return self._reward_details((rewards != 0.0) & (rewards != 1.0), "reward must be 0 or 1")

    def _reset(self) -> None:
        self.successes_ = dict.fromkeys(self.arms_, 0.0)
        self.failures_ = dict.fromkeys(self.arms_, 0.0)

    def _fold(self, pulls: np.ndarray, reward_sums: np.ndarray) -> None:
        for i, arm in enumerate(self.arms_):
            self.successes_[arm] = self.successes_[arm] * self.discount + float(reward_sums[i])
            self.failures_[arm] = self.failures_[arm] * self.discount + float(
                pulls[i] - reward_sums[i]
            )

    def _scores(self) -> np.ndarray:
        alpha, beta = self._posterior()
        return self._rng.beta(alpha, beta)

    def _add_arm_state(self, arm: str) -> None:
        self.successes_[arm] = 0.0
        self.failures_[arm] = 0.0

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = (float(v) for v in self.prior)
        alpha = np.array([self.successes_[arm] for arm in self.arms_], dtype=np.float64) + a
        beta = np.array([self.failures_[arm] for arm in self.arms_], dtype=np.float64) + b
        return alpha, beta


def _non_negative_pair(pair: Any) -> tuple[float, float] | None:
    """``pair`` as two finite non-negative floats, or None when it is not one."""
    try:
        first, second = (float(v) for v in pair)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) and v >= 0.0 for v in (first, second)):
        return None
    return first, second

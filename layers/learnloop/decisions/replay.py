"""Logged bandit decisions → off-policy inputs for a candidate bandit configuration.

A candidate (a Thompson prior and discount, or UCB1 with ε exploration) is *replayed* over the
decision log in time order: before each batch of ``batch_size`` decisions it states its
probability of every arm, those probabilities are the target policy for that batch, and then it
learns from the batch's logged (arm, reward) pairs, as the ``learn`` job would. The estimators
of :mod:`learnloop.decisions.ope` then say what the candidate would have earned per decision.
The candidate learns only from what production chose, so this values "the candidate, had it
seen these outcomes"; the per-decision weights stay valid because each batch's probabilities
depend on earlier rows only.

Records are the dicts of ``learnloop.decisions.log.read_decisions``. Only ``surface ==
"bandit"`` records of the asked ``scope`` with every chosen arm's propensity in ``shown`` are
used; the others are counted in :attr:`Replay.skipped` by reason. A decision with no feedback
(``reward`` None) earned ``missing_reward`` (0.0: no click reported), or is skipped when
``missing_reward`` is None.

A select with ``n > 1`` becomes one row per shown arm, its reward the feedback on that arm
(shared evenly when Thompson drew the same arm twice), so the estimate is per shown arm:

- Thompson (``policy: thompson``): the ``n`` arms are ``n`` independent draws, each logged with
  the probability of its draw; the candidate's probability of a row is its probability of one
  draw (:meth:`ThompsonCandidate.probabilities`).
- UCB1 (``policy: ucb1``): a slate, the first arm drawn ε-greedily and the rest the best
  remaining by score, each logged with its probability at its position; the candidate's is
  the same (:meth:`EpsilonGreedyUCB.position_probabilities`).

A slate of the other policy than the candidate's (a ``thompson`` log valued by a UCB1
candidate, or the reverse) is skipped (``other_policy_slate``): its rows do not mean the same.

How a candidate is valued: it starts from its prior (Thompson: Beta(a, b) on every arm; UCB1:
no pulls) at the first decision of the range, not from the arm state production had then, and
learns only from the logged outcomes, batch by batch: "as if deployed at the start of the
range".

The candidates re-state the scoring of ``learnloop.bandits.thompson`` and
``learnloop.bandits.ucb`` in numpy rather than import them: this package sits below
``bandits`` (``bandits/select`` writes the decision log). ``tests/unit/decisions/
test_replay.py`` holds them to the same scores as the production classes.

Examples
--------
>>> records = [
...     {"surface": "bandit", "scope": "content", "chosen": ["a"], "reward": 1.0,
...      "shown": [{"item": "a", "position": 0, "propensity": 0.5}]},
...     {"surface": "bandit", "scope": "content", "chosen": ["b"], "reward": 0.0,
...      "shown": [{"item": "b", "position": 0, "propensity": 0.5}]},
... ]
>>> result = replay(records, EpsilonGreedyUCB(epsilon=0.2), scope="content", batch_size=1)
>>> result.arms  # the first decision sees no data; the second, b untried, favours b
['a', 'b']
>>> result.data.target_distribution.tolist()
[[0.5, 0.5], [0.1, 0.9]]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from learnloop.decisions.ope import (
    ESTIMATORS,
    FloatArray,
    InverseProbabilityWeighting,
    LoggedBandit,
    PolicyValue,
    logged_bandit,
)
from learnloop.validation import invalid


class CandidatePolicy(Protocol):
    """What :func:`replay` needs of a candidate: its arm probabilities, then learning."""

    def probabilities(self, arms: Sequence[str]) -> FloatArray:
        """Probability of choosing each of ``arms`` now (sums to 1)."""
        ...

    def learn(self, arms: Sequence[str], rewards: Sequence[float]) -> None:
        """Fold in one batch of logged (arm, reward) pairs."""
        ...


class ThompsonCandidate:
    """Beta-Bernoulli Thompson sampling with a settable prior and discount.

    Its probability of an arm is the chance that arm's Beta draw is the largest, estimated from
    ``n_draws`` joint draws (standard error at most ``0.5 / sqrt(n_draws)``, 0.016 for 1000).
    Rewards in [0, 1] count fractionally: ``successes += r``, ``failures += 1 - r``.

    Parameters
    ----------
    prior : tuple of float, default (1.0, 1.0)
        Beta(a, b) pseudo-counts before any outcome (production uses (1, 1)).
    discount : float, default 1.0
        In (0, 1]: old counts are multiplied by it before each learned batch.
    n_draws : int, default 1000
        Monte Carlo draws per probability estimate.
    random_state : int or None, default None
        Seed of the draws.

    Examples
    --------
    >>> candidate = ThompsonCandidate(random_state=0)
    >>> candidate.learn(["a"] * 50 + ["b"] * 50, [1.0] * 40 + [0.0] * 60)
    >>> candidate.probabilities(["a", "b"]).round(2).tolist()
    [1.0, 0.0]
    """

    def __init__(
        self,
        *,
        prior: tuple[float, float] = (1.0, 1.0),
        discount: float = 1.0,
        n_draws: int = 1000,
        random_state: int | None = None,
    ) -> None:
        problems = []
        if len(prior) != 2 or min(prior) <= 0:
            problems.append({"field": "prior", "message": "must be two positive pseudo-counts"})
        if not 0 < discount <= 1:
            problems.append({"field": "discount", "message": "must be in (0, 1]"})
        if n_draws < 1:
            problems.append({"field": "n_draws", "message": "must be >= 1"})
        if problems:
            raise invalid(problems)
        self.prior = prior
        self.discount = discount
        self.n_draws = n_draws
        self.random_state = random_state
        self.successes_: dict[str, float] = {}
        self.failures_: dict[str, float] = {}
        self._rng = np.random.default_rng(random_state)

    def probabilities(self, arms: Sequence[str]) -> FloatArray:
        a = np.array([self.successes_.get(arm, 0.0) for arm in arms]) + self.prior[0]
        b = np.array([self.failures_.get(arm, 0.0) for arm in arms]) + self.prior[1]
        draws = self._rng.beta(a, b, size=(self.n_draws, len(arms)))
        wins = np.bincount(draws.argmax(axis=1), minlength=len(arms))
        return wins / self.n_draws

    def learn(self, arms: Sequence[str], rewards: Sequence[float]) -> None:
        if not arms:
            return
        for arm in self.successes_:
            self.successes_[arm] *= self.discount
            self.failures_[arm] *= self.discount
        for arm, reward in zip(arms, rewards, strict=True):
            self.successes_[arm] = self.successes_.get(arm, 0.0) + reward
            self.failures_[arm] = self.failures_.get(arm, 0.0) + 1.0 - reward


class EpsilonGreedyUCB:
    """UCB1 (as ``learnloop.bandits.ucb``) with an ε-uniform exploration layer.

    With probability ``1 - epsilon`` it plays the highest UCB score (ties split evenly, as the
    production tie-break is uniform), else an arm uniformly: every arm keeps a probability of at
    least ``epsilon / K``, so its decisions can be evaluated, and logged, with known propensities.

    Parameters
    ----------
    alpha : float, default 1.0
        Multiplier of the exploration bonus.
    epsilon : float, default 0.1
        In [0, 1]: the uniform exploration share.
    reward_scale : float or None, default None
        The bonus's scale; None uses the largest absolute arm mean (as production does).

    Examples
    --------
    >>> candidate = EpsilonGreedyUCB(alpha=0.0, epsilon=0.3)
    >>> candidate.learn(["a", "b"], [1.0, 0.0])
    >>> candidate.probabilities(["a", "b", "c"]).round(3).tolist()  # c never tried: it wins
    [0.1, 0.1, 0.8]
    """

    def __init__(
        self, *, alpha: float = 1.0, epsilon: float = 0.1, reward_scale: float | None = None
    ) -> None:
        problems = []
        if alpha < 0:
            problems.append({"field": "alpha", "message": "must be >= 0"})
        if not 0 <= epsilon <= 1:
            problems.append({"field": "epsilon", "message": "must be in [0, 1]"})
        if reward_scale is not None and reward_scale <= 0:
            problems.append({"field": "reward_scale", "message": "must be > 0"})
        if problems:
            raise invalid(problems)
        self.alpha = alpha
        self.epsilon = epsilon
        self.reward_scale = reward_scale
        self.pulls_: dict[str, int] = {}
        self.reward_sums_: dict[str, float] = {}

    def scores(self, arms: Sequence[str]) -> FloatArray:
        """UCB1 scores of ``arms`` (``inf`` for an arm never pulled)."""
        pulls = np.array([self.pulls_.get(arm, 0) for arm in arms], dtype=np.float64)
        sums = np.array([self.reward_sums_.get(arm, 0.0) for arm in arms])
        tried = pulls > 0
        scores = np.full(len(arms), np.inf)
        if not tried.any():
            return scores
        means = sums[tried] / pulls[tried]
        scale = self.reward_scale
        if scale is None:
            scale = float(np.abs(means).max()) or 1.0
        bonus = self.alpha * scale * np.sqrt(2.0 * math.log(pulls.sum()) / pulls[tried])
        scores[tried] = means + bonus
        return scores

    def probabilities(self, arms: Sequence[str]) -> FloatArray:
        scores = self.scores(arms)
        best = scores == scores.max()
        greedy = best / best.sum()
        return (1 - self.epsilon) * greedy + self.epsilon / len(arms)

    def position_probabilities(self, arms: Sequence[str], positions: int) -> FloatArray:
        """Probability of each of ``arms`` at each of the first ``positions`` slots of a slate.

        The first is drawn as :meth:`probabilities` says; the rest are the best remaining by
        score (ties in ``arms`` order), as production's ``select`` fills an ``n > 1`` slate.

        Examples
        --------
        >>> candidate = EpsilonGreedyUCB(alpha=0.0, epsilon=0.3)
        >>> candidate.learn(["a", "b", "c"], [1.0, 0.5, 0.0])
        >>> candidate.position_probabilities(["a", "b", "c"], 2).round(3).tolist()
        [[0.8, 0.1, 0.1], [0.2, 0.8, 0.0]]
        """
        first = self.probabilities(arms)
        scores = self.scores(arms)
        order = sorted(range(len(arms)), key=lambda i: -scores[i])
        by_rank = first[order]
        above = np.concatenate([[0.0], np.cumsum(by_rank)])  # above[j]: first ranks < j
        matrix = np.zeros((positions, len(arms)))
        matrix[0] = first
        for j in range(1, positions):
            # The arm ranked j - 1 is at j when the first ranks at or below j, the arm
            # ranked j when it ranks above j.
            if j - 1 < len(order):
                matrix[j, order[j - 1]] += 1.0 - above[j]
            if j < len(order):
                matrix[j, order[j]] += above[j]
        return np.clip(matrix, 0.0, 1.0)

    def learn(self, arms: Sequence[str], rewards: Sequence[float]) -> None:
        for arm, reward in zip(arms, rewards, strict=True):
            self.pulls_[arm] = self.pulls_.get(arm, 0) + 1
            self.reward_sums_[arm] = self.reward_sums_.get(arm, 0.0) + reward


@dataclass(frozen=True)
class Replay:
    """The off-policy inputs of one candidate over a decision log.

    Attributes
    ----------
    data : LoggedBandit
        Actions index :attr:`arms`; ``target_distribution`` is the candidate's, per decision.
    arms : list[str]
        The arms, in order of first appearance in the log.
    decision_ids : list
        The decision behind each row (None when a record had none).
    skipped : dict[str, int]
        Records left out, by reason.
    """

    data: LoggedBandit
    arms: list[str]
    decision_ids: list[Any]
    skipped: dict[str, int] = field(default_factory=dict)


#: One row of a replay: (arm, position, logged propensity, reward).
_Row = tuple[str, int, float, float]


def _usable(
    record: Mapping[str, Any],
    scope: str | None,
    missing_reward: float | None,
    candidate: CandidatePolicy,
) -> list[_Row] | str:
    """The rows of a usable record (one per shown arm), else the reason it is skipped."""
    if record.get("surface") != "bandit":
        return "not_bandit"
    if scope is not None and record.get("scope") != scope:
        return "other_scope"
    chosen = [str(arm) for arm in record.get("chosen") or []]
    if not chosen:
        return "none_chosen"
    slates = hasattr(candidate, "position_probabilities")
    if len(chosen) > 1 and record.get("policy") != ("ucb1" if slates else "thompson"):
        return "other_policy_slate"
    shown = {
        (str(s.get("item")), int(s.get("position", 0))): s.get("propensity")
        for s in record.get("shown") or []
    }
    propensities = [shown.get((arm, j)) for j, arm in enumerate(chosen)]
    if any(p is None or not 0 < float(p) <= 1 for p in propensities):
        return "no_propensity"
    reward = record.get("reward")
    if reward is None and missing_reward is None:
        return "no_reward"
    if len(chosen) == 1:
        value = float(reward) if reward is not None else float(missing_reward or 0.0)
        return [(chosen[0], 0, float(propensities[0] or 0.0), value)]
    earned: dict[str, float] = {}
    for f in record.get("feedback") or []:
        earned[str(f["item"])] = earned.get(str(f["item"]), 0.0) + float(f["value"])
    times = {arm: chosen.count(arm) for arm in chosen}
    rows = []
    for j, (arm, p) in enumerate(zip(chosen, propensities, strict=True)):
        share = earned.get(arm, 0.0) / times[arm] if reward is not None else missing_reward
        rows.append((arm, j, float(p or 0.0), float(share or 0.0)))
    return rows


def replay(
    records: Iterable[Mapping[str, Any]],
    candidate: CandidatePolicy,
    *,
    scope: str | None = None,
    batch_size: int = 100,
    missing_reward: float | None = 0.0,
) -> Replay:
    """Replay ``candidate`` over logged bandit decisions (oldest first) into OPE inputs.

    Parameters
    ----------
    records : iterable of dict
        Decision records as ``read_decisions`` yields them, oldest first.
    candidate : CandidatePolicy
        A fresh candidate (e.g. :class:`ThompsonCandidate`, :class:`EpsilonGreedyUCB`).
    scope : str or None, default None
        Only records of this bandit scope (``"content"``, ``"timing"``); None takes all.
    batch_size : int, default 100
        Decisions per learning step of the candidate.
    missing_reward : float or None, default 0.0
        Reward of a decision without feedback; None skips such decisions.

    Returns
    -------
    Replay
        One row per shown arm (one per decision when ``n`` is 1).

    Raises
    ------
    ValidationError
        No usable record (field ``records``), or a bad ``batch_size``.
    """
    if batch_size < 1:
        raise invalid([{"field": "batch_size", "message": "must be >= 1"}])
    decisions: list[list[_Row]] = []
    ids: list[Any] = []
    skipped: dict[str, int] = {}
    for record in records:
        usable = _usable(record, scope, missing_reward, candidate)
        if isinstance(usable, str):
            skipped[usable] = skipped.get(usable, 0) + 1
            continue
        decisions.append(usable)
        ids.extend(record.get("decision_id") for _ in usable)
    if not decisions:
        raise invalid(
            [{"field": "records", "message": f"no usable bandit decision (skipped: {skipped})"}]
        )
    rows = [row for decision in decisions for row in decision]
    arms = list(dict.fromkeys(arm for arm, _, _, _ in rows))
    index = {arm: i for i, arm in enumerate(arms)}
    target = np.empty((len(rows), len(arms)))
    at = 0
    for start in range(0, len(decisions), batch_size):
        batch = decisions[start : start + batch_size]
        first = candidate.probabilities(arms)
        longest = max(len(d) for d in batch)
        by_position = (
            candidate.position_probabilities(arms, longest)
            if longest > 1 and hasattr(candidate, "position_probabilities")
            else None
        )
        for decision in batch:
            for _, position, _, _ in decision:
                target[at] = first if by_position is None else by_position[position]
                at += 1
        learned = [row for decision in batch for row in decision]
        candidate.learn([arm for arm, _, _, _ in learned], [r for _, _, _, r in learned])
    data = logged_bandit(
        actions=[index[arm] for arm, _, _, _ in rows],
        propensities=[p for _, _, p, _ in rows],
        rewards=[r for _, _, _, r in rows],
        target_distribution=target,
    )
    return Replay(data=data, arms=arms, decision_ids=ids, skipped=skipped)


#: Candidate kind → class, for ``"kind:key=value,..."`` specs (see :func:`parse_candidate`).
CANDIDATES: dict[str, type[ThompsonCandidate] | type[EpsilonGreedyUCB]] = {
    "thompson": ThompsonCandidate,
    "ucb1": EpsilonGreedyUCB,
}


def parse_candidate(spec: str, *, random_state: int | None = None) -> CandidatePolicy:
    """A fresh candidate from ``"thompson:prior=1/1,discount=0.95"`` or ``"ucb1:epsilon=0.1"``.

    Parameters
    ----------
    spec : str
        ``kind`` or ``kind:key=value,...``; ``prior`` is ``a/b``, other values are numbers.
    random_state : int or None, default None
        Seed of a Thompson candidate's draws.

    Returns
    -------
    CandidatePolicy

    Raises
    ------
    ValidationError
        An unknown kind or setting (field ``candidate``), or a bad value.

    Examples
    --------
    >>> parse_candidate("thompson:prior=2/8,discount=0.9").prior
    (2.0, 8.0)
    >>> parse_candidate("ucb1:alpha=0.5,epsilon=0.2").epsilon
    0.2
    """
    kind, _, settings = spec.partition(":")
    if kind not in CANDIDATES:
        raise invalid(
            [{"field": "candidate", "message": f"unknown kind {kind!r}; use {sorted(CANDIDATES)}"}]
        )
    params: dict[str, Any] = {}
    for pair in filter(None, settings.split(",")):
        key, _, value = pair.partition("=")
        try:
            if key == "prior":
                a, b = value.split("/")
                params[key] = (float(a), float(b))
            elif key in ("n_draws",):
                params[key] = int(value)
            elif key in ("discount", "alpha", "epsilon", "reward_scale"):
                params[key] = float(value)
            else:
                raise KeyError(key)
        except (KeyError, ValueError):
            raise invalid(
                [{"field": "candidate", "message": f"bad setting {pair!r} for {kind}"}]
            ) from None
    try:
        if kind == "thompson":
            return ThompsonCandidate(random_state=random_state, **params)
        return EpsilonGreedyUCB(**params)
    except TypeError:  # a setting of the other kind, e.g. a prior for UCB1
        raise invalid([{"field": "candidate", "message": f"bad settings for {kind}"}]) from None


@dataclass(frozen=True)
class Comparison:
    """A candidate's estimated value against production's on the same logged decisions.

    Attributes
    ----------
    candidate : PolicyValue
        The candidate's off-policy estimate (e.g. DR).
    production : PolicyValue
        The logged decisions' mean reward (IPW with weights 1), with its interval.
    promote : bool
        ``candidate.ci_low > production.estimate + margin``: the lower bound beats production.
    """

    candidate: PolicyValue
    production: PolicyValue
    promote: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "candidate": self.candidate.to_dict(),
            "production": self.production.to_dict(),
            "promote": self.promote,
        }


def compare_with_production(
    result: Replay,
    *,
    rule: Callable[[float, float], bool],
    estimator: str = "dr",
    n_resamples: int = 1000,
    random_state: int | None = None,
) -> Comparison:
    """Estimate the replayed candidate and production on the same rows; promote on the bound.

    Parameters
    ----------
    result : Replay
        From :func:`replay`.
    rule : callable
        ``rule(candidate_lower_bound, production_value) -> promote``: the registry's
        :func:`learnloop.models.promotion.beats_production` with the stage's margin (passed in,
        so this module stays on numpy and the floor).
    estimator : str, default "dr"
        A name in ``ESTIMATORS``.
    n_resamples, random_state
        The bootstrap's.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> records = [{"surface": "bandit", "chosen": [arm], "reward": reward,
    ...             "shown": [{"item": arm, "propensity": 0.5}]}
    ...            for arm, reward in [("a", 1.0), ("b", 0.0)] * 50]
    >>> greedy_a = replay(records, EpsilonGreedyUCB(alpha=0.0, epsilon=0.0), batch_size=10)
    >>> beats = lambda lower, production: lower > production
    >>> compare_with_production(greedy_a, rule=beats, n_resamples=200, random_state=0).promote
    True
    """
    if estimator not in ESTIMATORS:
        raise invalid([{"field": "estimator", "message": f"choose from {sorted(ESTIMATORS)}"}])
    data = result.data
    candidate = ESTIMATORS[estimator](n_resamples=n_resamples, random_state=random_state)
    on_policy = logged_bandit(
        actions=data.actions,
        propensities=data.propensities,
        rewards=data.rewards,
        target_probability=data.propensities,
        n_actions=data.n_actions,
    )
    production = InverseProbabilityWeighting(n_resamples=n_resamples, random_state=random_state)
    value = candidate.estimate(data)
    baseline = production.estimate(on_policy)
    return Comparison(
        candidate=value,
        production=baseline,
        promote=rule(value.ci_low, baseline.estimate),
    )


__all__ = [
    "CANDIDATES",
    "CandidatePolicy",
    "Comparison",
    "EpsilonGreedyUCB",
    "Replay",
    "ThompsonCandidate",
    "compare_with_production",
    "parse_candidate",
    "replay",
]

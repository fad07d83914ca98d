"""Off-policy evaluation: what a target policy would have earned, judged on another's logs.

A logging policy chose action ``a_i`` with probability ``mu_i`` (its *propensity*) in context
``x_i`` and earned reward ``r_i``. A target policy would choose ``a`` with probability
``pi(a | x)``. With importance weights ``w_i = pi(a_i | x_i) / mu_i`` the estimators are::

    IPW    V = (1/n) sum_i w_i r_i                      unbiased; variance grows with the weights
    SNIPW  V = sum_i w_i r_i / sum_i w_i                 slightly biased, far less variance
    DM     V = (1/n) sum_i sum_a pi(a|x_i) q(x_i, a)     a reward model q; biased if q is wrong
    DR     V = (1/n) sum_i [sum_a pi(a|x_i) q(x_i, a) + w_i (r_i - q(x_i, a_i))]
                                                        unbiased if either q or mu is right

and, for top-k slates where the log holds every shown item's position and its marginal
propensity, the independent-item IPS (IIPS, Li et al. 2018) sums per-position IPW terms:
``V = (1/n) sum_i sum_k w_ik r_ik``, the expected total reward of a slate, unbiased when an
item's reward depends only on the item and its position, not on the rest of the slate.

Every estimate carries a percentile bootstrap interval (rows resampled with replacement,
``n_resamples`` times, seeded by ``random_state``) and the effective sample size of its weights,
Kish's ``(sum w)^2 / sum w^2``: near ``n`` when the policies agree, small when a few rows carry
the estimate (then no interval is trustworthy). ``clip`` caps each weight (``min(w, clip)``): it
trades a downward bias for variance; the default is ``None``, no capping, so the estimators
stay unbiased unless asked otherwise. DM and DR refit the reward model on every resample (a
count-weighted ridge solve per action, batched), so their intervals include the model's own
fitting noise; resampling DM's per-row terms with the model held fixed, as Open Bandit Pipeline
does, covered the truth in only 10-20 % of simulated seeds (``bench/ope.py``).

The reward model is :class:`RidgeRewardModel`: one ridge regression per action on
``[1, x]`` (the intercept unpenalized) solved with ``numpy.linalg``; without context features it
is the per-action mean reward. Actions never logged fall back to the mean of all rewards.

Why not a library: Open Bandit Pipeline (``obp``, last release 0.5.7, April 2023; its setup
lists Python 3.7/3.8) requires torch, pandas, matplotlib, seaborn and scikit-learn, far past a
Lambda layer's 250 MB; Vowpal Wabbit's Python estimators (IPS/SNIPS only, no DM/DR, no
bootstrap) come inside its compiled learner, and its counterfactual evaluation (Azure
Personalizer's) is being retired. The maths is a few vectorised lines each, so it lives here
on numpy alone.

Examples
--------
Two actions, a uniform logging policy, a target that always plays action 0:

>>> data = logged_bandit(
...     actions=[0, 1, 0, 1],
...     propensities=[0.5, 0.5, 0.5, 0.5],
...     rewards=[1.0, 0.0, 0.0, 1.0],
...     target_distribution=[[1.0, 0.0]] * 4,
... )
>>> InverseProbabilityWeighting(random_state=0).estimate(data).estimate
0.5
>>> result = DoublyRobust(random_state=0).estimate(data)
>>> result.estimate, result.ess
(0.5, 2.0)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from learnloop.exceptions import NotFittedError
from learnloop.validation import invalid

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# A row's target distribution may be rounded (JSON, float32); this much off 1 is still a
# distribution.
_SUM_TOLERANCE = 1e-6
# Bootstrap resamples are drawn in chunks of about this many indices, so 100k rows x 1000
# resamples needs ~16 MB at a time rather than 800 MB.
_CHUNK_INDICES = 2_000_000


def _problem(field: str, message: str) -> dict[str, Any]:
    return {"field": field, "message": message, "type": "value_error"}


# -- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedBandit:
    """Validated logged bandit feedback; build it with :func:`logged_bandit`.

    Attributes
    ----------
    actions : ndarray of int, shape (n,)
        The logged action of each row, in ``[0, n_actions)``.
    propensities : ndarray of float, shape (n,)
        The logging policy's probability of that action, in ``(0, 1]``.
    rewards : ndarray of float, shape (n,)
        The reward observed.
    target_probability : ndarray of float, shape (n,)
        The target policy's probability of the logged action, in ``[0, 1]``.
    target_distribution : ndarray of float, shape (n, n_actions), or None
        The target policy's full distribution per row (needed by DM and DR).
    contexts : ndarray of float, shape (n, d), or None
        Context features for the reward model.
    n_actions : int
        Number of actions.
    """

    actions: IntArray
    propensities: FloatArray
    rewards: FloatArray
    target_probability: FloatArray
    target_distribution: FloatArray | None
    contexts: FloatArray | None
    n_actions: int

    @property
    def n(self) -> int:
        """Number of logged rows."""
        return int(self.actions.shape[0])


def _as_float(
    name: str, value: ArrayLike, ndim: int, problems: list[dict[str, Any]]
) -> FloatArray | None:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(_problem(name, "must be numbers"))
        return None
    if array.ndim != ndim:
        problems.append(_problem(name, f"must be a {ndim}-d array, got {array.ndim}-d"))
        return None
    if not np.isfinite(array).all():
        problems.append(_problem(name, "must be finite (no NaN or infinity)"))
        return None
    return array


def logged_bandit(
    *,
    actions: ArrayLike,
    propensities: ArrayLike,
    rewards: ArrayLike,
    target_probability: ArrayLike | None = None,
    target_distribution: ArrayLike | None = None,
    contexts: ArrayLike | None = None,
    n_actions: int | None = None,
) -> LoggedBandit:
    """Validate logged feedback into a :class:`LoggedBandit`.

    Parameters
    ----------
    actions : array-like of int, shape (n,)
        Logged actions, integers in ``[0, n_actions)``.
    propensities : array-like of float, shape (n,)
        Logging probabilities of the logged actions, in ``(0, 1]``.
    rewards : array-like of float, shape (n,)
        Observed rewards (finite).
    target_probability : array-like of float, shape (n,), optional
        Target probabilities of the logged actions; taken from ``target_distribution`` when
        omitted (one of the two is required; when both are given they must agree).
    target_distribution : array-like of float, shape (n, n_actions), optional
        The target policy's distribution over actions per row; rows sum to 1.
    contexts : array-like of float, shape (n, d), optional
        Context features for the reward model of DM and DR.
    n_actions : int, optional
        Number of actions; defaults to ``target_distribution``'s width, else ``max(actions) + 1``.

    Returns
    -------
    LoggedBandit
        The validated arrays.

    Raises
    ------
    ValidationError
        422 naming every bad field (``actions``, ``propensities``, ...).

    Examples
    --------
    >>> logged_bandit(actions=[0, 1], propensities=[0.5, 0.5], rewards=[1, 0],
    ...               target_probability=[1.0, 0.0]).n_actions
    2
    >>> from learnloop.exceptions import ValidationError
    >>> try:
    ...     logged_bandit(actions=[0], propensities=[0.0], rewards=[1], target_probability=[1])
    ... except ValidationError as exc:
    ...     exc.details[0]["field"]
    'propensities'
    """
    problems: list[dict[str, Any]] = []
    raw_actions = np.asarray(actions)
    acts: IntArray | None = None
    if raw_actions.ndim != 1:
        problems.append(_problem("actions", "must be a 1-d array"))
    elif raw_actions.size and not (
        np.issubdtype(raw_actions.dtype, np.integer)
        or (
            np.issubdtype(raw_actions.dtype, np.floating)
            and np.array_equal(raw_actions, np.round(raw_actions))
        )
    ):
        problems.append(_problem("actions", "must be integers"))
    else:
        acts = raw_actions.astype(np.int64)
    props = _as_float("propensities", propensities, 1, problems)
    rews = _as_float("rewards", rewards, 1, problems)
    target_p = (
        None
        if target_probability is None
        else _as_float("target_probability", target_probability, 1, problems)
    )
    target_d = (
        None
        if target_distribution is None
        else _as_float("target_distribution", target_distribution, 2, problems)
    )
    ctx = None if contexts is None else _as_float("contexts", contexts, 2, problems)
    if target_probability is None and target_distribution is None:
        problems.append(
            _problem("target_probability", "give target_probability or target_distribution")
        )
    if problems:
        raise invalid(problems)
    assert acts is not None and props is not None and rews is not None

    n = acts.shape[0]
    if n == 0:
        raise invalid([_problem("actions", "needs at least one logged row")])
    for name, array in (
        ("propensities", props),
        ("rewards", rews),
        ("target_probability", target_p),
        ("target_distribution", target_d),
        ("contexts", ctx),
    ):
        if array is not None and array.shape[0] != n:
            problems.append(_problem(name, f"has {array.shape[0]} rows, actions has {n}"))
    if problems:
        raise invalid(problems)

    k = n_actions
    if k is None:
        k = target_d.shape[1] if target_d is not None else int(acts.max()) + 1
    if k < 1 or (target_d is not None and target_d.shape[1] != k):
        raise invalid([_problem("n_actions", "must be >= 1 and match target_distribution's width")])
    if acts.min() < 0 or acts.max() >= k:
        problems.append(_problem("actions", f"must be in [0, {k})"))
    if ((props <= 0) | (props > 1)).any():
        problems.append(
            _problem(
                "propensities", "must be in (0, 1]: a zero-propensity row cannot be reweighted"
            )
        )
    if target_p is not None and ((target_p < 0) | (target_p > 1)).any():
        problems.append(_problem("target_probability", "must be in [0, 1]"))
    if target_d is not None:
        if (target_d < 0).any() or (np.abs(target_d.sum(axis=1) - 1) > _SUM_TOLERANCE).any():
            problems.append(_problem("target_distribution", "rows must be >= 0 and sum to 1"))
        elif not problems:
            logged = target_d[np.arange(n), acts]
            if target_p is None:
                target_p = logged
            elif (np.abs(target_p - logged) > _SUM_TOLERANCE).any():
                problems.append(
                    _problem(
                        "target_probability",
                        "must equal target_distribution at the logged action",
                    )
                )
    if problems:
        raise invalid(problems)
    assert target_p is not None
    return LoggedBandit(
        actions=acts,
        propensities=props,
        rewards=rews,
        target_probability=target_p,
        target_distribution=target_d,
        contexts=ctx,
        n_actions=int(k),
    )


@dataclass(frozen=True)
class LoggedSlates:
    """Validated top-k slate feedback; build it with :func:`logged_slates`.

    Attributes
    ----------
    propensities : ndarray of float, shape (n, k)
        The logging policy's marginal probability of showing that item at that position.
    target_propensities : ndarray of float, shape (n, k)
        The target policy's marginal probability of the same item at the same position.
    rewards : ndarray of float, shape (n, k)
        The reward (e.g. a click) of each shown item.
    """

    propensities: FloatArray
    target_propensities: FloatArray
    rewards: FloatArray

    @property
    def n(self) -> int:
        """Number of logged slates."""
        return int(self.rewards.shape[0])


def logged_slates(
    *, propensities: ArrayLike, target_propensities: ArrayLike, rewards: ArrayLike
) -> LoggedSlates:
    """Validate slate feedback (one row per slate, one column per position).

    Parameters
    ----------
    propensities, target_propensities, rewards : array-like of float, shape (n, k)
        Logging and target marginal probabilities of each shown (item, position), in ``(0, 1]``
        and ``[0, 1]``, and each shown item's reward.

    Returns
    -------
    LoggedSlates

    Raises
    ------
    ValidationError
        422 naming every bad field.

    Examples
    --------
    >>> logged_slates(propensities=[[0.5, 0.5]], target_propensities=[[1, 0]],
    ...               rewards=[[1, 0]]).n
    1
    """
    problems: list[dict[str, Any]] = []
    props = _as_float("propensities", propensities, 2, problems)
    target = _as_float("target_propensities", target_propensities, 2, problems)
    rews = _as_float("rewards", rewards, 2, problems)
    if problems:
        raise invalid(problems)
    assert props is not None and target is not None and rews is not None
    if props.shape[0] == 0:
        raise invalid([_problem("rewards", "needs at least one logged slate")])
    for name, array in (("propensities", props), ("target_propensities", target)):
        if array.shape != rews.shape:
            problems.append(_problem(name, f"has shape {array.shape}, rewards has {rews.shape}"))
    if problems:
        raise invalid(problems)
    if ((props <= 0) | (props > 1)).any():
        problems.append(_problem("propensities", "must be in (0, 1]"))
    if ((target < 0) | (target > 1)).any():
        problems.append(_problem("target_propensities", "must be in [0, 1]"))
    if problems:
        raise invalid(problems)
    return LoggedSlates(propensities=props, target_propensities=target, rewards=rews)


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyValue:
    """An estimate of a target policy's value per decision (per slate for IIPS).

    Attributes
    ----------
    estimator : str
        ``"ipw"``, ``"snipw"``, ``"dm"``, ``"dr"`` or ``"iips"``.
    estimate : float
        The point estimate.
    ci_low, ci_high : float
        The percentile bootstrap interval at ``confidence``.
    n : int
        Logged rows used.
    ess : float
        Kish's effective sample size of the (clipped) importance weights.
    max_weight : float
        The largest (clipped) weight: one row counts this many times.
    n_clipped : int
        Weights capped by ``clip``.
    confidence : float
        The interval's nominal coverage.
    n_resamples : int
        Bootstrap resamples behind the interval (0: no interval, it equals the estimate).
    """

    estimator: str
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    ess: float
    max_weight: float
    n_clipped: int
    confidence: float
    n_resamples: int

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


# -- the reward model -----------------------------------------------------------------------------


class RidgeRewardModel:
    """One ridge regression per action on ``[1, x]``; per-action means without features.

    Parameters
    ----------
    alpha : float, default 1.0
        Non-negative L2 penalty on the feature coefficients (the intercept is not penalized).

    Attributes
    ----------
    coef_ : ndarray, shape (n_actions, d + 1)
        Per action, the intercept then the feature coefficients.
    n_features_in_ : int
        ``d``, the number of context features (0 without contexts).

    Examples
    --------
    >>> model = RidgeRewardModel().fit(None, [0, 0, 1], [1.0, 0.0, 1.0], n_actions=3)
    >>> model.predict(np.empty((1, 0))).tolist()  # action 2 was never logged: overall mean
    [[0.5, 1.0, 0.6666666666666666]]
    """

    coef_: FloatArray
    n_features_in_: int

    def __init__(self, *, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(
        self,
        contexts: FloatArray | None,
        actions: ArrayLike,
        rewards: ArrayLike,
        *,
        n_actions: int,
    ) -> Self:
        """Fit per-action ridge regressions of ``rewards`` on ``contexts``.

        Parameters
        ----------
        contexts : ndarray, shape (n, d), or None
            Context features; None fits per-action means.
        actions : array-like of int, shape (n,)
            Logged actions in ``[0, n_actions)``.
        rewards : array-like of float, shape (n,)
            Observed rewards.
        n_actions : int
            Number of actions.

        Returns
        -------
        Self
        """
        if self.alpha < 0:
            raise invalid([_problem("alpha", "must be >= 0")])
        acts = np.asarray(actions, dtype=np.int64)
        rews = np.asarray(rewards, dtype=np.float64)
        features = np.empty((acts.shape[0], 0)) if contexts is None else np.asarray(contexts)
        design = np.hstack([np.ones((acts.shape[0], 1)), features])
        d = design.shape[1]
        penalty = self.alpha * np.eye(d)
        penalty[0, 0] = 0.0
        fallback = np.zeros(d)
        fallback[0] = rews.mean() if rews.size else 0.0
        coef = np.tile(fallback, (n_actions, 1))
        for a in range(n_actions):
            rows = acts == a
            if not rows.any():
                continue
            x, y = design[rows], rews[rows]
            # lstsq rather than solve: with alpha = 0 and a constant feature the system is
            # singular, and the minimum-norm solution is still the right fit.
            coef[a] = np.linalg.lstsq(x.T @ x + penalty, x.T @ y, rcond=None)[0]
        self.coef_ = coef
        self.n_features_in_ = d - 1
        return self

    def predict(self, contexts: FloatArray | None) -> FloatArray:
        """Predicted reward of every action per row: shape ``(n, n_actions)``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        if not hasattr(self, "coef_"):
            raise NotFittedError("RidgeRewardModel is not fitted; call fit first")
        features = np.empty((1, 0)) if contexts is None else np.asarray(contexts)
        design = np.hstack([np.ones((features.shape[0], 1)), features])
        return design @ self.coef_.T


# -- the estimators -------------------------------------------------------------------------------


def _bootstrap(
    terms: FloatArray,
    norm: FloatArray | None,
    *,
    n_resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    """``sum(terms) / sum(norm)`` (``mean(terms)`` without ``norm``) on resampled rows."""
    n = terms.shape[0]
    out = np.empty(n_resamples)
    chunk = max(1, _CHUNK_INDICES // n)
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        if norm is None:
            out[start:stop] = terms[idx].mean(axis=1)
        else:
            denominators = norm[idx].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[start:stop] = np.where(
                    denominators > 0, terms[idx].sum(axis=1) / denominators, 0.0
                )
    return out


def _resample_counts(rng: np.random.Generator, n: int, size: int) -> FloatArray:
    """How often each row appears in each of ``size`` resamples: shape ``(size, n)``."""
    idx = rng.integers(0, n, size=(size, n))
    flat = (idx + (np.arange(size) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.float64)


def _ridge_bootstrap(
    data: LoggedBandit,
    *,
    alpha: float,
    weights: FloatArray | None,
    n_resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    """DM (``weights`` None) or DR on resampled rows, refitting the ridge reward model each time.

    A resample is a count per row ``c``, and everything is linear in ``c`` once the model's
    coefficients ``beta`` are known: each action's normal equations are count-weighted sums of
    per-row outer products, and ``sum_i c_i sum_a pi_ia x_i . beta_a`` is ``(c @ P) . beta``
    with ``P[i, (a, j)] = pi_ia x_ij``. So a chunk of resamples costs a few matrix products per
    action and a batched solve, never an ``(resamples, n, actions)`` array.
    """
    assert data.target_distribution is not None
    n, k = data.n, data.n_actions
    # Rows sorted by action make each action's rows a slice (a view, not a copy, of the
    # counts). Resampling the sorted rows is the same bootstrap: rows are drawn uniformly.
    order = np.argsort(data.actions, kind="stable")
    actions, rewards = data.actions[order], data.rewards[order]
    features = data.contexts[order] if data.contexts is not None else np.empty((n, 0))
    design = np.hstack([np.ones((n, 1)), features])
    d = design.shape[1]
    outer = (design[:, :, None] * design[:, None, :]).reshape(n, d * d)
    targets = design * rewards[:, None]
    target = data.target_distribution[order]
    value_basis = (target[:, :, None] * design[:, None, :]).reshape(n, k * d)
    penalty = alpha * np.eye(d)
    penalty[0, 0] = 0.0
    bounds = np.searchsorted(actions, np.arange(k + 1))
    rows_of = [slice(bounds[a], bounds[a + 1]) for a in range(k)]
    weights = None if weights is None else weights[order]
    weighted = None if weights is None else weights[:, None] * design
    out = np.empty(n_resamples)
    chunk = max(1, _CHUNK_INDICES // n)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        counts = _resample_counts(rng, n, size)
        mean_reward = counts @ rewards / n
        coef = np.empty((size, k, d))
        correction = np.zeros(size)
        for a, rows in enumerate(rows_of):
            c = counts[:, rows]
            gram = (c @ outer[rows]).reshape(size, d, d) + penalty
            rhs = c @ targets[rows]
            # an action absent from a resample falls back to the mean reward, as fit does
            absent = ~c.any(axis=1)
            gram[absent] = np.eye(d)
            rhs[absent] = 0.0
            rhs[absent, 0] = mean_reward[absent]
            solver = np.linalg.pinv(gram) if alpha == 0 else np.linalg.inv(gram)
            coef[:, a] = (solver @ rhs[:, :, None])[:, :, 0]
            if weighted is not None:
                # minus sum_i c_i w_i q(x_i, a) over the rows that logged a
                correction -= ((c @ weighted[rows]) * coef[:, a]).sum(axis=1)
        total = ((counts @ value_basis) * coef.reshape(size, k * d)).sum(axis=1)
        if weights is not None:
            total += counts @ (weights * rewards) + correction
        out[start : start + size] = total / n
    return out


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (0 when every weight is 0).

    Examples
    --------
    >>> effective_sample_size([1, 1, 1, 1]), effective_sample_size([4, 0, 0, 0])
    (4.0, 1.0)
    """
    w = np.asarray(weights, dtype=np.float64)
    squares = float((w**2).sum())
    return float(w.sum() ** 2 / squares) if squares > 0 else 0.0


class OffPolicyEstimator(ABC):
    """Shared surface: weights, clipping, the bootstrap interval and the diagnostics.

    Parameters
    ----------
    clip : float or None, default None
        Cap on each importance weight; None (the default) leaves the estimators unbiased.
    n_resamples : int, default 1000
        Bootstrap resamples for the interval; 0 skips it (the interval is the estimate).
    confidence : float, default 0.95
        Nominal coverage of the interval, in (0, 1).
    random_state : int or None, default None
        Seed of the bootstrap.
    """

    name: ClassVar[str]

    def __init__(
        self,
        *,
        clip: float | None = None,
        n_resamples: int = 1000,
        confidence: float = 0.95,
        random_state: int | None = None,
    ) -> None:
        self.clip = clip
        self.n_resamples = n_resamples
        self.confidence = confidence
        self.random_state = random_state

    def _check_params(self) -> None:
        problems = []
        if self.clip is not None and not self.clip > 0:
            problems.append(_problem("clip", "must be > 0 or None"))
        if self.n_resamples < 0:
            problems.append(_problem("n_resamples", "must be >= 0"))
        if not 0 < self.confidence < 1:
            problems.append(_problem("confidence", "must be in (0, 1)"))
        if problems:
            raise invalid(problems)

    def _weights(self, pi: FloatArray, mu: FloatArray) -> tuple[FloatArray, int]:
        raw = pi / mu
        if self.clip is None:
            return raw, 0
        return np.minimum(raw, self.clip), int((raw > self.clip).sum())

    def _result(
        self,
        terms: FloatArray,
        norm: FloatArray | None,
        weights: FloatArray,
        n_clipped: int,
        resample: Callable[[np.random.Generator], FloatArray] | None = None,
    ) -> PolicyValue:
        if norm is None:
            estimate = float(terms.mean())
        else:
            total = float(norm.sum())
            estimate = float(terms.sum()) / total if total > 0 else 0.0
        low = high = estimate
        if self.n_resamples > 0:
            rng = np.random.default_rng(self.random_state)
            draws = (
                resample(rng)
                if resample is not None
                else _bootstrap(terms, norm, n_resamples=self.n_resamples, rng=rng)
            )
            tail = (1 - self.confidence) / 2
            low, high = (float(q) for q in np.quantile(draws, [tail, 1 - tail]))
        return PolicyValue(
            estimator=self.name,
            estimate=estimate,
            ci_low=low,
            ci_high=high,
            n=int(terms.shape[0]),
            ess=effective_sample_size(weights),
            max_weight=float(weights.max()),
            n_clipped=n_clipped,
            confidence=self.confidence,
            n_resamples=self.n_resamples,
        )

    @abstractmethod
    def estimate(self, data: LoggedBandit) -> PolicyValue:
        """The target policy's estimated value on ``data``, with interval and diagnostics."""


class InverseProbabilityWeighting(OffPolicyEstimator):
    """IPW (inverse propensity scoring): ``mean(w * r)``.

    Examples
    --------
    >>> data = logged_bandit(actions=[0, 1], propensities=[0.5, 0.25], rewards=[1.0, 1.0],
    ...                      target_probability=[1.0, 0.0])
    >>> InverseProbabilityWeighting(n_resamples=0).estimate(data).estimate
    1.0
    """

    name = "ipw"

    def estimate(self, data: LoggedBandit) -> PolicyValue:
        self._check_params()
        w, clipped = self._weights(data.target_probability, data.propensities)
        return self._result(w * data.rewards, None, w, clipped)


class SelfNormalizedIPW(OffPolicyEstimator):
    """SNIPW: ``sum(w * r) / sum(w)``; 0 when every weight is 0.

    Examples
    --------
    >>> data = logged_bandit(actions=[0, 1], propensities=[0.5, 0.25], rewards=[1.0, 1.0],
    ...                      target_probability=[1.0, 0.0])
    >>> SelfNormalizedIPW(n_resamples=0).estimate(data).estimate
    1.0
    """

    name = "snipw"

    def estimate(self, data: LoggedBandit) -> PolicyValue:
        self._check_params()
        w, clipped = self._weights(data.target_probability, data.propensities)
        return self._result(w * data.rewards, w, w, clipped)


class _ModelBased(OffPolicyEstimator):
    """DM and DR: a reward model fitted on the logs, then the target's expected reward."""

    def __init__(
        self,
        *,
        reward_model: RidgeRewardModel | None = None,
        clip: float | None = None,
        n_resamples: int = 1000,
        confidence: float = 0.95,
        random_state: int | None = None,
    ) -> None:
        super().__init__(
            clip=clip, n_resamples=n_resamples, confidence=confidence, random_state=random_state
        )
        self.reward_model = reward_model

    def _refit_resampler(
        self, data: LoggedBandit, weights: FloatArray | None
    ) -> Callable[[np.random.Generator], FloatArray]:
        model = self.reward_model if self.reward_model is not None else RidgeRewardModel()
        return lambda rng: _ridge_bootstrap(
            data, alpha=model.alpha, weights=weights, n_resamples=self.n_resamples, rng=rng
        )

    def _model_terms(self, data: LoggedBandit) -> tuple[FloatArray, FloatArray]:
        """Per row: the model's value of the target policy, and its prediction at ``a_i``."""
        if data.target_distribution is None:
            raise invalid(
                [_problem("target_distribution", f"{self.name} needs the full distribution")]
            )
        model = self.reward_model if self.reward_model is not None else RidgeRewardModel()
        model.fit(data.contexts, data.actions, data.rewards, n_actions=data.n_actions)
        contexts = data.contexts if data.contexts is not None else np.empty((data.n, 0))
        q = model.predict(contexts)
        value = (data.target_distribution * q).sum(axis=1)
        return value, q[np.arange(data.n), data.actions]


class DirectMethod(_ModelBased):
    """DM: the reward model's expected reward under the target, ``mean(sum_a pi(a|x) q(x, a))``.

    Parameters
    ----------
    reward_model : RidgeRewardModel or None, default None
        The model to fit (``RidgeRewardModel(alpha=1.0)`` when None).

    Examples
    --------
    >>> data = logged_bandit(actions=[0, 0, 1], propensities=[0.5, 0.5, 0.5],
    ...                      rewards=[1.0, 0.0, 1.0], target_distribution=[[0.5, 0.5]] * 3)
    >>> DirectMethod(n_resamples=0).estimate(data).estimate
    0.75
    """

    name = "dm"

    def estimate(self, data: LoggedBandit) -> PolicyValue:
        self._check_params()
        w, clipped = self._weights(data.target_probability, data.propensities)
        value, _ = self._model_terms(data)
        return self._result(value, None, w, clipped, self._refit_resampler(data, None))


class DoublyRobust(_ModelBased):
    """DR: the DM term plus the IPW-weighted residual of the reward model at the logged action.

    Parameters
    ----------
    reward_model : RidgeRewardModel or None, default None
        The model to fit (``RidgeRewardModel(alpha=1.0)`` when None).

    Examples
    --------
    >>> data = logged_bandit(actions=[0, 0, 1], propensities=[0.5, 0.5, 0.5],
    ...                      rewards=[1.0, 0.0, 1.0], target_distribution=[[0.5, 0.5]] * 3)
    >>> DoublyRobust(n_resamples=0).estimate(data).estimate  # residuals average out here
    0.75
    """

    name = "dr"

    def estimate(self, data: LoggedBandit) -> PolicyValue:
        self._check_params()
        w, clipped = self._weights(data.target_probability, data.propensities)
        value, at_logged = self._model_terms(data)
        terms = value + w * (data.rewards - at_logged)
        return self._result(terms, None, w, clipped, self._refit_resampler(data, w))


class IndependentItemIPW(OffPolicyEstimator):
    """IIPS for slates: ``mean_i sum_k w_ik r_ik``, per-(item, position) weights.

    The estimate is the expected total reward of a slate; divide by the slate length for a
    per-item rate. ``ess`` and ``max_weight`` are over all (slate, position) weights.

    Examples
    --------
    >>> slates = logged_slates(propensities=[[0.5, 0.5], [0.5, 0.25]],
    ...                        target_propensities=[[1.0, 0.5], [0.0, 0.5]],
    ...                        rewards=[[1.0, 0.0], [1.0, 1.0]])
    >>> IndependentItemIPW(n_resamples=0).estimate(slates).estimate  # (2 + 2) / 2
    2.0
    """

    name = "iips"

    def estimate(self, data: LoggedSlates) -> PolicyValue:  # type: ignore[override]
        self._check_params()
        w, clipped = self._weights(data.target_propensities, data.propensities)
        return self._result((w * data.rewards).sum(axis=1), None, w.ravel(), clipped)


#: Estimator name → class, for configuration and the CLI.
ESTIMATORS: dict[str, type[OffPolicyEstimator]] = {
    "ipw": InverseProbabilityWeighting,
    "snipw": SelfNormalizedIPW,
    "dm": DirectMethod,
    "dr": DoublyRobust,
}


def evaluate(
    data: LoggedBandit,
    estimators: Iterable[str] | None = None,
    *,
    clip: float | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int | None = None,
) -> dict[str, PolicyValue]:
    """Run several estimators on the same logs with the same settings.

    Parameters
    ----------
    data : LoggedBandit
        The logs.
    estimators : iterable of str, optional
        Names from :data:`ESTIMATORS`; all four by default (DM and DR need
        ``target_distribution``; without it only IPW and SNIPW run by default).
    clip, n_resamples, confidence, random_state
        As for :class:`OffPolicyEstimator`.

    Returns
    -------
    dict[str, PolicyValue]
        Name → result, in the order asked.

    Raises
    ------
    ValidationError
        An unknown estimator name (field ``estimators``) or bad logs.

    Examples
    --------
    >>> data = logged_bandit(actions=[0, 1], propensities=[0.5, 0.5], rewards=[1.0, 0.0],
    ...                      target_probability=[1.0, 0.0])
    >>> {k: v.estimate for k, v in evaluate(data, n_resamples=0).items()}
    {'ipw': 1.0, 'snipw': 1.0}
    """
    names: Sequence[str]
    if estimators is None:
        names = list(ESTIMATORS) if data.target_distribution is not None else ["ipw", "snipw"]
    else:
        names = list(estimators)
    unknown = [name for name in names if name not in ESTIMATORS]
    if unknown:
        raise invalid(
            [_problem("estimators", f"unknown {unknown}; choose from {sorted(ESTIMATORS)}")]
        )
    return {
        name: ESTIMATORS[name](
            clip=clip, n_resamples=n_resamples, confidence=confidence, random_state=random_state
        ).estimate(data)
        for name in names
    }


__all__ = [
    "ESTIMATORS",
    "DirectMethod",
    "DoublyRobust",
    "IndependentItemIPW",
    "InverseProbabilityWeighting",
    "LoggedBandit",
    "LoggedSlates",
    "OffPolicyEstimator",
    "PolicyValue",
    "RidgeRewardModel",
    "SelfNormalizedIPW",
    "effective_sample_size",
    "evaluate",
    "logged_bandit",
    "logged_slates",
]

"""A simulated population with a hidden truth, for ``learnloop demo``.

The demo drives learnloop with posts and reactions drawn from this world, then checks what the
loop learned against what the world knows. Everything is seeded: :meth:`World.generate` draws the
hidden truth from ``seed``; every draw after that takes an explicit ``numpy.random.Generator``.

The hidden truth
----------------
Posts (content decisions)
    * **Arms** are hooks, ``"hook:question"``, ``"hook:stat"``, ... Each has a hidden success
      probability: the chance that a post's ``engagement_rate`` exceeds
      :data:`SUCCESS_THRESHOLD` (0.03) when posted at a uniformly random hour. By default exactly
      one arm has 0.55 and the others are spread evenly over 0.40 ... 0.15, assigned to arms in
      an order drawn from the seed (:attr:`World.oracle_arm` is the 0.55 one).
    * **The arm drives quality.** A post of arm ``a`` has
      ``quality_score = clip(Normal(mu_a, 0.12), 0, 1)``; each ``mu_a`` is solved numerically so
      that the arm's success probability is exactly its hidden value.
    * **Engagement is linear** in the features the ridge model uses::

          rate = b0 + b_q * quality_score + b_type[content_type] + b_len[length]
                 + b_hour[hour] + Normal(0, noise_sd)

      clipped to [0, 1] (:class:`EngagementTruth`; ``educational`` and ``medium`` are the
      reference levels, with effect 0). Defaults: ``b0 = 0.002``, ``b_q = 0.05``,
      ``b_type = {educational: 0, factual: -0.004, entertaining: 0.004, promotional: -0.010}``,
      ``b_len = {short: 0.002, medium: 0, long: -0.003}``, ``noise_sd = 0.006``.
    * **Best posting hours.** ``b_hour[h] = 0.008 * bump(h)`` with
      ``bump(h) = exp(-d(h, peak)^2 / 2)`` (``d`` the circular distance in hours, ``peak`` drawn
      from 8..21 UTC), so three hours (``peak - 1 .. peak + 1``, :attr:`World.best_hours`) stand
      out. Impressions are multiplied by ``hour_multiplier[h] = 1 + 0.8 * bump(h)`` too.
    * **Counts are consistent with the rate.** ``impressions ~ max(200, LogNormal(log(1500 *
      hour_multiplier), 0.5))``; the engaged count ``E`` is the rate times impressions, rounded
      away from the threshold (up above 0.03, down at or below), so the post succeeds exactly
      when its drawn rate does; ``E`` splits into likes / retweets / replies by
      ``Multinomial(E, [0.72, 0.18, 0.10])``, so ``(likes + retweets + replies) / impressions``
      is the stored rate, within ``1 / impressions`` of the drawn one.
    * **Follow-through is logistic** (:class:`FollowThroughTruth`)::

          P(followers_gained > 0) = sigmoid(-2.2 + 1.6 * novelty_score
                                            + 1.2 * expertise_level + 2.0 * viral_score / 100)

      with ``novelty_score ~ Beta(2, 2)``, ``expertise_level ~ Beta(2, 3)``, ``viral_score =
      clip(100 * (1 - exp(-rate / 0.04)) + Normal(0, 6), 0, 100)`` and, when positive,
      ``followers_gained = 1 + Poisson(2 + 8 * viral_score / 100)``.
    * ``topic`` and ``style`` are decoys: they change nothing.

The shift
    :meth:`World.shifted` returns the world after its hidden truth changes (the demo switches
    to it on its shift day, 40 % into the run by default):

    * **Another hook becomes the best.** The arms' success probabilities are permuted: an arm
      drawn from the shift's seed takes the best value (0.55), the old best takes the median
      of the other values (0.275 with six arms: mediocre), the rest are shuffled among the
      other arms.
    * **Quality pays more.** ``b_q`` goes from 0.05 to 0.09; the other coefficients stay.
      Quality means are solved again for the new slope, so each arm's success probability is
      exactly its new value.
    * Everything else stays: users, items, posting hours and follow-through.

Reactions (users and items)
    * Items: ``n_items_per_type`` per content type (``meme``, ``news``, ``coin``, ``ai_insight``),
      each with a hidden topic mix ``v ~ Dirichlet(0.4)`` over :data:`ITEM_TOPICS` (its text
      uses words of those topics) and a bias ``~ Normal(0, 0.5)``.
    * Users: ``n_users`` with taste ``u ~ Normal(0, 1.5)`` over the same topics, an activity
      ``~ Normal(0, 0.5)`` and a per-content-type affinity ``~ Normal(0, 1)``.
    * Shown an item, a user reacts with probability
      ``sigmoid(-1 + activity + affinity[type])`` and, reacting, likes it with probability
      ``sigmoid(2 * u . v + bias + 0.5 * affinity[type])``
      (:meth:`World.reaction_probability`, :meth:`World.like_probability`).

Examples
--------
>>> import numpy as np
>>> world = World.generate(seed=7)
>>> world.arms
('hook:question', 'hook:stat', 'hook:story', 'hook:contrarian', 'hook:list', 'hook:howto')
>>> round(world.expected_success(world.oracle_arm), 3)
0.55
>>> post = world.post(world.oracle_arm, 14, np.random.default_rng(1))
>>> post.success == (post.engagement_rate > 0.03)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from learnloop.exceptions import SimulationError
from learnloop.ingest.engagement import engagement_rate

__all__ = [
    "ARM_HOOKS",
    "CONTENT_TYPES",
    "ITEM_TOPICS",
    "LENGTHS",
    "LENGTH_CHARS",
    "POST_TOPICS",
    "REACTION_CONTENT_TYPES",
    "SUCCESS_THRESHOLD",
    "EngagementTruth",
    "FollowThroughTruth",
    "SimItem",
    "SimUser",
    "SimulatedPost",
    "World",
    "length_bucket",
]

SUCCESS_THRESHOLD = 0.03
ARM_HOOKS: tuple[str, ...] = (
    "question",
    "stat",
    "story",
    "contrarian",
    "list",
    "howto",
    "quote",
    "thread",
)
CONTENT_TYPES: tuple[str, ...] = ("educational", "factual", "entertaining", "promotional")
LENGTHS: tuple[str, ...] = ("short", "medium", "long")
#: Characters of a post's text per length bucket (inclusive bounds).
LENGTH_CHARS: dict[str, tuple[int, int]] = {
    "short": (30, 99),
    "medium": (100, 199),
    "long": (200, 280),
}
POST_TOPICS: tuple[str, ...] = (
    "bitcoin",
    "ethereum",
    "defi",
    "ai agents",
    "stablecoins",
    "memecoins",
    "layer 2",
    "macro",
)
STYLES: tuple[str, ...] = ("casual", "analytical", "playful")
REACTION_CONTENT_TYPES: tuple[str, ...] = ("meme", "news", "coin", "ai_insight")
ITEM_TOPICS: tuple[str, ...] = ("defi", "ai", "humor", "macro")

_CONTENT_TYPE_MIX = (0.35, 0.25, 0.25, 0.15)
_LENGTH_MIX = (0.3, 0.5, 0.2)
_QUALITY_SD = 0.12
_ENGAGED_SPLIT = (0.72, 0.18, 0.10)  # likes, retweets, replies
_IMPRESSIONS_MEDIAN = 1500.0
_IMPRESSIONS_SIGMA = 0.5
_MIN_IMPRESSIONS = 200
_HOUR_RATE_EFFECT = 0.008
_HOUR_REACH_EFFECT = 0.8
_BEST_P = 0.55
_OTHER_P = (0.40, 0.15)
_SHIFTED_QUALITY_SLOPE = 0.09
_GRID = 801  # quadrature points over quality in [0, 1] (odd, for Simpson's rule)
_COINS = (
    "BTC", "ETH", "SOL", "ADA", "DOGE", "XRP", "DOT", "AVAX", "LINK", "MATIC",
    "ATOM", "LTC", "UNI", "NEAR", "APT", "ARB", "OP", "SUI", "PEPE", "SHIB",
    "TRX", "BCH", "XLM", "FIL", "ICP", "HBAR", "INJ", "TIA", "SEI", "RNDR",
)  # fmt: skip
_TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "defi": ("liquidity", "yield", "pools", "lending", "swaps", "vaults", "staking", "dex"),
    "ai": ("models", "agents", "inference", "gpus", "training", "prompts", "llms", "datasets"),
    "humor": ("lol", "wojak", "cope", "moon", "rekt", "vibes", "pepe", "degen"),
    "macro": ("rates", "inflation", "fed", "dollar", "bonds", "etf", "liquidity", "cpi"),
}
_FILLER = (
    "the", "market", "is", "moving", "fast", "and", "most", "people", "miss", "why",
    "this", "matters", "for", "builders", "traders", "today", "watch", "closely", "signal",
    "noise", "long", "term", "data", "shows", "real", "trend", "here", "what", "changed",
)  # fmt: skip
_HOOK_OPENERS: dict[str, str] = {
    "question": "Did you know why {topic} keeps surprising everyone?",
    "stat": "{n}% of {topic} traders got this wrong last month.",
    "story": "Last week I went deep on {topic} and here is what happened.",
    "contrarian": "Unpopular opinion: {topic} is not what you think.",
    "list": "{n} things about {topic} nobody tells you:",
    "howto": "How to read {topic} in {n} simple steps.",
    "quote": '"Be fearful when others are greedy" applies to {topic}.',
    "thread": "A short thread on {topic}:",
}


def length_bucket(text: str) -> str:
    """The length bucket of a post's text: ``short`` (< 100 characters), ``medium`` (< 200) or
    ``long``.

    Parameters
    ----------
    text
        The post's text.

    Returns
    -------
    str
        One of :data:`LENGTHS`.

    Examples
    --------
    >>> length_bucket("gm"), length_bucket("x" * 150), length_bucket("x" * 250)
    ('short', 'medium', 'long')
    """
    if len(text) < LENGTH_CHARS["medium"][0]:
        return "short"
    if len(text) < LENGTH_CHARS["long"][0]:
        return "medium"
    return "long"


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


_erf = np.vectorize(math.erf, otypes=[float])


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(np.asarray(x, dtype=float) / math.sqrt(2.0)))


@dataclass(frozen=True)
class EngagementTruth:
    """The true linear engagement model (see the module docstring).

    Examples
    --------
    >>> truth = EngagementTruth.default(peak_hour=14)
    >>> round(truth.mean_rate(0.5, "educational", "medium", 2), 4)
    0.027
    """

    intercept: float
    quality: float
    content_type: dict[str, float]
    length: dict[str, float]
    hour: tuple[float, ...]
    noise_sd: float

    @classmethod
    def default(cls, *, peak_hour: int) -> EngagementTruth:
        """The default coefficients with the hour effect peaking at ``peak_hour``."""
        return cls(
            intercept=0.002,
            quality=0.05,
            content_type={
                "educational": 0.0,
                "factual": -0.004,
                "entertaining": 0.004,
                "promotional": -0.010,
            },
            length={"short": 0.002, "medium": 0.0, "long": -0.003},
            hour=tuple(_HOUR_RATE_EFFECT * b for b in _hour_bump(peak_hour)),
            noise_sd=0.006,
        )

    def mean_rate(self, quality_score: float, content_type: str, length: str, hour: int) -> float:
        """The expected engagement rate before noise and clipping."""
        return (
            self.intercept
            + self.quality * quality_score
            + self.content_type[content_type]
            + self.length[length]
            + self.hour[hour]
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready coefficients."""
        return {
            "intercept": self.intercept,
            "quality_score": self.quality,
            "content_type": dict(self.content_type),
            "length": dict(self.length),
            "hour": [round(h, 6) + 0.0 for h in self.hour],
            "noise_sd": self.noise_sd,
        }


@dataclass(frozen=True)
class FollowThroughTruth:
    """The true logistic follow-through model.

    Examples
    --------
    >>> truth = FollowThroughTruth()
    >>> round(truth.probability(0.5, 0.4, 50.0), 3)
    0.52
    """

    intercept: float = -2.2
    novelty: float = 1.6
    expertise: float = 1.2
    viral: float = 2.0  # per viral_score / 100

    def logit(self, novelty_score: float, expertise_level: float, viral_score: float) -> float:
        """``w0 + w1 * novelty + w2 * expertise + w3 * viral_score / 100``."""
        return (
            self.intercept
            + self.novelty * novelty_score
            + self.expertise * expertise_level
            + self.viral * viral_score / 100.0
        )

    def probability(
        self, novelty_score: float, expertise_level: float, viral_score: float
    ) -> float:
        """``P(followers_gained > 0)``."""
        return _sigmoid(self.logit(novelty_score, expertise_level, viral_score))

    def as_dict(self) -> dict[str, float]:
        """JSON-ready weights, named after the features."""
        return {
            "intercept": self.intercept,
            "novelty_score": self.novelty,
            "expertise_level": self.expertise,
            "viral_score_over_100": self.viral,
        }


@dataclass(frozen=True)
class SimulatedPost:
    """One post of the demo: its content metadata, the outcome it earned and hidden latents."""

    arm: str
    hour: int
    content_type: str
    topic: str
    hook_type: str
    style: str
    length: str
    text: str
    quality_score: float
    novelty_score: float
    expertise_level: float
    impressions: int
    likes: int
    retweets: int
    replies: int
    bookmarks: int
    followers_gained: int
    viral_score: float
    #: Hidden: the expected rate and the drawn rate before rounding to counts.
    expected_rate: float = field(repr=False)
    drawn_rate: float = field(repr=False)

    @property
    def engagement_rate(self) -> float:
        """``(likes + retweets + replies) / impressions`` (0 without impressions), computed by
        the same function ingest uses."""
        return engagement_rate(
            impressions=self.impressions,
            likes=self.likes,
            retweets=self.retweets,
            replies=self.replies,
        )

    @property
    def success(self) -> bool:
        """What a bandit counts as a success: ``engagement_rate > SUCCESS_THRESHOLD``."""
        return self.engagement_rate > SUCCESS_THRESHOLD

    def content_fields(self) -> dict[str, Any]:
        """The body of ``PUT /v1/content/{decision_id}`` without ``posted_at``."""
        return {
            "decision_type": "post",
            "bandit_arm": self.arm,
            "content_type": self.content_type,
            "topic": self.topic,
            "hook_type": self.hook_type,
            "style": self.style,
            "length": self.length,
            "quality_score": self.quality_score,
            "novelty_score": self.novelty_score,
            "expertise_level": self.expertise_level,
            "text": self.text,
        }

    def outcome_fields(self) -> dict[str, Any]:
        """One outcome of ``POST /v1/outcomes`` without ``decision_id`` and ``collected_at``
        (ingest computes ``engagement_rate``)."""
        return {
            "impressions": self.impressions,
            "likes": self.likes,
            "retweets": self.retweets,
            "replies": self.replies,
            "bookmarks": self.bookmarks,
            "followers_gained": self.followers_gained,
            "viral_score": self.viral_score,
        }


@dataclass(frozen=True)
class SimItem:
    """A piece of content users react to; ``factors`` is its hidden topic mix."""

    content_type: str
    external_id: str
    text: str
    factors: tuple[float, ...] = field(repr=False)
    bias: float = field(repr=False)

    @property
    def key(self) -> str:
        """``{content_type}#{external_id}``, as in the reactions table."""
        return f"{self.content_type}#{self.external_id}"


@dataclass(frozen=True)
class SimUser:
    """A simulated user; everything but ``user_id`` is hidden."""

    user_id: str
    factors: tuple[float, ...] = field(repr=False)
    activity: float = field(repr=False)
    type_affinity: dict[str, float] = field(repr=False)


@dataclass(frozen=True, eq=False)
class World:
    """The simulated population and its hidden truth; build one with :meth:`generate`."""

    seed: int | None
    arms: tuple[str, ...]
    success_probabilities: dict[str, float]
    quality_means: dict[str, float]
    peak_hour: int
    hour_multiplier: tuple[float, ...]
    engagement: EngagementTruth
    follow_through: FollowThroughTruth
    users: tuple[SimUser, ...] = field(repr=False)
    items: tuple[SimItem, ...] = field(repr=False)
    #: ``arm -> 24 success probabilities``, one per posting hour (UTC).
    success_by_hour: dict[str, tuple[float, ...]] = field(repr=False)
    _users_by_id: dict[str, SimUser] = field(repr=False, init=False)
    _items_by_key: dict[str, SimItem] = field(repr=False, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_users_by_id", {u.user_id: u for u in self.users})
        object.__setattr__(self, "_items_by_key", {i.key: i for i in self.items})

    # --- construction ---------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        *,
        seed: int | np.random.Generator | None = 0,
        n_arms: int = 6,
        n_users: int = 200,
        n_items_per_type: int = 30,
        success_probabilities: Sequence[float] | None = None,
    ) -> World:
        """Draw a world's hidden truth.

        Parameters
        ----------
        seed
            An int (or a Generator) that fixes everything hidden; the same seed gives the same
            world.
        n_arms
            How many hook arms, 2 to 8.
        n_users, n_items_per_type
            Size of the reacting population and of each content type's catalogue.
        success_probabilities
            Each arm's hidden success probability, in arm order, with a single maximum.
            By default one arm (chosen by the seed) has 0.55 and the others 0.40 ... 0.15.

        Returns
        -------
        World

        Raises
        ------
        SimulationError
            When the sizes are out of range, the best arm is not unique, or a probability is
            out of the range quality can reach.

        Examples
        --------
        >>> world = World.generate(seed=3, n_arms=3, success_probabilities=[0.2, 0.5, 0.3])
        >>> world.oracle_arm, round(world.expected_success("hook:story"), 3)
        ('hook:stat', 0.3)
        """
        if not 2 <= n_arms <= len(ARM_HOOKS):
            raise SimulationError(f"n_arms must be between 2 and {len(ARM_HOOKS)}, got {n_arms}")
        if n_users < 1 or n_items_per_type < 1:
            raise SimulationError("n_users and n_items_per_type must be at least 1")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        arms = tuple(f"hook:{hook}" for hook in ARM_HOOKS[:n_arms])

        if success_probabilities is None:
            targets = [_BEST_P, *np.linspace(*_OTHER_P, n_arms - 1).tolist()]
            order = rng.permutation(n_arms)
            probabilities = [float(targets[order[i]]) for i in range(n_arms)]
        else:
            probabilities = [float(p) for p in success_probabilities]
            if len(probabilities) != n_arms:
                raise SimulationError(
                    f"success_probabilities needs {n_arms} values, got {len(probabilities)}"
                )
        if probabilities.count(max(probabilities)) != 1:
            raise SimulationError("exactly one arm must have the highest success probability")

        peak_hour = int(rng.integers(8, 22))
        bump = _hour_bump(peak_hour)
        engagement = EngagementTruth.default(peak_hour=peak_hour)
        means, by_hour = _calibrate(engagement, probabilities)
        users, items = _population(rng, n_users=n_users, n_items_per_type=n_items_per_type)
        return cls(
            seed=None if isinstance(seed, np.random.Generator) else seed,
            arms=arms,
            success_probabilities=dict(zip(arms, probabilities, strict=True)),
            quality_means=dict(zip(arms, means, strict=True)),
            peak_hour=peak_hour,
            hour_multiplier=tuple(1.0 + _HOUR_REACH_EFFECT * b for b in bump),
            engagement=engagement,
            follow_through=FollowThroughTruth(),
            users=users,
            items=items,
            success_by_hour=dict(zip(arms, by_hour, strict=True)),
        )

    def shifted(
        self,
        *,
        seed: int | np.random.Generator | None = 0,
        quality_slope: float = _SHIFTED_QUALITY_SLOPE,
        success_probabilities: Sequence[float] | None = None,
    ) -> World:
        """The world after its hidden truth shifts: the post-shift regime.

        The people, the items, the posting hours and follow-through stay as they are. Two things
        change: the arms' success probabilities are permuted so that another arm becomes the
        best and the old best lands in the middle (by default), and the engagement rate's slope
        in ``quality_score`` becomes ``quality_slope``. Quality means are solved again, as in
        :meth:`generate`, so each arm's success probability is exactly its new value.

        Parameters
        ----------
        seed
            Fixes which arm becomes the best and how the others are reshuffled.
        quality_slope
            ``b_q`` after the shift (0.05 before, by default).
        success_probabilities
            The new probabilities in arm order (a single maximum, not on the old best arm);
            by default a permutation of the current ones: the old best takes the median of the
            others' values, an arm drawn from ``seed`` takes the maximum, the rest are shuffled.

        Returns
        -------
        World
            A new world; this one is unchanged.

        Raises
        ------
        SimulationError
            When the given probabilities do not have one maximum on another arm than the old
            best, or a probability is out of the range quality can reach.

        Examples
        --------
        >>> world = World.generate(seed=7)
        >>> after = world.shifted(seed=8)
        >>> after.oracle_arm != world.oracle_arm, after.engagement.quality
        (True, 0.09)
        >>> sorted(after.success_probabilities.values()) == sorted(
        ...     world.success_probabilities.values())
        True
        >>> round(after.expected_success(after.oracle_arm), 3)
        0.55
        """
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        old_best = self.oracle_arm
        if success_probabilities is None:
            values = sorted(self.success_probabilities.values(), reverse=True)
            others = values[1:]
            middle = others[(len(others) - 1) // 2]  # the old best becomes mediocre
            rest = [v for i, v in enumerate(others) if i != (len(others) - 1) // 2]
            candidates = [arm for arm in self.arms if arm != old_best]
            new_best = candidates[int(rng.integers(len(candidates)))]
            remaining = [arm for arm in candidates if arm != new_best]
            shuffled = [rest[i] for i in rng.permutation(len(rest))]
            targets = {old_best: middle, new_best: values[0]} | dict(
                zip(remaining, shuffled, strict=True)
            )
            probabilities = [targets[arm] for arm in self.arms]
        else:
            probabilities = [float(p) for p in success_probabilities]
            if len(probabilities) != len(self.arms):
                raise SimulationError(
                    f"success_probabilities needs {len(self.arms)} values, got {len(probabilities)}"
                )
        top = max(probabilities)
        if probabilities.count(top) != 1 or self.arms[probabilities.index(top)] == old_best:
            raise SimulationError(
                "exactly one arm, not the old best, must have the highest success probability"
            )
        engagement = replace(self.engagement, quality=float(quality_slope))
        means, by_hour = _calibrate(engagement, probabilities)
        return World(
            seed=self.seed,
            arms=self.arms,
            success_probabilities=dict(zip(self.arms, probabilities, strict=True)),
            quality_means=dict(zip(self.arms, means, strict=True)),
            peak_hour=self.peak_hour,
            hour_multiplier=self.hour_multiplier,
            engagement=engagement,
            follow_through=self.follow_through,
            users=self.users,
            items=self.items,
            success_by_hour=dict(zip(self.arms, by_hour, strict=True)),
        )

    # --- the bandit's truth ---------------------------------------------------------------------

    @property
    def oracle_arm(self) -> str:
        """The arm with the highest success probability (at every hour)."""
        return max(self.arms, key=lambda arm: self.success_probabilities[arm])

    @property
    def best_hours(self) -> tuple[int, ...]:
        """The posting hours (UTC) that stand out: the peak and its two neighbours."""
        return tuple(sorted((self.peak_hour + d) % 24 for d in (-1, 0, 1)))

    def expected_success(self, arm: str, hour: int | None = None) -> float:
        """The probability that a post of ``arm`` succeeds (``engagement_rate > 0.03``).

        Parameters
        ----------
        arm
            One of :attr:`arms`.
        hour
            The posting hour (UTC); ``None`` averages over the 24 hours, which is the arm's
            hidden success probability.

        Returns
        -------
        float

        Raises
        ------
        SimulationError
            For an unknown arm or hour.

        Examples
        --------
        >>> world = World.generate(seed=7)
        >>> p = world.expected_success(world.oracle_arm, world.peak_hour)
        >>> p > world.expected_success(world.oracle_arm)
        True
        """
        by_hour = self.success_by_hour[self._arm(arm)]
        if hour is None:
            return float(np.mean(by_hour))
        return by_hour[self._hour(hour)]

    def regret(self, arm: str, hour: int | None = None) -> float:
        """Expected successes lost by posting ``arm`` instead of the oracle arm.

        Examples
        --------
        >>> world = World.generate(seed=7)
        >>> world.regret(world.oracle_arm)
        0.0
        """
        return self.expected_success(self.oracle_arm, hour) - self.expected_success(arm, hour)

    def random_policy_success(self, hour: int | None = None) -> float:
        """Expected success of a post whose arm is drawn uniformly at random.

        Examples
        --------
        >>> world = World.generate(seed=7)
        >>> round(world.random_policy_success(), 3)
        0.321
        """
        return float(np.mean([self.expected_success(arm, hour) for arm in self.arms]))

    def post(self, arm: str, hour: int, rng: np.random.Generator) -> SimulatedPost:
        """Publish one post of ``arm`` at ``hour`` and draw the engagement it earns.

        Parameters
        ----------
        arm
            One of :attr:`arms`.
        hour
            The posting hour, 0 to 23 (UTC).
        rng
            The generator every draw of this post comes from.

        Returns
        -------
        SimulatedPost

        Raises
        ------
        SimulationError
            For an unknown arm or hour.

        Examples
        --------
        >>> import numpy as np
        >>> world = World.generate(seed=7)
        >>> post = world.post("hook:stat", 9, np.random.default_rng(0))
        >>> post.hook_type, post.length == length_bucket(post.text), 0 <= post.quality_score <= 1
        ('stat', True, True)
        """
        arm, hour = self._arm(arm), self._hour(hour)
        truth = self.engagement
        content_type = CONTENT_TYPES[int(rng.choice(len(CONTENT_TYPES), p=_CONTENT_TYPE_MIX))]
        length = LENGTHS[int(rng.choice(len(LENGTHS), p=_LENGTH_MIX))]
        topic = POST_TOPICS[int(rng.integers(len(POST_TOPICS)))]
        style = STYLES[int(rng.integers(len(STYLES)))]
        quality = round(float(np.clip(rng.normal(self.quality_means[arm], _QUALITY_SD), 0, 1)), 4)

        expected = truth.mean_rate(quality, content_type, length, hour)
        drawn = float(np.clip(expected + rng.normal(0.0, truth.noise_sd), 0.0, 1.0))
        impressions = max(
            _MIN_IMPRESSIONS,
            round(
                float(
                    rng.lognormal(
                        math.log(_IMPRESSIONS_MEDIAN * self.hour_multiplier[hour]),
                        _IMPRESSIONS_SIGMA,
                    )
                )
            ),
        )
        # Round away from the threshold so the post succeeds exactly when its drawn rate does.
        scaled = drawn * impressions
        engaged = math.ceil(scaled) if drawn > SUCCESS_THRESHOLD else math.floor(scaled)
        engaged = min(engaged, impressions)
        likes, retweets, replies = (int(n) for n in rng.multinomial(engaged, _ENGAGED_SPLIT))
        rate = engaged / impressions
        bookmarks = int(rng.binomial(impressions, min(1.0, 0.15 * rate)))
        viral = 100.0 * (1.0 - math.exp(-rate / 0.04)) + rng.normal(0.0, 6.0)
        viral_score = round(float(np.clip(viral, 0.0, 100.0)), 1)

        novelty = round(float(rng.beta(2.0, 2.0)), 4)
        expertise = round(float(rng.beta(2.0, 3.0)), 4)
        followed = rng.random() < self.follow_through.probability(novelty, expertise, viral_score)
        followers = 1 + int(rng.poisson(2.0 + 8.0 * viral_score / 100.0)) if followed else 0

        hook = arm.split(":", 1)[1]
        return SimulatedPost(
            arm=arm,
            hour=hour,
            content_type=content_type,
            topic=topic,
            hook_type=hook,
            style=style,
            length=length,
            text=_post_text(hook, topic, length, rng),
            quality_score=quality,
            novelty_score=novelty,
            expertise_level=expertise,
            impressions=impressions,
            likes=likes,
            retweets=retweets,
            replies=replies,
            bookmarks=bookmarks,
            followers_gained=followers,
            viral_score=viral_score,
            expected_rate=expected,
            drawn_rate=drawn,
        )

    # --- users and reactions --------------------------------------------------------------------

    def user(self, user_id: str) -> SimUser:
        """The user ``user_id``; raises :class:`SimulationError` when unknown."""
        try:
            return self._users_by_id[user_id]
        except KeyError:
            raise SimulationError(f"unknown user {user_id!r}") from None

    def item(self, content_type: str, external_id: str) -> SimItem:
        """The item ``content_type/external_id``; raises :class:`SimulationError` when unknown."""
        try:
            return self._items_by_key[f"{content_type}#{external_id}"]
        except KeyError:
            raise SimulationError(f"unknown item {content_type}/{external_id}") from None

    def items_of(self, content_type: str) -> tuple[SimItem, ...]:
        """Every item of one content type, in id order."""
        return tuple(i for i in self.items if i.content_type == content_type)

    def reaction_probability(self, user: SimUser | str, item: SimItem) -> float:
        """``P(the user reacts at all)`` when shown ``item``."""
        user = self.user(user) if isinstance(user, str) else user
        return _sigmoid(-1.0 + user.activity + user.type_affinity[item.content_type])

    def like_probability(self, user: SimUser | str, item: SimItem) -> float:
        """``P(like | the user reacts to item)``: the hidden preference.

        Examples
        --------
        >>> world = World.generate(seed=7)
        >>> 0.0 < world.like_probability("user-0000", world.items[0]) < 1.0
        True
        """
        user = self.user(user) if isinstance(user, str) else user
        affinity = float(np.dot(user.factors, item.factors))
        return _sigmoid(2.0 * affinity + item.bias + 0.5 * user.type_affinity[item.content_type])

    def react(self, user: SimUser | str, item: SimItem, rng: np.random.Generator) -> str | None:
        """What ``user`` does when shown ``item``: ``"like"``, ``"dislike"`` or ``None``.

        Examples
        --------
        >>> import numpy as np
        >>> world = World.generate(seed=7)
        >>> world.react("user-0001", world.items[3], np.random.default_rng(0)) in (
        ...     "like", "dislike", None)
        True
        """
        if rng.random() >= self.reaction_probability(user, item):
            return None
        return "like" if rng.random() < self.like_probability(user, item) else "dislike"

    def true_top_items(
        self,
        user: SimUser | str,
        k: int = 10,
        *,
        exclude: Sequence[str] = (),
        content_type: str | None = None,
    ) -> list[SimItem]:
        """The ``k`` items the user most likely likes (the ideal recommendation list).

        ``exclude`` holds item keys (``{content_type}#{external_id}``) to leave out, e.g. what
        the user already reacted to; ties break by key.
        """
        excluded = set(exclude)
        candidates = [
            i
            for i in self.items
            if i.key not in excluded and (content_type is None or i.content_type == content_type)
        ]
        candidates.sort(key=lambda i: (-self.like_probability(user, i), i.key))
        return candidates[:k]

    def hidden_truth(self) -> dict[str, Any]:
        """Everything hidden about posts, JSON-ready (for the demo's ``summary.json``).

        Examples
        --------
        >>> truth = World.generate(seed=7).hidden_truth()
        >>> sorted(truth)[:3]
        ['arms', 'best_hours', 'engagement']
        """
        return {
            "seed": self.seed,
            "success_threshold": SUCCESS_THRESHOLD,
            "arms": {
                arm: {
                    "success_probability": round(self.success_probabilities[arm], 6),
                    "quality_mean": round(self.quality_means[arm], 6),
                }
                for arm in self.arms
            },
            "oracle_arm": self.oracle_arm,
            "peak_hour": self.peak_hour,
            "best_hours": list(self.best_hours),
            "hour_multiplier": [round(m, 6) for m in self.hour_multiplier],
            "engagement": self.engagement.as_dict(),
            "follow_through": self.follow_through.as_dict(),
            "users": len(self.users),
            "items": len(self.items),
        }

    # --- validation -----------------------------------------------------------------------------

    def _arm(self, arm: str) -> str:
        if arm not in self.success_probabilities:
            raise SimulationError(f"unknown arm {arm!r}; arms are {', '.join(self.arms)}")
        return arm

    @staticmethod
    def _hour(hour: int) -> int:
        if isinstance(hour, bool) or not isinstance(hour, int | np.integer) or not 0 <= hour < 24:
            raise SimulationError(f"hour must be an integer in 0..23, got {hour!r}")
        return int(hour)


# --- hidden-truth construction --------------------------------------------------------------------


def _hour_bump(peak_hour: int) -> list[float]:
    bump = []
    for hour in range(24):
        distance = min((hour - peak_hour) % 24, (peak_hour - hour) % 24)
        bump.append(math.exp(-(distance**2) / 2.0))
    return bump


def _simpson_weights(n: int) -> np.ndarray:
    weights = np.ones(n)
    weights[1:-1:2] = 4.0
    weights[2:-1:2] = 2.0
    return weights / (3.0 * (n - 1))


def _success_given_quality(truth: EngagementTruth) -> np.ndarray:
    """``P(rate > threshold | quality = x, hour)`` on the quadrature grid, averaged over content
    type and length: shape ``(24, grid)``."""
    grid = np.linspace(0.0, 1.0, _GRID)
    offsets, weights = [], []
    for ct, p_ct in zip(CONTENT_TYPES, _CONTENT_TYPE_MIX, strict=True):
        for length, p_len in zip(LENGTHS, _LENGTH_MIX, strict=True):
            offsets.append(truth.intercept + truth.content_type[ct] + truth.length[length])
            weights.append(p_ct * p_len)
    base = np.asarray(offsets)[:, None] + np.asarray(truth.hour)[None, :]  # (12, 24)
    given_q = _normal_cdf(
        (base[:, :, None] + truth.quality * grid[None, None, :] - SUCCESS_THRESHOLD)
        / truth.noise_sd
    )
    return np.einsum("c,chg->hg", np.asarray(weights), given_q)


def _success_curves(given_q: np.ndarray, means: np.ndarray) -> np.ndarray:
    """``P(rate > threshold)`` per hour for quality means ``means``: shape ``(len(means), 24)``,
    integrating over ``quality = clip(Normal(mean, sd), 0, 1)`` (Simpson's rule inside, the
    clipped tails as point masses at 0 and 1)."""
    grid = np.linspace(0.0, 1.0, _GRID)
    z = (grid[None, :] - means[:, None]) / _QUALITY_SD
    density = np.exp(-0.5 * z**2) / (_QUALITY_SD * math.sqrt(2.0 * math.pi))
    inside = (density * _simpson_weights(_GRID)[None, :]) @ given_q.T
    at_zero = _normal_cdf(-means / _QUALITY_SD)
    at_one = _normal_cdf((means - 1.0) / _QUALITY_SD)
    return inside + at_zero[:, None] * given_q[None, :, 0] + at_one[:, None] * given_q[None, :, -1]


def _calibrate(
    truth: EngagementTruth, probabilities: Sequence[float]
) -> tuple[list[float], list[tuple[float, ...]]]:
    """Quality means whose 24-hour average success probability hits each target (bisection:
    success is increasing in the mean)."""
    given_q = _success_given_quality(truth)
    targets = np.asarray(probabilities, dtype=float)
    low, high = np.full(len(targets), -1.0), np.full(len(targets), 2.0)
    reachable = _success_curves(given_q, np.array([-1.0, 2.0])).mean(axis=1)
    bad = [float(p) for p in targets if not reachable[0] + 1e-3 < p < reachable[1] - 1e-3]
    if bad:
        raise SimulationError(
            f"success probabilities must be in ({reachable[0]:.3f}, {reachable[1]:.3f}), got {bad}"
        )
    for _ in range(60):
        middle = (low + high) / 2.0
        too_low = _success_curves(given_q, middle).mean(axis=1) < targets
        low, high = np.where(too_low, middle, low), np.where(too_low, high, middle)
    means = (low + high) / 2.0
    curves = _success_curves(given_q, means)
    return [float(m) for m in means], [tuple(float(p) for p in row) for row in curves]


def _population(
    rng: np.random.Generator, *, n_users: int, n_items_per_type: int
) -> tuple[tuple[SimUser, ...], tuple[SimItem, ...]]:
    k = len(ITEM_TOPICS)
    items: list[SimItem] = []
    for content_type in REACTION_CONTENT_TYPES:
        for index in range(n_items_per_type):
            factors = rng.dirichlet(np.full(k, 0.4))
            items.append(
                SimItem(
                    content_type=content_type,
                    external_id=_external_id(content_type, index),
                    text=_item_text(content_type, factors, rng),
                    factors=tuple(round(float(f), 6) for f in factors),
                    bias=round(float(rng.normal(0.0, 0.5)), 6),
                )
            )
    users = tuple(
        SimUser(
            user_id=f"user-{index:04d}",
            factors=tuple(round(float(f), 6) for f in rng.normal(0.0, 1.5, size=k)),
            activity=round(float(rng.normal(0.0, 0.5)), 6),
            type_affinity={
                ct: round(float(a), 6)
                for ct, a in zip(
                    REACTION_CONTENT_TYPES,
                    rng.normal(0.0, 1.0, size=len(REACTION_CONTENT_TYPES)),
                    strict=True,
                )
            },
        )
        for index in range(n_users)
    )
    return users, tuple(items)


def _external_id(content_type: str, index: int) -> str:
    if content_type == "coin":
        return _COINS[index] if index < len(_COINS) else f"COIN{index:03d}"
    prefix = {"ai_insight": "insight"}.get(content_type, content_type)
    return f"{prefix}-{index:03d}"


def _item_text(content_type: str, factors: np.ndarray, rng: np.random.Generator) -> str:
    topics = rng.choice(len(ITEM_TOPICS), size=6, p=factors / factors.sum())
    words = [
        _TOPIC_WORDS[ITEM_TOPICS[t]][int(rng.integers(len(_TOPIC_WORDS[ITEM_TOPICS[t]])))]
        for t in topics
    ]
    lead = {"meme": "meme:", "news": "news:", "coin": "coin:", "ai_insight": "insight:"}
    return f"{lead[content_type]} {' '.join(words)}"


def _post_text(hook: str, topic: str, length: str, rng: np.random.Generator) -> str:
    low, high = LENGTH_CHARS[length]
    text = _HOOK_OPENERS[hook].format(topic=topic, n=int(rng.integers(3, 10)))
    target = int(rng.integers(low, high + 1))
    while len(text) < target:
        word = _FILLER[int(rng.integers(len(_FILLER)))]
        if len(text) + 1 + len(word) > high:
            break
        text = f"{text} {word}"
    while len(text) < low:  # a long opener word can stop the loop early: pad deterministically
        text = f"{text} data"
    return text[:high]

"""One frozen settings object, built from the environment in one place.

Nothing here runs at import time: call :func:`get_settings` (cached) or
:meth:`Settings.from_env` with an explicit mapping in tests.

Examples
--------
>>> s = Settings.from_env({"LEARNLOOP_STAGE": "test", "LEARNLOOP_BUCKET": "b"})
>>> s.table_name("reactions")
'learnloop-test-reactions'
>>> s.content_types
('meme', 'news', 'coin', 'ai_insight')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from learnloop.exceptions import ConfigurationError

DEFAULT_CONTENT_TYPES = ("meme", "news", "coin", "ai_insight")
#: Text sentiment aggregation: how much each source's mean counts (renormalised over the
#: sources present in a window).
DEFAULT_SENTIMENT_SOURCE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("news", 0.4),
    ("twitter", 0.3),
    ("reddit", 0.2),
    ("telegram", 0.1),
)
#: A placeholder secret that only local runs may use; `require_real_secret` rejects it.
LOCAL_PSEUDONYM_SECRET = "learnloop-local-not-a-secret"


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, positive: bool = False) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if positive and not value > 0:
        raise ConfigurationError(f"{name} must be positive")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise ConfigurationError(f"{name} must be on or off, got {raw!r}")


DECISION_SINKS = ("table", "stdout", "spool")


def _decision_sink(env: Mapping[str, str]) -> str:
    sink = (env.get("LEARNLOOP_DECISION_SINK") or "table").strip().lower()
    if sink not in DECISION_SINKS:
        raise ConfigurationError(f"LEARNLOOP_DECISION_SINK must be one of {DECISION_SINKS}")
    if sink == "spool" and not env.get("LEARNLOOP_DECISION_SPOOL_DIR"):
        raise ConfigurationError("LEARNLOOP_DECISION_SINK=spool needs LEARNLOOP_DECISION_SPOOL_DIR")
    return sink


#: ``LEARNLOOP_RECOMMEND_EXCLUDE``: every interaction, or likes and dislikes only.
RECOMMEND_EXCLUDE_MODES = ("all", "reactions")


def _recommend_exclude(env: Mapping[str, str]) -> str:
    mode = (env.get("LEARNLOOP_RECOMMEND_EXCLUDE") or "all").strip().lower()
    if mode not in RECOMMEND_EXCLUDE_MODES:
        raise ConfigurationError(
            f"LEARNLOOP_RECOMMEND_EXCLUDE must be one of {RECOMMEND_EXCLUDE_MODES}"
        )
    return mode


def _probability(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{name} must be in [0, 1]")
    return value


#: What registration may do with a version that passed its checks (``LEARNLOOP_PROMOTION_POLICY``).
PROMOTION_POLICIES = ("not_worse", "always", "never")


def _policy(env: Mapping[str, str]) -> str:
    raw = env.get("LEARNLOOP_PROMOTION_POLICY") or "not_worse"
    if raw not in PROMOTION_POLICIES:
        raise ConfigurationError(
            f"LEARNLOOP_PROMOTION_POLICY must be one of {', '.join(PROMOTION_POLICIES)}, "
            f"got {raw!r}"
        )
    return raw


def _rate(env: Mapping[str, str], scope: str) -> float:
    name = f"LEARNLOOP_RATE_LIMIT_{scope.upper()}_PER_SECOND"
    return _float(env, name, RATE_LIMIT_DEFAULTS[scope][0])


def _burst(env: Mapping[str, str], scope: str) -> int:
    name = f"LEARNLOOP_RATE_LIMIT_{scope.upper()}_BURST"
    return _int(env, name, RATE_LIMIT_DEFAULTS[scope][1], minimum=1)


def _weights(env: Mapping[str, str], name: str) -> tuple[tuple[str, float], ...]:
    """``news=0.4,twitter=0.3`` → ``(("news", 0.4), ("twitter", 0.3))``; weights >= 0.

    Examples
    --------
    >>> _weights({"W": "news=0.5, reddit=0.5"}, "W")
    (('news', 0.5), ('reddit', 0.5))
    >>> _weights({}, "W") == DEFAULT_SENTIMENT_SOURCE_WEIGHTS
    True
    """
    raw = env.get(name, "").strip()
    if not raw:
        return DEFAULT_SENTIMENT_SOURCE_WEIGHTS
    pairs: dict[str, float] = {}
    for part in _split(raw):
        source, sep, value = part.partition("=")
        try:
            weight = float(value) if sep and source.strip() else float("nan")
        except ValueError:
            weight = float("nan")
        if not weight >= 0 or weight == float("inf"):
            raise ConfigurationError(f"{name} takes source=weight pairs (>= 0), got {part!r}")
        pairs[source.strip().lower()] = weight
    return tuple(pairs.items())


def _aliases(env: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    """``XBT-USD=BTC,wbtc-usd=btc`` → ``(("XBT-USD", "BTC"), ("WBTC-USD", "BTC"))`` (upper-cased).

    Examples
    --------
    >>> _aliases({"A": "xbt-usd=btc, WBTC-USD = BTC"}, "A")
    (('XBT-USD', 'BTC'), ('WBTC-USD', 'BTC'))
    >>> _aliases({}, "A")
    ()
    """
    pairs: dict[str, str] = {}
    for part in _split(env.get(name, "")):
        pair, sep, symbol = (p.strip().upper() for p in part.partition("="))
        if not (sep and pair and symbol) or "=" in symbol:
            raise ConfigurationError(f"{name} takes PAIR=SYMBOL pairs, got {part!r}")
        pairs[pair] = symbol
    return tuple(pairs.items())


#: Scope → (requests per second, burst) unless the environment says otherwise.
RATE_LIMIT_DEFAULTS: dict[str, tuple[float, int]] = {
    "ingest": (200.0, 2000),
    "read": (200.0, 2000),
    "admin": (20.0, 200),
}


@dataclass(frozen=True)
class Settings:
    """Everything that differs between local, LocalStack and AWS.

    Only endpoints and names differ between targets; code never asks "am I local".
    """

    stage: str = "dev"
    region: str = "us-east-1"
    table_prefix: str = "learnloop-dev-"
    bucket: str = "learnloop-dev"
    #: ``None`` means the SDK's own resolution (real AWS, or botocore's ``AWS_ENDPOINT_URL``).
    endpoint_url: str | None = None
    pseudonym_secret: str = LOCAL_PSEUDONYM_SECRET
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    #: Day partitions are split into this many shards so one busy day is not one hot key.
    day_shards: int = 4
    #: Raw analytics events expire after this many days (DynamoDB TTL); 0 keeps them forever.
    events_retention_days: int = 400
    max_body_bytes: int = 1_048_576
    max_batch_events: int = 500
    #: Seconds an API-key lookup is trusted before it is read again (revocation delay).
    auth_cache_seconds: float = 30.0
    #: Seconds a serving container trusts its production model before re-reading the alias.
    model_check_seconds: float = 30.0
    #: Seconds the SDK waits for one DynamoDB response. An emulator builds a full page of a big
    #: table slowly (moto: about 1 ms an item), so local runs over large tables raise it.
    read_timeout_seconds: float = 30.0
    #: Seconds a serving container reuses the bandit arms it read.
    arms_cache_seconds: float = 5.0
    success_threshold: float = 0.03
    min_training_rows: int = 50
    #: ``learn`` re-reads outcomes received this many seconds before its watermark, in case a
    #: write was still in flight when it last read (the ledger skips what was counted).
    learn_safety_margin_seconds: float = 60.0
    #: Predictors train on outcomes collected in the last this many days.
    training_window_days: int = 60
    #: Above this many rows a predictor or journal model trains out of core
    #: (:mod:`learnloop.predictors.streaming`: rows spooled to disk, exact sufficient
    #: statistics) instead of in memory; see docs/scale.md.
    streaming_training_rows: int = 250_000
    #: Per-day decay of the bandits' past statistics, in (0, 1]; 1 never forgets.
    bandit_discount: float = 1.0
    # --- decision log: every select / recommendations answer, with propensities ---
    #: Log decisions at all (``LEARNLOOP_DECISION_LOG=off`` stops it; answers keep an id).
    decision_log: bool = True
    #: Logged decisions and their feedback expire after this many days (DynamoDB TTL).
    decision_log_ttl_days: int = 30
    #: Where the request path hands a decision: ``table`` (BatchWriteItem before the answer:
    #: simple, a DynamoDB round trip per answer), ``stdout`` (one JSON line; CloudWatch Logs
    #: and its subscription filter carry it to ``on_decision_logs``) or ``spool`` (one line
    #: appended to a file of ``decision_spool_dir``; ``load_decisions`` drains it).
    decision_sink: str = "table"
    #: The ``spool`` sink's directory (the local runner sets ``.learnloop/decisions``).
    decision_spool_dir: str | None = None
    #: Monte Carlo draws behind a Thompson-sampling propensity (standard error
    #: sqrt(p (1 - p) / draws): at most 0.031 with 256).
    propensity_draws: int = 256
    #: UCB1 (timing) exploration: with this probability the hour is drawn uniformly instead.
    bandit_epsilon: float = 0.05
    #: Recommendations exploration: each slot shows a uniformly drawn item of the pool with
    #: this probability instead of the model's item at that rank.
    recommend_epsilon: float = 0.05
    #: Recommendations exploration pool: the items ranked just below the ``k`` shown (at least k).
    recommend_explore_pool: int = 20
    # --- drift_check: the recent window against each production predictor's training window ---
    #: The recent window: outcomes collected in the last this many days.
    drift_window_days: int = 7
    #: Fewer recent rows than this: the model is skipped, and the result says why.
    drift_min_rows: int = 50
    #: Quantile bins of a numeric feature's reference distribution (Population Stability Index).
    drift_bins: int = 10
    #: A feature whose PSI exceeds this alerts (0.1-0.2: moderate shift, > 0.2: significant).
    drift_psi_threshold: float = 0.2
    #: Engagement alerts when its recent R² is more than this below the validation R².
    drift_r2_tolerance: float = 0.1
    #: Follow-through alerts when its recent AUC is more than this below the validation AUC.
    drift_auc_tolerance: float = 0.05
    #: two_tower alerts when its recall@10 on recent likes is more than this below validation.
    drift_recall_tolerance: float = 0.1
    #: two_tower: fewer scored users than this (known users with a new like): skipped.
    drift_min_users: int = 20
    #: sentiment alerts when its predicted label mix is further than this (total variation
    #: distance, 0-1) from the training mix.
    drift_label_mix_threshold: float = 0.2
    #: A model retrained for drift is not retrained for drift again within this many hours.
    drift_retrain_cooldown_hours: float = 24.0
    #: Inputs the product's own policy sets (the timing bandit picks the posting hour): their
    #: PSI is reported but never alerts, since the shift is ours, not the world's. Accuracy
    #: checks still catch a model that the new mix of hours hurts.
    drift_policy_features: tuple[str, ...] = ("hour_sin", "hour_cos", "slot")
    #: EventBridge bus that gets ``learnloop.retrain.requested`` events; None: none are sent.
    event_bus_name: str | None = None
    # --- registration: champion and challenger scored on one evaluation set ---
    #: ``not_worse`` (on the common set, within the tolerance), ``always`` or ``never``.
    promotion_policy: str = "not_worse"
    #: A loss of the key metric up to this counts as a tie, and the newer version wins, so
    #: small random losses do not freeze the loop.
    promotion_tolerance: float = 0.01
    #: Production older than this is replaced by a newer version unless the newcomer is
    #: significantly worse (paired bootstrap: 95 % upper bound of the difference < -tolerance).
    max_production_age_days: float = 7.0
    #: Paired bootstrap resamples of the evaluation set's rows (seeded).
    promotion_bootstrap_resamples: int = 500
    #: A ``bandit_policy`` version is promoted when its off-policy lower bound beats the
    #: logged policy's mean reward by more than this (reward per decision).
    policy_promotion_margin: float = 0.0
    #: Bandit configurations ``evaluate_policies`` values every day (specs as for
    #: ``learnloop evaluate policy``; ``;``-separated in ``LEARNLOOP_POLICY_CANDIDATES``).
    policy_candidates: tuple[str, ...] = ()
    #: Days of the decision log ``evaluate_policies`` reads.
    policy_evaluation_days: int = 7
    #: A new ``two_tower`` version is valued on production's logged recommendations (IIPS)
    #: when at least this many usable ones exist; with fewer it is compared offline.
    recommender_ope_min_decisions: int = 200
    # --- privacy ---
    #: Seconds an ingest container trusts a user's consent / tombstone lookup (opt-out delay).
    consent_cache_seconds: float = 10.0
    #: ``GET /v1/admin/export``: answers up to this many bytes inline, larger via presigned URL.
    admin_export_inline_bytes: int = 1_000_000
    #: ``GET /v1/admin/export``: the longest date range, in days.
    admin_export_max_days: int = 92
    #: ``GET /v1/admin/export``: how long a presigned URL stays valid.
    admin_export_url_seconds: int = 3600
    #: ``DELETE /v1/users/{user_id}``: seconds (from the start of the call) the request spends
    #: rewriting stored exports, newest first; days not reached are left to ``privacy_purge``.
    deletion_sync_seconds: float = 10.0
    #: ``privacy_purge``: seconds one run spends rewriting exports (Lambda allows 900).
    privacy_purge_seconds: float = 600.0
    # --- rate limits: a token bucket per API key and route scope ---
    #: Sustained requests per second one key may make to routes of a scope; <= 0: no limit.
    rate_limit_ingest_per_second: float = 200.0
    #: Requests a key may make at once after being idle (the bucket's capacity).
    rate_limit_ingest_burst: int = 2000
    rate_limit_read_per_second: float = 200.0
    rate_limit_read_burst: int = 2000
    rate_limit_admin_per_second: float = 20.0
    rate_limit_admin_burst: int = 200
    # --- text sentiment aggregation (learnloop.sentiment.aggregate) ---
    #: ``(source, weight)`` pairs; ``LEARNLOOP_SENTIMENT_SOURCE_WEIGHTS=news=0.4,twitter=0.3``.
    sentiment_source_weights: tuple[tuple[str, float], ...] = DEFAULT_SENTIMENT_SOURCE_WEIGHTS
    #: The weight of a source not named above (``0`` leaves unknown sources out of the score;
    #: they still count in the volume).
    sentiment_unknown_source_weight: float = 0.1
    # --- trading journal: the insight quality score (see learnloop.journal.quality) ---
    #: Weight of the positive-feedback rate (the brief's formula: 0.4 / 0.3 / 0.3).
    insight_quality_feedback_weight: float = 0.4
    #: Weight of engagement: mean ``min(engagement_seconds / target, 1)`` over the feedback.
    insight_quality_engagement_weight: float = 0.3
    #: Weight of complexity match: ``1 - |complexity - user_level|``.
    insight_quality_complexity_weight: float = 0.3
    #: Seconds on an insight that count as full engagement (the engagement term's cap).
    insight_engagement_target_seconds: float = 60.0
    #: Reactions, events, outcomes and feedback dated further back than this are refused (422).
    max_event_age_days: int = 3650
    # --- symbols: candle pair → text sentiment symbol (see learnloop.symbols) ---
    #: ``(pair, symbol)`` overrides of the default rule; ``LEARNLOOP_SYMBOL_ALIASES=XBT-USD=BTC``.
    symbol_aliases: tuple[tuple[str, str], ...] = ()
    # --- recommendations serving: history reads, exclusion, approximate search ---
    #: Seconds a container trusts one read of a user's history (what recommendations leave
    #: out). A reaction or event written through another container is excluded within this
    #: long; the container that takes the write forgets the user's history at once. 0: no cache.
    recommend_history_seconds: float = 5.0
    #: What recommendations and similar items leave out for a user: ``all`` (every item they
    #: reacted to or named in an event) or ``reactions`` (liked and disliked items only).
    recommend_exclude: str = "all"
    #: The newest events of a user read to find the items they interacted with.
    recommend_history_events: int = 1000
    #: Approximate nearest neighbours (the version's IVF indexes) from this many rows (items or
    #: users) on; exact search below, and for versions published without an index.
    recommend_ann_min_rows: int = 50_000
    #: Inverted lists searched per query (faiss ``nprobe``): more recall, more time.
    recommend_ann_probes: int = 16
    # --- data quality (see learnloop.quality): a user-minute past one of these is flagged ---
    #: Distinct reactions one user may make in one minute (by when they reacted).
    quality_max_reactions_per_minute: int = 20
    #: Distinct events one user may send in one minute (by when they occurred).
    quality_max_events_per_minute: int = 120
    #: Rows of one user stamped with the very same instant (to the microsecond).
    quality_max_same_instant: int = 20
    #: Events of one user in one minute with the same type and properties under other ids.
    quality_max_duplicates_per_minute: int = 20
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``).

        Parameters
        ----------
        env
            The variables to read; tests pass a plain dict.

        Raises
        ------
        ConfigurationError
            When a value cannot be parsed.
        """
        env = os.environ if env is None else env
        stage = env.get("LEARNLOOP_STAGE", "dev")
        content_types = _split(env.get("LEARNLOOP_CONTENT_TYPES", "")) or DEFAULT_CONTENT_TYPES
        return cls(
            stage=stage,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            table_prefix=env.get("LEARNLOOP_TABLE_PREFIX", f"learnloop-{stage}-"),
            bucket=env.get("LEARNLOOP_BUCKET", f"learnloop-{stage}"),
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            pseudonym_secret=env.get("LEARNLOOP_PSEUDONYM_SECRET", LOCAL_PSEUDONYM_SECRET),
            content_types=content_types,
            day_shards=_int(env, "LEARNLOOP_DAY_SHARDS", 4, minimum=1),
            events_retention_days=_int(env, "LEARNLOOP_EVENTS_RETENTION_DAYS", 400),
            max_body_bytes=_int(env, "LEARNLOOP_MAX_BODY_BYTES", 1_048_576),
            max_batch_events=_int(env, "LEARNLOOP_MAX_BATCH_EVENTS", 500),
            auth_cache_seconds=_float(env, "LEARNLOOP_AUTH_CACHE_SECONDS", 30.0),
            model_check_seconds=_float(env, "LEARNLOOP_MODEL_CHECK_SECONDS", 30.0),
            arms_cache_seconds=_float(env, "LEARNLOOP_ARMS_CACHE_SECONDS", 5.0),
            read_timeout_seconds=_float(env, "LEARNLOOP_READ_TIMEOUT_SECONDS", 30.0, positive=True),
            success_threshold=_float(env, "LEARNLOOP_SUCCESS_THRESHOLD", 0.03),
            min_training_rows=_int(env, "LEARNLOOP_MIN_TRAINING_ROWS", 50),
            learn_safety_margin_seconds=_float(env, "LEARNLOOP_LEARN_SAFETY_MARGIN_SECONDS", 60.0),
            bandit_discount=_float(env, "LEARNLOOP_BANDIT_DISCOUNT", 1.0),
            decision_log=_flag(env, "LEARNLOOP_DECISION_LOG", True),
            decision_log_ttl_days=_int(env, "LEARNLOOP_DECISION_LOG_TTL_DAYS", 30, minimum=1),
            decision_sink=_decision_sink(env),
            decision_spool_dir=env.get("LEARNLOOP_DECISION_SPOOL_DIR") or None,
            propensity_draws=_int(env, "LEARNLOOP_PROPENSITY_DRAWS", 256, minimum=16),
            bandit_epsilon=_probability(env, "LEARNLOOP_BANDIT_EPSILON", 0.05),
            recommend_epsilon=_probability(env, "LEARNLOOP_RECOMMEND_EPSILON", 0.05),
            recommend_explore_pool=_int(env, "LEARNLOOP_RECOMMEND_EXPLORE_POOL", 20, minimum=1),
            training_window_days=_int(env, "LEARNLOOP_TRAINING_WINDOW_DAYS", 60),
            streaming_training_rows=_int(
                env, "LEARNLOOP_STREAMING_TRAINING_ROWS", 250_000, minimum=1
            ),
            drift_window_days=_int(env, "LEARNLOOP_DRIFT_WINDOW_DAYS", 7, minimum=1),
            drift_min_rows=_int(env, "LEARNLOOP_DRIFT_MIN_ROWS", 50),
            drift_bins=_int(env, "LEARNLOOP_DRIFT_BINS", 10, minimum=2),
            drift_psi_threshold=_float(env, "LEARNLOOP_DRIFT_PSI_THRESHOLD", 0.2),
            drift_r2_tolerance=_float(env, "LEARNLOOP_DRIFT_R2_TOLERANCE", 0.1),
            drift_auc_tolerance=_float(env, "LEARNLOOP_DRIFT_AUC_TOLERANCE", 0.05),
            drift_recall_tolerance=_float(env, "LEARNLOOP_DRIFT_RECALL_TOLERANCE", 0.1),
            drift_min_users=_int(env, "LEARNLOOP_DRIFT_MIN_USERS", 20, minimum=1),
            drift_label_mix_threshold=_float(env, "LEARNLOOP_DRIFT_LABEL_MIX_THRESHOLD", 0.2),
            drift_policy_features=_split(
                env.get("LEARNLOOP_DRIFT_POLICY_FEATURES", "hour_sin,hour_cos,slot")
            ),
            drift_retrain_cooldown_hours=_float(
                env, "LEARNLOOP_DRIFT_RETRAIN_COOLDOWN_HOURS", 24.0
            ),
            event_bus_name=env.get("LEARNLOOP_EVENT_BUS") or None,
            promotion_policy=_policy(env),
            promotion_tolerance=_float(env, "LEARNLOOP_PROMOTION_TOLERANCE", 0.01),
            max_production_age_days=_float(env, "LEARNLOOP_MAX_PRODUCTION_AGE_DAYS", 7.0),
            promotion_bootstrap_resamples=_int(
                env, "LEARNLOOP_PROMOTION_BOOTSTRAP_RESAMPLES", 500, minimum=1
            ),
            policy_promotion_margin=_float(env, "LEARNLOOP_POLICY_PROMOTION_MARGIN", 0.0),
            policy_candidates=tuple(
                spec.strip()
                for spec in env.get("LEARNLOOP_POLICY_CANDIDATES", "").split(";")
                if spec.strip()
            ),
            policy_evaluation_days=_int(env, "LEARNLOOP_POLICY_EVALUATION_DAYS", 7, minimum=1),
            recommender_ope_min_decisions=_int(
                env, "LEARNLOOP_RECOMMENDER_OPE_MIN_DECISIONS", 200, minimum=1
            ),
            consent_cache_seconds=_float(env, "LEARNLOOP_CONSENT_CACHE_SECONDS", 10.0),
            admin_export_inline_bytes=_int(env, "LEARNLOOP_ADMIN_EXPORT_INLINE_BYTES", 1_000_000),
            admin_export_max_days=_int(env, "LEARNLOOP_ADMIN_EXPORT_MAX_DAYS", 92),
            admin_export_url_seconds=_int(env, "LEARNLOOP_ADMIN_EXPORT_URL_SECONDS", 3600),
            deletion_sync_seconds=_float(env, "LEARNLOOP_DELETION_SYNC_SECONDS", 10.0),
            privacy_purge_seconds=_float(env, "LEARNLOOP_PRIVACY_PURGE_SECONDS", 600.0),
            rate_limit_ingest_per_second=_rate(env, "ingest"),
            rate_limit_ingest_burst=_burst(env, "ingest"),
            rate_limit_read_per_second=_rate(env, "read"),
            rate_limit_read_burst=_burst(env, "read"),
            rate_limit_admin_per_second=_rate(env, "admin"),
            rate_limit_admin_burst=_burst(env, "admin"),
            sentiment_source_weights=_weights(env, "LEARNLOOP_SENTIMENT_SOURCE_WEIGHTS"),
            sentiment_unknown_source_weight=_float(
                env, "LEARNLOOP_SENTIMENT_UNKNOWN_SOURCE_WEIGHT", 0.1
            ),
            insight_quality_feedback_weight=_probability(
                env, "LEARNLOOP_INSIGHT_QUALITY_FEEDBACK_WEIGHT", 0.4
            ),
            insight_quality_engagement_weight=_probability(
                env, "LEARNLOOP_INSIGHT_QUALITY_ENGAGEMENT_WEIGHT", 0.3
            ),
            insight_quality_complexity_weight=_probability(
                env, "LEARNLOOP_INSIGHT_QUALITY_COMPLEXITY_WEIGHT", 0.3
            ),
            insight_engagement_target_seconds=_float(
                env, "LEARNLOOP_INSIGHT_ENGAGEMENT_TARGET_SECONDS", 60.0, positive=True
            ),
            max_event_age_days=_int(env, "LEARNLOOP_MAX_EVENT_AGE_DAYS", 3650, minimum=1),
            symbol_aliases=_aliases(env, "LEARNLOOP_SYMBOL_ALIASES"),
            recommend_history_seconds=_float(env, "LEARNLOOP_RECOMMEND_HISTORY_SECONDS", 5.0),
            recommend_exclude=_recommend_exclude(env),
            recommend_history_events=_int(
                env, "LEARNLOOP_RECOMMEND_HISTORY_EVENTS", 1000, minimum=0
            ),
            recommend_ann_min_rows=_int(env, "LEARNLOOP_RECOMMEND_ANN_MIN_ROWS", 50_000, minimum=1),
            recommend_ann_probes=_int(env, "LEARNLOOP_RECOMMEND_ANN_PROBES", 16, minimum=1),
            quality_max_reactions_per_minute=_int(
                env, "LEARNLOOP_QUALITY_MAX_REACTIONS_PER_MINUTE", 20, minimum=1
            ),
            quality_max_events_per_minute=_int(
                env, "LEARNLOOP_QUALITY_MAX_EVENTS_PER_MINUTE", 120, minimum=1
            ),
            quality_max_same_instant=_int(env, "LEARNLOOP_QUALITY_MAX_SAME_INSTANT", 20, minimum=1),
            quality_max_duplicates_per_minute=_int(
                env, "LEARNLOOP_QUALITY_MAX_DUPLICATES_PER_MINUTE", 20, minimum=1
            ),
            extra={k: v for k, v in env.items() if k.startswith("LEARNLOOP_")},
        )

    def table_name(self, entity: str) -> str:
        """The physical DynamoDB table name of ``entity`` (e.g. ``"reactions"``)."""
        return f"{self.table_prefix}{entity}"

    def rate_limit(self, scope: str) -> tuple[float, int]:
        """``(requests per second, burst)`` of routes needing ``scope``; a rate <= 0: no limit.

        Examples
        --------
        >>> Settings().rate_limit("admin")
        (20.0, 200)
        """
        return (
            float(getattr(self, f"rate_limit_{scope}_per_second")),
            int(getattr(self, f"rate_limit_{scope}_burst")),
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests, the local runner)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use.

    Call ``get_settings.cache_clear()`` after changing the environment.
    """
    return Settings.from_env()

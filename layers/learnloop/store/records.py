"""PynamoDB models of every table, unbound to any stage.

A model here has no ``Meta.table_name``: :class:`learnloop.store.tables.Tables` binds each one
to a stage's table name and endpoint, so two stages (or two tests) never share a class.
"""

from __future__ import annotations

from typing import ClassVar

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


class BaseModel(Model):
    """A table of learnloop; ``entity`` is the table name without the stage prefix."""

    entity: ClassVar[str] = ""


# --- reactions ---------------------------------------------------------------------------------


class ReactionsByItem(GlobalSecondaryIndex["Reaction"]):
    """Who reacted to one piece of content."""

    class Meta:
        index_name = "by_item"
        projection = AllProjection()

    item_key = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)


class ReactionsByDay(GlobalSecondaryIndex["Reaction"]):
    """Reactions last changed on a day (sharded), for rollups and exports."""

    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day_shard = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class Reaction(BaseModel):
    """A user's like or dislike of one piece of content, upserted."""

    entity = "reactions"

    user_id = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True)
    content_type = UnicodeAttribute()
    external_id = UnicodeAttribute()
    reaction = UnicodeAttribute()
    content = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    day_shard = UnicodeAttribute()
    #: Why this row is kept out of rollups, sentiment and training (``"burst"``, ...; see
    #: :mod:`learnloop.quality`); absent on a usable row.
    quality = UnicodeAttribute(null=True)

    by_item = ReactionsByItem()
    by_day = ReactionsByDay()


# --- events ------------------------------------------------------------------------------------


class EventsByDay(GlobalSecondaryIndex["Event"]):
    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day_shard = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Event(BaseModel):
    """One analytics event; the range key ``{occurred_at}#{event_id}`` makes writes idempotent."""

    entity = "events"

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    received_at = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    properties = JSONAttribute(null=True)
    day_shard = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)
    #: As :attr:`Reaction.quality`.
    quality = UnicodeAttribute(null=True)

    by_day = EventsByDay()


# --- content and outcomes ----------------------------------------------------------------------


class ContentByDay(GlobalSecondaryIndex["Content"]):
    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day_shard = UnicodeAttribute(hash_key=True)
    posted_at = UnicodeAttribute(range_key=True)


class Content(BaseModel):
    """Metadata of one published decision (a post), keyed by the app's decision id."""

    entity = "content"

    decision_id = UnicodeAttribute(hash_key=True)
    content_type = UnicodeAttribute(null=True)
    decision_type = UnicodeAttribute(null=True)
    bandit_arm = UnicodeAttribute(null=True)
    topic = UnicodeAttribute(null=True)
    hook_type = UnicodeAttribute(null=True)
    style = UnicodeAttribute(null=True)
    length = UnicodeAttribute(null=True)
    quality_score = NumberAttribute(null=True)
    novelty_score = NumberAttribute(null=True)
    expertise_level = NumberAttribute(null=True)
    text = UnicodeAttribute(null=True)
    posted_at = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    day_shard = UnicodeAttribute()

    by_day = ContentByDay()


class OutcomesByDay(GlobalSecondaryIndex["Outcome"]):
    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day_shard = UnicodeAttribute(hash_key=True)
    collected_at = UnicodeAttribute(range_key=True)


class OutcomesByReceived(GlobalSecondaryIndex["Outcome"]):
    """Outcomes by when they arrived: how ``learn`` finds what is new since its watermark."""

    class Meta:
        index_name = "by_received"
        projection = AllProjection()

    received_shard = UnicodeAttribute(hash_key=True)
    received_at = UnicodeAttribute(range_key=True)


class Outcome(BaseModel):
    """The engagement one decision had earned when it was measured."""

    entity = "outcomes"

    decision_id = UnicodeAttribute(hash_key=True)
    collected_at = UnicodeAttribute(range_key=True)
    impressions = NumberAttribute()
    likes = NumberAttribute()
    retweets = NumberAttribute()
    replies = NumberAttribute()
    bookmarks = NumberAttribute()
    followers_gained = NumberAttribute()
    viral_score = NumberAttribute()
    engagement_rate = NumberAttribute()
    received_at = UnicodeAttribute()
    received_shard = UnicodeAttribute()
    day_shard = UnicodeAttribute()

    by_day = OutcomesByDay()
    by_received = OutcomesByReceived()


# --- insights ----------------------------------------------------------------------------------


class InsightsByDay(GlobalSecondaryIndex["Insight"]):
    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day_shard = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class InsightsByUser(GlobalSecondaryIndex["Insight"]):
    """Privacy: the insights a user owns and the feedback they gave, for deletion."""

    class Meta:
        index_name = "by_user"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)
    insight_id = UnicodeAttribute(range_key=True)


class Insight(BaseModel):
    """An AI insight (``record == "insight"``) or one user's feedback on it
    (``record == "feedback#{user_id}"``): one partition holds an insight and its feedback."""

    entity = "insights"

    insight_id = UnicodeAttribute(hash_key=True)
    record = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(null=True)
    insight_type = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    helpful = BooleanAttribute(null=True)
    properties = JSONAttribute(null=True)
    #: Insight items: the generator's confidence, the trade it is about, how advanced it is and
    #: how experienced its user is (both in [0, 1]; see :mod:`learnloop.journal.quality`).
    confidence = NumberAttribute(null=True)
    trade_id = UnicodeAttribute(null=True)
    complexity = NumberAttribute(null=True)
    user_level = NumberAttribute(null=True)
    #: Feedback items: the user's own words (length-capped, never exported), seconds spent on
    #: the insight, and which channel last set ``helpful`` (``route`` | ``event``).
    user_feedback = UnicodeAttribute(null=True)
    engagement_seconds = NumberAttribute(null=True)
    source = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    day_shard = UnicodeAttribute()

    by_day = InsightsByDay()
    by_user = InsightsByUser()


INSIGHT_RECORD = "insight"


def feedback_record(user_id: str) -> str:
    """The range key of ``user_id``'s feedback on an insight."""
    return f"feedback#{user_id}"


# --- trading journal -------------------------------------------------------------------------


class OccurrencesByDay(GlobalSecondaryIndex["PatternOccurrence"]):
    """A day's pattern occurrences (sharded): analytics and exports."""

    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day_shard = UnicodeAttribute(hash_key=True)
    detected_at = UnicodeAttribute(range_key=True)


class PatternOccurrence(BaseModel):
    """One detected behaviour pattern (revenge trading, FOMO, ...) of one user, keyed
    ``{detected_at}#{occurrence_id}`` so a user's occurrences read back in time order and the
    same occurrence written twice (a redelivered event) is one item.
    See :mod:`learnloop.journal.occurrences`."""

    entity = "pattern_occurrences"

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    occurrence_id = UnicodeAttribute()
    pattern_type = UnicodeAttribute()
    trade_id = UnicodeAttribute(null=True)
    severity = UnicodeAttribute(null=True)
    confidence = NumberAttribute(null=True)
    was_warned = BooleanAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    pnl = NumberAttribute(null=True)
    detected_at = UnicodeAttribute()
    #: ``event`` (from a ``pattern_detected`` event) or ``route`` (``POST /v1/journal/...``).
    source = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    day_shard = UnicodeAttribute()

    by_day = OccurrencesByDay()


# --- users and keys ----------------------------------------------------------------------------


class UsersByExclusion(GlobalSecondaryIndex["User"]):
    """Privacy (sparse): every excluded pseudonym, ``excluded`` = ``opted_out`` | ``deleted``;
    what exports and training leave out, read with two Queries, never a Scan."""

    class Meta:
        index_name = "by_exclusion"
        projection = KeysOnlyProjection()

    excluded = UnicodeAttribute(hash_key=True)
    pseudonym = UnicodeAttribute(range_key=True)


class User(BaseModel):
    """Consent state of one user, or a deletion tombstone.

    A user's item is keyed by their id; a tombstone by ``tombstone#{pseudonym}`` and holds no
    raw id (see :mod:`learnloop.users.consent` and :mod:`learnloop.users.tombstones`).
    """

    entity = "users"

    user_id = UnicodeAttribute(hash_key=True)
    consent = UnicodeAttribute(default="opted_in")
    updated_at = UnicodeAttribute()
    pseudonym = UnicodeAttribute(null=True)
    excluded = UnicodeAttribute(null=True)
    deleted_at = UnicodeAttribute(null=True)
    #: Tombstones: what the deletion removed, counts only.
    receipt = JSONAttribute(null=True)

    by_exclusion = UsersByExclusion()


class ApiKeysByName(GlobalSecondaryIndex["ApiKey"]):
    class Meta:
        index_name = "by_name"
        projection = KeysOnlyProjection()

    name = UnicodeAttribute(hash_key=True)


class ApiKey(BaseModel):
    """An API key, stored only as the SHA-256 of its secret."""

    entity = "api_keys"

    key_hash = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    scopes = UnicodeSetAttribute()
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)

    by_name = ApiKeysByName()


# --- learning state ----------------------------------------------------------------------------


class BanditArm(BaseModel):
    """The running statistics of one arm of one bandit (``scope``: ``content``, ``timing``).

    Every write is conditional on ``version`` (optimistic locking) and records the chunk it
    applies in ``applied_chunks``; see :mod:`learnloop.bandits.updates`.
    """

    entity = "bandit_arms"

    scope = UnicodeAttribute(hash_key=True)
    arm = UnicodeAttribute(range_key=True)
    successes = NumberAttribute(default=0)
    failures = NumberAttribute(default=0)
    pulls = NumberAttribute(default=0)
    reward_sum = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    #: The latest chunks of decisions folded in, so re-applying a chunk is a no-op.
    applied_chunks = ListAttribute(of=UnicodeAttribute, null=True)
    decayed_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


class LedgerPending(GlobalSecondaryIndex["LedgerEntry"]):
    """Sparse: only entries claimed but not yet applied carry ``pending_job``."""

    class Meta:
        index_name = "by_pending"
        projection = AllProjection()

    pending_job = UnicodeAttribute(hash_key=True)
    chunk = UnicodeAttribute(range_key=True)


class LedgerByUser(GlobalSecondaryIndex["LedgerEntry"]):
    """Privacy (sparse): entries that name a user carry ``user_id``; deletion Queries them."""

    class Meta:
        index_name = "by_user"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)


class LedgerEntry(BaseModel):
    """``{job}#{key}``: proof that a job already processed something, or a job's watermark."""

    entity = "ledger"

    key = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute()
    value = JSONAttribute(null=True)
    chunk = UnicodeAttribute(null=True)
    pending_job = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    #: Set on every entry whose key or value names a user, so deletion finds it (by_user).
    user_id = UnicodeAttribute(null=True)
    #: ``privacy_purge#{pseudonym}``: the ``exports/{date}/`` prefixes still to rewrite. A set,
    #: so queueing (ADD) and finishing (DELETE) a prefix are atomic and commute.
    pending_prefixes = UnicodeSetAttribute(null=True)

    by_pending = LedgerPending()
    by_user = LedgerByUser()


class DailyStats(BaseModel):
    """The rollup of one UTC day: aggregates, and the journal section's per-user rows under
    keyed pseudonyms (never a user id; deletion recomputes the days that name one)."""

    entity = "daily_stats"

    date = UnicodeAttribute(hash_key=True)
    stats = JSONAttribute()


class ModelRecord(BaseModel):
    """One item of a model's partition in the registry (see :mod:`learnloop.models.registry`).

    ``version`` is a model version (``YYYYMMDDTHHMMSSZ``; ``status`` candidate, production,
    archived or rejected), the production alias (``"@production"``: ``target``, ``s3_prefix``,
    ``lineage``), or a history entry (``"@history#{at}#{id}"``: ``action``, ``previous`` →
    ``target``, ``actor``, ``reason``). The partition ``name == "@names"`` indexes model names.
    """

    entity = "models"

    name = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute(default="candidate")
    s3_prefix = UnicodeAttribute(null=True)
    metrics = JSONAttribute(null=True)
    manifest = JSONAttribute(null=True)
    target = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    #: Who made the change an alias or history item records (``"registration"`` or a person).
    actor = UnicodeAttribute(null=True)
    #: ``promote`` or ``rollback`` (history items).
    action = UnicodeAttribute(null=True)
    #: The production version before ``target`` (alias and history items).
    previous = UnicodeAttribute(null=True)
    #: Earlier production versions, oldest first: where successive rollbacks go (alias item).
    lineage = ListAttribute(of=UnicodeAttribute, null=True)
    #: sha256 of the manifest a version was registered from: a redelivered drop is a no-op.
    manifest_sha256 = UnicodeAttribute(null=True)
    #: How registration compared the version with production (the set, both scores, the rule).
    comparison = JSONAttribute(null=True)
    #: The ``@evaluation`` item: the name's registered evaluation set and its history.
    evaluation = JSONAttribute(null=True)


# --- experiments -----------------------------------------------------------------------------


class ExperimentsByStatus(GlobalSecondaryIndex["Experiment"]):
    """Every experiment of one status: listing is three Queries (draft, running, stopped)."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    experiment_id = UnicodeAttribute(range_key=True)


class Experiment(BaseModel):
    """An A/B experiment: its variants and weights, status and goal (no per-user data).

    Assignment is a pure hash of (experiment_id, user_id), so nothing is stored per user;
    results are computed from the events table. Writes are conditional on ``version``.
    """

    entity = "experiments"

    experiment_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    #: ``[{"name": str, "weight": float}]``, control first, weights normalised to sum to 1.
    variants = JSONAttribute()
    #: ``draft`` | ``running`` | ``stopped``.
    status = UnicodeAttribute()
    #: The analytics event type that counts as a conversion.
    goal_event_type = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    stopped_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)

    by_status = ExperimentsByStatus()


# --- decisions -------------------------------------------------------------------------------


class DecisionsByDay(GlobalSecondaryIndex["DecisionRecord"]):
    """A day's decisions and the feedback on them (sharded): rollups, exports, evaluation."""

    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day_shard = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class DecisionsByUser(GlobalSecondaryIndex["DecisionRecord"]):
    """Privacy (sparse): the decisions and feedback of one pseudonym, for deletion."""

    class Meta:
        index_name = "by_user"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)


class DecisionRecord(BaseModel):
    """A logged decision (``record == "decision"``) or one piece of feedback on it
    (``record == "feedback#{type}#{item}"``): one partition holds a decision and its feedback,
    so joining them is one Query, and the same feedback delivered twice is one item.

    ``user_id`` is the user's keyed pseudonym (null for users who opted out or were deleted);
    see :mod:`learnloop.decisions.log`.
    """

    entity = "decisions"

    decision_id = UnicodeAttribute(hash_key=True)
    record = UnicodeAttribute(range_key=True)
    created_at = UnicodeAttribute()
    day_shard = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    #: ``bandit`` | ``recommendations`` (decision items).
    surface = UnicodeAttribute(null=True)
    scope = UnicodeAttribute(null=True)
    policy = UnicodeAttribute(null=True)
    policy_version = UnicodeAttribute(null=True)
    #: ``{"experiment_id", "variant"}`` or null.
    variant = JSONAttribute(null=True)
    context = JSONAttribute(null=True)
    #: ``[{"item", "position", "propensity"}]``.
    shown = JSONAttribute(null=True)
    chosen = JSONAttribute(null=True)
    propensity_draws = NumberAttribute(null=True)
    #: Feedback items: ``click`` | ``conversion`` | ``reward``, the item and its value.
    type = UnicodeAttribute(null=True)
    item = UnicodeAttribute(null=True)
    value = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_day = DecisionsByDay()
    by_user = DecisionsByUser()


DECISION_RECORD = "decision"


def decision_feedback_record(feedback_type: str, item: str) -> str:
    """The range key of feedback ``feedback_type`` on ``item`` of a decision."""
    return f"feedback#{feedback_type}#{item}"


# --- rate limits -----------------------------------------------------------------------------


class RateLimitBucket(BaseModel):
    """One API key's token bucket for the routes of one scope (``bucket``: ``{key_hash}#{scope}``).

    Stored as GCRA's *theoretical arrival time* ``tat`` (µs since the epoch): a bucket is
    full when ``tat <= now`` and empty when ``tat - now`` reaches the burst. One number moved by
    one conditional UpdateItem per request; see :mod:`learnloop.api.ratelimit`.
    """

    entity = "rate_limits"

    bucket = UnicodeAttribute(hash_key=True)
    tat = NumberAttribute()
    #: Idle buckets are full again after ``burst / rate`` seconds; TTL removes them later.
    expires_at = TTLAttribute(null=True)


# --- market ----------------------------------------------------------------------------------


class Candle(BaseModel):
    """One OHLCV candle of a symbol and interval, in its time partition.

    ``series_bucket`` is ``{symbol}#{interval}#{bucket}``: the UTC day (``YYYY-MM-DD``) for
    intervals under a day, the year (``YYYY``) for a day or longer, so a read of two years of
    daily candles is three Queries, not 730. ``open_time`` (ISO 8601, ``Z``) sorts as time does;
    writing the same (symbol, interval, open_time) again overwrites one item: idempotent.
    The partition ``@series`` lists every series (range ``{symbol}#{interval}``) for the jobs.
    """

    entity = "candles"

    series_bucket = UnicodeAttribute(hash_key=True)
    open_time = UnicodeAttribute(range_key=True)
    open = NumberAttribute(null=True)
    high = NumberAttribute(null=True)
    low = NumberAttribute(null=True)
    close = NumberAttribute(null=True)
    volume = NumberAttribute(null=True)
    received_at = UnicodeAttribute(null=True)
    #: ``@series`` items: the series' symbol and interval.
    symbol = UnicodeAttribute(null=True)
    interval = UnicodeAttribute(null=True)


class MarketAnomaly(BaseModel):
    """A flagged candle: ``series`` is ``{symbol}#{interval}``, ``flag`` ``{open_time}#{kind}``
    (``kind``: ``price``, ``volume`` or ``flash_crash``); the job rewrites the same keys when
    it runs again. Market data only: nothing per user."""

    entity = "market_anomalies"

    series = UnicodeAttribute(hash_key=True)
    flag = UnicodeAttribute(range_key=True)
    symbol = UnicodeAttribute()
    interval = UnicodeAttribute()
    open_time = UnicodeAttribute()
    kind = UnicodeAttribute()
    score = NumberAttribute()
    value = NumberAttribute()
    detail = JSONAttribute(null=True)
    detected_at = UnicodeAttribute()


# --- texts (text sentiment) ------------------------------------------------------------------


class TextsBySymbol(GlobalSecondaryIndex["TextRecord"]):
    """Sparse: the per-symbol items of every text, by publication time (symbol aggregates)."""

    class Meta:
        index_name = "by_symbol"
        projection = AllProjection()

    symbol = UnicodeAttribute(hash_key=True)
    published_at = UnicodeAttribute(range_key=True)


class TextsByPage(GlobalSecondaryIndex["TextRecord"]):
    """Sparse: texts posted on one page of the app, by publication time (page aggregates)."""

    class Meta:
        index_name = "by_page"
        projection = AllProjection()

    page = UnicodeAttribute(hash_key=True)
    published_at = UnicodeAttribute(range_key=True)


class TextsByUser(GlobalSecondaryIndex["TextRecord"]):
    """Privacy (sparse): the texts a user wrote, by publication time (user aggregates and
    deletion)."""

    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    published_at = UnicodeAttribute(range_key=True)


class TextRecord(BaseModel):
    """A scored text (a post, a news item, a comment): ``record == "text"`` holds the text and
    its optional author and page; one ``record == "symbol#{SYMBOL}"`` item per symbol it names
    repeats the source and the score (no text, no user), so one Query reads a symbol's window.

    See :mod:`learnloop.sentiment.texts`.
    """

    entity = "texts"

    text_id = UnicodeAttribute(hash_key=True)
    record = UnicodeAttribute(range_key=True)
    source = UnicodeAttribute()
    published_at = UnicodeAttribute()
    received_at = UnicodeAttribute()
    symbols = ListAttribute(of=UnicodeAttribute, null=True)
    #: Per-symbol items only.
    symbol = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    page = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    #: ``negative`` | ``neutral`` | ``positive``; null when no scorer answered at ingest.
    label = UnicodeAttribute(null=True)
    #: ``p(positive) - p(negative)``, in [-1, 1].
    polarity = NumberAttribute(null=True)
    probabilities = JSONAttribute(null=True)
    #: ``lexicon`` | ``model`` | ``ensemble`` (what scored it).
    method = UnicodeAttribute(null=True)

    by_symbol = TextsBySymbol()
    by_page = TextsByPage()
    by_user = TextsByUser()


TEXT_RECORD = "text"


def symbol_record(symbol: str) -> str:
    """The range key of a text's item for ``symbol``."""
    return f"symbol#{symbol}"


# --- ingest marks -------------------------------------------------------------------------------


class IngestMark(BaseModel):
    """What makes writes exactly-once whatever order and how often they arrive, per user.

    * ``event#{event_id}``: this event id is stored (at ``ref``, the event's sort key), so a
      retry with another ``occurred_at`` is a duplicate. Written in one transaction with the
      event, so neither exists without the other.
    * ``deleted#{item_key}``: this reaction was deleted at ``deleted_at``; a delayed PUT
      dated before that does not bring it back.
    * ``rate#{kind}#{minute}``: the rows (``rows``) of one kind this user made in one minute,
      the data-quality check's counter (:mod:`learnloop.quality`); ``ref`` holds the reasons
      once the minute was flagged.

    Marks expire with what they guard (events' retention; a tombstone once any PUT it could
    stop is older than ``LEARNLOOP_MAX_EVENT_AGE_DAYS`` and refused anyway) and are deleted
    with the user.
    """

    entity = "ingest_marks"

    user_id = UnicodeAttribute(hash_key=True)
    mark = UnicodeAttribute(range_key=True)
    ref = UnicodeAttribute(null=True)
    deleted_at = UnicodeAttribute(null=True)
    rows = UnicodeSetAttribute(null=True)
    expires_at = TTLAttribute(null=True)


#: Every model, in the order tables are created. Infra templates derive from this list too.
MODELS: tuple[type[BaseModel], ...] = (
    Reaction,
    Event,
    Content,
    Outcome,
    Insight,
    User,
    ApiKey,
    BanditArm,
    LedgerEntry,
    DailyStats,
    ModelRecord,
    RateLimitBucket,
    Experiment,
    DecisionRecord,
    Candle,
    MarketAnomaly,
    TextRecord,
    PatternOccurrence,
    IngestMark,
)

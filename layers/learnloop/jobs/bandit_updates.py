"""Fold new outcomes into the bandits' arms, counting each decision exactly once.

A decision counts when its ledger entry ``learn#{decision_id}`` is created. That put is
conditional (the entry must not exist) and sits in the same DynamoDB transaction as the arm
updates it causes, which are themselves conditional on each arm's ``version``. So a retried or
concurrent run either sees the entry and skips the decision, or loses the race and re-reads:
no outcome is ever counted twice or lost.

Two bandits learn from each outcome:

* ``content``: Thompson sampling over ``bandit_arm``; success is ``engagement_rate > threshold``.
* ``timing``: UCB1 over the UTC hour of ``posted_at``; the reward is the engagement rate.

With ``discount < 1`` every arm's statistics decay by ``discount`` per elapsed day before new
counts are added, so the bandit follows preferences that drift.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from learnloop.exceptions import StoreError, ValidationError
from learnloop.jobs.reading import batch_get, days_between, query_days
from learnloop.store.keys import as_utc, iso, utcnow
from learnloop.store.models import BanditArm, Content, Outcome
from learnloop.store.tables import Tables

CONTENT_SCOPE = "content"
TIMING_SCOPE = "timing"
WATERMARK_KEY = "learn#watermark"
#: Outcomes whose content has not arrived yet hold the watermark back this long at most.
CONTENT_GRACE = timedelta(days=1)
LEDGER_TTL = timedelta(days=400)
_TRANSACTION_LIMIT = 100
_MAX_ATTEMPTS = 8


def ledger_key(decision_id: str) -> str:
    return f"learn#{decision_id}"


@dataclass
class Observation:
    """One decision's outcome, joined with the content that names its arm and hour."""

    decision_id: str
    arm: str | None
    hour: int
    engagement_rate: float
    success: bool


@dataclass
class BanditUpdate:
    """What one run counted."""

    counted: int = 0
    already_counted: int = 0
    waiting_for_content: int = 0
    arms: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counted": self.counted,
            "already_counted": self.already_counted,
            "waiting_for_content": self.waiting_for_content,
        }


@dataclass
class _Delta:
    successes: float = 0.0
    failures: float = 0.0
    pulls: float = 0.0
    reward_sum: float = 0.0

    def add(self, success: bool, reward: float) -> None:
        self.successes += 1.0 if success else 0.0
        self.failures += 0.0 if success else 1.0
        self.pulls += 1.0
        self.reward_sum += reward


def update_bandits(
    tables: Tables,
    now: datetime,
    *,
    threshold: float | None = None,
    discount: float | None = None,
) -> BanditUpdate:
    """Count every outcome received since the last run into the ``content`` and ``timing`` arms.

    Parameters
    ----------
    tables
        The stage's tables.
    now
        The run's logical time: arms decay (``discount < 1``) up to it.
    threshold
        Engagement rate above which a decision is a success (default: settings).
    discount
        Per-day decay of past statistics, in (0, 1]; 1 keeps everything (default: settings).

    Examples
    --------
    >>> update_bandits(tables, now).to_dict()  # doctest: +SKIP
    {'counted': 20, 'already_counted': 0, 'waiting_for_content': 0}
    """
    discount = tables.settings.bandit_discount if discount is None else discount
    if not 0.0 < discount <= 1.0:
        raise ValidationError("discount must be in (0, 1]", details=[{"field": "discount"}])
    threshold = tables.settings.success_threshold if threshold is None else threshold
    result = BanditUpdate()
    watermark = _read_watermark(tables)
    margin = timedelta(seconds=tables.settings.learn_safety_margin_seconds)
    outcomes, newest_received = _new_outcomes(tables, watermark, margin)
    contents = _contents(tables, list(outcomes))
    observations: list[Observation] = []
    oldest_waiting: str | None = None
    grace_start = iso(utcnow() - CONTENT_GRACE)
    for decision_id, outcome in outcomes.items():
        content = contents.get(decision_id)
        if content is None:
            result.waiting_for_content += 1
            if outcome.received_at >= grace_start:
                oldest_waiting = min(oldest_waiting or outcome.received_at, outcome.received_at)
            continue
        observations.append(_observe(outcome, content, threshold))
    for chunk in _chunks(observations):
        counted, skipped = _commit(tables, chunk, now=now, discount=discount)
        result.counted += counted
        result.already_counted += skipped
    if newest_received is not None:
        new_mark = (
            newest_received if oldest_waiting is None else min(newest_received, oldest_waiting)
        )
        if watermark is None or new_mark > watermark:
            _write_watermark(tables, new_mark, now)
    return result


def _observe(outcome: Outcome, content: Content, threshold: float) -> Observation:
    rate = float(outcome.engagement_rate)
    return Observation(
        decision_id=outcome.decision_id,
        arm=content.bandit_arm,
        hour=as_utc(datetime.fromisoformat(content.posted_at.replace("Z", "+00:00"))).hour,
        engagement_rate=rate,
        success=rate > threshold,
    )


def _read_watermark(tables: Tables) -> str | None:
    try:
        entry = tables.ledger.get(WATERMARK_KEY)
    except tables.ledger.DoesNotExist:
        return None
    return (entry.value or {}).get("received_at")


def _write_watermark(tables: Tables, received_at: str, now: datetime) -> None:
    tables.ledger(WATERMARK_KEY, created_at=iso(now), value={"received_at": received_at}).save()


def _new_outcomes(
    tables: Tables, watermark: str | None, margin: timedelta
) -> tuple[dict[str, Outcome], str | None]:
    """The latest outcome of each decision received after ``watermark`` (less the margin)."""
    today = utcnow().date()
    if watermark is None:
        since = None
        # A first run looks as far back as the predictors train.
        first_day: date = today - timedelta(days=tables.settings.training_window_days)
    else:
        since_dt = datetime.fromisoformat(watermark.replace("Z", "+00:00")) - margin
        since = iso(since_dt)
        first_day = since_dt.date()
    model = tables.outcomes
    condition = model.received_at > since if since else None
    latest: dict[str, Outcome] = {}
    newest: str | None = None
    for outcome in query_days(
        model,
        days_between(first_day, today),
        shards=tables.settings.day_shards,
        index="by_received",
        range_key_condition=condition,
    ):
        newest = max(newest or outcome.received_at, outcome.received_at)
        kept = latest.get(outcome.decision_id)
        if kept is None or outcome.collected_at > kept.collected_at:
            latest[outcome.decision_id] = outcome
    return latest, newest


def _contents(tables: Tables, decision_ids: Sequence[str]) -> dict[str, Content]:
    return {item.decision_id: item for item in batch_get(tables.content, decision_ids)}


def _arm_keys(observation: Observation) -> list[tuple[str, str]]:
    keys = [(TIMING_SCOPE, str(observation.hour))]
    if observation.arm:
        keys.append((CONTENT_SCOPE, observation.arm))
    return keys


def _chunks(observations: Iterable[Observation]) -> Iterable[list[Observation]]:
    """Groups whose ledger puts plus arm writes fit in one transaction."""
    chunk: list[Observation] = []
    arms: set[tuple[str, str]] = set()
    for observation in observations:
        new_arms = arms | set(_arm_keys(observation))
        if chunk and len(chunk) + 1 + len(new_arms) > _TRANSACTION_LIMIT:
            yield chunk
            chunk, new_arms = [], set(_arm_keys(observation))
        chunk.append(observation)
        arms = new_arms
    if chunk:
        yield chunk


def _commit(
    tables: Tables, chunk: list[Observation], *, now: datetime, discount: float
) -> tuple[int, int]:
    """Count ``chunk`` in one transaction; returns (counted, already counted)."""
    connection = tables.ledger._get_connection().connection
    for _ in range(_MAX_ATTEMPTS):
        done = _already_counted(tables, [o.decision_id for o in chunk])
        todo = [o for o in chunk if o.decision_id not in done]
        if not todo:
            return 0, len(chunk)
        deltas: dict[tuple[str, str], _Delta] = defaultdict(_Delta)
        for observation in todo:
            for key in _arm_keys(observation):
                deltas[key].add(observation.success, observation.engagement_rate)
        current = _read_arms(tables, list(deltas))
        try:
            with TransactWrite(connection=connection) as transaction:
                for observation in todo:
                    transaction.save(
                        tables.ledger(
                            ledger_key(observation.decision_id),
                            created_at=iso(now),
                            value={
                                "arm": observation.arm,
                                "hour": observation.hour,
                                "success": observation.success,
                            },
                            expires_at=now + LEDGER_TTL,
                        ),
                        condition=tables.ledger.key.does_not_exist(),
                    )
                for key, delta in deltas.items():
                    arm, condition = _updated_arm(
                        tables, key, current.get(key), delta, now, discount
                    )
                    transaction.save(arm, condition=condition)
        except TransactWriteError as exc:
            if not _is_conflict(exc):
                raise StoreError(f"could not update the bandits: {exc}") from exc
            continue  # another run got there first: re-read and retry
        return len(todo), len(chunk) - len(todo)
    raise StoreError("bandit update kept conflicting with another run; try again")


def _already_counted(tables: Tables, decision_ids: list[str]) -> set[str]:
    keys = [ledger_key(d) for d in decision_ids]
    entries = batch_get(tables.ledger, keys, attributes_to_get=["key"])
    return {entry.key.removeprefix("learn#") for entry in entries}


def _read_arms(tables: Tables, keys: list[tuple[str, str]]) -> dict[tuple[str, str], BanditArm]:
    return {(arm.scope, arm.arm): arm for arm in batch_get(tables.bandit_arms, keys)}


def _updated_arm(
    tables: Tables,
    key: tuple[str, str],
    stored: BanditArm | None,
    delta: _Delta,
    now: datetime,
    discount: float,
) -> tuple[BanditArm, Any]:
    model = tables.bandit_arms
    stamp = iso(now)
    if stored is None:
        arm = model(key[0], key[1], successes=0, failures=0, pulls=0, reward_sum=0, version=0)
        condition = model.scope.does_not_exist()
        factor = 1.0
    else:
        arm = stored
        condition = model.version == stored.version
        factor = _decay(discount, stored.decayed_at, now)
    arm.successes = float(arm.successes) * factor + delta.successes
    arm.failures = float(arm.failures) * factor + delta.failures
    arm.pulls = float(arm.pulls) * factor + delta.pulls
    arm.reward_sum = float(arm.reward_sum) * factor + delta.reward_sum
    arm.version = int(arm.version) + 1
    arm.decayed_at = max(stamp, arm.decayed_at or stamp)
    arm.updated_at = iso(utcnow())
    return arm, condition


def _decay(discount: float, decayed_at: str | None, now: datetime) -> float:
    if discount >= 1.0 or not decayed_at:
        return 1.0
    last = datetime.fromisoformat(decayed_at.replace("Z", "+00:00"))
    days = (as_utc(now) - last).total_seconds() / 86_400
    return float(discount ** max(days, 0.0))


def _is_conflict(exc: TransactWriteError) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    codes = {getattr(r, "code", None) for r in reasons if r is not None}
    return exc.cause_response_code == "TransactionCanceledException" and codes <= {
        "ConditionalCheckFailed",
        "TransactionConflict",
        "None",
        None,
    }

"""Fold new outcomes into the bandits' arms, counting each decision exactly once.

Exactly once, in three idempotent steps per chunk of new decisions (no multi-item
transaction, so every call costs the same whatever the tables hold, on DynamoDB and on moto,
whose transactions copy each touched table once per item):

1. **Claim**: a conditional put of each decision's ledger entry ``learn#{decision_id}`` (it
   must not exist), marked pending with the chunk's id. A decision already claimed, by this
   run's earlier try or by another run, is skipped: it is never counted twice.
2. **Apply**: for each arm the chunk touches, a read and a write conditional on the arm's
   ``version`` that adds the chunk's counts and records the chunk id in ``applied_chunks``. An
   arm that already lists the chunk is left alone, so applying twice changes nothing.
3. **Finish**: the entries stop being pending.

A run that dies between 1 and 3 leaves pending entries; the next run re-applies their chunk
from the entries (step 2 skips the arms already done) and finishes it: nothing is lost.

Two bandits learn from each outcome:

* ``content``: Thompson sampling over ``bandit_arm``; success is ``engagement_rate > threshold``.
* ``timing``: UCB1 over the UTC hour of ``posted_at``; the reward is the engagement rate.

With ``discount < 1`` every arm's statistics decay by ``discount`` per elapsed day before new
counts are added, so the bandit follows preferences that drift. A run writes only the arms it
has outcomes for, so readers bring every arm to the scope's latest update first
(:func:`aligned_factors`): an arm nobody pulls any more forgets at the same pace as the others.
A production ``bandit_policy`` version of the content scope
(:mod:`learnloop.bandits.configured`) sets the content arms' discount; the timing arms, and
the content arms without one, use ``bandit_discount``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from learnloop.bandits.configured import production_policy
from learnloop.clock import as_utc, iso, utcnow
from learnloop.exceptions import StoreError, ValidationError
from learnloop.store.queries import batch_get, days_between, query_days
from learnloop.store.records import BanditArm, Content, Outcome
from learnloop.store.tables import Tables

CONTENT_SCOPE = "content"
TIMING_SCOPE = "timing"
WATERMARK_KEY = "learn#watermark"
#: Outcomes whose content has not arrived yet hold the watermark back this long at most.
CONTENT_GRACE = timedelta(days=1)
LEDGER_TTL = timedelta(days=400)
JOB = "learn"
#: Decisions claimed and applied together; their id is recorded on every arm they touch.
CHUNK_SIZE = 1000
#: Chunk ids an arm remembers (a chunk is re-applied at most this many chunks later).
APPLIED_CHUNKS_KEPT = 256
#: A claimed-but-unapplied chunk is recovered only once it is older than any live run can be.
RECOVERY_GRACE = timedelta(minutes=15)
_MAX_ATTEMPTS = 16
#: Claims written per TransactWriteItems (DynamoDB's limit is 100 actions).
CLAIMS_PER_TRANSACTION = 100
_WORKERS = 8
#: One discount for every arm, or one per scope.
Discounts = float | Mapping[str, float]
#: What counting reads of each outcome and each content item; nothing else is fetched.
_OUTCOME_FIELDS = ("decision_id", "collected_at", "received_at", "engagement_rate")
_CONTENT_FIELDS = ("decision_id", "bandit_arm", "posted_at")


def ledger_key(decision_id: str) -> str:
    return f"{JOB}#{decision_id}"


@dataclass
class Observation:
    """One decision's outcome, joined with the content that names its arm and hour."""

    decision_id: str
    arm: str | None
    hour: int
    engagement_rate: float
    success: bool

    def to_value(self) -> dict[str, Any]:
        """What the ledger entry keeps: enough to re-apply the decision after a crash."""
        return {
            "arm": self.arm,
            "hour": self.hour,
            "rate": self.engagement_rate,
            "success": self.success,
        }

    @classmethod
    def from_value(cls, decision_id: str, value: dict[str, Any]) -> Observation:
        return cls(
            decision_id=decision_id,
            arm=value.get("arm"),
            hour=int(value["hour"]),
            engagement_rate=float(value["rate"]),
            success=bool(value["success"]),
        )


@dataclass
class BanditUpdate:
    """What one run counted."""

    counted: int = 0
    already_counted: int = 0
    waiting_for_content: int = 0
    recovered: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "counted": self.counted,
            "already_counted": self.already_counted,
            "waiting_for_content": self.waiting_for_content,
            "recovered": self.recovered,
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
        Per-day decay of past statistics, in (0, 1]; 1 keeps everything (default: settings,
        and for the content arms the production ``bandit_policy``'s discount when there is
        one).

    Examples
    --------
    >>> update_bandits(tables, now).to_dict()  # doctest: +SKIP
    {'counted': 20, 'already_counted': 0, 'waiting_for_content': 0}
    """
    discounts = bandit_discounts(tables, discount)
    threshold = tables.settings.success_threshold if threshold is None else threshold
    result = BanditUpdate()
    result.recovered = recover_pending(tables, now, discount=discounts)
    window = bandit_window(tables, now, threshold=threshold)
    result.waiting_for_content = window.waiting
    run_id = uuid.uuid4().hex[:12]
    for index, chunk in enumerate(window.chunks()):
        counted, skipped = commit_chunk(
            tables, chunk, chunk_id=f"{run_id}-{index}", now=now, discount=discounts
        )
        result.counted += counted
        result.already_counted += skipped
    advance_watermark(tables, window, now)
    return result


def bandit_discounts(tables: Tables, discount: float | None = None) -> dict[str, float]:
    """Each scope's per-day discount: ``discount``, else the settings' (and for the content
    arms the production ``bandit_policy``'s when there is one)."""
    base = tables.settings.bandit_discount if discount is None else discount
    if not 0.0 < base <= 1.0:
        raise ValidationError("discount must be in (0, 1]", details=[{"field": "discount"}])
    discounts: dict[str, float] = {CONTENT_SCOPE: base, TIMING_SCOPE: base}
    served = production_policy(tables, CONTENT_SCOPE) if discount is None else None
    if served is not None:
        discounts[CONTENT_SCOPE] = float(served.config["discount"])
    return discounts


@dataclass
class BanditWindow:
    """The outcomes one run counts: those received after ``watermark`` up to ``until``."""

    watermark: str | None
    until: str | None
    observations: list[Observation]
    waiting: int = 0
    oldest_waiting: str | None = None

    def chunks(self, size: int = 0) -> list[list[Observation]]:
        """The observations in chunks of ``size`` (default :data:`CHUNK_SIZE`), in order."""
        return list(_chunks(self.observations, size or CHUNK_SIZE))


def bandit_window(
    tables: Tables,
    now: datetime,
    *,
    threshold: float | None = None,
    watermark: str | None = None,
    until: str | None = None,
    resumed: bool = False,
) -> BanditWindow:
    """Read the new outcomes (after the stored watermark, or ``watermark`` when ``resumed``;
    received up to ``until``, default now) joined with their content, in a stable order.

    It is :func:`window_days`, :func:`read_window_day` for each day, then
    :func:`window_from_days`: what a resumable run does one day per unit
    (:mod:`learnloop.jobs.learn`), here with the days read in parallel.
    """
    threshold = tables.settings.success_threshold if threshold is None else threshold
    mark = watermark if resumed else read_watermark(tables)
    days, since = window_days(tables, now, mark)
    cap = until or iso(utcnow())
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        read = list(pool.map(lambda day: read_window_day(tables, day, since, cap), days))
    return window_from_days(read, mark, threshold)


def window_days(
    tables: Tables, now: datetime, watermark: str | None
) -> tuple[list[date], str | None]:
    """The receipt days a run reads for outcomes after ``watermark`` (less the safety
    margin), and that lower bound (``None``: a first run).

    Outcomes are stamped on arrival (wall clock); a run for a logical ``now`` in the past (a
    backfill, a replay) must still reach back from ``now`` and forward to today.

    Examples
    --------
    >>> days, since = window_days(tables, now, "2026-11-20T11:00:00.000000Z")  # doctest: +SKIP
    >>> since  # doctest: +SKIP
    '2026-11-20T10:55:00.000000Z'
    """
    today = max(utcnow().date(), as_utc(now).date())
    if watermark is None:
        # A first run looks as far back as the predictors train, from the run's own time.
        first_day: date = min(utcnow(), as_utc(now)).date() - timedelta(
            days=tables.settings.training_window_days
        )
        return days_between(first_day, today), None
    margin = timedelta(seconds=tables.settings.learn_safety_margin_seconds)
    since_dt = datetime.fromisoformat(watermark.replace("Z", "+00:00")) - margin
    return days_between(since_dt.date(), today), iso(since_dt)


#: One outcome of a window day as spooled: ``[decision_id, collected_at, received_at,
#: engagement_rate, content found, bandit_arm, posted_at]``.
WindowRow = list[Any]


def read_window_day(
    tables: Tables, day: date, since: str | None, until: str, *, shard: int | None = None
) -> list[WindowRow]:
    """The latest outcome of each decision received on ``day`` after ``since`` and up to
    ``until``, joined with its content: one query per day shard (only ``shard`` when given),
    one BatchGetItem per 100.

    The rows are plain JSON (a resumable run spools them), in the order they were read.

    Examples
    --------
    >>> rows = read_window_day(tables, date(2026, 11, 20), None, "2026-11-21T00:00:00Z")
    ... # doctest: +SKIP
    >>> rows[0][:4]  # doctest: +SKIP
    ['d-1', '2026-11-20T10:00:00Z', '2026-11-20T11:00:00Z', 0.08]
    """
    model = tables.outcomes
    condition = model.received_at > since if since else None
    latest: dict[str, Outcome] = {}
    for outcome in query_days(
        model,
        [day],
        shards=tables.settings.day_shards,
        index="by_received",
        range_key_condition=condition,
        attributes=_OUTCOME_FIELDS,
        shard=shard,
    ):
        if outcome.received_at > until:
            continue  # arrived after the run began: the next run counts it
        kept = latest.get(outcome.decision_id)
        if kept is None or outcome.collected_at > kept.collected_at:
            latest[outcome.decision_id] = outcome
    contents = _contents(tables, list(latest))
    rows: list[WindowRow] = []
    for decision_id, outcome in latest.items():
        content = contents.get(decision_id)
        rows.append(
            [
                decision_id,
                outcome.collected_at,
                outcome.received_at,
                float(outcome.engagement_rate),
                content is not None,
                content.bandit_arm if content is not None else None,
                content.posted_at if content is not None else None,
            ]
        )
    return rows


def window_from_days(
    days: Iterable[Iterable[WindowRow]], watermark: str | None, threshold: float
) -> BanditWindow:
    """The window of a run from its days' rows (in day order): the latest outcome of each
    decision across days, observations in first-seen order, the newest receipt and the
    outcomes still waiting for their content.

    Examples
    --------
    >>> day1 = [["d-1", "2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z", 0.02, True, "a",
    ...          "2026-11-20T09:00:00Z"]]
    >>> day2 = [["d-1", "2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z", 0.08, True, "a",
    ...          "2026-11-20T09:00:00Z"]]
    >>> window = window_from_days([day1, day2], None, 0.05)
    >>> [(o.decision_id, o.engagement_rate, o.success) for o in window.observations]
    [('d-1', 0.08, True)]
    >>> window.until
    '2026-11-21T11:00:00Z'
    """
    latest: dict[str, WindowRow] = {}
    newest: str | None = None
    for rows in days:
        for row in rows:
            newest = max(newest or row[2], row[2])
            kept = latest.get(row[0])
            if kept is None or row[1] > kept[1]:
                latest[row[0]] = row
    window = BanditWindow(watermark=watermark, until=newest, observations=[])
    grace_start = iso(utcnow() - CONTENT_GRACE)
    for decision_id, (_, _, received_at, rate, found, arm, posted_at) in latest.items():
        if not found:
            window.waiting += 1
            if received_at >= grace_start:
                window.oldest_waiting = min(window.oldest_waiting or received_at, received_at)
            continue
        window.observations.append(
            Observation(
                decision_id=decision_id,
                arm=arm,
                hour=as_utc(datetime.fromisoformat(posted_at.replace("Z", "+00:00"))).hour,
                engagement_rate=float(rate),
                success=float(rate) > threshold,
            )
        )
    return window


def advance_watermark(tables: Tables, window: BanditWindow, now: datetime) -> None:
    """Move the watermark past ``window`` (held back at the oldest outcome still waiting
    for its content)."""
    if window.until is None:
        return
    new_mark = (
        window.until if window.oldest_waiting is None else min(window.until, window.oldest_waiting)
    )
    if window.watermark is None or new_mark > window.watermark:
        _write_watermark(tables, new_mark, now)


def read_watermark(tables: Tables) -> str | None:
    """The receipt time up to which outcomes are counted (``None`` before the first run)."""
    try:
        entry = tables.ledger.get(WATERMARK_KEY)
    except tables.ledger.DoesNotExist:
        return None
    return (entry.value or {}).get("received_at")


def _write_watermark(tables: Tables, received_at: str, now: datetime) -> None:
    tables.ledger(WATERMARK_KEY, created_at=iso(now), value={"received_at": received_at}).save()


def _contents(tables: Tables, decision_ids: Sequence[str]) -> dict[str, Content]:
    found = batch_get(tables.content, decision_ids, attributes_to_get=list(_CONTENT_FIELDS))
    return {item.decision_id: item for item in found}


def _arm_keys(observation: Observation) -> list[tuple[str, str]]:
    keys = [(TIMING_SCOPE, str(observation.hour))]
    if observation.arm:
        keys.append((CONTENT_SCOPE, observation.arm))
    return keys


def _chunks(observations: list[Observation], size: int) -> Iterable[list[Observation]]:
    for start in range(0, len(observations), size):
        yield observations[start : start + size]


def _deltas(observations: Iterable[Observation]) -> dict[tuple[str, str], _Delta]:
    deltas: dict[tuple[str, str], _Delta] = defaultdict(_Delta)
    for observation in observations:
        for key in _arm_keys(observation):
            deltas[key].add(observation.success, observation.engagement_rate)
    return deltas


def _claim(
    tables: Tables, chunk: list[Observation], chunk_id: str, now: datetime
) -> list[Observation]:
    """Create each decision's ledger entry (pending) unless it exists; returns the claimed.

    One BatchGetItem per 100 decisions finds the entries that exist (a redelivered chunk
    finds its own), then one TransactWriteItems per 100 creates the rest, each conditional
    on its entry not existing: two runs racing for a decision never both claim it.
    """
    ledger = tables.ledger
    created = iso(utcnow())
    by_key = {ledger_key(o.decision_id): o for o in chunk}
    owner = {
        entry.key: entry.chunk
        for entry in batch_get(ledger, list(by_key), attributes_to_get=["key", "chunk"])
    }
    fresh = [key for key in by_key if key not in owner]
    lost: list[str] = []
    for start in range(0, len(fresh), CLAIMS_PER_TRANSACTION):
        lost += _claim_together(
            tables,
            [by_key[k] for k in fresh[start : start + CLAIMS_PER_TRANSACTION]],
            chunk_id,
            created,
            now,
        )
    if lost:
        # Claimed by someone between the read and the write (perhaps this very chunk,
        # delivered twice at once): whose are they?
        owner.update(
            (entry.key, entry.chunk)
            for entry in batch_get(ledger, lost, attributes_to_get=["key", "chunk"])
        )
    taken = set(owner) | set(lost)
    return [o for key, o in by_key.items() if key not in taken or owner.get(key) == chunk_id]


def _claim_together(
    tables: Tables, group: list[Observation], chunk_id: str, created: str, now: datetime
) -> list[str]:
    """Claim ``group`` in one transaction; returns the keys another writer had claimed.

    A transaction with a failed condition writes nothing and says which failed: those are
    left out and the rest written again.
    """
    ledger = tables.ledger
    connection = ledger._get_connection().connection  # the stage's shared client
    lost: list[str] = []
    while group:
        try:
            with TransactWrite(connection=connection) as transaction:
                for observation in group:
                    transaction.save(
                        ledger(
                            ledger_key(observation.decision_id),
                            created_at=created,
                            chunk=chunk_id,
                            pending_job=JOB,
                            value=observation.to_value(),
                            expires_at=now + LEDGER_TTL,
                        ),
                        condition=ledger.key.does_not_exist(),
                    )
        except TransactWriteError as exc:
            failed = {
                index
                for index, reason in enumerate(exc.cancellation_reasons or [])
                if reason is not None and reason.code == "ConditionalCheckFailed"
            }
            if not failed:
                raise StoreError(
                    f"could not claim the decisions: {exc.cause_response_message}"
                ) from exc
            lost += [ledger_key(group[i].decision_id) for i in sorted(failed)]
            group = [o for i, o in enumerate(group) if i not in failed]
            continue
        break
    return lost


def _apply(
    tables: Tables,
    deltas: dict[tuple[str, str], _Delta],
    chunk_id: str,
    now: datetime,
    discount: Discounts,
) -> None:
    """Fold a chunk's deltas into each arm once: re-applying a chunk changes nothing."""
    model = tables.bandit_arms
    for key, delta in deltas.items():
        for _ in range(_MAX_ATTEMPTS):
            try:
                stored: BanditArm | None = model.get(*key, consistent_read=True)
            except model.DoesNotExist:
                stored = None
            if stored is not None and chunk_id in (stored.applied_chunks or []):
                break  # another run (or an earlier try of this one) applied it
            arm, condition = _updated_arm(tables, key, stored, delta, now, discount)
            earlier = (stored.applied_chunks or []) if stored else []
            arm.applied_chunks = [*earlier[-(APPLIED_CHUNKS_KEPT - 1) :], chunk_id]  # type: ignore[list-item]
            try:
                arm.save(condition=condition)
                break
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise StoreError(f"could not update arm {key}: {exc}") from exc
        else:
            raise StoreError(f"arm {key} kept changing under this run; try again")


def _finish(tables: Tables, entries: Iterable[Any]) -> None:
    """Mark claimed entries applied: they leave the sparse ``by_pending`` index."""
    with tables.ledger.batch_write() as batch:
        for entry in entries:
            entry.pending_job = None
            batch.save(entry)


def commit_chunk(
    tables: Tables, chunk: list[Observation], *, chunk_id: str, now: datetime, discount: Discounts
) -> tuple[int, int]:
    """Claim, apply, finish one chunk; returns (counted, already counted).

    Idempotent for a given ``chunk_id``: done again (a run resumed after a crash), the
    decisions this chunk claimed before still count as its own, arms that already hold it
    are skipped, and the result is the same.
    """
    claimed = _claim(tables, chunk, chunk_id, now)
    if claimed:
        _apply(tables, _deltas(claimed), chunk_id, now, discount)
        _finish(
            tables,
            (
                tables.ledger(
                    ledger_key(o.decision_id),
                    created_at=iso(now),
                    chunk=chunk_id,
                    value=o.to_value(),
                    expires_at=now + LEDGER_TTL,
                )
                for o in claimed
            ),
        )
    return len(claimed), len(chunk) - len(claimed)


def recover_pending(tables: Tables, now: datetime, *, discount: Discounts) -> int:
    """Finish chunks an earlier run claimed but did not apply (it crashed or timed out).

    Only entries older than :data:`RECOVERY_GRACE` are touched, so a chunk that a live run is
    still working on is left to it. Returns how many decisions were recovered.
    """
    cutoff = iso(utcnow() - RECOVERY_GRACE)
    by_chunk: dict[str, list[Any]] = defaultdict(list)
    for entry in tables.ledger.by_pending.query(JOB):
        if entry.created_at <= cutoff and entry.chunk:
            by_chunk[entry.chunk].append(entry)
    for chunk_id, entries in by_chunk.items():
        observations = [
            Observation.from_value(e.key.removeprefix(f"{JOB}#"), e.value) for e in entries
        ]
        _apply(tables, _deltas(observations), chunk_id, now, discount)
        _finish(tables, entries)
    return sum(len(entries) for entries in by_chunk.values())


def _updated_arm(
    tables: Tables,
    key: tuple[str, str],
    stored: BanditArm | None,
    delta: _Delta,
    now: datetime,
    discount: Discounts,
) -> tuple[BanditArm, Any]:
    model = tables.bandit_arms
    stamp = iso(now)
    condition: Any
    if stored is None:
        arm = model(key[0], key[1], successes=0, failures=0, pulls=0, reward_sum=0, version=0)
        condition = model.scope.does_not_exist()
        factor = 1.0
    else:
        arm = stored
        condition = model.version == stored.version
        per_scope = discount if isinstance(discount, float | int) else discount[key[0]]
        factor = decay_factor(per_scope, stored.decayed_at, now)
    arm.successes = float(arm.successes) * factor + delta.successes
    arm.failures = float(arm.failures) * factor + delta.failures
    arm.pulls = float(arm.pulls) * factor + delta.pulls
    arm.reward_sum = float(arm.reward_sum) * factor + delta.reward_sum
    arm.version = int(arm.version) + 1
    arm.decayed_at = max(stamp, arm.decayed_at or stamp)
    arm.updated_at = iso(utcnow())
    return arm, condition


def decay_factor(discount: float, decayed_at: str | None, now: datetime) -> float:
    """What an arm's counts, last decayed at ``decayed_at``, are worth at ``now``:
    ``discount`` per elapsed day.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> now = datetime(2026, 11, 22, tzinfo=timezone.utc)
    >>> decay_factor(0.5, "2026-11-20T00:00:00.000000Z", now)
    0.25
    >>> decay_factor(1.0, "2026-11-20T00:00:00.000000Z", now)
    1.0
    """
    if discount >= 1.0 or not decayed_at:
        return 1.0
    last = datetime.fromisoformat(decayed_at.replace("Z", "+00:00"))
    days = (as_utc(now) - last).total_seconds() / 86_400
    return float(discount ** max(days, 0.0))


def aligned_factors(stored: Mapping[str, BanditArm], discount: float) -> dict[str, float]:
    """Per arm, the decay that brings its counts to the scope's latest update.

    ``learn`` decays an arm only when it writes it, so an arm that stopped being pulled would
    keep full-weight old counts beside freshly decayed ones. Reading every arm as of the
    newest ``decayed_at`` of its scope is what decaying them all on each run would give,
    without writing every arm each run.

    Examples
    --------
    >>> from types import SimpleNamespace as Arm
    >>> aligned_factors({"a": Arm(decayed_at="2026-11-20T00:00:00.000000Z"),
    ...                  "b": Arm(decayed_at="2026-11-22T00:00:00.000000Z")}, 0.5)
    {'a': 0.25, 'b': 1.0}
    """
    stamps = [arm.decayed_at for arm in stored.values() if arm.decayed_at]
    if discount >= 1.0 or not stamps:
        return dict.fromkeys(stored, 1.0)
    latest = datetime.fromisoformat(max(stamps).replace("Z", "+00:00"))
    return {name: decay_factor(discount, arm.decayed_at, latest) for name, arm in stored.items()}

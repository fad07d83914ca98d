"""``learn``: the scheduled job that keeps bandits, predictors and the journal models current.

It also carries out the predictors' drift retrain requests (:mod:`learnloop.drift.actions`):
``learn`` is where scikit-learn runs, so a drift alert is acted on within one schedule period.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

from learnloop.bandits.updates import (
    CHUNK_SIZE,
    BanditUpdate,
    BanditWindow,
    Observation,
    advance_watermark,
    bandit_discounts,
    commit_chunk,
    read_watermark,
    read_window_day,
    recover_pending,
    update_bandits,
    window_days,
    window_from_days,
)
from learnloop.clock import iso, utcnow
from learnloop.drift.actions import carry_out_journal_requests, carry_out_predictor_requests
from learnloop.jobs.deadline import Checkpoint, Deadline, Unit, resumable
from learnloop.jobs.spool import RunSpool
from learnloop.observability import logger
from learnloop.predictors.training import (
    JoinedRow,
    joined_day,
    merge_joined,
    train_and_publish,
    training_days,
)
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables


@dataclass
class LearnResult:
    """What one ``learn`` run did."""

    bandits: BanditUpdate
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Drift retrain requests this run carried out (see :mod:`learnloop.drift.actions`).
    drift_retrains: list[dict[str, Any]] = field(default_factory=list)
    #: The journal models this run trained (:mod:`learnloop.journal.training`).
    journal: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": "learn",
            "bandits": self.bandits.to_dict(),
            "models": self.models,
            "drift_retrains": self.drift_retrains,
            "journal": self.journal,
        }


def learn(
    tables: Tables,
    now: datetime,
    *,
    s3: Any | None = None,
    discount: float | None = None,
    train: bool = True,
) -> LearnResult:
    """Count new outcomes into the bandits, then retrain the predictors when anything was new.

    When a drift check asked for a predictor retrain, the predictors are trained on the drift
    window instead (and whether anything was new or not). Otherwise a run that finds nothing
    new changes nothing: no counts move and no model is trained. The journal models
    (:func:`learnloop.journal.training.train_journal`) train after them, on the journal events,
    unless no event is new since their last training (their drift requests first).
    :func:`learn_resumable` is the same run cut into units that stop at a deadline.

    Examples
    --------
    >>> learn(tables, now).to_dict()  # doctest: +SKIP
    {'job': 'learn', 'bandits': {'counted': 20, ...}, 'models': {'engagement': {...}}}
    """
    bandits = update_bandits(tables, now, discount=discount)
    result = LearnResult(bandits=bandits)
    if train:
        s3 = s3 or s3_client(tables.settings)
        result.drift_retrains = carry_out_predictor_requests(tables, s3, now)
    _train(tables, s3, now, result, train=train)
    logger.info("learn finished", extra=result.to_dict())
    return result


def _train(
    tables: Tables,
    s3: Any,
    now: datetime,
    result: LearnResult,
    *,
    train: bool,
    rows: list[JoinedRow] | None = None,
) -> None:
    """The training half of a run, once its bandit counts and drift retrains are known
    (``rows``: the training window already read, else it is read here)."""
    if result.drift_retrains:
        # This run's training was the drift retrain; the next run trains as usual.
        result.models = {
            str(r["model"]): {"version": r.get("version"), "reason": r.get("reason")}
            for r in result.drift_retrains
        }
    elif train and result.bandits.counted:
        result.models = train_and_publish(tables, s3, now, rows=rows)
    elif train:
        result.models = {"all": {"skipped": "no new outcomes since the last run"}}
    if train:
        # numpy: only where training runs (the app imports this module at every cold start)
        from learnloop.journal.training import train_journal

        # the journal models learn from events, not outcomes: they skip by themselves when
        # no journal event is new
        result.drift_retrains += carry_out_journal_requests(tables, s3, now)
        result.journal = train_journal(tables, s3, now)


def learn_resumable(
    tables: Tables,
    now: datetime,
    *,
    deadline: Deadline | None = None,
    s3: Any | None = None,
    discount: float | None = None,
    train: bool = True,
    chunk_size: int = CHUNK_SIZE,
    **options: Any,
) -> dict[str, Any]:
    """:func:`learn` as units that stop at ``deadline`` and resume from the ledger checkpoint.

    The units, in order:

    1. ``recover``: chunks an earlier run claimed and never applied.
    2. ``window/{day}#{shard}``: one shard of one receipt day of new outcomes joined with
       their content, spooled
       to S3 (:class:`~learnloop.jobs.spool.RunSpool`); ``window/cut`` merges the days and
       spools the chunks; ``bandits/{n}`` counts chunk ``n``; ``watermark`` moves the mark.
    3. ``drift_retrains``, then (when something was counted and no drift retrain trained)
       ``training/{day}#{shard}``: one shard of one collection day of the training window,
       spooled; ``train``
       fits and publishes from the spooled days.

    So a resumed invocation reads no day shard twice, and the bounds (the watermark, the days,
    the time the run began) are fixed by the first one in the checkpoint: every invocation
    of one run counts the same chunks, whose ids come from the run, so a chunk done again
    after a crash adds nothing to the arms. The result is :meth:`LearnResult.to_dict` once
    the last unit is done (the spool is then dropped), else a resume token.

    Examples
    --------
    >>> learn_resumable(tables, now, deadline=Deadline.after(60))  # doctest: +SKIP
    {'job': 'learn', 'finished': False, 'resume': {...}, 'units_done': 41}
    """
    key_options = {"discount": discount, "train": train, "chunk_size": chunk_size, **options}
    holder: dict[str, Any] = {}

    def client() -> Any:
        if "s3" not in holder:
            holder["s3"] = s3 or s3_client(tables.settings)
        return holder["s3"]

    def spool_of(state: dict[str, Any]) -> RunSpool:
        return RunSpool(client(), tables.settings.bucket, "learn", state["run_id"])

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        discounts = bandit_discounts(tables, discount)
        done, state = checkpoint.done, checkpoint.state
        # Spool and chunk ids name this run (all its invocations), never a later run.
        state.setdefault("run_id", uuid.uuid4().hex[:12])
        spool = spool_of(state)
        yield Unit("recover", lambda: recover_pending(tables, now, discount=discounts))
        if "watermark" not in done:  # else every chunk is counted: no need to read them again
            yield from _bandit_units(tables, now, checkpoint, spool, discounts, chunk_size)
        if not train:
            return
        yield Unit(
            "drift_retrains",
            lambda: _plain(carry_out_predictor_requests(tables, client(), now)),
        )
        reads = not done["drift_retrains"] and _bandits(done, state).counted > 0
        days = [d.isoformat() for d in training_days(tables, now)] if reads else []
        parts = _parts(days, tables.settings.day_shards)
        for part in parts:
            yield Unit(f"training/{part}", partial(_spool_training_part, tables, spool, part, now))

        def training() -> dict[str, Any]:
            result = LearnResult(
                bandits=_bandits(done, state), drift_retrains=done["drift_retrains"]
            )
            spooled = (_spooled(spool, done, f"training/{p}") for p in parts)
            rows = merge_joined(spooled) if reads else None
            _train(tables, client(), now, result, train=True, rows=rows)
            return _plain(result.to_dict())

        yield Unit("train", training)

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        if "run_id" in checkpoint.state:
            spool_of(checkpoint.state).drop()
        if train:
            return dict(results["train"])
        return LearnResult(bandits=_bandits(results, checkpoint.state)).to_dict()

    return resumable(tables, "learn", now, key_options, plan, combine, deadline)


def _bandit_units(
    tables: Tables,
    now: datetime,
    checkpoint: Checkpoint,
    spool: RunSpool,
    discounts: dict[str, float],
    chunk_size: int,
) -> Iterator[Unit]:
    """The units that count a run's new outcomes: one per receipt day read, the cut into
    chunks, one per chunk, then the watermark."""
    done, state = checkpoint.done, checkpoint.state
    if "bounds" not in state:
        mark = read_watermark(tables)
        days, since = window_days(tables, now, mark)
        state.update(
            bounds=True,
            watermark=mark,
            since=since,
            days=[d.isoformat() for d in days],
            # Outcomes received after this are the next run's (every invocation agrees).
            started=iso(utcnow()),
        )
    parts = _parts(state["days"], tables.settings.day_shards)
    for part in parts:
        yield Unit(
            f"window/{part}",
            partial(_spool_window_part, tables, spool, part, state["since"], state["started"]),
        )

    def cut() -> dict[str, Any]:
        window = window_from_days(
            (_spooled(spool, done, f"window/{part}") for part in parts),
            state["watermark"],
            tables.settings.success_threshold,
        )
        chunks = window.chunks(chunk_size)
        for index, chunk in enumerate(chunks):
            spool.put(f"chunks/{index:06d}", [[o.decision_id, o.to_value()] for o in chunk])
        return {
            "chunks": len(chunks),
            "until": window.until,
            "waiting": window.waiting,
            "oldest_waiting": window.oldest_waiting,
        }

    yield Unit("window/cut", cut)
    run_id = state["run_id"]
    for index in range(int(done["window/cut"]["chunks"])):
        yield Unit(
            f"bandits/{index:06d}",
            partial(_count_chunk, tables, spool, index, f"{run_id}-{index}", now, discounts),
        )

    def watermark() -> None:
        cut = done["window/cut"]
        window = BanditWindow(
            watermark=state["watermark"],
            until=cut["until"],
            observations=[],
            waiting=int(cut["waiting"]),
            oldest_waiting=cut["oldest_waiting"],
        )
        advance_watermark(tables, window, now)

    yield Unit("watermark", watermark)


def _parts(days: list[str], shards: int) -> list[str]:
    """The unit of reading: one shard of one day, ``{day}#{shard}``, in read order."""
    return [f"{day}#{shard}" for day in days for shard in range(shards)]


def _spool_window_part(
    tables: Tables, spool: RunSpool, part: str, since: str | None, until: str
) -> dict[str, int]:
    day, shard = part.split("#")
    rows = read_window_day(tables, date.fromisoformat(day), since, until, shard=int(shard))
    if rows:  # most day shards of a window are empty: nothing to store or read back
        spool.put(f"window/{part}", rows)
    return {"rows": len(rows)}


def _count_chunk(
    tables: Tables,
    spool: RunSpool,
    index: int,
    chunk_id: str,
    now: datetime,
    discounts: dict[str, float],
) -> tuple[int, int]:
    chunk = [Observation.from_value(d, v) for d, v in spool.get(f"chunks/{index:06d}")]
    return commit_chunk(tables, chunk, chunk_id=chunk_id, now=now, discount=discounts)


def _spool_training_part(
    tables: Tables, spool: RunSpool, part: str, now: datetime
) -> dict[str, int]:
    day, shard = part.split("#")
    rows = joined_day(tables, date.fromisoformat(day), now, shard=int(shard))
    if rows:
        spool.put(f"training/{part}", rows)
    return {"rows": len(rows)}


def _spooled(spool: RunSpool, done: dict[str, Any], unit: str) -> list[Any]:
    """The rows unit ``unit`` spooled (none stored when it read none)."""
    return spool.get(unit) if done[unit]["rows"] else []


def _bandits(done: dict[str, Any], state: dict[str, Any]) -> BanditUpdate:
    """The bandit counts of a run from its units' results."""
    chunks = [v for k, v in done.items() if k.startswith("bandits/")]
    return BanditUpdate(
        counted=sum(int(c[0]) for c in chunks),
        already_counted=sum(int(c[1]) for c in chunks),
        waiting_for_content=int((done.get("window/cut") or {}).get("waiting") or 0),
        recovered=int(done.get("recover") or 0),
    )


def _plain(value: Any) -> Any:
    """``value`` as the JSON a checkpoint stores (dates and numpy numbers as JSON)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)

"""``learn``: the scheduled job that keeps bandits, predictors and the journal models current.

It also carries out the predictors' drift retrain requests (:mod:`learnloop.drift.actions`):
``learn`` is where scikit-learn runs, so a drift alert is acted on within one schedule period.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from learnloop.bandits.updates import (
    CHUNK_SIZE,
    BanditUpdate,
    advance_watermark,
    bandit_discounts,
    bandit_window,
    commit_chunk,
    recover_pending,
    update_bandits,
)
from learnloop.drift.actions import carry_out_journal_requests, carry_out_predictor_requests
from learnloop.jobs.deadline import Checkpoint, Deadline, Unit, resumable
from learnloop.observability import logger
from learnloop.predictors.training import train_and_publish
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


def _train(tables: Tables, s3: Any, now: datetime, result: LearnResult, *, train: bool) -> None:
    """The training half of a run, once its bandit counts and drift retrains are known."""
    if result.drift_retrains:
        # This run's training was the drift retrain; the next run trains as usual.
        result.models = {
            str(r["model"]): {"version": r.get("version"), "reason": r.get("reason")}
            for r in result.drift_retrains
        }
    elif train and result.bandits.counted:
        result.models = train_and_publish(tables, s3, now)
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
    """:func:`learn` as units (recover, each chunk of new outcomes, the watermark, the drift
    retrains, training) that stop at ``deadline`` and resume from the ledger checkpoint.

    Every invocation of one run reads the same window of outcomes (bounds kept in the
    checkpoint) and cuts the same chunks, whose ids come from the run: a chunk done again
    after a crash counts the same decisions and adds nothing to the arms. The result is
    :meth:`LearnResult.to_dict` once the last unit is done, else a resume token.

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

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        discounts = bandit_discounts(tables, discount)
        done = checkpoint.done
        yield Unit("recover", lambda: recover_pending(tables, now, discount=discounts))
        state = checkpoint.state
        if "watermark" not in done:  # else every chunk is counted: no need to read them again
            yield from _bandit_units(tables, now, state, discounts, chunk_size)
        if train:
            yield Unit(
                "drift_retrains",
                lambda: _plain(carry_out_predictor_requests(tables, client(), now)),
            )

            def training() -> dict[str, Any]:
                result = LearnResult(
                    bandits=_bandits(done, state), drift_retrains=done["drift_retrains"]
                )
                _train(tables, client(), now, result, train=True)
                return _plain(result.to_dict())

            yield Unit("train", training)

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        if train:
            return dict(results["train"])
        return LearnResult(bandits=_bandits(results, checkpoint.state)).to_dict()

    return resumable(tables, "learn", now, key_options, plan, combine, deadline)


def _bandit_units(
    tables: Tables,
    now: datetime,
    state: dict[str, Any],
    discounts: dict[str, float],
    chunk_size: int,
) -> Iterator[Unit]:
    """The units that count a run's new outcomes: one per chunk, then the watermark."""
    window = bandit_window(
        tables,
        now,
        watermark=state.get("watermark"),
        until=state.get("until"),
        resumed="bounds" in state,
    )
    if "bounds" not in state:
        state.update(
            bounds=True,
            watermark=window.watermark,
            until=window.until,
            waiting=window.waiting,
            oldest_waiting=window.oldest_waiting,
        )
    # What the first invocation saw waiting holds the watermark (a content that
    # arrived since is counted by the next run, never lost).
    window.waiting = int(state["waiting"])
    window.oldest_waiting = state["oldest_waiting"]
    # Chunk ids name this run (all its invocations), never a later run of the same time.
    run_id = state.setdefault("run_id", uuid.uuid4().hex[:12])
    for index, chunk in enumerate(window.chunks(chunk_size)):
        yield Unit(
            f"bandits/{index:06d}",
            partial(
                commit_chunk,
                tables,
                chunk,
                chunk_id=f"{run_id}-{index}",
                now=now,
                discount=discounts,
            ),
        )
    yield Unit("watermark", lambda: advance_watermark(tables, window, now))


def _bandits(done: dict[str, Any], state: dict[str, Any]) -> BanditUpdate:
    """The bandit counts of a run from its units' results."""
    chunks = [v for k, v in done.items() if k.startswith("bandits/")]
    return BanditUpdate(
        counted=sum(int(c[0]) for c in chunks),
        already_counted=sum(int(c[1]) for c in chunks),
        waiting_for_content=int(state.get("waiting") or 0),
        recovered=int(done.get("recover") or 0),
    )


def _plain(value: Any) -> Any:
    """``value`` as the JSON a checkpoint stores (dates and numpy numbers as JSON)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)

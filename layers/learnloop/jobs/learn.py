"""``learn``: the scheduled job that keeps bandits, predictors and the journal models current.

It also carries out the predictors' drift retrain requests (:mod:`learnloop.drift.actions`):
``learn`` is where scikit-learn runs, so a drift alert is acted on within one schedule period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from learnloop.bandits.updates import BanditUpdate, update_bandits
from learnloop.drift.actions import carry_out_journal_requests, carry_out_predictor_requests
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
    if result.drift_retrains:
        # This run's training was the drift retrain; the next run trains as usual.
        result.models = {
            str(r["model"]): {"version": r.get("version"), "reason": r.get("reason")}
            for r in result.drift_retrains
        }
    elif train and bandits.counted:
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
    logger.info("learn finished", extra=result.to_dict())
    return result

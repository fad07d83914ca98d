"""``learn``: the scheduled job that keeps bandits and predictors current."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from learnloop.bandits.updates import BanditUpdate, update_bandits
from learnloop.observability import logger
from learnloop.predictors.training import train_and_publish
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables


@dataclass
class LearnResult:
    """What one ``learn`` run did."""

    bandits: BanditUpdate
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"job": "learn", "bandits": self.bandits.to_dict(), "models": self.models}


def learn(
    tables: Tables,
    now: datetime,
    *,
    s3: Any | None = None,
    discount: float | None = None,
    train: bool = True,
) -> LearnResult:
    """Count new outcomes into the bandits, then retrain the predictors when anything was new.

    A run that finds nothing new changes nothing: no counts move and no model is trained.

    Examples
    --------
    >>> learn(tables, now).to_dict()  # doctest: +SKIP
    {'job': 'learn', 'bandits': {'counted': 20, ...}, 'models': {'engagement': {...}}}
    """
    bandits = update_bandits(tables, now, discount=discount)
    result = LearnResult(bandits=bandits)
    if train and bandits.counted:
        result.models = train_and_publish(tables, s3 or s3_client(tables.settings), now)
    elif train:
        result.models = {"all": {"skipped": "no new outcomes since the last run"}}
    logger.info("learn finished", extra=result.to_dict())
    return result

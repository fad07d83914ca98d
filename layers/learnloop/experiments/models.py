"""Experiments over model versions: which version of a model each user is served.

A variant may name model versions: ``{"name": "challenger", "weight": 1, "models":
{"engagement": "20261121T000000Z"}}``. While such an experiment runs, a serving route given a
``user_id`` serves that user's variant's version (a variant that names none gets production),
with the same deterministic assignment as ``GET /v1/experiments/{id}/assignment``, so a user
always sees the same version. A user who opted out or was deleted gets the control's. When
several running experiments name the same model, the first by id decides.

Running experiments are read once every ``ttl_seconds`` per container (one Query of the
``by_status`` index), not per request.

Examples
--------
>>> variants = ModelVariants(tables, ttl_seconds=5)  # doctest: +SKIP
>>> variants.assign("engagement", "u1")  # doctest: +SKIP
ModelAssignment(experiment_id='ranker-ab', variant='challenger', version='20261121T000000Z')
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from learnloop.experiments.assignment import variant_for
from learnloop.experiments.schemas import RUNNING
from learnloop.models.variants import ModelAssignment
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users

__all__ = ["ModelVariants"]


class ModelVariants:
    """A container's view of the running experiments that name model versions.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    ttl_seconds : float, default 5.0
        How long the list of running experiments is reused.
    consent : ConsentCache, optional
        Who gets the control (opted out or deleted).
    clock : callable, optional
        Monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        tables: Tables,
        *,
        ttl_seconds: float = 5.0,
        consent: ConsentCache | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tables = tables
        self.ttl_seconds = ttl_seconds
        self.consent = consent
        self.clock = clock
        self._running: tuple[float, list[tuple[str, list[dict[str, Any]]]]] | None = None
        self._lock = threading.Lock()

    def assign(self, model: str, user_id: str) -> ModelAssignment | None:
        """``user_id``'s variant of the first running experiment that names ``model``."""
        for experiment_id, variants in self._experiments():
            if not any(model in (v.get("models") or {}) for v in variants):
                continue
            if dropped_users(self.tables, [user_id], cache=self.consent):
                name = str(variants[0]["name"])
            else:
                name = variant_for(experiment_id, user_id, variants)
            chosen = next(v for v in variants if v["name"] == name)
            version = (chosen.get("models") or {}).get(model)
            return ModelAssignment(experiment_id, name, str(version) if version else None)
        return None

    def _experiments(self) -> list[tuple[str, list[dict[str, Any]]]]:
        now = self.clock()
        with self._lock:
            cached = self._running
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        found = sorted(
            (record.experiment_id, list(record.variants))
            for record in self.tables.experiments.by_status.query(RUNNING)
        )
        with self._lock:
            self._running = (now, found)
        return found

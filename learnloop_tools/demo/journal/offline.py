"""The journal world without a server: the same rows, trainers, ONNX export and grading as the
HTTP run, in one process (the tests' small world, and a quick look at a bigger one).

Training uses :func:`learnloop.journal.training.datasets` and the journal trainers on the
events of the training days; every prediction runs the exported ONNX, on rows built as of
the moment asked about (the journal holds later events, which no row reads).

Examples
--------
>>> summary = run_offline(traders=60, days=20, seed=3)  # doctest: +SKIP
>>> summary["outcome"]["met"], summary["churn"]["met"], summary["patterns"]["met"]  # doctest: +SKIP
(True, True, True)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from learnloop.journal.estimators import train_classifier
from learnloop.journal.features import (
    CHURN_DAYS,
    CHURN_MODEL,
    OUTCOME_MODEL,
    PATTERN_MODELS,
    Trade,
    churn_matrix,
    churn_row,
    epoch,
    journals_from_events,
    trade_matrix,
    trade_row,
)
from learnloop.journal.training import datasets
from learnloop.models.conversion import onnx_predict, to_onnx
from learnloop_tools.demo.journal import grade
from learnloop_tools.demo.journal.world import JournalWorld
from learnloop_tools.demo.journal.world import Trade as WorldTrade

START = datetime(2026, 9, 1, tzinfo=UTC)


def run_offline(
    *, traders: int = 60, days: int = 20, fresh_days: int = 3, seed: int = 3
) -> dict[str, Any]:
    """Simulate, train the outcome, churn and pattern models, and grade them on fresh trades
    and the 14 days after the cut-off; returns the figures as the HTTP run reports them."""
    world = JournalWorld.generate(n_traders=traders, seed=seed, start=START)
    rng = np.random.default_rng(seed + 1)
    events: list[dict[str, Any]] = []
    for index in range(days):
        events += world.simulate_day(index, rng).events
    cut = world.day_start(days)
    window = cut - timedelta(days=CHURN_DAYS)
    active = [
        t.user_id
        for t in world.traders
        if t.clock and datetime.fromtimestamp(t.clock, UTC) > window
    ]
    last_day = {
        t.user_id
        for t in world.traders
        if t.clock and datetime.fromtimestamp(t.clock, UTC) > cut - timedelta(days=1)
    }
    fresh: list[WorldTrade] = []
    traded: set[str] = set()
    for index in range(days, days + CHURN_DAYS):
        day = world.simulate_day(index, rng)
        traded |= {t.user_id for t in day.trades}
        if index < days + fresh_days:
            events += day.events
            fresh += day.trades
    journals = journals_from_events(events)
    names = [OUTCOME_MODEL, CHURN_MODEL, *PATTERN_MODELS.values()]
    sets = datasets(journals, epoch(cut), only=names)
    models = {
        name: to_onnx(
            train_classifier(name, d.X, d.y, d.stamps, d.features, ids=d.ids).estimator,
            d.features,
        )
        for name, d in sets.items()
    }

    def row_of(trade: WorldTrade) -> dict[str, float]:
        journal = journals[trade.user_id]
        proposed = Trade(
            trade_id="@proposed",
            opened_at=trade.opened_at.timestamp(),
            symbol=trade.symbol,
            side=trade.side,
            quantity=trade.quantity,
            price=trade.price,
            emotion=trade.emotion,
            emotion_confidence=0.9,
        )
        return trade_row(journal, proposed)

    X = trade_matrix([row_of(t) for t in fresh])
    predicted = onnx_predict(models[OUTCOME_MODEL], X)[:, 1].tolist()
    detected: dict[str, set[str]] = {t.trade_id: set() for t in fresh}
    for pattern, name in PATTERN_MODELS.items():
        found = onnx_predict(models[name], X)[:, 1] >= 0.5
        for trade, hit in zip(fresh, found, strict=True):
            if hit:
                detected[trade.trade_id].add(pattern)
    C = churn_matrix([churn_row(journals[u], epoch(cut)) for u in active if u in journals])
    asked = [u for u in active if u in journals]
    churn_p = onnx_predict(models[CHURN_MODEL], C)[:, 1].tolist()
    return {
        "rows": {name: len(d) for name, d in sets.items()},
        "outcome": grade.outcome_figures(predicted, fresh),
        "churn": grade.churn_figures(
            dict(zip(asked, churn_p, strict=True)),
            {u: u not in traded for u in asked},
            last_day=last_day,
        ),
        "patterns": grade.pattern_figures(detected, fresh),
    }


__all__ = ["run_offline"]

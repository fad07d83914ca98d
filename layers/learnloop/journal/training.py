"""The ``learn`` job's journal step: read the journal events, build each model's rows, train,
publish ONNX to the same registry as the predictors.

Rows come from the events of the training window (``settings.training_window_days``), read
through day partitions (never a Scan) and rebuilt into journals
(:func:`~learnloop.journal.features.journals_from_events`); a row's features see only what
happened before its moment (the window's start bounds the history too, as a new user's would
be). Each model goes out through :func:`learnloop.predictors.training.publish`: ``model.onnx``,
its ``validation.onnx`` twin, its hold-out rows and ``reference.npz``, manifest last, naming
its key metric; registration scores it fairly against production and the drift check
watches it (:func:`recent_datasets`).

A run whose newest journal event is no newer than the one the last published journal model
saw (``extra.events_through``) trains nothing: re-running ``learn`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from learnloop.clock import as_utc, iso
from learnloop.exceptions import InsufficientDataError
from learnloop.journal.features import (
    BEHAVIOUR_MODEL,
    CHURN_DAYS,
    CHURN_FEATURES,
    CHURN_MODEL,
    INSIGHT_FEATURES,
    JOURNAL_EVENT_TYPES,
    JOURNAL_MODELS,
    OUTCOME_MODEL,
    PATTERN_MODELS,
    PNL_MODEL,
    QUALITY_MODEL,
    TRADE_FEATURES,
    Journal,
    churn_matrix,
    churn_row,
    churn_snapshots,
    churned,
    epoch,
    insight_matrix,
    insight_row,
    journals_from_events,
    recurred,
    trade_matrix,
    trade_return,
    trade_row,
)
from learnloop.store.queries import days_between, query_days
from learnloop.store.tables import Tables

_EVENT_FIELDS = ("user_id", "type", "occurred_at", "properties")
#: Model name → (key metric, higher is better): what registration compares.
KEY_METRICS: dict[str, tuple[str, bool]] = {
    name: ("r2", True) if name == PNL_MODEL else ("auc", True) for name in JOURNAL_MODELS
}


@dataclass(frozen=True)
class Dataset:
    """One journal model's rows: features, targets, times (epoch seconds) and row ids."""

    features: tuple[str, ...]
    X: np.ndarray
    y: np.ndarray
    stamps: np.ndarray
    ids: list[str]

    def __len__(self) -> int:
        return len(self.y)


def journal_events(
    tables: Tables, now: datetime, *, window: timedelta | None = None
) -> list[dict[str, Any]]:
    """The journal events (:data:`~learnloop.journal.features.JOURNAL_EVENT_TYPES`) that
    occurred in the ``window`` before ``now`` (default ``settings.training_window_days``)."""
    settings = tables.settings
    window = window or timedelta(days=settings.training_window_days)
    now = as_utc(now)
    events = tables.events
    items = query_days(
        events,
        days_between((now - window).date(), now.date()),
        shards=settings.day_shards,
        attributes=_EVENT_FIELDS,
        filter_condition=events.type.is_in(*JOURNAL_EVENT_TYPES),
    )
    start, end = iso(now - window), iso(now)
    return [
        {
            "user_id": item.user_id,
            "type": item.type,
            "occurred_at": item.occurred_at,
            "properties": item.properties or {},
        }
        for item in items
        if start <= item.occurred_at <= end
    ]


def datasets(
    journals: Mapping[str, Journal],
    now: float,
    *,
    since: float | None = None,
    only: Collection[str] | None = None,
) -> dict[str, Dataset]:
    """Every journal model's rows whose label is known at ``now`` (epoch seconds).

    ``since`` keeps the rows from then on (the drift check's recent window; churn rows, whose
    label needs :data:`CHURN_DAYS` more, from ``since - CHURN_DAYS``).
    """
    wanted = set(only) if only is not None else set(JOURNAL_MODELS)
    start = float("-inf") if since is None else since
    trade_rows: list[dict[str, float]] = []
    trade_ids: list[str] = []
    stamps: list[float] = []
    won: list[float] = []
    returns: list[float | None] = []
    patterns: list[set[str]] = []
    churn_rows: list[dict[str, float]] = []
    churn_y: list[float] = []
    churn_at: list[float] = []
    churn_ids: list[str] = []
    insight_rows: list[dict[str, float]] = []
    insight_ids: list[str] = []
    insight_at: list[float] = []
    recur: list[bool | None] = []
    helpful: list[bool | None] = []
    trade_models = {OUTCOME_MODEL, PNL_MODEL, *PATTERN_MODELS.values()}
    for user in sorted(journals):
        journal = journals[user]
        if wanted & trade_models:
            for trade in journal.trades:
                if trade.closed_at is None or trade.closed_at > now or trade.won is None:
                    continue
                if trade.opened_at < start:
                    continue
                trade_rows.append(trade_row(journal, trade))
                trade_ids.append(trade.trade_id)
                stamps.append(trade.opened_at)
                won.append(1.0 if trade.won else 0.0)
                returns.append(trade_return(trade))
                patterns.append(trade.patterns)
        if CHURN_MODEL in wanted:
            for at in churn_snapshots(journal, now):
                if at < start - CHURN_DAYS * 86400.0:
                    continue
                churn_rows.append(churn_row(journal, at))
                churn_y.append(1.0 if churned(journal, at) else 0.0)
                churn_at.append(at)
                churn_ids.append(f"{user}@{int(at)}")
        if wanted & {BEHAVIOUR_MODEL, QUALITY_MODEL}:
            for insight in journal.insights:
                if insight.at < start or insight.at > now:
                    continue
                insight_rows.append(insight_row(journal, insight.insight_type, insight.at))
                insight_ids.append(insight.insight_id)
                insight_at.append(insight.at)
                recur.append(recurred(journal, insight, now))
                known = insight.feedback_at is not None and insight.feedback_at <= now
                helpful.append(insight.helpful if known else None)

    out: dict[str, Dataset] = {}
    T = trade_matrix(trade_rows)
    t_stamps = np.asarray(stamps, dtype=np.float64)
    if OUTCOME_MODEL in wanted:
        out[OUTCOME_MODEL] = Dataset(TRADE_FEATURES, T, np.asarray(won), t_stamps, trade_ids)
    if PNL_MODEL in wanted:
        keep = [i for i, r in enumerate(returns) if r is not None]
        out[PNL_MODEL] = Dataset(
            TRADE_FEATURES,
            T[keep],
            np.asarray([returns[i] for i in keep], dtype=np.float64),
            t_stamps[keep],
            [trade_ids[i] for i in keep],
        )
    for pattern, name in PATTERN_MODELS.items():
        if name in wanted:
            labels = np.asarray([1.0 if pattern in p else 0.0 for p in patterns])
            out[name] = Dataset(TRADE_FEATURES, T, labels, t_stamps, trade_ids)
    if CHURN_MODEL in wanted:
        out[CHURN_MODEL] = Dataset(
            CHURN_FEATURES,
            churn_matrix(churn_rows),
            np.asarray(churn_y),
            np.asarray(churn_at),
            churn_ids,
        )
    insights = insight_matrix(insight_rows)
    for name, verdicts in ((BEHAVIOUR_MODEL, recur), (QUALITY_MODEL, helpful)):
        if name in wanted:
            keep = [i for i, v in enumerate(verdicts) if v is not None]
            out[name] = Dataset(
                INSIGHT_FEATURES,
                insights[keep],
                np.asarray([1.0 if verdicts[i] else 0.0 for i in keep]),
                np.asarray([insight_at[i] for i in keep], dtype=np.float64),
                [insight_ids[i] for i in keep],
            )
    return out


def recent_datasets(
    tables: Tables, now: datetime, *, days: int, only: Collection[str] | None = None
) -> dict[str, Dataset]:
    """The rows of the last ``days`` days (churn: the latest labelled ones) with a week of
    history before them: what the drift check compares with a model's training rows.

    The history is shorter than training's (each day read is a query): counts over the whole
    history (``log_trades_total``, tenure) read lower here, which the PSI of a young journal
    shows anyway as its users age."""
    window = timedelta(days=days + CHURN_DAYS + 7)
    events = journal_events(tables, now, window=window)
    journals = journals_from_events(events)
    return datasets(
        journals, epoch(as_utc(now)), since=epoch(as_utc(now) - timedelta(days=days)), only=only
    )


def train_journal(
    tables: Tables,
    s3: Any,
    now: datetime,
    *,
    events: Sequence[Mapping[str, Any]] | None = None,
    only: Collection[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    force: bool = False,
) -> dict[str, dict[str, Any]]:
    """Train every journal model (or the ``only`` ones) that has enough rows and publish it.

    Parameters
    ----------
    tables, s3
        The stage's tables and S3 client.
    now : datetime
        The run's logical time: rows are those whose label is known by then.
    events : sequence of mapping, optional
        The events to learn from; by default :func:`journal_events` of the training window.
    only : collection of str, optional
        Model names to train (default :data:`~learnloop.journal.features.JOURNAL_MODELS`).
    extra : mapping, optional
        Merged into each manifest's ``extra``.
    force : bool, default False
        Train even when no event is newer than the last published journal model's.

    Returns
    -------
    dict
        Model name → ``{"version", "metrics", "rows", "manifest_key"}`` or
        ``{"skipped": reason}``; ``{"all": {"skipped": ...}}`` when nothing was trained.

    Examples
    --------
    >>> train_journal(tables, s3, now)["journal_outcome"]["metrics"]["auc"]  # doctest: +SKIP
    0.71...
    """
    # scikit-learn loads only when there is something to train
    from learnloop.journal.estimators import train_classifier, train_return_model
    from learnloop.predictors.training import publish

    events = journal_events(tables, now) if events is None else events
    if not events:
        return {"all": {"skipped": "no journal events in the training window"}}
    through = max(str(e["occurred_at"]) for e in events)
    last = _last_events_through(tables)
    if not force and last is not None and through <= last:
        return {"all": {"skipped": f"no journal event since the last training ({last})"}}
    names = [n for n in JOURNAL_MODELS if only is None or n in only]
    sets = datasets(journals_from_events(events), epoch(as_utc(now)), only=names)
    minimum = tables.settings.min_training_rows
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        data = sets[name]
        metric, higher = KEY_METRICS[name]
        details: dict[str, Any] = {
            "journal": True,
            "events_through": through,
            "key_metric": {"name": metric, "higher_is_better": higher},
            **(extra or {}),
        }
        try:
            if len(data.y) > tables.settings.streaming_training_rows:
                trained = _train_streaming(name, data, minimum)
                if name == PNL_MODEL:
                    half_width = float(trained.metrics["interval_half_width"] or 0.0)
                    details.update(
                        task="regression",
                        target="return",
                        interval={
                            "level": 0.9,
                            "half_width": half_width,
                            "method": "split_conformal",
                        },
                    )
            elif name == PNL_MODEL:
                trained, half_width = train_return_model(
                    name,
                    data.X,
                    data.y,
                    data.stamps,
                    data.features,
                    min_rows=minimum,
                    ids=data.ids,
                )
                details.update(
                    task="regression",
                    target="return",
                    interval={"level": 0.9, "half_width": half_width, "method": "split_conformal"},
                )
            else:
                trained = train_classifier(
                    name,
                    data.X,
                    data.y,
                    data.stamps,
                    data.features,
                    min_rows=minimum,
                    ids=data.ids,
                )
        except InsufficientDataError as exc:
            results[name] = {"skipped": exc.message}
            continue
        results[name] = publish(tables, s3, trained, now, extra=details)
    return results


def _train_streaming(name: str, data: Dataset, min_rows: int) -> Any:
    """The out-of-core path (above ``settings.streaming_training_rows``): the same recipe as
    ``train_return_model`` (ridge, alpha 1, 90 % split conformal) or ``train_classifier``
    (logistic, C 1) from exact sufficient statistics over a disk spool."""
    from learnloop.journal.estimators import INTERVAL_LEVEL
    from learnloop.predictors.streaming import spool_matrix, train_streaming

    with spool_matrix(data.X, data.y, data.stamps) as spool:
        if name == PNL_MODEL:
            return train_streaming(
                name,
                "ridge",
                spool,
                data.features,
                alpha=1.0,
                min_rows=min_rows,
                ids=data.ids,
                interval_level=INTERVAL_LEVEL,
            )
        return train_streaming(
            name, "logistic", spool, data.features, C=1.0, min_rows=min_rows, ids=data.ids
        )


def _last_events_through(tables: Tables) -> str | None:
    """``extra.events_through`` of the newest published version of the outcome model."""
    models = tables.models
    # versions (digits) sort before the alias and history items ("@...")
    for record in models.query(
        OUTCOME_MODEL, models.version < "@", scan_index_forward=False, limit=1
    ):
        extra = (record.manifest or {}).get("extra") or {}
        value = extra.get("events_through")
        return str(value) if value else None
    return None


__all__ = [
    "KEY_METRICS",
    "Dataset",
    "datasets",
    "journal_events",
    "recent_datasets",
    "train_journal",
]

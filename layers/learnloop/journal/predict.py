"""``GET /v1/journal/{user_id}/...``: the journal models served from ONNX.

Each route reads the user's journal events of the last
:data:`~learnloop.journal.features.HISTORY_DAYS` before ``at`` (one Query of the user's
partition; default ``at``: now), rebuilds the journal and its feature row with the code
training uses, and runs the production model held by the
:class:`~learnloop.models.cache.ModelCache`. Nothing after ``at`` is read, so asking with a
past ``at`` answers what the model would have said then.

``outcome``
    Win probability of a trade about to be placed (``quantity``, ``price``, optional
    ``symbol``, ``side``, ``emotion``), its expected P&L and a 90 % interval (split conformal,
    scaled by the trade's notional).
``churn``
    Probability of no journal event in the next 14 days.
``patterns/detected``
    The detectors' probabilities on the user's last ``limit`` trades (each as of its opening)
    and the patterns at or above ``threshold``.
``optimal-state``
    The outcome model over emotion, time of day and losing streak, the user's other features
    held: which states precede wins, and the best ones.
``behaviour-change``
    Probability that the pattern an insight of ``insight_type`` is about recurs in the user's
    next 10 trades if the insight is shown at ``at``.
``insight-quality``
    Probability that the user marks such an insight helpful.

Importing this module is cheap (pydantic only); numpy and onnxruntime load on first use.

Examples
--------
>>> journal_churn(tables, cache, "u1", {})["churn_probability"]  # doctest: +SKIP
0.12...
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from learnloop.clock import iso, utcnow
from learnloop.exceptions import ModelLoadError, NoProductionModelError, NotFoundError
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users
from learnloop.validation import Identifier, ShortText, Strict, UtcDatetime, validate

if TYPE_CHECKING:
    import numpy as np

    from learnloop.journal.features import Journal
    from learnloop.models.cache import LoadedModel, ModelCache

__all__ = [
    "ChurnIn",
    "InsightIn",
    "OutcomeIn",
    "PatternsIn",
    "journal_behaviour_change",
    "journal_churn",
    "journal_insight_quality",
    "journal_optimal_state",
    "journal_outcome",
    "journal_patterns",
]

Positive = Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
#: Hours of the optimal-state grid: the middle of each three-hour block.
_HOURS = tuple(range(1, 24, 3))
_MAX_STREAK = 3


class _UserPath(Strict):
    user_id: Identifier


class AtIn(Strict):
    """``at``: the moment asked about (ISO 8601 with a zone; default now)."""

    at: UtcDatetime | None = None


class ChurnIn(AtIn):
    """The churn query: only ``at``."""


class OutcomeIn(AtIn):
    """A trade about to be placed."""

    quantity: Positive
    price: Positive
    symbol: ShortText | None = None
    side: Literal["buy", "sell"] = "buy"
    emotion: ShortText | None = None
    emotion_confidence: Unit = 1.0


class PatternsIn(AtIn):
    """How many recent trades to score and the detection threshold."""

    limit: Annotated[int, Field(ge=1, le=200)] = 20
    threshold: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.5


class InsightIn(AtIn):
    """The insight's type (free text; ``revenge_trading_warning``, ``emotion_tip``, ...)."""

    insight_type: ShortText


class _Intervals:
    """The P&L model's interval half-width per version (its registry record's metrics)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], float | None] = {}
        self._lock = threading.Lock()

    def get(self, tables: Tables, name: str, version: str) -> float | None:
        key = (name, version)
        if key not in self._known:
            try:
                record = tables.models.get(name, version)
                value = (record.metrics or {}).get("interval_half_width")
            except tables.models.DoesNotExist:
                value = None
            with self._lock:
                self._known[key] = float(value) if value is not None else None
        return self._known[key]


_INTERVALS = _Intervals()


def journal_outcome(
    tables: Tables,
    cache: ModelCache,
    user_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Win probability, expected P&L and its 90 % interval of a trade about to be placed.

    Raises
    ------
    ValidationError
        A bad path or query parameter (422, naming it).
    NotFoundError
        The user opted out or was deleted (404).
    NoProductionModelError
        No outcome model in production yet (409).

    Examples
    --------
    >>> journal_outcome(tables, cache, "u1", {"quantity": "2", "price": "100",
    ...                 "emotion": "calm"})["win_probability"]  # doctest: +SKIP
    0.58...
    """
    from learnloop.journal.features import (
        OUTCOME_MODEL,
        PNL_MODEL,
        TRADE_FEATURES,
        Trade,
        epoch,
        trade_matrix,
        trade_row,
    )

    user, request, journal, at = _prepare(tables, user_id, query, OutcomeIn, consent)
    trade = Trade(
        trade_id="@proposed",
        opened_at=epoch(at),
        symbol=request.symbol or "",
        side=request.side,
        quantity=request.quantity,
        price=request.price,
        emotion=request.emotion.lower() if request.emotion else None,
        emotion_confidence=request.emotion_confidence if request.emotion else None,
    )
    X = trade_matrix([trade_row(journal, trade)])
    model = _model(cache, OUTCOME_MODEL, TRADE_FEATURES)
    reply: dict[str, Any] = {
        "user_id": user,
        "at": iso(at),
        "win_probability": _probabilities(model, X)[0],
        "models": {OUTCOME_MODEL: model.version},
        "expected_pnl": None,
        "pnl_interval": None,
    }
    try:
        pnl = _model(cache, PNL_MODEL, TRADE_FEATURES)
    except NoProductionModelError:
        return reply
    expected = float(pnl.predict(X)[0])
    notional = request.quantity * request.price
    reply["models"][PNL_MODEL] = pnl.version
    reply["expected_return"] = expected
    reply["expected_pnl"] = expected * notional
    half = _INTERVALS.get(tables, PNL_MODEL, pnl.version)
    if half is not None:
        reply["pnl_interval"] = {
            "low": (expected - half) * notional,
            "high": (expected + half) * notional,
            "level": 0.9,
        }
    return reply


def journal_churn(
    tables: Tables,
    cache: ModelCache,
    user_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Probability that the user sends no journal event in the 14 days after ``at``.

    Raises ``ValidationError`` (422), ``NotFoundError`` (404: opted out or deleted) and
    ``NoProductionModelError`` (409) as :func:`journal_outcome`.
    """
    from learnloop.journal.features import (
        CHURN_DAYS,
        CHURN_FEATURES,
        CHURN_MODEL,
        churn_matrix,
        churn_row,
        epoch,
    )

    user, _, journal, at = _prepare(tables, user_id, query, ChurnIn, consent)
    row = churn_row(journal, epoch(at))
    model = _model(cache, CHURN_MODEL, CHURN_FEATURES)
    return {
        "user_id": user,
        "at": iso(at),
        "horizon_days": CHURN_DAYS,
        "churn_probability": _probabilities(model, churn_matrix([row]))[0],
        "signals": {
            "days_since_activity": round(math.expm1(row["log_days_since_activity"]), 3),
            "loss_streak": int(row["loss_streak"]),
            "trades_7d": round(math.expm1(row["log_trades_7d"])),
        },
        "model": CHURN_MODEL,
        "version": model.version,
    }


def journal_patterns(
    tables: Tables,
    cache: ModelCache,
    user_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Each pattern detector's probability on the user's last ``limit`` trades.

    A trade is scored as of its opening (the same row training built), so the answer is what
    a warning before the trade would have said; ``win_probability`` is the outcome model's on
    the same row (what ``outcome`` said before the trade), ``won`` its result once closed.
    ``reported`` lists the patterns the app sent for it (``pattern_detected``). Detectors
    without a production version are listed under ``unavailable``; with none at all the
    route answers 409.
    """
    from learnloop.journal.features import (
        OUTCOME_MODEL,
        PATTERN_MODELS,
        TRADE_FEATURES,
        trade_matrix,
        trade_row,
    )

    user, request, journal, at = _prepare(tables, user_id, query, PatternsIn, consent)
    trades = journal.trades[-request.limit :][::-1]
    X = trade_matrix([trade_row(journal, t) for t in trades])
    scores: dict[str, list[float]] = {}
    versions: dict[str, str] = {}
    unavailable = []
    for pattern, name in PATTERN_MODELS.items():
        try:
            model = _model(cache, name, TRADE_FEATURES)
        except NoProductionModelError:
            unavailable.append(pattern)
            continue
        versions[name] = model.version
        scores[pattern] = _probabilities(model, X) if trades else []
    if not versions:
        raise NoProductionModelError("no pattern detector is in production yet")
    try:
        outcome = _model(cache, OUTCOME_MODEL, TRADE_FEATURES)
        versions[OUTCOME_MODEL] = outcome.version
        win = _probabilities(outcome, X) if trades else []
    except NoProductionModelError:
        win = []
    out = []
    for i, trade in enumerate(trades):
        probabilities = {p: s[i] for p, s in scores.items()}
        out.append(
            {
                "trade_id": trade.trade_id,
                "opened_at": iso(_datetime(trade.opened_at)),
                "symbol": trade.symbol,
                "probabilities": probabilities,
                "detected": sorted(p for p, v in probabilities.items() if v >= request.threshold),
                "reported": sorted(trade.patterns),
                # what the outcome route said, or would have, before the trade
                "win_probability": win[i] if win else None,
                "won": trade.won,
            }
        )
    return {
        "user_id": user,
        "at": iso(at),
        "threshold": request.threshold,
        "trades": out,
        "models": versions,
        "unavailable": unavailable,
    }


def journal_optimal_state(
    tables: Tables,
    cache: ModelCache,
    user_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Which emotion, time of day and losing streak precede the user's wins, by the outcome
    model: its win probability over the grid, the user's other features as of ``at``.

    ``by_emotion``, ``by_hour`` (three-hour blocks, UTC) and ``by_loss_streak`` average the
    grid over the other two; ``best`` lists the three best cells.
    """
    import numpy as np

    from learnloop.journal.features import (
        EMOTIONS,
        OUTCOME_MODEL,
        TRADE_FEATURES,
        Trade,
        epoch,
        trade_matrix,
        trade_row,
    )

    user, _, journal, at = _prepare(tables, user_id, query, ChurnIn, consent)
    recent = journal.trades[-20:]
    sizes = sorted(t.notional for t in recent if t.notional > 0)
    notional = sizes[len(sizes) // 2] if sizes else 1.0
    last = recent[-1] if recent else None
    base = trade_row(
        journal,
        Trade(
            trade_id="@state",
            opened_at=epoch(at),
            symbol=last.symbol if last else "",
            side=last.side if last else "buy",
            quantity=1.0,
            price=notional,
        ),
    )
    # a state is chosen, not a conjunction with a fresh close: no re-entry effects
    base.update(upsized_after_loss=0.0, upsized_after_win=0.0, size_ratio=0.0)
    cells = []
    rows = []
    for emotion in EMOTIONS:
        for hour in _HOURS:
            for streak in range(_MAX_STREAK + 1):
                row = dict(base)
                row.update({f"emotion_{e}": 1.0 if e == emotion else 0.0 for e in EMOTIONS})
                row.update(
                    emotion_other=0.0,
                    emotion_confidence=1.0,
                    hour_sin=math.sin(2 * math.pi * hour / 24),
                    hour_cos=math.cos(2 * math.pi * hour / 24),
                    loss_streak=float(streak),
                    last_loss=1.0 if streak else 0.0,
                    win_streak=0.0 if streak else base["win_streak"],
                )
                rows.append(row)
                cells.append((emotion, hour, streak))
    model = _model(cache, OUTCOME_MODEL, TRADE_FEATURES)
    p = np.asarray(_probabilities(model, trade_matrix(rows)))

    def marginal(index: int, values: tuple[Any, ...], label: str) -> list[dict[str, Any]]:
        out = [
            {
                label: _block(v) if label == "hours" else v,
                "win_probability": float(p[[c[index] == v for c in cells]].mean()),
            }
            for v in values
        ]
        return sorted(out, key=lambda r: -r["win_probability"])

    order = np.argsort(-p, kind="stable")[:3]
    return {
        "user_id": user,
        "at": iso(at),
        "by_emotion": marginal(0, EMOTIONS, "emotion"),
        "by_hour": marginal(1, _HOURS, "hours"),
        "by_loss_streak": marginal(2, tuple(range(_MAX_STREAK + 1)), "loss_streak"),
        "best": [
            {
                "emotion": cells[i][0],
                "hours": _block(cells[i][1]),
                "loss_streak": cells[i][2],
                "win_probability": float(p[i]),
            }
            for i in order
        ],
        "model": OUTCOME_MODEL,
        "version": model.version,
    }


def journal_behaviour_change(
    tables: Tables,
    cache: ModelCache,
    user_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Probability that the pattern an ``insight_type`` insight is about recurs in the user's
    next 10 trades if it is shown at ``at``; ``recent_share`` is that pattern's share of the
    user's last 10 trades."""
    from learnloop.journal.features import BEHAVIOUR_MODEL

    return _insight_reply(
        tables, cache, user_id, query, consent, BEHAVIOUR_MODEL, "recurrence_probability"
    )


def journal_insight_quality(
    tables: Tables,
    cache: ModelCache,
    user_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """Probability that the user marks an ``insight_type`` insight shown at ``at`` helpful
    (the learned insight-quality model)."""
    from learnloop.journal.features import QUALITY_MODEL

    return _insight_reply(
        tables, cache, user_id, query, consent, QUALITY_MODEL, "helpful_probability"
    )


def _insight_reply(
    tables: Tables,
    cache: ModelCache,
    user_id: str,
    query: Mapping[str, str] | None,
    consent: ConsentCache | None,
    name: str,
    field: str,
) -> dict[str, Any]:
    from learnloop.journal.features import (
        INSIGHT_FEATURES,
        epoch,
        insight_matrix,
        insight_row,
        topic_of,
    )

    user, request, journal, at = _prepare(tables, user_id, query, InsightIn, consent)
    row = insight_row(journal, request.insight_type, epoch(at))
    model = _model(cache, name, INSIGHT_FEATURES)
    return {
        "user_id": user,
        "at": iso(at),
        "insight_type": request.insight_type,
        "topic": topic_of(request.insight_type),
        field: _probabilities(model, insight_matrix([row]))[0],
        "recent_share": row["relevant_share"],
        "model": name,
        "version": model.version,
    }


# --- shared ----------------------------------------------------------------------------------


def _prepare(
    tables: Tables,
    user_id: str,
    query: Mapping[str, str] | None,
    schema: type[AtIn],
    consent: ConsentCache | None,
) -> tuple[str, Any, Journal, Any]:
    """The validated user and query, the user's journal before ``at``, and ``at``."""
    path = validate(_UserPath, {"user_id": user_id})
    request = validate(schema, dict(query or {}))
    if dropped_users(tables, [path.user_id], cache=consent):
        raise NotFoundError(f"user {path.user_id!r} opted out or was deleted")
    at = request.at or utcnow()
    return path.user_id, request, user_journal(tables, path.user_id, at), at


def user_journal(tables: Tables, user_id: str, at: Any) -> Journal:
    """The user's :class:`~learnloop.journal.features.Journal` of the
    :data:`~learnloop.journal.features.HISTORY_DAYS` before ``at`` (one Query)."""
    from learnloop.journal.features import (
        HISTORY_DAYS,
        JOURNAL_EVENT_TYPES,
        Journal,
        journals_from_events,
    )

    events = tables.events
    start = iso(at - timedelta(days=HISTORY_DAYS))
    end = iso(at) + "#\uffff"  # every event id at ``at`` itself
    items = events.query(
        user_id,
        events.sk.between(start, end),
        filter_condition=events.type.is_in(*JOURNAL_EVENT_TYPES),
        attributes_to_get=["user_id", "type", "occurred_at", "properties"],
    )
    found = [
        {
            "user_id": item.user_id,
            "type": item.type,
            "occurred_at": item.occurred_at,
            "properties": item.properties or {},
        }
        for item in items
    ]
    return journals_from_events(found).get(user_id) or Journal(user_id=user_id)


def _model(cache: ModelCache, name: str, features: tuple[str, ...]) -> LoadedModel:
    model = cache.get(name)
    # A model trained on other features would silently answer nonsense: refuse it instead.
    if model.feature_names and model.feature_names != features:
        raise ModelLoadError(
            f"{model.name} version {model.version} takes features {list(model.feature_names)}; "
            f"this server builds {list(features)}"
        )
    return model


def _probabilities(model: LoadedModel, X: np.ndarray) -> list[float]:
    if not model.is_classifier:
        raise ModelLoadError(
            f"{model.name} version {model.version} outputs no probabilities; it is not a classifier"
        )
    return [float(p) for p in model.predict(X)[:, -1].tolist()]


def _block(hour: int) -> str:
    start = hour - 1
    return f"{start:02d}-{start + 3:02d}"


def _datetime(seconds: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC)

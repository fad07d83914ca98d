"""What the ``drift_check`` job does about its alerts, and the timeline of it.

An alert for a model records a *retrain request* for that model: the action item carries
``pending_job = "retrain"``, so it sits in the ledger's sparse ``by_pending`` index until it is
carried out.

* ``engagement`` / ``follow_through``: the next ``learn`` run carries the request out
  (:func:`carry_out_predictor_requests`; ``learn`` is where scikit-learn is, on AWS as locally,
  and it runs every 4 hours): it trains on the rows of the recent drift window only (after a
  detected change, older rows describe a different world) and publishes to S3 with ``extra =
  {"trigger": "drift", "window_days", "drift_check", "drifted"}`` in the manifest.
* ``two_tower`` / ``sentiment`` are container jobs the runtime never imports: when
  ``LEARNLOOP_EVENT_BUS`` is set (the deployed stack sets it), the request is also put on that
  bus as a ``learnloop.retrain.requested`` event, and the stack's rule for the model starts the
  job's Fargate task; the local stack carries requests out (``learnloop retrain --pending``, and
  the runner after each drift check). Either way the request is done when a version of the
  model published after it is registered (:func:`complete_by_version`, called on every model
  drop), so a task started by the rule needs no access to the ledger.

Either way registration, triggered by the manifest's arrival, decides promotion as for any
other version (champion and challenger scored on one evaluation set).

Debounce: each action is one ledger item ``drift_action#{checked_at}#{model}`` written with
``attribute_not_exists``, so a redelivered check (the same ``checked_at``) finds it and
requests nothing more; and a model retrained for drift within ``drift_retrain_cooldown_hours``
(24) of this check (``drift_retrain#{model}``) gets a ``cooldown`` action instead, so a
persistent alert does not retrain every run.

Each action is ``{"at", "model", "trigger": [alerts], "action": "retrain_requested" |
"retrained" | "cooldown" | "skipped", "version", "window_days", "reason"}``; :func:`timeline`
adds ``outcome`` (``promoted`` / ``kept`` / ``rejected`` / ``pending``) and its reason from the
version's registry record when read, because registration is asynchronous.

Examples
--------
>>> actions = act_on_drift(tables, drift_check(tables, now, s3=s3), now)  # doctest: +SKIP
>>> [(a["model"], a["action"]) for a in actions]  # doctest: +SKIP
[('engagement', 'retrain_requested')]
>>> [a["version"] for a in carry_out_predictor_requests(tables, s3, later)]  # doctest: +SKIP
['20261120T040000Z']
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from learnloop.clock import as_utc
from learnloop.drift.ledger import (
    RETRAIN_JOB,
    action_key,
    cooldown_key,
    day_key,
)
from learnloop.exceptions import LearnloopError, StoreError
from learnloop.models.registry import ARCHIVED, CANDIDATE, PRODUCTION, REJECTED
from learnloop.observability import logger
from learnloop.store.queries import batch_get
from learnloop.store.tables import Tables

#: Retrained by the next ``learn`` run (scikit-learn is there).
PREDICTOR_MODELS = ("engagement", "follow_through")
#: Container training jobs: a retrain request is recorded for them.
CONTAINER_MODELS = ("two_tower", "sentiment")
#: Every model a drift action may name, as the timeline reads them (besides the models a
#: check's alerts name: journal models and per-symbol price forecasts).
ACTION_MODELS = (*PREDICTOR_MODELS, *CONTAINER_MODELS)
#: One price forecast per symbol (``price_forecast_btc-usd``), all trained by one container job.
FORECAST_PREFIX = "price_forecast_"
FORECAST_JOB = "price_forecast"
#: EventBridge ``detail-type`` and ``source`` of a retrain request.
RETRAIN_DETAIL_TYPE = "learnloop.retrain.requested"
EVENT_SOURCE = "learnloop.drift"
#: The timeline reads the checks of this many days back from the latest one.
TIMELINE_DAYS = 30
#: ``GET /v1/admin/alerts`` returns at most this many actions.
TIMELINE_LIMIT = 20


def is_container_model(model: str) -> bool:
    """Whether a container job (not ``learn``) retrains ``model``.

    Examples
    --------
    >>> is_container_model("sentiment"), is_container_model("price_forecast_btc-usd")
    (True, True)
    >>> is_container_model("engagement")
    False
    """
    return model in CONTAINER_MODELS or model.startswith(FORECAST_PREFIX)


def retrain_job(request: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The training job and its arguments that carry out a container model's request.

    Examples
    --------
    >>> retrain_job({"model": "two_tower"})
    ('two_tower', [])
    >>> retrain_job({"model": "price_forecast_btc-usd", "symbol": "BTC-USD"})
    ('price_forecast', ['--symbol', 'BTC-USD'])
    """
    model = str(request["model"])
    if model.startswith(FORECAST_PREFIX):
        symbol = str(request.get("symbol") or model.removeprefix(FORECAST_PREFIX).upper())
        return FORECAST_JOB, ["--symbol", symbol]
    return model, []


def act_on_drift(
    tables: Tables,
    result: Any,
    now: datetime,
    *,
    events: Any | None = None,
) -> list[dict[str, Any]]:
    """Request a retrain of each model the check alerted on; record each step.

    Parameters
    ----------
    tables : Tables
        The stage's tables; the cooldown and the window come from ``tables.settings``.
    result : DriftResult
        The check (its ``checked_at``, ``window`` and ``alerts``).
    now : datetime
        The check's logical time (the cooldown is measured from it).
    events : boto3 EventBridge client, optional
        Gets the retrain requests when ``settings.event_bus_name`` is set (default: the
        stage's client).

    Returns
    -------
    list of dict
        One action per alerted model (an earlier delivery's action when this check already
        ran).
    """
    settings = tables.settings
    checked_at = str(result.checked_at)
    days = int(result.window.get("days") or settings.drift_window_days)
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in result.alerts:
        by_model[str(alert["model"])].append(dict(alert))
    actions: list[dict[str, Any]] = []
    for model, alerts in by_model.items():
        key = action_key(checked_at, model)
        done = _get(tables, key)
        if done is not None:  # a redelivery of this check: what it did stands
            actions.append(dict(done.value or {}))
            continue
        value: dict[str, Any] = {
            "at": checked_at,
            "model": model,
            "trigger": alerts,
            "action": "",
            "version": None,
            "reason": "",
        }
        last = _get(tables, cooldown_key(model))
        hours = settings.drift_retrain_cooldown_hours
        if last is not None and _after(last.created_at, as_utc(now) - timedelta(hours=hours)):
            value["action"] = "cooldown"
            value["reason"] = (
                f"retrained for drift at {last.created_at}; not again within {hours:g} h"
            )
            actions.append(_claim(tables, key, value))
            continue
        value["action"] = "retrain_requested"
        value["window_days"] = days
        if is_container_model(model):
            value["reason"] = f"retrain requested: {model} is trained by a container job"
            symbols = {str(a["symbol"]) for a in alerts if a.get("symbol")}
            if symbols:
                value["symbol"] = min(symbols)
        else:
            value["reason"] = (
                f"retrain requested: the next learn run trains {model} on the last {days} days"
            )
        claimed = _claim(tables, key, value, pending=True)
        if claimed is not value:  # another delivery got there first
            actions.append(claimed)
            continue
        _stamp_cooldown(tables, model, checked_at)
        if is_container_model(model):
            _announce(tables, value, events)
        actions.append(value)
    for action in actions:
        logger.info("drift action", extra={"action": action})
    return actions


def carry_out_predictor_requests(tables: Tables, s3: Any, now: datetime) -> list[dict[str, Any]]:
    """Retrain the predictors with pending drift requests on the drift window; the ``learn``
    job's first step.

    One ``train_and_publish`` on the rows of the widest requested window before ``now``
    trains the requested predictors (one version time: they never publish one version
    twice); each request is then done: ``retrained`` with its version, or ``skipped`` with why
    (too little data is not retried: the next alert asks again).

    Returns
    -------
    list of dict
        The requests carried out, as the timeline shows them (empty when none was pending).

    Examples
    --------
    >>> carry_out_predictor_requests(tables, s3, now)  # doctest: +SKIP
    [{'model': 'engagement', 'action': 'retrained', 'version': '20261120T040000Z', ...}]
    """
    requests = [r for r in pending_requests(tables) if r.get("model") in PREDICTOR_MODELS]
    if not requests:
        return []
    from learnloop.predictors.training import joined_rows, train_and_publish

    days = max(int(r.get("window_days") or tables.settings.drift_window_days) for r in requests)
    drifted = sorted({str(r["model"]) for r in requests})
    extra = {
        "trigger": "drift",
        "window_days": days,
        "drift_check": max(str(r["at"]) for r in requests),
        "drifted": drifted,
    }
    try:
        rows = joined_rows(tables, now, window=timedelta(days=days))
        published = train_and_publish(tables, s3, now, rows=rows, extra=extra, only=drifted)
    except LearnloopError as exc:
        logger.exception("drift retrain failed")
        published = {
            str(r["model"]): {"skipped": f"training failed: {exc.message}"} for r in requests
        }
    done = []
    for request in requests:
        model = str(request["model"])
        info = published.get(model) or {"skipped": "not trained"}
        if "skipped" in info:
            version, reason = None, f"not retrained: {info['skipped']}"
        else:
            version = str(info["version"])
            reason = f"retrained on the {info['rows']} rows of the last {days} days"
        done.append(
            complete_request(
                tables, str(request["at"]), model, version=version, reason=reason, finished=True
            )
        )
    return done


def carry_out_journal_requests(tables: Tables, s3: Any, now: datetime) -> list[dict[str, Any]]:
    """Retrain the journal models with pending drift requests on the events of the widest
    requested window (and their history); each request then becomes ``retrained`` or
    ``skipped``, as :func:`carry_out_predictor_requests` does for the predictors.

    Examples
    --------
    >>> carry_out_journal_requests(tables, s3, now)  # doctest: +SKIP
    [{'model': 'journal_churn', 'action': 'retrained', 'version': '20261120T040000Z', ...}]
    """
    from learnloop.journal.features import CHURN_DAYS, HISTORY_DAYS, JOURNAL_MODELS

    requests = [r for r in pending_requests(tables) if r.get("model") in JOURNAL_MODELS]
    if not requests:
        return []
    from learnloop.journal.training import journal_events, train_journal

    days = max(int(r.get("window_days") or tables.settings.drift_window_days) for r in requests)
    drifted = sorted({str(r["model"]) for r in requests})
    extra = {"trigger": "drift", "window_days": days, "drifted": drifted}
    try:
        # churn labels need CHURN_DAYS after a row, and rows their history before it
        window = timedelta(days=days + CHURN_DAYS + HISTORY_DAYS)
        events = journal_events(tables, now, window=window)
        published = train_journal(
            tables, s3, now, events=events, only=drifted, extra=extra, force=True
        )
    except LearnloopError as exc:
        logger.exception("journal drift retrain failed")
        published = {m: {"skipped": f"training failed: {exc.message}"} for m in drifted}
    done = []
    for request in requests:
        model = str(request["model"])
        info = published.get(model) or published.get("all") or {"skipped": "not trained"}
        version = None if "skipped" in info else str(info["version"])
        reason = (
            f"not retrained: {info['skipped']}"
            if version is None
            else f"retrained on the journal events of the last {days} days and their history"
        )
        done.append(
            complete_request(
                tables, str(request["at"]), model, version=version, reason=reason, finished=True
            )
        )
    return done


def complete_request(
    tables: Tables,
    checked_at: str,
    model: str,
    *,
    version: str | None,
    reason: str,
    finished: bool = False,
) -> dict[str, Any]:
    """Record what carrying out a retrain request gave: ``version`` and ``reason``.

    With a version the action becomes ``retrained`` and leaves the pending index; without
    one it stays pending (the job could not run here) unless ``finished``, when it becomes
    ``skipped``.

    Examples
    --------
    >>> complete_request(tables, checked_at, "sentiment", version="20261120T020000Z",
    ...                  reason="sentiment job published")["version"]  # doctest: +SKIP
    '20261120T020000Z'
    """
    key = action_key(checked_at, model)
    entry = tables.ledger.get(key)
    value = dict(entry.value or {})
    value["reason"] = reason
    if version is not None or finished:
        value["version"] = version
        value["action"] = "retrained" if version is not None else "skipped"
        entry.pending_job = None  # leaves by_pending: carried out
        entry.chunk = None
    entry.value = value
    entry.save()
    return value


def complete_by_version(tables: Tables, model: str, version: str) -> list[dict[str, Any]]:
    """Mark ``model``'s pending retrain requests done by ``version``, when it was made after
    them (a container job started for a request, or any later run of it).

    Safe to call on every registration and again on a redelivered one: only pending
    requests older than the version change. Predictor requests are left to ``learn``.

    Examples
    --------
    >>> [a["action"] for a in complete_by_version(tables, "two_tower", "20261121T020000Z")]
    ... # doctest: +SKIP
    ['retrained']
    """
    if not is_container_model(model):
        return []
    made = version_time(version)
    if made is None:
        return []
    done: list[dict[str, Any]] = []
    for request in pending_requests(tables):
        at = str(request.get("at") or "")
        if request.get("model") != model or not at or made < _parse(at):
            continue
        reason = f"retrained: the {model} job published {version}"
        done.append(complete_request(tables, at, model, version=version, reason=reason))
    return done


def version_time(version: str) -> datetime | None:
    """The UTC time a version id (``YYYYMMDDTHHMMSSZ``) names; None for another id.

    Examples
    --------
    >>> version_time("20261121T020000Z").isoformat()
    '2026-11-21T02:00:00+00:00'
    >>> version_time("v1") is None
    True
    """
    try:
        return datetime.strptime(version, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def pending_requests(tables: Tables) -> list[dict[str, Any]]:
    """The retrain requests not carried out yet, oldest first (one Query of ``by_pending``)."""
    found = [dict(e.value or {}) for e in tables.ledger.by_pending.query(RETRAIN_JOB)]
    return sorted(found, key=lambda v: (str(v.get("at")), str(v.get("model"))))


def timeline(tables: Tables, *, limit: int = TIMELINE_LIMIT) -> list[dict[str, Any]]:
    """The drift actions of the checks of the last :data:`TIMELINE_DAYS` days, newest first,
    each with ``outcome`` and ``outcome_reason`` read from the registry now.

    Reads the dated check items (one BatchGetItem), the actions of their checks (another)
    and the versions' registry records (a third): never a Scan. Only the last check of a day
    has a dated item, so an earlier check's actions that day are not listed.

    Examples
    --------
    >>> timeline(tables)[0]["outcome"]  # doctest: +SKIP
    'promoted'
    """
    from learnloop.drift.ledger import LATEST_KEY

    ledger = tables.ledger
    try:
        latest = ledger.get(LATEST_KEY)
    except ledger.DoesNotExist:
        return []
    last_day = as_utc(_parse(latest.created_at)).date()
    days = [day_key(last_day - timedelta(days=i)) for i in range(TIMELINE_DAYS)]
    found = [*batch_get(ledger, days), latest]
    checks = {str(e.created_at) for e in found}
    # The checks' alerts name the journal models and price forecasts that acted too.
    named = {
        str(alert.get("model"))
        for e in found
        if isinstance(e.value, dict)
        for alert in e.value.get("alerts") or ()
        if isinstance(alert, dict) and alert.get("model")
    }
    models = sorted({*ACTION_MODELS, *named})
    keys = [action_key(at, model) for at in sorted(checks) for model in models]
    actions = [dict(e.value) for e in batch_get(ledger, keys) if isinstance(e.value, dict)]
    actions.sort(key=lambda v: (str(v.get("at")), str(v.get("model"))), reverse=True)
    actions = actions[:limit]
    wanted = sorted({(str(a["model"]), str(a["version"])) for a in actions if a.get("version")})
    records = {(r.name, r.version): r for r in batch_get(tables.models, wanted)}
    for action in actions:
        record = records.get((str(action.get("model")), str(action.get("version"))))
        action["outcome"], action["outcome_reason"] = outcome(action, record)
    return actions


def outcome(action: Mapping[str, Any], record: Any | None) -> tuple[str | None, str | None]:
    """``(outcome, reason)`` of an action given its version's registry record.

    ``promoted`` (production now, or archived: it was production), ``kept`` (a candidate:
    registration kept production), ``rejected``, ``pending`` (no version yet, or not
    registered yet); None for cooldown and skipped actions.

    Examples
    --------
    >>> outcome({"action": "cooldown", "version": None}, None)
    (None, None)
    >>> outcome({"action": "retrain_requested", "version": None}, None)
    ('pending', 'waiting for the training job')
    """
    if action.get("action") not in ("retrained", "retrain_requested"):
        return None, None
    if not action.get("version"):
        return "pending", "waiting for the training job"
    if record is None:
        return "pending", "published; not registered yet"
    status = record.status
    reason = record.reason
    if status in (PRODUCTION, ARCHIVED):
        return "promoted", reason
    if status == CANDIDATE:
        return "kept", reason
    if status == REJECTED:
        return "rejected", reason
    return "pending", reason


def _announce(tables: Tables, value: Mapping[str, Any], events: Any | None) -> bool:
    """Put a ``learnloop.retrain.requested`` event on the configured bus (none: no event)."""
    bus = tables.settings.event_bus_name
    if not bus:
        return False
    if events is None:
        from learnloop.store.clients import events_client

        events = events_client(tables.settings)
    detail = {k: value[k] for k in ("at", "model", "trigger", "reason")}
    detail["stage"] = tables.settings.stage
    detail["job"], args = retrain_job(value)
    if args:  # a price forecast: the stack's rule passes the symbol to the task
        detail["symbol"] = args[-1]
    response = events.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": RETRAIN_DETAIL_TYPE,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        # The ledger item is the request; the event only wakes a consumer up sooner.
        logger.warning("retrain event not accepted", extra={"response": response["Entries"]})
        return False
    return True


def _get(tables: Tables, key: str) -> Any | None:
    try:
        return tables.ledger.get(key)
    except tables.ledger.DoesNotExist:
        return None


def _claim(
    tables: Tables, key: str, value: dict[str, Any], *, pending: bool = False
) -> dict[str, Any]:
    """Write the action once; returns ``value`` itself when this call wrote it, else the
    action a concurrent delivery wrote."""
    ledger = tables.ledger
    entry = ledger(key, created_at=value["at"], value=value)
    if pending:
        entry.pending_job = RETRAIN_JOB
        entry.chunk = f"{value['at']}#{value['model']}"
    try:
        entry.save(condition=ledger.key.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            found = _get(tables, key)
            return dict(found.value or {}) if found is not None else value
        message = exc.cause_response_message
        raise StoreError(f"could not record the drift action: {message}") from exc
    return value


def _stamp_cooldown(tables: Tables, model: str, checked_at: str) -> None:
    ledger = tables.ledger
    entry = ledger(cooldown_key(model), created_at=checked_at, value={"at": checked_at})
    try:
        entry.save(condition=ledger.key.does_not_exist() | (ledger.created_at < checked_at))
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise StoreError(f"could not record the retrain: {exc.cause_response_message}") from exc


def _after(stamp: str, moment: datetime) -> bool:
    return _parse(stamp) > moment


def _parse(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


__all__ = [
    "ACTION_MODELS",
    "CONTAINER_MODELS",
    "EVENT_SOURCE",
    "FORECAST_JOB",
    "FORECAST_PREFIX",
    "PREDICTOR_MODELS",
    "RETRAIN_DETAIL_TYPE",
    "act_on_drift",
    "carry_out_journal_requests",
    "carry_out_predictor_requests",
    "complete_by_version",
    "complete_request",
    "is_container_model",
    "outcome",
    "pending_requests",
    "retrain_job",
    "timeline",
    "version_time",
]

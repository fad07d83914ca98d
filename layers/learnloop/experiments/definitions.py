"""What the admin experiment routes do: create or update, list, read with results, stop.

The lifecycle is ``draft → running → stopped`` (a draft may also be stopped directly); a
stopped experiment stays stopped, since its results window has closed. Variants and weights
may change only while the experiment is a draft: once users are bucketed, new weights would
move some of them to another variant and mix two assignments in the results (409).

Every write is conditional on the ``version`` read just before it, so two concurrent updates
cannot silently overwrite each other: the loser gets a 409 and retries.

Examples
--------
>>> body = {"name": "Checkout", "goal_event_type": "app.purchase",
...         "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]}
>>> put_experiment(tables, "checkout", body)["status"]  # doctest: +SKIP
'draft'
>>> put_experiment(tables, "checkout", {**body, "status": "running"})["version"]  # doctest: +SKIP
2
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError

from learnloop.clock import iso, utcnow
from learnloop.exceptions import StoreError
from learnloop.experiments.exceptions import (
    ConcurrentUpdateError,
    InvalidTransitionError,
    VariantsLockedError,
)
from learnloop.experiments.lookup import experiment_dict, get_experiment
from learnloop.experiments.results import experiment_results
from learnloop.experiments.schemas import (
    DRAFT,
    RUNNING,
    STATUSES,
    STOPPED,
    ExperimentIn,
    ExperimentKeyIn,
    normalised_weights,
)
from learnloop.ingest.event_types import EVENT_TYPES, is_custom_type
from learnloop.store.records import Experiment
from learnloop.store.tables import Tables
from learnloop.validation import validate

#: Status → the statuses it may move to (staying put is always allowed).
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({DRAFT, RUNNING, STOPPED}),
    RUNNING: frozenset({RUNNING, STOPPED}),
    STOPPED: frozenset({STOPPED}),
}
#: Weights closer than this are the same weight (they are stored normalised, as floats).
_WEIGHT_TOLERANCE = 1e-9


def put_experiment(
    tables: Tables, experiment_id: str, body: Any, *, now: datetime | None = None
) -> dict[str, Any]:
    """Create or update the experiment ``experiment_id`` (an idempotent PUT).

    Parameters
    ----------
    tables
        The stage's tables.
    experiment_id
        From the path.
    body
        :class:`~learnloop.experiments.schemas.ExperimentIn`.
    now
        The time of the change (default: now).

    Returns
    -------
    dict
        The experiment as stored, plus ``warnings`` (a goal event no app can send yet). A PUT
        that changes nothing changes nothing: same ``version``, same ``updated_at``.

    Raises
    ------
    ValidationError
        A bad id or body (422, naming every field).
    VariantsLockedError
        Variants or weights changed on an experiment that has started (409).
    InvalidTransitionError
        A status the lifecycle does not allow from the current one (409).
    ConcurrentUpdateError
        Another update won the race (409; retry).
    """
    now = now or utcnow()
    key = validate(ExperimentKeyIn, {"experiment_id": experiment_id})
    request = validate(ExperimentIn, body if body is not None else {})
    weights = normalised_weights([v.weight for v in request.variants])
    variants = [
        {"name": v.name, "weight": w, **({"models": dict(v.models)} if v.models else {})}
        for v, w in zip(request.variants, weights, strict=True)
    ]
    model = tables.experiments
    try:
        current: Experiment | None = model.get(key.experiment_id, consistent_read=True)
    except model.DoesNotExist:
        current = None
    if current is None:
        status = request.status or DRAFT
        record = model(
            key.experiment_id,
            name=request.name,
            description=request.description,
            variants=variants,
            status=status,
            goal_event_type=request.goal_event_type,
            created_at=iso(now),
            updated_at=iso(now),
            started_at=iso(now) if status == RUNNING else None,
            stopped_at=iso(now) if status == STOPPED else None,
            version=1,
        )
        _save(record, condition=model.experiment_id.does_not_exist())
        return _reply(record)
    status = request.status or current.status
    _check_transition(current, status)
    if not _same_variants(current.variants, variants):
        if current.status != DRAFT:
            raise VariantsLockedError(
                f"experiment {key.experiment_id!r} is {current.status}: changing its variants "
                "or weights would move users to other variants and mix two assignments in its "
                "results; create a new experiment instead",
                details=[{"field": "variants", "message": f"locked while {current.status}"}],
            )
    else:
        variants = current.variants  # keep the stored floats: an equal PUT changes nothing
    wanted = {
        "name": request.name,
        "description": request.description,
        "variants": variants,
        "status": status,
        "goal_event_type": request.goal_event_type,
    }
    if all(getattr(current, name) == value for name, value in wanted.items()):
        return _reply(current)
    previous_version = int(current.version)
    for name, value in wanted.items():
        setattr(current, name, value)
    _mark_status_times(current, status, now)
    current.updated_at = iso(now)
    current.version = previous_version + 1
    _save(current, condition=model.version == previous_version)
    return _reply(current)


def stop_experiment(
    tables: Tables, experiment_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Stop the experiment: assignment serves the control, results stop counting.

    Stopping a stopped experiment changes nothing (200, same ``stopped_at``).

    Raises
    ------
    ValidationError
        A bad id (422).
    NotFoundError
        No such experiment (404).
    ConcurrentUpdateError
        Another update won the race (409; retry).

    Examples
    --------
    >>> stop_experiment(tables, "checkout")["status"]  # doctest: +SKIP
    'stopped'
    """
    now = now or utcnow()
    key = validate(ExperimentKeyIn, {"experiment_id": experiment_id})
    record = get_experiment(tables, key.experiment_id, consistent=True)
    if record.status == STOPPED:
        return experiment_dict(record)
    previous_version = int(record.version)
    record.status = STOPPED
    _mark_status_times(record, STOPPED, now)
    record.updated_at = iso(now)
    record.version = previous_version + 1
    _save(record, condition=tables.experiments.version == previous_version)
    return experiment_dict(record)


def list_experiments(tables: Tables) -> dict[str, Any]:
    """Every experiment, by id: one Query of the ``by_status`` index per status, no Scan.

    Examples
    --------
    >>> list_experiments(tables)["experiments"][0]["experiment_id"]  # doctest: +SKIP
    'checkout'
    """
    index = tables.experiments.by_status
    found = [record for status in STATUSES for record in index.query(status)]
    found.sort(key=lambda record: record.experiment_id)
    return {"experiments": [experiment_dict(record) for record in found]}


def experiment_with_results(
    tables: Tables, experiment_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The experiment and its results (see :func:`learnloop.experiments.results`).

    Raises
    ------
    ValidationError
        A bad id (422).
    NotFoundError
        No such experiment (404).

    Examples
    --------
    >>> experiment_with_results(tables, "checkout")["results"]["control"]  # doctest: +SKIP
    'a'
    """

    key = validate(ExperimentKeyIn, {"experiment_id": experiment_id})
    record = get_experiment(tables, key.experiment_id)
    return {**experiment_dict(record), "results": experiment_results(tables, record, now=now)}


def _check_transition(current: Experiment, status: str) -> None:
    if status not in TRANSITIONS[current.status]:
        raise InvalidTransitionError(
            f"experiment {current.experiment_id!r} is {current.status} and cannot become "
            f"{status} (draft → running → stopped)",
            details=[{"field": "status", "message": f"not allowed from {current.status}"}],
        )


def _mark_status_times(record: Experiment, status: str, now: datetime) -> None:
    if status == RUNNING and not record.started_at:
        record.started_at = iso(now)
    if status == STOPPED and not record.stopped_at:
        record.stopped_at = iso(now)


def _same_variants(stored: Any, wanted: list[dict[str, Any]]) -> bool:
    if len(stored) != len(wanted):
        return False
    return all(
        str(s["name"]) == w["name"]
        and abs(float(s["weight"]) - w["weight"]) <= _WEIGHT_TOLERANCE
        and (s.get("models") or {}) == (w.get("models") or {})
        for s, w in zip(stored, wanted, strict=True)
    )


def _save(record: Experiment, *, condition: Any) -> None:
    try:
        record.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ConcurrentUpdateError(
                f"experiment {record.experiment_id!r} changed while this request ran; "
                "read it again and retry",
                details=[{"field": "experiment_id", "message": "changed concurrently"}],
            ) from None
        raise StoreError(f"could not save the experiment: {exc.cause_response_message}") from exc


def _reply(record: Experiment) -> dict[str, Any]:
    reply = experiment_dict(record)
    goal = record.goal_event_type
    reply["warnings"] = (
        []
        if goal in EVENT_TYPES or is_custom_type(goal)
        else [
            f"goal_event_type {goal!r} is neither a known event type nor namespaced "
            "('myapp.checkout'): POST /v1/events refuses it, so nothing will convert"
        ]
    )
    return reply


__all__ = [
    "TRANSITIONS",
    "experiment_with_results",
    "list_experiments",
    "put_experiment",
    "stop_experiment",
]

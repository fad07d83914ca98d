"""The scheduled jobs by name, as ``functions/app.py`` schedules them and ``learnloop job run``
runs them. Each takes an explicit ``now`` so it can run for any time, by hand or on schedule,
and each is safe to run twice. The jobs themselves live in their concept folders
(``rollups.job``, ``privacy.exports``, ``drift.check``, ``privacy.purge``,
``decisions.evaluation``, ``market.anomalies``); ``learn`` is here
because it composes two of them: the bandits' and the predictors' steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from learnloop.clock import utcnow
from learnloop.jobs.learn import learn
from learnloop.journal.rollup import ROLLUP_SECTIONS
from learnloop.privacy.exports import export_training_data
from learnloop.privacy.purge import privacy_purge
from learnloop.rollups.job import rollup_daily, rollup_day
from learnloop.store.tables import Tables


def _rollup(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    day = options.get("day")
    result = (
        rollup_day(tables, day, sections=ROLLUP_SECTIONS)
        if day is not None
        else rollup_daily(tables, now, sections=ROLLUP_SECTIONS)
    )
    return result.to_dict()


def _learn(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    return learn(tables, now, **options).to_dict()


def _export(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    return export_training_data(tables, now, day=options.get("day")).to_dict()


def _drift(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    # numpy: the drift_check function alone (the retrains it asks for run elsewhere)
    from learnloop.drift.actions import act_on_drift
    from learnloop.drift.check import drift_check
    from learnloop.store.clients import s3_client

    s3 = options.get("s3") or s3_client(tables.settings)
    result = drift_check(tables, now, s3=s3)
    actions = act_on_drift(tables, result, now, events=options.get("events"))
    return {**result.to_dict(), "actions": actions}


def _evaluate_policies(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    # numpy: this function alone
    from learnloop.decisions.evaluation import evaluate_policies

    return evaluate_policies(tables, now, s3=options.get("s3"))


def _load_decisions(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    """The spool sink's loader (the local stack's ``load_decisions``; on AWS a subscription)."""
    from learnloop.decisions.loader import load_spool

    directory = options.get("directory") or tables.settings.decision_spool_dir
    return load_spool(tables, directory) if directory else {"files": 0, "loaded": 0}


def _privacy_purge(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    return privacy_purge(tables, now, s3=options.get("s3")).to_dict()


def _market_anomalies(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    # numpy: this function alone
    from learnloop.market.anomalies import market_anomalies

    candles = options.get("candles")
    return market_anomalies(tables, now, **({"candles": int(candles)} if candles else {}))


#: Job name → runner; the same names as the scheduled functions in functions/app.py.
JOBS: dict[str, Callable[..., dict[str, Any]]] = {
    "rollup_daily": _rollup,
    "learn": _learn,
    "export_training_data": _export,
    "drift_check": _drift,
    "privacy_purge": _privacy_purge,
    "evaluate_policies": _evaluate_policies,
    # Not an app schedule: the local runner fires it (on AWS, on_decision_logs loads lines).
    "load_decisions": _load_decisions,
    "market_anomalies": _market_anomalies,
}


def model_dropped(event: dict[str, Any], tables: Tables) -> list[dict[str, Any]]:
    """Register the model versions an S3 "Object Created" event announces (a new two-tower
    version is first valued on the logged recommendations), then mark the drift retrain
    requests each new container-trained version carried out.

    Examples
    --------
    >>> model_dropped(object_created_event, tables)  # doctest: +SKIP
    [{'name': 'two_tower', 'version': '20261121T020000Z', 'status': 'production', ...}]
    """
    from learnloop.drift.actions import complete_by_version
    from learnloop.models.operations import on_model_dropped
    from learnloop.recommender.gate import value_on_log

    results = on_model_dropped(event, tables, logged_gates={"two_tower": value_on_log})
    for result in results:
        # Also on a redelivery: the first delivery may have stopped before this step.
        complete_by_version(tables, str(result["name"]), str(result["version"]))
    return results


def run_job(name: str, tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    """Run the job ``name`` for logical time ``now``; returns its JSON-ready result."""
    try:
        job = JOBS[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; jobs: {', '.join(sorted(JOBS))}") from None
    return job(tables, now, **options)


def run_scheduled(name: str, event_time: str | None, tables: Tables) -> dict[str, Any]:
    """Run a job for a schedule event whose ``time`` is ``event_time`` (ISO 8601, UTC).

    Examples
    --------
    >>> run_scheduled("rollup_daily", "2026-11-21T00:15:00Z", tables)  # doctest: +SKIP
    {'job': 'rollup_daily', 'day': '2026-11-20', ...}
    """
    now = datetime.fromisoformat(event_time.replace("Z", "+00:00")) if event_time else utcnow()
    return run_job(name, tables, now)


__all__ = ["JOBS", "model_dropped", "run_job", "run_scheduled"]

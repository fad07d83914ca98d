"""The scheduled jobs by name, as ``functions/app.py`` schedules them and ``learnloop job run``
runs them. Each takes an explicit ``now`` so it can run for any time, by hand or on schedule,
and each is safe to run twice. The jobs themselves live in their concept folders
(``rollups.job``, ``privacy.exports``, ``drift.check``, ``privacy.purge``,
``decisions.evaluation``, ``market.anomalies``); ``learn`` is here
because it composes two of them: the bandits' and the predictors' steps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from learnloop.clock import as_utc, iso, utcnow
from learnloop.exceptions import ValidationError
from learnloop.jobs.deadline import (
    RESUME,
    Checkpoint,
    Deadline,
    Unit,
    resumable,
    run_chained,
)
from learnloop.jobs.learn import learn_resumable
from learnloop.journal.rollup import ROLLUP_SECTIONS
from learnloop.privacy.exports import day_to_export
from learnloop.privacy.purge import privacy_purge
from learnloop.rollups.job import day_to_roll_up, rollup_day
from learnloop.store.queries import days_between
from learnloop.store.tables import Tables


def _rollup(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    deadline = options.pop("deadline", None)
    days = _days(options, default=day_to_roll_up(now))

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        # In order: a day's coin velocity reads the day before it.
        for day in days:
            yield Unit(day.isoformat(), partial(_rollup_one, tables, day))

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        if len(days) == 1:
            return dict(results[days[0].isoformat()])
        return {"job": "rollup_daily", "days": [results[d.isoformat()] for d in days]}

    return resumable(tables, "rollup_daily", now, options, plan, combine, deadline)


def _rollup_one(tables: Tables, day: date) -> dict[str, Any]:
    return rollup_day(tables, day, sections=ROLLUP_SECTIONS).to_dict()


def _days(options: dict[str, Any], *, default: date) -> list[date]:
    """The days a rollup or export covers: ``day``, ``day_from``..``day_to``, or ``default``."""
    day, first, last = options.get("day"), options.get("day_from"), options.get("day_to")
    if day is not None:
        return [_as_date(day)]
    if first is not None or last is not None:
        last_day = _as_date(last) if last is not None else default
        first_day = _as_date(first) if first is not None else last_day
        if last_day < first_day:
            raise ValidationError("--to is before --from", details=[{"field": "to"}])
        return days_between(first_day, last_day)
    return [default]


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _learn(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    return learn_resumable(tables, now, **options)


def _export(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    """Export one day (default yesterday), a ``day_from``..``day_to`` range, or with
    ``backfill`` every day of the training window not exported yet; one unit per file."""
    from learnloop.privacy.exports import (
        export_file_steps,
        export_prefix,
        export_prefixes,
        write_manifest,
    )
    from learnloop.store.clients import s3_client
    from learnloop.users.consent import excluded_pseudonyms

    deadline = options.pop("deadline", None)
    s3 = options.pop("s3", None) or s3_client(tables.settings)
    yesterday = day_to_export(now)
    if options.get("backfill"):
        first = options.get("day_from") or yesterday - timedelta(
            days=tables.settings.training_window_days
        )
        stored = set(export_prefixes(s3, tables.settings.bucket))
        days = [
            d for d in days_between(_as_date(first), yesterday) if export_prefix(d) not in stored
        ]
    else:
        days = _days(options, default=yesterday)

    def manifest(
        day: date, parts: list[str], checkpoint: Checkpoint, excluded: set[str]
    ) -> dict[str, Any]:
        done = [checkpoint.done[p] for p in parts]
        return write_manifest(tables, day, done, s3=s3, excluded=excluded, now=now).to_dict()

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        if "excluded" not in checkpoint.state:
            # One snapshot for the whole run: every file of a day leaves out the same users
            # (the manifest step purges those excluded since).
            checkpoint.state["excluded"] = sorted(excluded_pseudonyms(tables))
        excluded = set(checkpoint.state["excluded"])
        for day in days:
            steps = export_file_steps(tables, day, s3=s3, excluded=excluded)
            for name, step in steps:
                yield Unit(f"{day.isoformat()}/{name}", step)
            parts = [f"{day.isoformat()}/{name}" for name, _ in steps]
            yield Unit(
                f"{day.isoformat()}/manifest",
                partial(manifest, day, parts, checkpoint, excluded),
            )

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        manifests = [results[f"{d.isoformat()}/manifest"] for d in days]
        if len(days) == 1 and not options.get("backfill"):
            return dict(manifests[0])
        return {"job": "export_training_data", "days": manifests}

    return resumable(tables, "export_training_data", now, options, plan, combine, deadline)


def _drift(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    # numpy: the drift_check function alone (the retrains it asks for run elsewhere)
    from learnloop.drift.actions import act_on_drift
    from learnloop.drift.check import MODELS, DriftResult, drift_check, record_result
    from learnloop.store.clients import s3_client

    deadline = options.pop("deadline", None)
    s3 = options.pop("s3", None) or s3_client(tables.settings)
    events = options.pop("events", None)

    def check(models: list[str], forecasts: bool) -> dict[str, Any]:
        found = drift_check(tables, now, s3=s3, models=models, forecasts=forecasts, record=False)
        return {"window": found.window, "models": found.models, "alerts": found.alerts}

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        for name in MODELS:
            yield Unit(f"model/{name}", partial(check, [name], False))
        yield Unit("forecasts", lambda: check([], True))

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        parts = [results[f"model/{name}"] for name in MODELS] + [results["forecasts"]]
        result = DriftResult(checked_at=iso(as_utc(now)), window=parts[0]["window"])
        for part in parts:
            result.models.update(part["models"])
            result.alerts.extend(part["alerts"])
        record_result(tables, result)
        actions = act_on_drift(tables, result, now, events=events)
        return {**result.to_dict(), "actions": actions}

    return resumable(tables, "drift_check", now, options, plan, combine, deadline)


def _evaluate_policies(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    # numpy: this function alone
    from learnloop.decisions.evaluation import evaluate_candidate, evaluation_days
    from learnloop.decisions.log import read_decisions

    deadline = options.pop("deadline", None)
    s3 = options.pop("s3", None)
    specs = list(options.get("candidates") or tables.settings.policy_candidates)
    first, last = evaluation_days(tables, now)
    read: list[list[dict[str, Any]]] = []

    def records() -> list[dict[str, Any]]:
        if not read:  # once per invocation, and only when a candidate is left
            read.append(list(read_decisions(tables, first, last)))
        return read[0]

    def evaluate(spec: str) -> dict[str, Any]:
        return dict(_plain(evaluate_candidate(tables, records(), spec, now, s3=s3)))

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        for index, spec in enumerate(specs):
            yield Unit(
                f"{index:03d}/{spec}",
                partial(evaluate, spec),
            )

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        rows = [results[f"{i:03d}/{spec}"] for i, spec in enumerate(specs)]
        return {"from": first.isoformat(), "to": last.isoformat(), "candidates": rows}

    return resumable(tables, "evaluate_policies", now, options, plan, combine, deadline)


def _load_decisions(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    """The spool sink's loader (the local stack's ``load_decisions``; on AWS a subscription).

    One unit per spool file: a file is claimed (renamed) before it is loaded and removed
    after, and loading a file twice writes the same decisions."""
    from learnloop.decisions.loader import claim_spool, load_file

    deadline = options.pop("deadline", None)
    directory = options.pop("directory", None) or tables.settings.decision_spool_dir
    if not directory:
        return {"files": 0, "loaded": 0}

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        for path in claim_spool(directory):
            yield Unit(path.name, partial(load_file, tables, path))

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        counts = {"files": 0, "lines": 0, "loaded": 0, "skipped": 0, "anonymized": 0}
        for got in results.values():
            if got is None:
                continue
            counts["files"] += 1
            for key, value in got.items():
                counts[key] += value
        return counts

    return resumable(tables, "load_decisions", now, options, plan, combine, deadline)


def _privacy_purge(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    """Pending export purges, ``workers`` prefixes per unit (the ledger queue is the
    checkpoint of what is left; the units' counts add up to one uninterrupted run's)."""
    deadline = options.pop("deadline", None)
    s3 = options.pop("s3", None)
    workers = int(options.get("workers") or 8)
    if deadline is None:
        return privacy_purge(tables, now, s3=s3, workers=workers).to_dict()

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        index = len(checkpoint.done)
        while True:
            done = checkpoint.done
            last = done.get(f"{index - 1:05d}") if index else None
            if last is not None and not last["prefixes_left"]:
                return
            yield Unit(
                f"{index:05d}",
                lambda: privacy_purge(
                    tables, now, s3=s3, workers=workers, max_prefixes=workers
                ).to_dict(),
            )
            index += 1

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        parts = [results[k] for k in sorted(results)]
        summed = ("completed_users", "prefixes_done", "prefixes_rewritten", "rows_removed")
        return {
            **parts[0],
            **{k: sum(int(p[k]) for p in parts) for k in summed},
            "prefixes_left": parts[-1]["prefixes_left"],
        }

    return resumable(tables, "privacy_purge", now, options, plan, combine, deadline)


def _market_anomalies(tables: Tables, now: datetime, **options: Any) -> dict[str, Any]:
    # numpy: this function alone
    from learnloop.market.anomalies import RECHECK_CANDLES, check_series
    from learnloop.market.candle_store import candle_time, list_series

    deadline = options.pop("deadline", None)
    candles = int(options.get("candles") or RECHECK_CANDLES)
    series = [list(s) for s in list_series(tables)]
    detected_at = candle_time(now)

    def plan(checkpoint: Checkpoint) -> Iterator[Unit]:
        if "series" not in checkpoint.state:  # the run's series, as its first invocation saw
            checkpoint.state["series"] = series
        for symbol, interval in checkpoint.state["series"]:
            yield Unit(
                f"{symbol}/{interval}",
                partial(
                    check_series,
                    tables,
                    symbol,
                    interval,
                    now,
                    candles=candles,
                    detected_at=detected_at,
                ),
            )

    def combine(results: dict[str, Any], checkpoint: Checkpoint) -> dict[str, Any]:
        return {
            "job": "market_anomalies",
            "series": len(checkpoint.state["series"]),
            "candles_checked": sum(r["checked"] for r in results.values()),
            "flagged": sum(r["flagged"] for r in results.values()),
            "removed": sum(r["removed"] for r in results.values()),
        }

    return resumable(tables, "market_anomalies", now, options, plan, combine, deadline)


def _plain(value: Any) -> Any:
    """``value`` as the JSON a checkpoint stores."""
    return json.loads(json.dumps(value, default=str))


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
    """Run the job ``name`` for logical time ``now``; returns its JSON-ready result.

    With ``deadline=`` (a :class:`~learnloop.jobs.deadline.Deadline`) the job stops before
    it runs out of time and returns ``{"finished": False, "resume": {...}}``: run it again
    with the same ``now`` and options to carry on (:func:`run_job_chained` does).
    """
    try:
        job = JOBS[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; jobs: {', '.join(sorted(JOBS))}") from None
    return job(tables, now, **options)


def run_job_chained(
    name: str,
    tables: Tables,
    now: datetime,
    *,
    deadline: Callable[[], Deadline],
    **options: Any,
) -> dict[str, Any]:
    """Run ``name`` in as many invocations of ``deadline()`` as it takes, in this process
    (``learnloop job run NAME --deadline-seconds S``); the result says how many it took.

    Examples
    --------
    >>> run_job_chained("learn", tables, now, deadline=lambda: Deadline.after(60))
    ... # doctest: +SKIP
    {'job': 'learn', 'bandits': {...}, 'invocations': 3}
    """
    result, invocations = run_chained(
        lambda d: run_job(name, tables, now, deadline=d, **dict(options)), deadline
    )
    return {**result, "invocations": invocations}


def run_scheduled(
    name: str,
    event_time: str | None,
    tables: Tables,
    *,
    deadline: Deadline | None = None,
    resume: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run a job for a schedule event whose ``time`` is ``event_time`` (ISO 8601, UTC).

    With a ``deadline`` (the Lambda context's), a run that stops early calls
    ``resume(token)`` (the function re-invokes itself asynchronously with the token as the
    event's ``detail``); the next invocation passes the same ``event_time`` and carries on.

    Examples
    --------
    >>> run_scheduled("rollup_daily", "2026-11-21T00:15:00Z", tables)  # doctest: +SKIP
    {'job': 'rollup_daily', 'day': '2026-11-20', ...}
    """
    now = datetime.fromisoformat(event_time.replace("Z", "+00:00")) if event_time else utcnow()
    if deadline is None:
        return run_job(name, tables, now)
    result = run_job(name, tables, now, deadline=deadline)
    if RESUME in result and resume is not None:
        resume({**result[RESUME], "time": iso(now)})
    return result


def handle_schedule(
    name: str, event: Any, tables: Tables, *, lambda_client: Any | None = None
) -> dict[str, Any]:
    """A scheduled function's body on Lambda: run ``name`` for the event's time under the
    invocation's deadline; a run that stops early re-invokes this function asynchronously
    with the same event plus ``detail.resume`` (the next invocation carries on from the
    checkpoint, at once rather than at the next schedule).

    ``event`` is Chalice's ``CloudWatchEvent`` (``time``, ``context``, ``to_dict()``).

    Examples
    --------
    >>> handle_schedule("learn", event, tables)  # doctest: +SKIP
    {'job': 'learn', 'finished': False, 'resume': {...}, 'units_done': 52}
    """
    context = getattr(event, "context", None)
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return run_scheduled(name, event.time, tables)
    if not getattr(context, "invoked_function_arn", ""):
        # The local runner's context names no function to re-invoke: chain in-process.
        result, _ = run_chained(
            lambda deadline: run_scheduled(name, event.time, tables, deadline=deadline),
            lambda: Deadline.from_context(context),
        )
        return result

    def resume(token: dict[str, Any]) -> None:
        client = lambda_client
        if client is None:
            import boto3

            client = boto3.client("lambda")
        payload = {**event.to_dict(), "detail": {RESUME: token}}
        client.invoke(
            FunctionName=context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps(payload).encode("utf-8"),
        )

    return run_scheduled(
        name, event.time, tables, deadline=Deadline.from_context(context), resume=resume
    )


__all__ = [
    "JOBS",
    "handle_schedule",
    "model_dropped",
    "run_job",
    "run_job_chained",
    "run_scheduled",
]

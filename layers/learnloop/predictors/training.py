"""Train the engagement (ridge) and follow-through (logistic) predictors and publish them.

Rows are the real join of content and outcomes over a training window, read through day
partitions. Each trained model goes to ``models/{name}/{version}/`` and nowhere else:
``model.onnx`` (refit on every row: it serves), ``validation.onnx`` (the same recipe fit on the
rows before the hold-out: what the metrics describe) and the manifest, last. The hold-out rows
go to ``evaluation/{name}/{sha256}.npz``, named by the manifest's ``evaluation``: registration
(:mod:`learnloop.models.registration`), triggered by the manifest's arrival, scores this
version's twin and production's twin on them and decides what becomes production.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from learnloop.clock import as_utc, iso
from learnloop.exceptions import InsufficientDataError
from learnloop.models.artifacts import (
    MODEL_FILE,
    REFERENCE_FILE,
    VALIDATION_FILE,
    build_manifest,
    new_version,
    write_artifact,
)
from learnloop.models.conversion import to_onnx
from learnloop.store.queries import batch_get, days_between, query_days
from learnloop.store.tables import Tables

#: What the predictors read of each outcome and content item (see the ``*_data`` functions).
_OUTCOME_FIELDS = (
    "decision_id",
    "collected_at",
    "engagement_rate",
    "followers_gained",
    "viral_score",
)
_CONTENT_FIELDS = (
    "decision_id",
    "quality_score",
    "content_type",
    "posted_at",
    "length",
    "text",
    "novelty_score",
    "expertise_level",
)

#: Days of the training window read at once.
_DAY_WORKERS = 8


@dataclass(frozen=True)
class JoinedRow:
    """One decision: its content metadata and its latest outcome."""

    content: dict[str, Any]
    outcome: dict[str, Any]


def joined_rows(
    tables: Tables, now: datetime, *, window: timedelta | None = None
) -> list[JoinedRow]:
    """Every decision with both content and an outcome collected in the window before ``now``.

    The window defaults to ``settings.training_window_days``. It is
    :func:`training_days`, :func:`joined_day` for each (read in parallel) and
    :func:`merge_joined`: what a resumable ``learn`` does one day per unit, spooling each.
    """
    days = training_days(tables, now, window=window)
    with ThreadPoolExecutor(max_workers=_DAY_WORKERS) as pool:
        return merge_joined(pool.map(lambda day: joined_day(tables, day, now), days))


def training_days(tables: Tables, now: datetime, *, window: timedelta | None = None) -> list[date]:
    """The collection days the predictors train on (``settings.training_window_days``).

    Examples
    --------
    >>> training_days(tables, now)[-1] == now.date()  # doctest: +SKIP
    True
    """
    window = window or timedelta(days=tables.settings.training_window_days)
    return days_between((as_utc(now) - window).date(), as_utc(now).date())


def joined_day(
    tables: Tables, day: date, now: datetime, *, shard: int | None = None
) -> list[dict[str, Any]]:
    """The latest outcome collected on ``day`` (up to ``now``) of each decision, with its
    content when it has one: ``{"outcome": {...}, "content": {...} | None}``, plain JSON in
    the order read. One query per day shard (only ``shard`` when given), one BatchGetItem
    per 100 decisions.

    Examples
    --------
    >>> joined_day(tables, date(2026, 11, 20), now)[0]["content"]["decision_id"]  # doctest: +SKIP
    'd-1'
    """
    latest: dict[str, dict[str, Any]] = {}
    outcomes = query_days(
        tables.outcomes,
        [day],
        shards=tables.settings.day_shards,
        attributes=_OUTCOME_FIELDS,
        shard=shard,
    )
    for outcome in outcomes:
        if outcome.collected_at > iso(now):
            continue
        kept = latest.get(outcome.decision_id)
        if kept is None or outcome.collected_at > kept["collected_at"]:
            latest[outcome.decision_id] = dict(outcome.attribute_values)
    contents = {
        item.decision_id: dict(item.attribute_values)
        for item in batch_get(tables.content, list(latest), attributes_to_get=list(_CONTENT_FIELDS))
    }
    return [{"outcome": o, "content": contents.get(d)} for d, o in latest.items()]


def merge_joined(days: Iterable[Iterable[Mapping[str, Any]]]) -> list[JoinedRow]:
    """The training rows from the days' :func:`joined_day` rows, in day order: each
    decision's latest outcome across the days, joined with its content, by decision id.

    Examples
    --------
    >>> old = {"outcome": {"decision_id": "d-1", "collected_at": "2026-11-20"},
    ...        "content": {"decision_id": "d-1"}}
    >>> new = {"outcome": {"decision_id": "d-1", "collected_at": "2026-11-21"},
    ...        "content": {"decision_id": "d-1"}}
    >>> [r.outcome["collected_at"] for r in merge_joined([[old], [new]])]
    ['2026-11-21']
    """
    latest: dict[str, Mapping[str, Any]] = {}
    for rows in days:
        for row in rows:
            outcome = row["outcome"]
            kept = latest.get(outcome["decision_id"])
            if kept is None or outcome["collected_at"] > kept["outcome"]["collected_at"]:
                latest[outcome["decision_id"]] = row
    return [
        JoinedRow(content=dict(latest[d]["content"]), outcome=dict(latest[d]["outcome"]))
        for d in sorted(latest)
        if latest[d]["content"] is not None
    ]


def engagement_data(rows: list[JoinedRow]) -> tuple[list[dict[str, Any]], list[float], list[str]]:
    """The engagement model's ``(feature rows, engagement rates, posted_at)`` of ``rows``.

    Rows without a ``quality_score`` are left out. Training and the drift check both use it.
    """
    usable = _engagement_rows(rows)
    return (
        [
            {
                "quality_score": r.content["quality_score"],
                "content_type": r.content.get("content_type"),
                "posted_at": r.content["posted_at"],
                "length": r.content.get("length"),
                "text": r.content.get("text") or "",
            }
            for r in usable
        ],
        [float(r.outcome["engagement_rate"]) for r in usable],
        [r.content["posted_at"] for r in usable],
    )


def follow_through_data(
    rows: list[JoinedRow],
) -> tuple[list[dict[str, Any]], list[float], list[str]]:
    """The follow-through model's ``(feature rows, followers gained > 0, posted_at)``.

    Rows without a ``novelty_score`` or ``expertise_level`` are left out.
    """
    usable = _follow_through_rows(rows)
    return (
        [
            {
                "novelty_score": r.content["novelty_score"],
                "expertise_level": r.content["expertise_level"],
                "viral_score": r.outcome["viral_score"],
            }
            for r in usable
        ],
        [1.0 if float(r.outcome["followers_gained"]) > 0 else 0.0 for r in usable],
        [r.content["posted_at"] for r in usable],
    )


def _engagement_rows(rows: list[JoinedRow]) -> list[JoinedRow]:
    return [r for r in rows if r.content.get("quality_score") is not None]


def _follow_through_rows(rows: list[JoinedRow]) -> list[JoinedRow]:
    return [
        r
        for r in rows
        if r.content.get("novelty_score") is not None
        and r.content.get("expertise_level") is not None
    ]


def train_and_publish(
    tables: Tables,
    s3: Any,
    now: datetime,
    *,
    rows: list[JoinedRow] | None = None,
    extra: Mapping[str, Any] | None = None,
    only: Collection[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Train both predictors (or the ``only`` ones) on the joined rows and publish each one
    that had enough data.

    ``extra`` is merged into each manifest's ``extra`` (e.g. why this run trained:
    ``{"trigger": "drift", "window_days": 7, "drift_check": checked_at}``).

    Returns
    -------
    dict
        Model name → ``{"version", "metrics", "rows", "manifest_key"}``, or
        ``{"skipped": reason}`` when there was too little data.
    """
    # scikit-learn loads only when there is something to train, not on every learn run
    rows = joined_rows(tables, now) if rows is None else rows
    Extract = Callable[[list[JoinedRow]], Any]
    trainers: dict[str, tuple[Extract, Extract]] = {
        "engagement": (engagement_data, _engagement_rows),
        "follow_through": (follow_through_data, _follow_through_rows),
    }
    results: dict[str, dict[str, Any]] = {}
    for name, (extract, usable) in trainers.items():
        if only is not None and name not in only:
            continue
        features, targets, stamps = extract(rows)
        ids = [r.content["decision_id"] for r in usable(rows)]
        try:
            trained = fit_predictor(
                name,
                features,
                targets,
                stamps,
                ids=ids,
                min_rows=tables.settings.min_training_rows,
                streaming_rows=tables.settings.streaming_training_rows,
            )
        except InsufficientDataError as exc:
            results[name] = {"skipped": exc.message}
            continue
        results[name] = publish(tables, s3, trained, now, extra=extra)
    return results


def fit_predictor(
    name: str,
    features: Sequence[Mapping[str, Any]],
    targets: Sequence[float],
    stamps: Sequence[Any],
    *,
    ids: Sequence[str] | None = None,
    min_rows: int = 50,
    streaming_rows: int = 250_000,
    chunk_rows: int | None = None,
) -> Any:
    """Train the ``"engagement"`` or ``"follow_through"`` predictor, in memory or out of core.

    Up to ``streaming_rows`` rows, scikit-learn fits the whole matrix
    (:mod:`learnloop.predictors.estimators`). Above it, feature rows are built a chunk at a
    time into a disk spool and :func:`~learnloop.predictors.streaming.train_streaming` fits the
    same recipe from exact sufficient statistics (same coefficients to rounding; the
    engagement penalty chosen by the same leave-one-out criterion). The result's
    ``training_path`` says which ran.

    Examples
    --------
    >>> rows = [{"novelty_score": (i % 10) / 10, "expertise_level": 0.5, "viral_score": i % 100}
    ...         for i in range(200)]
    >>> gained = [1.0 if r["novelty_score"] > 0.45 else 0.0 for r in rows]
    >>> fit_predictor("follow_through", rows, gained, list(range(200)),
    ...               streaming_rows=100).training_path
    'streaming'
    """
    # scikit-learn loads only when there is something to train, not on every learn run
    from learnloop.predictors.estimators import (
        ENGAGEMENT_MODEL,
        RIDGE_ALPHAS,
        _epoch_seconds,
        _is_finite_number,
        _prepare,
        train_engagement_model,
        train_follow_through_model,
    )
    from learnloop.predictors.features import (
        ENGAGEMENT_FEATURES,
        FOLLOW_THROUGH_FEATURES,
        engagement_matrix,
        follow_through_matrix,
    )
    from learnloop.predictors.streaming import CHUNK_ROWS, Spool, train_streaming

    engagement = name == ENGAGEMENT_MODEL
    if len(features) <= streaming_rows:
        train = train_engagement_model if engagement else train_follow_through_model
        return train(features, targets, stamps, min_rows=min_rows, ids=ids)
    import numpy as np

    if not len(features) == len(targets) == len(stamps):
        _prepare(features, targets, stamps, holdout=0.2, min_rows=2, model=name)  # raises
    matrix = engagement_matrix if engagement else follow_through_matrix
    names = ENGAGEMENT_FEATURES if engagement else FOLLOW_THROUGH_FEATURES
    step = chunk_rows or CHUNK_ROWS
    with Spool(len(names)) as spool:
        for start in range(0, len(features), step):
            stop = start + step
            seconds = [_epoch_seconds(s) for s in stamps[start:stop]]
            values = list(targets[start:stop])
            if None in seconds or not all(_is_finite_number(v) for v in values):
                # the in-memory checks name the bad field
                _prepare(features, targets, stamps, holdout=0.2, min_rows=2, model=name)
            spool.append(
                matrix(features[start:stop]).astype(np.float64),
                np.asarray(values, dtype=np.float64),
                np.asarray(seconds, dtype=np.float64),
            )
        if engagement:
            return train_streaming(
                name,
                "ridge",
                spool,
                names,
                alpha=None,
                alphas=RIDGE_ALPHAS,
                min_rows=min_rows,
                ids=ids,
                chunk_rows=step,
            )
        return train_streaming(
            name, "logistic", spool, names, C=1.0, min_rows=min_rows, ids=ids, chunk_rows=step
        )


def publish(
    tables: Tables,
    s3: Any,
    trained: Any,
    now: datetime,
    *,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a trained predictor's ONNX, its validation twin, its hold-out rows (the
    evaluation set) and its manifest to the stage's bucket, manifest last.

    Only S3 is written: the manifest's arrival triggers registration, which owns the models
    table (see :func:`learnloop.models.registration.register_model`). ``extra`` is merged
    into the manifest's ``extra``.

    Returns
    -------
    dict
        ``{"version", "metrics", "rows", "manifest_key"}``.

    Examples
    --------
    >>> publish(tables, s3, trained, now)["manifest_key"]  # doctest: +SKIP
    'models/engagement/20261120T230000Z/manifest.json'
    """

    from learnloop.models.evaluation import encode_set, write_set  # numpy: when publishing

    version = new_version(now)
    bucket = tables.settings.bucket
    files = {MODEL_FILE: to_onnx(trained.estimator, trained.feature_names)}
    details: dict[str, Any] = {
        "task": "regression" if trained.name == "engagement" else "classification",
        # The penalty the recipe used (the engagement model's is chosen per run).
        "params": {
            k: float(v) for k, v in trained.estimator.get_params().items() if k in ("alpha", "C")
        },
    }
    if getattr(trained, "reference", None):
        files[REFERENCE_FILE] = encode_set(trained.reference)
    evaluation = None
    if getattr(trained, "validation_estimator", None) is not None and trained.holdout:
        files[VALIDATION_FILE] = to_onnx(trained.validation_estimator, trained.feature_names)
        details["validation"] = {
            "trained_through": iso(trained.trained_through),
            "holdout_from": iso(trained.holdout_from),
        }
        evaluation = write_set(
            s3,
            bucket,
            trained.name,
            {**trained.holdout, "feature_names": list(trained.feature_names)},
            source="holdout",
            rows=len(trained.holdout["y"]),
        )
    if getattr(trained, "training_path", "memory") != "memory":
        details["training_path"] = trained.training_path
    details.update(extra or {})
    manifest = build_manifest(
        trained.name,
        version,
        files,
        trained.feature_names,
        trained.metrics,
        (trained.window_start, trained.window_end),
        trained.n_rows,
        extra=details,
        now=now,
    )
    if evaluation is not None:
        manifest["evaluation"] = evaluation
    if "key_metric" in details:  # a model registration knows no metric for names its own
        manifest["key_metric"] = details["key_metric"]
    written = write_artifact(s3, bucket, trained.name, version, files, manifest)
    return {
        "version": version,
        "metrics": trained.metrics,
        "rows": trained.n_rows,
        "manifest_key": written[-1],
    }

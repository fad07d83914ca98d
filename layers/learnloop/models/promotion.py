"""Champion and challenger scored on the same data: the promotion decision of registration.

A version that passed its checks is compared with production on one common evaluation set
(:mod:`learnloop.models.evaluation`), both models loaded and scored by registration itself:

Predictors (``engagement``, ``follow_through``)
    The candidate's hold-out rows. Each predictor artifact carries ``validation.onnx``, the
    recipe fit on the rows before its hold-out (what its manifest metrics describe), next to
    ``model.onnx`` refit on every row (what serves). The candidate's twin and production's
    twin are scored on the candidate's hold-out rows posted after production's twin stopped
    training (``extra.validation.trained_through``): neither twin saw those rows, so the
    comparison is fair, and the refit of the winning recipe is what serves.
Sentiment and two-tower
    The name's *registered evaluation set* (the ``@evaluation`` item of its partition): a
    ``domain`` set registers with the version that carries it, a ``reference`` or ``holdout``
    set only while the name has none. The candidate's own set is scored too, for information.

The rule (``settings.promotion_policy``): ``not_worse`` promotes when the candidate's key
metric minus production's is at least ``-promotion_tolerance`` (a smaller loss is a tie and
the newer version wins); production older than ``max_production_age_days`` (when the candidate
was trained: the job's logical time its version names, not the registration's wall time) is
replaced unless the candidate is significantly worse (paired bootstrap over the set's rows:
the 95 % upper bound of candidate - production is below ``-promotion_tolerance``). When the
two cannot be
compared (other features, no common rows, an encoder that does not load), production is kept
unless it is older than ``max_production_age_days``. A manifest naming no evaluation set, of a
model with no registered set, is compared on its own metric as before (``rule: own_metric``).

Price forecasts (``price_forecast``)
    As the predictors: the candidate's hold-out candles (the last walk-forward fold), each
    artifact's validation twins (members trained before that fold, combined with the weights
    learned then) scored on the candles production's twins had not seen; key metric ``mae`` of
    the next candle's log return, lower is better.

Bandit policies (``bandit_policy``)
    Decided by the off-policy evaluation the artifact carries (``ope_report.json``): under
    ``not_worse`` the candidate is promoted only when the lower bound of its estimated value
    beats the logged (production) policy's mean reward on the same decisions by more than
    ``policy_promotion_margin`` (``rule: ope_lower_bound``), whether or not a production
    version exists: the logged policy is production even before any version configures it.

Recommenders (``two_tower``)
    Under ``not_worse``, with a production version and a logged gate (the app's
    ``on_model_dropped`` passes :func:`learnloop.recommender.gate.value_on_log`), the candidate
    is first valued on the recommendations production logged (IIPS over per-slot
    propensities) and promoted only when that lower bound beats production's logged clicks per
    answer by more than ``policy_promotion_margin`` (``rule: ope_lower_bound``, the same rule as
    bandit policies: :func:`beats_production`). With fewer than
    ``recommender_ope_min_decisions`` usable decisions it falls back to the offline comparison
    and the record's ``comparison.ope`` says so.
    The offline comparison of a recommender is on the same split, not on a registered set:
    the published version is refit on every positive, so it trained on any set's rows. The
    job refits production's settings on the candidate's training part and ships both
    settings' per-user NDCG@10 on the same test users (:mod:`learnloop.models.champion`);
    the rule above is applied to their mean difference and paired interval over users
    (``method: same_split``, with the users, the split and both figures). Without those
    figures for the current production version (an older job, production changed since
    training, production's settings not refittable) the registered set decides, and
    ``comparison.same_split.note`` says why.
    Before any of that, under every policy but ``never``: a version whose held-out NDCG@10 is
    below the popularity baseline's on the same users (both measured by the job,
    :func:`popularity_floor`) is never promoted (``rule: popularity_floor``, with the figures).

Examples
--------
>>> beats_production(0.52, 0.50, margin=0.0), beats_production(0.52, 0.50, margin=0.05)
(True, False)
>>> rule_of(0.004, (-0.01, 0.02), tolerance=0.01, too_old=False)
('promote', 'not_worse')
>>> rule_of(-0.05, (-0.08, 0.01), tolerance=0.01, too_old=True)
('promote', 'max_age')
>>> rule_of(-0.05, (-0.08, -0.02), tolerance=0.01, too_old=True)
('keep', 'max_age')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from learnloop.clock import iso
from learnloop.exceptions import LearnloopError
from learnloop.models.artifacts import VALIDATION_FILE
from learnloop.models.champion import reason_of as champion_reason
from learnloop.models.champion import same_split_comparison
from learnloop.models.kinds import (
    BANDIT_POLICY_KIND,
    OPE_REPORT_FILE,
    PRICE_FORECAST_KIND,
    ArtifactRejectedError,
    kind_of,
)
from learnloop.models.registry import CANDIDATE, production_record
from learnloop.store.tables import Tables

__all__ = [
    "EVALUATION_ITEM",
    "VALIDATION_FILE",
    "Decision",
    "LoggedGate",
    "beats_production",
    "decide",
    "paired_bootstrap",
    "popularity_floor",
    "registered_set",
    "rule_of",
    "set_registered_set",
]

#: The range key of a name's registered evaluation set in the models table.
EVALUATION_ITEM = "@evaluation"
#: Kinds decided on the name's registered evaluation set rather than the candidate's own.
REGISTERED_SET_KINDS = ("sentiment", "two_tower")
#: The recommender kind a logged gate may value on the decision log.
TWO_TOWER_KIND = "two_tower"
_SCORED_METRICS = ("r2", "auc", "macro_f1", "ndcg@10", "mae")
_MAX_SET_HISTORY = 20
_SEED = 20261120

#: ``read_files(prefix, manifest_files) -> {file: bytes}``, sha256-checked (registration's).
FileReader = Callable[[str, Mapping[str, Any]], dict[str, bytes]]


@dataclass(frozen=True)
class Decision:
    """What to record on a version that passed its checks.

    ``promote_reason`` is set when the version should become production; ``comparison`` is
    what the registry records (None when nothing was compared); ``register_set`` is the set
    that becomes the name's registered evaluation set once the version is recorded.
    """

    status: str
    reason: str
    promote_reason: str | None = None
    comparison: dict[str, Any] | None = None
    register_set: dict[str, Any] | None = None


class NotComparableError(LearnloopError):
    """Candidate and production cannot be scored on one set (other features, no common rows,
    an encoder that does not load); ``reason`` says why, ``notes`` what was tried."""

    code = "not_comparable"

    def __init__(self, reason: str, notes: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.notes = list(notes or [])


def rule_of(
    delta: float, interval: tuple[float, float] | None, *, tolerance: float, too_old: bool
) -> tuple[str, str]:
    """``(decision, rule)`` of a paired comparison (``delta`` = candidate - production, in the
    direction where higher is better)."""
    if delta >= -tolerance:
        return "promote", "not_worse"
    if too_old:
        significantly_worse = interval is not None and interval[1] < -tolerance
        return ("keep" if significantly_worse else "promote"), "max_age"
    return "keep", "not_worse"


#: A higher layer's valuation of a candidate on the decision log (registration cannot import
#: the log): ``(tables, name, version, manifest, files, production_version, now) -> report``.
LoggedGate = Callable[
    [Tables, str, str, Mapping[str, Any], Mapping[str, bytes], str, datetime], dict[str, Any]
]


def popularity_floor(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """A recommender's popularity floor: its key metric and the popularity baseline's on the
    same held-out users (the job measures both: ``metrics.ndcg@10`` and
    ``metrics.popularity_ndcg@10``), ``passed`` when it is not below. None when the manifest
    carries no baseline (then there is nothing to apply).

    A version below popularity is never promoted, whatever production is or the policy says
    (``always`` included): serving it would do worse than the fallback every user gets.

    Examples
    --------
    >>> popularity_floor({"metrics": {"ndcg@10": 0.07, "popularity_ndcg@10": 0.085}})["passed"]
    False
    >>> popularity_floor({"metrics": {"ndcg@10": 0.3}}) is None
    True
    """
    metrics = manifest.get("metrics") or {}
    model = _number(metrics.get("ndcg@10")) if isinstance(metrics, Mapping) else None
    popular = _number(metrics.get("popularity_ndcg@10")) if isinstance(metrics, Mapping) else None
    if model is None or popular is None:
        return None
    declared = manifest.get("extra")
    extra: Mapping[str, Any] = declared if isinstance(declared, Mapping) else {}
    recorded = extra.get("popularity_floor")
    users = recorded.get("users") if isinstance(recorded, Mapping) else None
    return {
        "rule": "ndcg@10 on the held-out users must be at least the popularity baseline's",
        "metric": "ndcg@10",
        "candidate": model,
        "popularity": popular,
        "users": users if users is not None else extra.get("test_users"),
        "passed": model >= popular,
    }


def beats_production(lower: float, production: float, *, margin: float) -> bool:
    """The off-policy rule: the candidate's lower bound beats production's logged value by
    more than ``margin``. Every OPE-gated kind decides with this, and only this."""
    return lower > production + margin


def decide(
    tables: Tables,
    s3: Any,
    bucket: str,
    name: str,
    version: str,
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    *,
    policy: str,
    metric: tuple[str, bool] | None,
    now: datetime,
    read_files: FileReader,
    logged_gate: LoggedGate | None = None,
) -> Decision:
    """Decide whether a version that passed every check becomes production.

    Parameters
    ----------
    tables, s3, bucket
        The stage's tables, S3 client and bucket.
    name, version : str
        The candidate.
    manifest, files
        Its manifest and its (sha256-verified) files.
    policy : {"not_worse", "always", "never"}
        The promotion policy.
    metric : (str, bool) or None
        The key metric and whether higher is better.
    now : datetime
        The registration time. Production's age is measured to the candidate's training
        time (its version name, the job's logical ``now``), to ``now`` when the version
        name carries no time.
    read_files : callable
        Reads another version's files, sha256-checked.
    logged_gate : callable, optional
        Values a ``two_tower`` candidate on the decision log (see the module docstring).

    Returns
    -------
    Decision
    """
    from learnloop.models.evaluation import EvaluationSetError, evaluation_ref

    settings = tables.settings
    kind = kind_of(manifest).name
    if kind == BANDIT_POLICY_KIND:
        return _policy_gate(tables, name, files, policy=policy)
    try:
        own = evaluation_ref(manifest)
        # read (and sha256-check) the version's own set first: a broken set is never
        # registered, and the version stays a candidate saying why
        own_arrays = _read(s3, bucket, own) if own is not None else None
    except EvaluationSetError as exc:
        return Decision(CANDIDATE, f"{exc.message}; production kept")
    registered = registered_set(tables, name) if kind in REGISTERED_SET_KINDS else None
    to_register = None
    if kind in REGISTERED_SET_KINDS and own is not None:
        current = (registered or {}).get("set")
        pinned = bool((registered or {}).get("pinned"))
        if current is None or (
            own["source"] == "domain" and not pinned and current["sha256"] != own["sha256"]
        ):
            to_register = own
    deciding = (
        (to_register or (registered or {}).get("set")) if kind in REGISTERED_SET_KINDS else own
    )

    ope_fallback: dict[str, Any] | None = None
    same_split_note: str | None = None

    def done(status: str, why: str, promote: str | None = None, /, **comparison: Any) -> Decision:
        if ope_fallback is not None:
            comparison["ope"] = ope_fallback
        if same_split_note is not None and comparison:
            comparison["same_split"] = {"note": same_split_note}
        return Decision(status, why, promote, _clean(comparison) or None, to_register)

    if policy == "never":
        return done(CANDIDATE, "passed every check; policy 'never' leaves promotion to an admin")
    floor = popularity_floor(manifest) if kind == TWO_TOWER_KIND else None
    if floor is not None and not floor["passed"]:
        reason = (
            f"popularity_floor: {floor['metric']} {floor['candidate']:.4f} is below the "
            f"popularity baseline's {floor['popularity']:.4f} on the same {floor['users']} "
            "held-out users; never promoted"
        )
        return done(
            CANDIDATE, reason, floor=floor, rule="popularity_floor", decision="keep", reason=reason
        )
    if policy == "always":
        return done(CANDIDATE, "", "passed every check; policy 'always'")
    alias = production_record(tables, name)
    if alias is None or alias.target is None:
        return done(CANDIDATE, "", "passed every check; no production version yet")
    if metric is None:
        return done(CANDIDATE, "no key metric to compare with production; promote by hand")
    metric_name, higher_is_better = metric
    try:
        production = tables.models.get(name, alias.target, consistent_read=True)
    except tables.models.DoesNotExist:
        return done(CANDIDATE, "", f"production {alias.target} has no record")
    if logged_gate is not None and kind == TWO_TOWER_KIND:
        report = logged_gate(tables, name, version, manifest, files, alias.target, now)
        if report.get("status") == "estimated":
            return _ope_decision(tables, report, alias.target, policy=policy, register=to_register)
        ope_fallback = {
            "status": report.get("status"),
            "rows": report.get("rows"),
            "min_decisions": report.get("min_decisions"),
            "range": report.get("range"),
            "note": "too few logged decisions for the off-policy gate; compared offline",
        }
    # Production's age at the moment the candidate was trained (its version is the training
    # job's logical ``now``), not at registration: a job replaying past days (the demo, a
    # backfill) registers minutes of wall time later but days of logical time apart.
    age_days = _age_days(alias.target, _version_time(version) or now)
    too_old = age_days is not None and age_days > settings.max_production_age_days
    if kind == TWO_TOWER_KIND:
        # A refit recommender trained on every row its held-out set holds: decide on the
        # job's same-split figures of both settings (learnloop.models.champion) when it has
        # them for this production version.
        fair, same_split_note = same_split_comparison(
            manifest, files, alias.target, resamples=settings.promotion_bootstrap_resamples
        )
        if fair is not None:
            interval = fair["interval"]
            decision, rule = rule_of(
                fair["delta"],
                (interval[0], interval[1]) if interval else None,
                tolerance=settings.promotion_tolerance,
                too_old=too_old,
            )
            reason = champion_reason(
                rule,
                decision,
                fair,
                production_version=alias.target,
                tolerance=settings.promotion_tolerance,
                age_days=age_days,
            )
            fields = {
                **fair,
                "production_version": alias.target,
                "production_age_days": age_days,
                "rule": rule,
                "decision": decision,
                "reason": reason,
                "tolerance": settings.promotion_tolerance,
            }
            if decision == "promote":
                return done(CANDIDATE, "", reason, **fields)
            return done(CANDIDATE, reason, **fields)
    if deciding is None or metric_name not in _SCORED_METRICS:
        return _own_metric(done, manifest, production, metric_name, higher_is_better)

    base: dict[str, Any] = {
        "set": deciding,
        "metric": metric_name,
        "production_version": alias.target,
        "production_age_days": age_days,
    }
    try:
        same = own is not None and own["sha256"] == deciding["sha256"]
        arrays = own_arrays if same and own_arrays is not None else _read(s3, bucket, deciding)
        prod_manifest = production.manifest or {}
        prod_files = _production_files(read_files, production, kind)
        cand_scores, prod_scores, notes = _score(
            tables,
            s3,
            bucket,
            kind,
            metric_name,
            manifest,
            files,
            prod_manifest,
            prod_files,
            arrays,
            read_files,
        )
    except EvaluationSetError as exc:
        reason = f"{exc.message}; production kept"
        return done(CANDIDATE, reason, **base, rule=None, decision="keep", reason=reason)
    except NotComparableError as exc:
        decision = "promote" if too_old else "keep"
        reason = f"not comparable with production {alias.target}: {exc.reason}; " + (
            f"production is {age_days:.1f} days old (> {settings.max_production_age_days:g}),"
            " the newer version replaces it"
            if too_old
            else "production kept"
        )
        fields = {**base, "rule": "not_comparable", "decision": decision, "reason": reason}
        if exc.notes:
            fields["notes"] = exc.notes
        if too_old:
            return done(CANDIDATE, "", reason, **fields)
        return done(CANDIDATE, reason, **fields)

    sign = 1.0 if higher_is_better else -1.0
    candidate, current = cand_scores.score(), prod_scores.score()
    if not (math.isfinite(candidate) and math.isfinite(current)):
        reason = f"{metric_name} is undefined on the evaluation set; production kept"
        return done(
            CANDIDATE,
            reason,
            **base,
            candidate=candidate,
            production=current,
            rule="undefined",
            decision="keep",
            reason=reason,
        )
    delta = sign * (candidate - current)
    resamples = settings.promotion_bootstrap_resamples
    interval = paired_bootstrap(cand_scores, prod_scores, sign, resamples)
    decision, rule = rule_of(
        delta, interval, tolerance=settings.promotion_tolerance, too_old=too_old
    )
    reason = _reason(
        rule,
        decision,
        metric_name,
        candidate,
        current,
        alias.target,
        deciding,
        delta,
        interval,
        settings.promotion_tolerance,
        age_days,
    )
    fields = {
        **base,
        "candidate": candidate,
        "production": current,
        "delta": delta,
        "interval": list(interval) if interval else None,
        "rows": len(cand_scores.outputs),
        "rule": rule,
        "decision": decision,
        "reason": reason,
        "tolerance": settings.promotion_tolerance,
    }
    if notes:
        fields["notes"] = notes
    extra = {f"candidate_{k}": v for k, v in cand_scores.extra.items()}
    extra.update({f"production_{k}": v for k, v in prod_scores.extra.items()})
    if extra:
        fields["extra"] = extra
    if own is not None and own["sha256"] != deciding["sha256"]:
        fields["own_set"] = _own_set_scores(
            tables,
            s3,
            bucket,
            kind,
            metric_name,
            manifest,
            files,
            prod_manifest,
            prod_files,
            own,
            own_arrays,
            read_files,
        )
    if decision == "promote":
        return done(CANDIDATE, "", reason, **fields)
    return done(CANDIDATE, reason, **fields)


# --- bandit policies: the off-policy gate --------------------------------------------------------


def _policy_gate(tables: Tables, name: str, files: Mapping[str, bytes], *, policy: str) -> Decision:
    """A ``bandit_policy`` version's decision from its OPE report (``rule: ope_lower_bound``).

    The rule is re-applied here with the stage's margin rather than trusting the report's own
    verdict, which was computed with whatever ``--margin`` its author chose."""
    import json

    alias = production_record(tables, name)
    report = json.loads(files[OPE_REPORT_FILE])
    production = alias.target if alias is not None else None
    return _ope_decision(tables, report, production, policy=policy)


def _ope_decision(
    tables: Tables,
    report: Mapping[str, Any],
    production_version: str | None,
    *,
    policy: str,
    register: dict[str, Any] | None = None,
) -> Decision:
    """The decision of an OPE report (``value`` with ``ci_low``, ``production.estimate``):
    :func:`beats_production` with the stage's ``policy_promotion_margin``."""
    value, production = report["value"], report["production"]
    margin = tables.settings.policy_promotion_margin
    lower, current = float(value["ci_low"]), float(production["estimate"])
    promote = beats_production(lower, current, margin=margin)
    numbers = (
        f"{value.get('estimator', 'estimate')} {float(value['estimate']):.4f} "
        f"[{lower:.4f}, {float(value.get('ci_high', lower)):.4f}] vs production's logged "
        f"{current:.4f} + margin {margin:g} on {value.get('n')} decisions "
        f"({(report.get('range') or {}).get('from')} to {(report.get('range') or {}).get('to')})"
    )
    reason = (
        f"ope_lower_bound: the lower bound beats production: {numbers}"
        if promote
        else f"ope_lower_bound: the lower bound does not beat production: {numbers}; "
        "production kept"
    )
    comparison = {
        "rule": "ope_lower_bound",
        "metric": "policy_value",
        "estimator": value.get("estimator"),
        "candidate": float(value["estimate"]),
        "interval": [lower, value.get("ci_high")],
        "production": current,
        "production_version": production_version,
        "margin": margin,
        "delta": lower - current,
        "rows": value.get("n"),
        "ess": value.get("ess"),
        "range": report.get("range"),
        "skipped": (report.get("rows") or {}).get("skipped"),
        "decision": "promote" if promote else "keep",
        "reason": reason,
    }
    clean = _clean(comparison)
    if policy == "never":
        why = "passed every check; policy 'never' leaves promotion to an admin"
        return Decision(CANDIDATE, why, None, clean, register)
    if policy == "always":
        return Decision(CANDIDATE, "", "passed every check; policy 'always'", clean, register)
    if promote:
        return Decision(CANDIDATE, "", reason, clean, register)
    return Decision(CANDIDATE, reason, None, clean, register)


# --- the registered evaluation set ---------------------------------------------------------------


def registered_set(tables: Tables, name: str) -> dict[str, Any] | None:
    """The registered evaluation set of ``name``: ``{"set", "version", "registered_at",
    "actor", "pinned", "history"}``, or None when it has none."""
    try:
        item = tables.models.get(name, EVALUATION_ITEM, consistent_read=True)
    except tables.models.DoesNotExist:
        return None
    value = item.evaluation
    return dict(value) if isinstance(value, Mapping) and value.get("set") else None


def set_registered_set(
    tables: Tables,
    name: str,
    ref: Mapping[str, Any],
    *,
    version: str | None,
    actor: str,
    now: datetime,
    pinned: bool = False,
) -> dict[str, Any]:
    """Make ``ref`` the registered evaluation set of ``name``; the previous one goes to its
    ``history`` (newest last). Registering the set already registered changes nothing."""
    current = registered_set(tables, name)
    if (
        current is not None
        and current["set"].get("sha256") == ref.get("sha256")
        and (bool(current.get("pinned")) == pinned)
    ):
        return current
    history = list((current or {}).get("history") or [])
    if current is not None:
        history.append({k: current.get(k) for k in ("set", "version", "registered_at", "actor")})
    value = {
        "set": dict(ref),
        "version": version,
        "registered_at": iso(now),
        "actor": actor,
        "pinned": pinned,
        "history": history[-_MAX_SET_HISTORY:],
    }
    tables.models(
        name, EVALUATION_ITEM, created_at=iso(now), updated_at=iso(now), evaluation=value
    ).save()
    return value


# --- scoring -------------------------------------------------------------------------------------


def _read(s3: Any, bucket: str, ref: Mapping[str, Any]) -> dict[str, Any]:
    from learnloop.models.evaluation import read_set

    return read_set(s3, bucket, ref)


def _production_files(read_files: FileReader, production: Any, kind: str) -> dict[str, bytes]:
    manifest = production.manifest or {}
    listed = manifest.get("files") or {}
    if kind == "predictor" and VALIDATION_FILE in listed:
        wanted = {VALIDATION_FILE: listed[VALIDATION_FILE]}
    else:
        wanted = {f: info for f, info in listed.items() if f != VALIDATION_FILE}
    try:
        return read_files(production.s3_prefix or "", wanted)
    except ArtifactRejectedError as exc:
        raise NotComparableError(f"production's artifact does not load: {exc.reason}") from exc


def _score(
    tables: Tables,
    s3: Any,
    bucket: str,
    kind: str,
    metric: str,
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    prod_manifest: Mapping[str, Any],
    prod_files: Mapping[str, bytes],
    arrays: Mapping[str, Any],
    read_files: FileReader,
) -> tuple[Any, Any, list[str]]:
    """Both models' :class:`~learnloop.models.evaluation.Scores` on the set, and notes."""
    try:
        if kind == "predictor":
            return _score_predictors(metric, manifest, files, prod_manifest, prod_files, arrays)
        if kind == "sentiment":
            return _score_sentiment(
                tables, s3, bucket, manifest, files, prod_manifest, prod_files, arrays, read_files
            )
        if kind == "two_tower":
            return _score_two_tower(files, prod_files, arrays)
        if kind == PRICE_FORECAST_KIND:
            return _score_price_forecasts(manifest, files, prod_manifest, prod_files, arrays)
    except NotComparableError:
        raise
    except (KeyError, ValueError, IndexError) as exc:  # a set or artifact of the wrong shape
        raise NotComparableError(f"the evaluation set does not fit the models: {exc!r}") from exc
    except Exception as exc:  # onnxruntime raises its own untyped errors
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise NotComparableError(f"scoring failed: {first_line}") from exc
    raise NotComparableError(f"no scorer for kind {kind!r}")


def _score_predictors(
    metric: str,
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    prod_manifest: Mapping[str, Any],
    prod_files: Mapping[str, bytes],
    arrays: Mapping[str, Any],
) -> tuple[Any, Any, list[str]]:
    import numpy as np

    from learnloop.models.artifacts import MODEL_FILE
    from learnloop.models.evaluation import score_predictor

    names = list(manifest["feature_names"])
    prod_names = list(prod_manifest.get("feature_names") or [])
    set_names = [str(n) for n in arrays["feature_names"].tolist()]
    if prod_names != names or set_names != names:
        raise NotComparableError(
            f"feature names differ: candidate {names}, production {prod_names}, set {set_names}"
        )
    notes: list[str] = []
    if VALIDATION_FILE in files:
        cand_model = files[VALIDATION_FILE]
    else:
        cand_model = files[MODEL_FILE]
        notes.append("the candidate has no validation twin: its model.onnx trained on these rows")
    posted = np.asarray([_epoch(str(p)) for p in arrays["posted_at"].tolist()])
    rows = np.ones(len(posted), dtype=bool)
    if VALIDATION_FILE in prod_files:
        prod_model = prod_files[VALIDATION_FILE]
        through = ((prod_manifest.get("extra") or {}).get("validation") or {}).get(
            "trained_through"
        )
        if through:
            rows = posted > _epoch(str(through))
    else:
        prod_model = prod_files[MODEL_FILE]
        notes.append(
            "production has no validation twin: its model.onnx may have trained on some rows"
        )
    if rows.sum() < 2:
        raise NotComparableError(
            "fewer than 2 of the candidate's hold-out rows were posted after production's "
            "twin stopped training",
            notes,
        )
    X, y = arrays["X"][rows], arrays["y"][rows]
    candidate = score_predictor(cand_model, X, y, metric)
    return candidate, score_predictor(prod_model, X, y, metric), notes


def _score_sentiment(
    tables: Tables,
    s3: Any,
    bucket: str,
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    prod_manifest: Mapping[str, Any],
    prod_files: Mapping[str, bytes],
    arrays: Mapping[str, Any],
    read_files: FileReader,
) -> tuple[Any, Any, list[str]]:
    from learnloop.models.artifacts import MODEL_FILE
    from learnloop.models.evaluation import score_sentiment, score_sentiment_proba
    from learnloop.models.kinds import FINE_TUNED, TOKENIZER_FILE
    from learnloop.text.classifier import TextClassifier

    texts = [str(t) for t in arrays["texts"].tolist()]
    truth = arrays["labels"]
    set_encoder = str(arrays["encoder_version"]) if "encoder_version" in arrays else None
    notes: list[str] = []
    embedded: dict[str, Any] = {}
    if set_encoder is not None and "embeddings" in arrays:
        embedded[set_encoder] = arrays["embeddings"]

    def embeddings_for(head: Mapping[str, Any]) -> Any:
        encoder = (head.get("extra") or {}).get("text_encoder") or {}
        version = str(encoder.get("version"))
        if version not in embedded:
            embedded[version] = _encode(tables, encoder, texts, read_files)
            notes.append(f"texts encoded with {encoder.get('name')} {version} for this comparison")
        return embedded[version]

    scores = []
    for head, head_files in ((manifest, files), (prod_manifest, prod_files)):
        extra = head.get("extra") or {}
        labels = list(extra.get("labels") or [])
        if extra.get("format") == FINE_TUNED:
            # the whole model reads the texts themselves: no encoder, no embeddings
            classifier = TextClassifier(
                head_files[MODEL_FILE],
                head_files[TOKENIZER_FILE],
                max_length=int(extra["max_length"]),
            )
            proba = classifier.predict_proba(texts)
            scores.append(score_sentiment_proba(labels, proba, truth))
            continue
        scores.append(score_sentiment(head_files[MODEL_FILE], labels, embeddings_for(head), truth))
    return scores[0], scores[1], notes


def _encode(
    tables: Tables, encoder: Mapping[str, Any], texts: list[str], read_files: FileReader
) -> Any:
    from learnloop.text.encoder import TextEncoder

    name, version = encoder.get("name"), encoder.get("version")
    try:
        record = tables.models.get(str(name), str(version), consistent_read=True)
        encoder_files = read_files(record.s3_prefix or "", (record.manifest or {})["files"])
        return TextEncoder.from_files(encoder_files, record.manifest).encode(texts)
    except Exception as exc:  # any failure means the comparison is impossible, not a crash
        message = getattr(exc, "reason", None) or getattr(exc, "message", None) or repr(exc)
        raise NotComparableError(
            f"comparison impossible: text encoder {name} {version} does not load ({message})"
        ) from exc


def _score_two_tower(
    files: Mapping[str, bytes], prod_files: Mapping[str, bytes], arrays: Mapping[str, Any]
) -> tuple[Any, Any, list[str]]:
    from learnloop.models.evaluation import score_two_tower

    users, items = arrays["users"], arrays["items"]
    seen: dict[str, set[str]] = {}
    if "seen_users" in arrays and "seen_items" in arrays:
        for user, item in zip(
            arrays["seen_users"].tolist(), arrays["seen_items"].tolist(), strict=True
        ):
            seen.setdefault(str(user), set()).add(str(item))
    candidate = score_two_tower(files, users, items, seen)
    return candidate, score_two_tower(prod_files, users, items, seen), []


def _score_price_forecasts(
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    prod_manifest: Mapping[str, Any],
    prod_files: Mapping[str, bytes],
    arrays: Mapping[str, Any],
) -> tuple[Any, Any, list[str]]:
    """Both forecasts' validation twins on the candidate's hold-out candles that production's
    twin had not seen (as the predictors' rule: rows after ``extra.validation.trained_through``)."""
    import numpy as np

    from learnloop.models.evaluation import score_price_forecast
    from learnloop.models.kinds import FORECAST_MEMBERS

    names = list(manifest["feature_names"])
    prod_names = list(prod_manifest.get("feature_names") or [])
    set_names = [str(n) for n in arrays["feature_names"].tolist()]
    if prod_names != names or set_names != names:
        raise NotComparableError(
            f"feature names differ: candidate {names}, production {prod_names}, set {set_names}"
        )
    prod_window = int((prod_manifest.get("extra") or {}).get("window") or 0)
    if not 1 <= prod_window <= arrays["sequences"].shape[1]:
        raise NotComparableError(
            f"production's window {prod_window} is longer than the set's "
            f"{arrays['sequences'].shape[1]} candles"
        )
    notes: list[str] = []
    twins = [pair[1] for pair in FORECAST_MEMBERS.values()]
    if not all(t in files for t in twins):
        notes.append("the candidate has no validation twins: its members trained on these rows")
    opened = np.asarray([_epoch(str(t)) for t in arrays["open_time"].tolist()])
    rows = np.ones(len(opened), dtype=bool)
    through = ((prod_manifest.get("extra") or {}).get("validation") or {}).get("trained_through")
    if all(t in prod_files for t in twins) and through:
        # row t forecasts candle t + 1: unseen by a twin whose last close was at ``through``
        rows = opened >= _epoch(str(through))
    else:
        notes.append("production has no validation twins: its members may have seen these rows")
    if rows.sum() < 2:
        raise NotComparableError(
            "fewer than 2 of the candidate's hold-out candles come after production's twins "
            "stopped training",
            notes,
        )
    X, sequences, y = arrays["X"][rows], arrays["sequences"][rows], arrays["y"][rows]
    candidate = score_price_forecast(files, manifest, X, sequences, y)
    return candidate, score_price_forecast(prod_files, prod_manifest, X, sequences, y), notes


def _own_set_scores(
    tables: Tables,
    s3: Any,
    bucket: str,
    kind: str,
    metric: str,
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    prod_manifest: Mapping[str, Any],
    prod_files: Mapping[str, bytes],
    own: Mapping[str, Any],
    arrays: Mapping[str, Any] | None,
    read_files: FileReader,
) -> dict[str, Any]:
    """Both models on the candidate's own set, recorded for information only."""
    from learnloop.models.evaluation import EvaluationSetError

    try:
        arrays = arrays if arrays is not None else _read(s3, bucket, own)
        cand, prod, _ = _score(
            tables,
            s3,
            bucket,
            kind,
            metric,
            manifest,
            files,
            prod_manifest,
            prod_files,
            arrays,
            read_files,
        )
    except EvaluationSetError as exc:
        return {"set": dict(own), "error": exc.message}
    except NotComparableError as exc:
        return {"set": dict(own), "error": exc.reason}
    return _clean({"set": dict(own), "candidate": cand.score(), "production": prod.score()})


def paired_bootstrap(
    cand: Any, prod: Any, sign: float, resamples: int
) -> tuple[float, float] | None:
    """The 95 % percentile interval of candidate - production over paired resamples of the
    rows (seeded: the same drop gives the same interval); None when too few resamples give
    a defined metric.

    Examples
    --------
    >>> import numpy as np
    >>> from learnloop.models.evaluation import Scores, weighted_r2
    >>> y = np.linspace(0, 1, 50)
    >>> good = Scores(y, y, weighted_r2(y, y), {})
    >>> bad = Scores(y, y[::-1], weighted_r2(y, y[::-1]), {})
    >>> lo, hi = paired_bootstrap(good, bad, 1.0, 200)
    >>> lo > 0
    True
    """
    import numpy as np

    n = len(cand.outputs)
    if n < 2:
        return None
    rng = np.random.default_rng(_SEED)
    deltas = np.empty(resamples)
    for b in range(resamples):
        rows = rng.integers(0, n, n)
        deltas[b] = sign * (cand.score(rows) - prod.score(rows))
    finite = deltas[np.isfinite(deltas)]
    if len(finite) < max(10, resamples // 2):
        return None
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return float(lo), float(hi)


def _own_metric(
    done: Callable[..., Decision],
    manifest: Mapping[str, Any],
    production: Any,
    metric_name: str,
    higher_is_better: bool,
) -> Decision:
    """No common evaluation set: the version's own metric against production's own (each
    measured on its own data; recorded as ``rule: own_metric``)."""
    new = _number((manifest.get("metrics") or {}).get(metric_name))
    if new is None:
        return done(CANDIDATE, f"key metric {metric_name} is missing; production kept")
    old = _number((production.metrics or {}).get(metric_name))
    if old is None:
        why = f"{metric_name} {new:.6g}; production {production.version} has none"
        return done(CANDIDATE, "", why)
    not_worse = new >= old if higher_is_better else new <= old
    text = f"{metric_name} {new:.6g} vs production {production.version}'s {old:.6g}"
    fields = {
        "set": None,
        "metric": metric_name,
        "candidate": new,
        "production": old,
        "production_version": production.version,
        "delta": (new - old) if higher_is_better else (old - new),
        "rule": "own_metric",
        "decision": "promote" if not_worse else "keep",
        "notes": ["no common evaluation set: each version's own held-out metric"],
    }
    if not not_worse:
        reason = f"own_metric: worse than production: {text}; production kept"
        return done(CANDIDATE, reason, **fields, reason=reason)
    reason = f"own_metric: not worse than production: {text}"
    return done(CANDIDATE, "", reason, **fields, reason=reason)


def _reason(
    rule: str,
    decision: str,
    metric: str,
    candidate: float,
    production: float,
    production_version: str,
    ref: Mapping[str, Any],
    delta: float,
    interval: tuple[float, float] | None,
    tolerance: float,
    age_days: float | None,
) -> str:
    on = f"on the {ref.get('source')} set {str(ref.get('sha256'))[:12]} ({ref.get('rows')} rows)"
    numbers = f"{metric} {candidate:.4f} vs production {production_version}'s {production:.4f} {on}"
    span = f"[{interval[0]:+.4f}, {interval[1]:+.4f}]" if interval else "undefined"
    if rule == "not_worse" and decision == "promote":
        verdict = "better than production" if delta >= 0 else f"a tie within ±{tolerance:g}"
        return f"not_worse: {verdict}: {numbers}"
    if rule == "not_worse":
        worse = f"worse than production by {-delta:.4f} (> {tolerance:g})"
        return f"not_worse: {worse}: {numbers}; production kept"
    age = f"production is {age_days:.1f} days old" if age_days is not None else "production is old"
    if decision == "promote":
        verdict = f"{age} and the candidate is not significantly worse (95% interval {span})"
        return f"max_age: {verdict}: {numbers}"
    verdict = f"{age} but the candidate is significantly worse (95% interval {span})"
    return f"max_age: {verdict}: {numbers}; production kept"


def _version_time(version: str) -> datetime | None:
    """The training time a version name carries (``YYYYMMDDTHHMMSSZ``), or None."""
    try:
        return datetime.strptime(version, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _age_days(version: str, now: datetime) -> float | None:
    made = _version_time(version)
    if made is None:
        return None
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    return (moment - made).total_seconds() / 86400.0


def _epoch(value: str) -> float:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value

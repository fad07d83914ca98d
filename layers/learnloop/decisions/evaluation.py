"""Evaluate a candidate bandit configuration on the decision log; the report gates promotion.

:func:`evaluate_policy` turns decision-log records (``read_decisions``) into one report:
the candidate (a spec such as ``"thompson:prior=2/8,discount=0.9"``) is replayed over the
logged decisions (:mod:`learnloop.decisions.replay`), every estimator of
:mod:`learnloop.decisions.ope` values it with a bootstrap interval, and production's value is
the logged policy's mean reward on the same decisions. The gate promotes only when the chosen
estimator's lower bound beats production's value by more than ``margin``.

:func:`policy_artifact` packs a report as a ``bandit_policy`` model version (``policy.json``,
``ope_report.json``; no ONNX), which :func:`learnloop.models.artifacts.write_artifact`
publishes manifest last, so registration runs and re-applies the gate
(:mod:`learnloop.models.promotion`).

:func:`evaluate_policies` is the daily job: it values every configured candidate
(``LEARNLOOP_POLICY_CANDIDATES``) on the last ``policy_evaluation_days`` of the log and
publishes the ones whose gate says promote, unless that configuration is production already
or was published within the range (a rerun publishes nothing twice).

Examples
--------
>>> records = [{"surface": "bandit", "scope": "content", "chosen": [arm], "reward": reward,
...             "created_at": "2026-11-20T09:00:00Z",
...             "shown": [{"item": arm, "position": 0, "propensity": 0.5}]}
...            for arm, reward in [("a", 1.0), ("b", 0.0)] * 100]
>>> report = evaluate_policy(records, "thompson:prior=1/1", n_resamples=200, random_state=0)
>>> report["gate"]["decision"], report["rows"]["used"], round(report["production"]["estimate"], 2)
('promote', 200, 0.5)
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from learnloop.decisions.log import read_decisions
from learnloop.decisions.ope import ESTIMATORS, evaluate
from learnloop.decisions.replay import (
    EpsilonGreedyUCB,
    ThompsonCandidate,
    compare_with_production,
    parse_candidate,
    replay,
)
from learnloop.exceptions import LearnloopError
from learnloop.models.artifacts import build_manifest, new_version, write_artifact
from learnloop.models.kinds import (
    BANDIT_POLICY_FILE,
    BANDIT_POLICY_KIND,
    BANDIT_POLICY_NAMES,
    OPE_REPORT_FILE,
    ArtifactRejectedError,
    policy_config,
)
from learnloop.models.promotion import beats_production
from learnloop.models.registry import production_record
from learnloop.store.tables import Tables
from learnloop.validation import invalid

__all__ = [
    "GATE_RULE",
    "candidate_config",
    "evaluate_policies",
    "evaluate_policy",
    "policy_artifact",
]

#: The gate: the candidate's lower bound must beat production's logged value plus a margin.
GATE_RULE = "ope_lower_bound"
_SCOPE_POLICY = {"content": "thompson", "timing": "ucb1"}


def candidate_config(spec: str, scope: str) -> dict[str, Any]:
    """The ``policy.json`` configuration a candidate spec describes for ``scope``.

    Raises
    ------
    ValidationError
        A bad spec (field ``candidate``) or a policy the scope does not run (field ``scope``).

    Examples
    --------
    >>> candidate_config("thompson:prior=2/8,discount=0.9", "content")
    {'scope': 'content', 'policy': 'thompson', 'prior': [2.0, 8.0], 'discount': 0.9}
    >>> candidate_config("ucb1:epsilon=0.2", "timing")
    {'scope': 'timing', 'policy': 'ucb1', 'alpha': 1.0, 'epsilon': 0.2}
    """
    if scope not in _SCOPE_POLICY:
        raise invalid([{"field": "scope", "message": f"choose from {sorted(_SCOPE_POLICY)}"}])
    candidate = parse_candidate(spec)
    config: dict[str, Any]
    if isinstance(candidate, ThompsonCandidate):
        config = {
            "scope": scope,
            "policy": "thompson",
            "prior": list(candidate.prior),
            "discount": candidate.discount,
        }
    elif isinstance(candidate, EpsilonGreedyUCB):
        config = {
            "scope": scope,
            "policy": "ucb1",
            "alpha": candidate.alpha,
            "epsilon": candidate.epsilon,
        }
    if config["policy"] != _SCOPE_POLICY[scope]:
        raise invalid(
            [{"field": "scope", "message": f"the {scope} bandit runs {_SCOPE_POLICY[scope]}"}]
        )
    return policy_config(config)


def evaluate_policy(
    records: Iterable[Mapping[str, Any]],
    candidate: str,
    *,
    scope: str = "content",
    estimator: str = "dr",
    margin: float = 0.0,
    batch_size: int = 100,
    missing_reward: float | None = 0.0,
    n_resamples: int = 1000,
    random_state: int | None = 0,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """Replay ``candidate`` over logged decisions and report its value against production's.

    Parameters
    ----------
    records : iterable of dict
        Decision records as ``read_decisions`` yields them, oldest first.
    candidate : str
        A spec for :func:`~learnloop.decisions.replay.parse_candidate`.
    scope : {"content", "timing"}, default "content"
        The bandit evaluated; the candidate must be the policy it runs.
    estimator : {"dr", "ipw", "snipw", "dm"}, default "dr"
        The estimator whose interval the gate reads (every one is reported).
    margin : float, default 0.0
        How much the lower bound must exceed production's value.
    batch_size, missing_reward
        As for :func:`~learnloop.decisions.replay.replay`.
    n_resamples, random_state
        The bootstrap's (and the Thompson candidate's draws).
    start, end : date, optional
        The days read, recorded in the report's ``range``.

    Returns
    -------
    dict
        ``candidate``, ``config``, ``scope``, ``estimator``, ``range``, ``rows`` (``used``,
        ``skipped`` by reason, ``arms``), ``policy_versions`` (logged versions and their
        counts), ``value`` (the gate's estimate), ``production``, ``estimates`` (every
        estimator), ``ess`` and ``gate`` (``rule``, ``lower_bound``, ``production``,
        ``margin``, ``promote``, ``decision``, ``reason``).

    Raises
    ------
    ValidationError
        A bad spec, scope or estimator, or no usable decision (field ``records``).
    """
    if estimator not in ESTIMATORS:
        raise invalid([{"field": "estimator", "message": f"choose from {sorted(ESTIMATORS)}"}])
    config = candidate_config(candidate, scope)
    rows = list(records)
    versions = Counter(
        str(r.get("policy_version"))
        for r in rows
        if r.get("surface") == "bandit" and r.get("scope") == scope
    )
    stamps = sorted(str(r["created_at"]) for r in rows if r.get("created_at"))
    result = replay(
        rows,
        parse_candidate(candidate, random_state=random_state),
        scope=scope,
        batch_size=batch_size,
        missing_reward=missing_reward,
    )
    comparison = compare_with_production(
        result,
        rule=functools.partial(beats_production, margin=margin),
        estimator=estimator,
        n_resamples=n_resamples,
        random_state=random_state,
    )
    estimates = evaluate(result.data, n_resamples=n_resamples, random_state=random_state)
    value, production = comparison.candidate, comparison.production
    decision = "promote" if comparison.promote else "keep"
    verb = "beats" if comparison.promote else "does not beat"
    reason = (
        f"{estimator} lower bound {value.ci_low:.4f} {verb} production's logged "
        f"{production.estimate:.4f} + margin {margin:g}"
    )
    return {
        "candidate": candidate,
        "config": config,
        "scope": scope,
        "estimator": estimator,
        "range": {
            "from": start.isoformat() if start else (stamps[0][:10] if stamps else None),
            "to": end.isoformat() if end else (stamps[-1][:10] if stamps else None),
            "first_decision": stamps[0] if stamps else None,
            "last_decision": stamps[-1] if stamps else None,
        },
        "rows": {"used": result.data.n, "skipped": dict(result.skipped), "arms": result.arms},
        "policy_versions": dict(versions),
        "value": value.to_dict(),
        "production": production.to_dict(),
        "estimates": {name: v.to_dict() for name, v in estimates.items()},
        "ess": value.ess,
        "gate": {
            "rule": GATE_RULE,
            "lower_bound": value.ci_low,
            "production": production.estimate,
            "margin": margin,
            "promote": comparison.promote,
            "decision": decision,
            "reason": reason,
        },
    }


def policy_artifact(
    report: Mapping[str, Any], *, now: datetime | None = None
) -> tuple[str, str, dict[str, bytes], dict[str, Any]]:
    """``(name, version, files, manifest)`` of a ``bandit_policy`` version from a report.

    Examples
    --------
    >>> report = {"config": {"scope": "content", "policy": "thompson", "prior": [1.0, 1.0],
    ...           "discount": 1.0}, "value": {"estimate": 0.6, "n": 10}, "estimator": "dr",
    ...           "range": {"from": "2026-11-20", "to": "2026-11-21"}, "rows": {"used": 10}}
    >>> name, version, files, manifest = policy_artifact(report)
    >>> name, sorted(files), manifest["extra"]["kind"]
    ('bandit_policy', ['ope_report.json', 'policy.json'], 'bandit_policy')
    """
    config = policy_config(report["config"])
    name = BANDIT_POLICY_NAMES[config["scope"]]
    version = new_version(now)
    files = {
        BANDIT_POLICY_FILE: json.dumps(config, sort_keys=True).encode(),
        OPE_REPORT_FILE: json.dumps(report, sort_keys=True, default=str).encode(),
    }
    window = report.get("range") or {}
    manifest = build_manifest(
        name,
        version,
        files,
        [],
        {f"{report['estimator']}_value": report["value"]["estimate"]},
        (window.get("from") or "", window.get("to") or ""),
        int((report.get("rows") or {}).get("used") or 0),
        {"kind": BANDIT_POLICY_KIND, "policy": config, "candidate": report.get("candidate")},
        now=now,
    )
    return name, version, files, manifest


def evaluate_policies(
    tables: Tables,
    now: datetime,
    *,
    s3: Any = None,
    candidates: Sequence[str] | None = None,
    days: int | None = None,
    n_resamples: int = 1000,
) -> dict[str, Any]:
    """Value each candidate on the recent decision log; publish those the gate promotes.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    now : datetime
        The run's logical time: the range is the ``days`` UTC days ending on its date.
    s3 : boto3 S3 client, optional
        Publishes the artifacts (default: the stage's).
    candidates : sequence of str, optional
        Specs (default ``settings.policy_candidates``); ``thompson`` ones value the content
        bandit, ``ucb1`` ones the timing bandit.
    days : int, optional
        Default ``settings.policy_evaluation_days``.
    n_resamples : int, default 1000
        Bootstrap resamples.

    Returns
    -------
    dict
        ``{"from", "to", "candidates": [{"candidate", "decision", "estimate", "lower_bound",
        "production", "published" (version or None), "note"}]}``; a candidate that cannot be
        valued (a bad spec, no usable decision) has ``decision: "error"`` and the reason.

    Examples
    --------
    >>> evaluate_policies(tables, now, candidates=["thompson:prior=2/8"])  # doctest: +SKIP
    {'from': '2026-11-30', 'to': '2026-12-06', 'candidates': [{'decision': 'promote', ...}]}
    """
    settings = tables.settings
    specs = list(settings.policy_candidates if candidates is None else candidates)
    first, last = evaluation_days(tables, now, days)
    records = list(read_decisions(tables, first, last)) if specs else []
    out = [
        evaluate_candidate(tables, records, spec, now, days=days, s3=s3, n_resamples=n_resamples)
        for spec in specs
    ]
    return {"from": first.isoformat(), "to": last.isoformat(), "candidates": out}


def evaluation_days(tables: Tables, now: datetime, days: int | None = None) -> tuple[date, date]:
    """The first and last UTC day :func:`evaluate_policies` values candidates on."""
    last = now.date()
    return last - timedelta(days=(days or tables.settings.policy_evaluation_days) - 1), last


def evaluate_candidate(
    tables: Tables,
    records: Sequence[Mapping[str, Any]],
    spec: str,
    now: datetime,
    *,
    days: int | None = None,
    s3: Any = None,
    n_resamples: int = 1000,
) -> dict[str, Any]:
    """Value one candidate ``spec`` on ``records`` and publish it when the gate promotes it
    (one unit of :func:`evaluate_policies`; a second run finds it published)."""
    settings = tables.settings
    first, last = evaluation_days(tables, now, days)
    scope = "timing" if spec.split(":", 1)[0] == "ucb1" else "content"
    try:
        report = evaluate_policy(
            list(records),
            spec,
            scope=scope,
            margin=settings.policy_promotion_margin,
            n_resamples=n_resamples,
            start=first,
            end=last,
        )
    except LearnloopError as exc:
        said = "; ".join(str(d.get("message")) for d in exc.details) or exc.message
        return {"candidate": spec, "decision": "error", "note": said}
    gate = report["gate"]
    row: dict[str, Any] = {
        "candidate": spec,
        "decision": gate["decision"],
        "estimate": report["value"]["estimate"],
        "lower_bound": gate["lower_bound"],
        "production": gate["production"],
        "published": None,
        "note": gate["reason"],
    }
    if gate["promote"]:
        already = _already(tables, report["config"], first)
        if already:
            row["note"] = already
        else:
            if s3 is None:
                from learnloop.store.clients import s3_client

                s3 = s3_client(settings)
            name, version, files, manifest = policy_artifact(report, now=now)
            write_artifact(s3, settings.bucket, name, version, files, manifest)
            row["published"] = version
    return row


def _already(tables: Tables, config: Mapping[str, Any], since: date) -> str | None:
    """Why ``config`` needs no new version: it is production, or was published since ``since``."""
    name = BANDIT_POLICY_NAMES[config["scope"]]
    model = tables.models
    alias = production_record(tables, name)
    if alias is not None and alias.target is not None:
        try:
            current = model.get(name, alias.target, consistent_read=True)
            if _config_of(current) == config:
                return f"this configuration is production already ({alias.target})"
        except model.DoesNotExist:
            pass
    # Version ids are UTC times: the range bounds them (and keeps out the "@" alias items).
    low, high = since.strftime("%Y%m%dT000000Z"), "99991231T235959Z"
    for record in model.query(name, model.version.between(low, high)):
        if _config_of(record) == config:
            return f"this configuration was published as {record.version} ({record.status})"
    return None


def _config_of(record: Any) -> dict[str, Any] | None:
    try:
        return policy_config(((record.manifest or {}).get("extra") or {}).get("policy"))
    except ArtifactRejectedError:
        return None

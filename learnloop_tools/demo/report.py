"""The report of a ``learnloop demo`` run: markdown, two plots and a JSON summary.

A run is a list of :class:`DayRecord`, one per simulated day. :func:`summarize` turns it into the
figures a reader checks (did the bandit find the best arm? is its regret sublinear?),
:func:`recovery` into what a mid-run shift of the hidden truth did (how fast the bandit moved to
the new best arm; production models' R² and AUC per day next to the truth's; drift alerts,
retrains and promotions), and :func:`write_report` writes ``report.md``, ``regret.png``,
``engagement.png``, ``timeline.png`` and ``summary.json``. matplotlib is imported inside
:func:`write_report` (Agg canvas, no pyplot, no global backend switch), so importing this
module stays cheap.

Examples
--------
>>> from datetime import date
>>> days = [
...     DayRecord(0, date(2026, 1, 1), {"a": 2, "b": 2}, {"a": 1, "b": 0}, 0.4, 0.4, 0.02, "a"),
...     DayRecord(1, date(2026, 1, 2), {"a": 4, "b": 0}, {"a": 2, "b": 0}, 0.0, 0.4, 0.03, "a"),
... ]
>>> summary = summarize(days)
>>> summary["regret_vs_oracle"], summary["regret_random"], summary["regret_sublinear"]
(0.4, 0.8, True)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from learnloop.exceptions import SimulationError

__all__ = ["REPORT_FILES", "DayRecord", "recovery", "summarize", "write_report"]

#: The files :func:`write_report` writes, in the order it returns them.
REPORT_FILES: tuple[str, ...] = (
    "report.md",
    "regret.png",
    "engagement.png",
    "timeline.png",
    "summary.json",
)
#: Drift actions that count as a retrain (``GET /v1/admin/alerts`` ``actions[].action``).
RETRAIN_ACTIONS: frozenset[str] = frozenset({"retrained", "retrain_requested"})
_DIGITS = 6


@dataclass(frozen=True)
class DayRecord:
    """What happened on one simulated day.

    Parameters
    ----------
    day_index
        0 for the first day of the run, then 1, 2, ...
    date
        The simulated calendar day.
    pulls
        Posts per arm that day (every arm, zeros included, keeps the tables square).
    successes
        Successful posts (``engagement_rate > 0.03``) per arm that day.
    regret
        Expected successes the bandit policy lost to the oracle arm that day:
        ``sum over posts of (p(oracle, hour) - p(chosen arm, hour))``.
    regret_random
        The same for a uniformly random arm choice with as many posts:
        ``posts * (p(oracle) - mean over arms of p(arm))``.
    mean_engagement
        Mean ``engagement_rate`` of the day's posts, ``None`` without posts.
    oracle_arm
        The arm with the highest hidden success probability that day (it changes when the
        world shifts).
    extra
        Anything else worth keeping per day, JSON-ready. :func:`recovery` reads ``grades``
        (``production_r2``, ``truth_r2``, ``production_auc``, ``truth_auc`` and ``versions``:
        predictor → production version, on that day's fresh posts) and ``drift`` (``alerts``
        and ``actions`` of the drift checks that ran that day) when present.
    """

    day_index: int
    date: date
    pulls: dict[str, int]
    successes: dict[str, int]
    regret: float
    regret_random: float
    mean_engagement: float | None
    oracle_arm: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def posts(self) -> int:
        """Posts that day, over every arm."""
        return sum(self.pulls.values())

    @property
    def best_arm_share(self) -> float | None:
        """The share of the day's posts that used the oracle arm, ``None`` without posts."""
        return self.pulls.get(self.oracle_arm, 0) / self.posts if self.posts else None

    def share_of(self, arm: str) -> float | None:
        """The share of the day's posts that used ``arm``, ``None`` without posts."""
        return self.pulls.get(arm, 0) / self.posts if self.posts else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the derived ``posts`` and ``best_arm_share``."""
        record = asdict(self)
        record["date"] = self.date.isoformat()
        record["posts"] = self.posts
        record["best_arm_share"] = _round(self.best_arm_share)
        return record


def summarize(
    days: Sequence[DayRecord], *, expected_success: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """The figures of a run.

    Regret "slope" is regret per post: cumulative regret over a half of the run divided by the
    posts in that half. The first half is the first ``n // 2`` days and the last half the last
    ``n // 2`` days (the middle day of an odd run is in neither), so ``regret_sublinear`` (the
    last half's slope is below the first half's) means the bandit stopped paying as much per
    decision. The last quarter is the last ``ceil(n / 4)`` days. Each day's regret and best-arm
    share are against that day's oracle arm, so a run whose world shifts is graded against the
    regime in force each day; ``oracle_arm`` is the last day's.

    Parameters
    ----------
    days
        One record per simulated day, in any order (sorted by ``day_index``).
    expected_success
        The hidden success probability per arm, shown next to each arm's empirical rate.

    Returns
    -------
    dict
        ``days``, ``posts``, ``oracle_arm``, ``arms`` (per arm: ``pulls``, ``successes``,
        ``success_rate``, ``expected_success``), ``best_arm_share`` (whole run),
        ``best_arm_share_last_quarter``, ``regret_vs_oracle`` and ``regret_random``
        (cumulative), ``regret_ratio`` (bandit / random), ``regret_slope_first_half``,
        ``regret_slope_last_half``, ``regret_sublinear`` (``None`` for runs under 2 days),
        ``mean_engagement`` (post-weighted), ``mean_engagement_first_half`` and
        ``mean_engagement_last_half``. Floats are rounded to 6 decimals.

    Raises
    ------
    SimulationError
        Without days or with repeated ``day_index`` values.

    Examples
    --------
    >>> from datetime import date
    >>> day = DayRecord(0, date(2026, 1, 1), {"a": 3, "b": 1}, {"a": 2, "b": 0}, 0.1, 0.2,
    ...                 0.025, "a")
    >>> s = summarize([day], expected_success={"a": 0.55, "b": 0.15})
    >>> s["best_arm_share_last_quarter"], s["arms"]["a"], s["regret_sublinear"]
    (0.75, {'pulls': 3, 'successes': 2, 'success_rate': 0.666667, 'expected_success': 0.55}, None)
    """
    if not days:
        raise SimulationError("a run needs at least one day to summarize")
    ordered = sorted(days, key=lambda d: d.day_index)
    if len({d.day_index for d in ordered}) != len(ordered):
        raise SimulationError("day_index values must be unique")
    oracle = ordered[-1].oracle_arm
    n = len(ordered)
    half = n // 2
    first, last = ordered[:half], ordered[n - half :]
    last_quarter = ordered[n - math.ceil(n / 4) :]

    arm_names = sorted({arm for d in ordered for arm in (*d.pulls, *d.successes)})
    arms: dict[str, dict[str, Any]] = {}
    for arm in arm_names:
        pulls = sum(d.pulls.get(arm, 0) for d in ordered)
        successes = sum(d.successes.get(arm, 0) for d in ordered)
        arms[arm] = {
            "pulls": pulls,
            "successes": successes,
            "success_rate": _round(successes / pulls) if pulls else None,
            "expected_success": (
                _round(expected_success[arm])
                if expected_success is not None and arm in expected_success
                else None
            ),
        }

    regret = math.fsum(d.regret for d in ordered)
    regret_random = math.fsum(d.regret_random for d in ordered)
    slope_first, slope_last = _regret_per_post(first), _regret_per_post(last)
    return {
        "days": n,
        "posts": sum(d.posts for d in ordered),
        "oracle_arm": oracle,
        "arms": arms,
        "best_arm_share": _best_arm_share(ordered),
        "best_arm_share_last_quarter": _best_arm_share(last_quarter),
        "regret_vs_oracle": _round(regret),
        "regret_random": _round(regret_random),
        "regret_ratio": _round(regret / regret_random) if regret_random > 0 else None,
        "regret_slope_first_half": _round(slope_first),
        "regret_slope_last_half": _round(slope_last),
        "regret_sublinear": (
            None if slope_first is None or slope_last is None else slope_last < slope_first
        ),
        "mean_engagement": _mean_engagement(ordered),
        "mean_engagement_first_half": _mean_engagement(first),
        "mean_engagement_last_half": _mean_engagement(last),
    }


def recovery(days: Sequence[DayRecord], *, shift_day: int | None) -> dict[str, Any]:
    """How the loop fared when the world shifted, and how production models graded day by day.

    ``days_to_recover`` counts days from ``shift_day`` until the first day on which the new best
    arm's share of posts passes 50 % (0 when it already does on the shift day; ``None`` when
    it never does). Shares "last quarter" are post-weighted over the last ``ceil(n / 4)`` days,
    as in :func:`summarize`; ``*_last_quarter`` grades are means over the last quarter's days
    that have one.

    Parameters
    ----------
    days
        One record per simulated day, in any order; grades and drift results are read from
        each record's ``extra`` (see :class:`DayRecord`).
    shift_day
        The ``day_index`` on which the new regime starts, ``None`` for a world that never
        shifts (the shift figures are then ``None``).

    Returns
    -------
    dict
        ``shift_day``, ``old_best_arm``, ``new_best_arm``, ``new_best_arm_share_last_quarter``,
        ``old_best_arm_share_last_quarter``, ``days_to_recover``,
        ``production_r2_last_quarter``, ``truth_r2_last_quarter``,
        ``production_auc_last_quarter``, ``truth_auc_last_quarter``, ``drift_alerts``
        (``count`` of alerts, their number ``per_model`` and the ``days`` each model had one:
        a check repeats an alert every day the drift lasts), ``drift_retrains`` (how many
        drift actions were
        ``retrained`` or ``retrain_requested``), ``drift_actions`` (each distinct action once)
        and ``production_changes`` (predictor → the days its production version changed).

    Raises
    ------
    SimulationError
        Without days, or when ``shift_day`` is not a day after the first one of the run.

    Examples
    --------
    >>> from datetime import date
    >>> def d(i, pulls, oracle):
    ...     return DayRecord(i, date(2026, 1, 1 + i), pulls, {}, 0.0, 0.0, None, oracle)
    >>> days = [d(0, {"a": 4, "b": 0}, "a"), d(1, {"a": 3, "b": 1}, "b"),
    ...         d(2, {"a": 1, "b": 3}, "b"), d(3, {"a": 0, "b": 4}, "b")]
    >>> r = recovery(days, shift_day=1)
    >>> r["old_best_arm"], r["new_best_arm"], r["days_to_recover"]
    ('a', 'b', 1)
    >>> r["new_best_arm_share_last_quarter"]
    1.0
    """
    if not days:
        raise SimulationError("a run needs at least one day to summarize")
    ordered = sorted(days, key=lambda d: d.day_index)
    n = len(ordered)
    last_quarter = ordered[n - math.ceil(n / 4) :]
    figures: dict[str, Any] = {
        "shift_day": shift_day,
        "old_best_arm": None,
        "new_best_arm": None,
        "new_best_arm_share_last_quarter": None,
        "old_best_arm_share_last_quarter": None,
        "days_to_recover": None,
    }
    if shift_day is not None:
        before = [d for d in ordered if d.day_index < shift_day]
        after = [d for d in ordered if d.day_index >= shift_day]
        if not before or not after:
            raise SimulationError(
                f"shift_day must fall inside the run, after its first day; got {shift_day}"
            )
        old, new = before[-1].oracle_arm, after[0].oracle_arm
        recovered = next((d.day_index for d in after if (d.share_of(new) or 0.0) > 0.5), None)
        figures |= {
            "old_best_arm": old,
            "new_best_arm": new,
            "new_best_arm_share_last_quarter": _share(last_quarter, new),
            "old_best_arm_share_last_quarter": _share(last_quarter, old),
            "days_to_recover": None if recovered is None else recovered - shift_day,
        }
    for grade in ("production_r2", "truth_r2", "production_auc", "truth_auc"):
        values = [
            float(v)
            for d in last_quarter
            if (v := (d.extra.get("grades") or {}).get(grade)) is not None
        ]
        figures[f"{grade}_last_quarter"] = (
            _round(math.fsum(values) / len(values)) if values else None
        )
    figures |= _drift_figures(ordered)
    figures["production_changes"] = _production_changes(ordered)
    return figures


def write_report(out_dir: Path, days: list[DayRecord], summary: dict[str, Any]) -> list[Path]:
    """Write ``report.md``, ``regret.png``, ``engagement.png``, ``timeline.png`` and
    ``summary.json``.

    Parameters
    ----------
    out_dir
        Created if missing; existing report files are overwritten.
    days
        The run, one record per day (any order).
    summary
        What :func:`summarize` returned, plus anything the caller adds (:func:`recovery`'s
        figures, the world's hidden truth, model metrics, ...): it is written to
        ``summary.json`` as it is, with the days. ``timeline.png`` marks the shift when
        ``summary["shift_day"]`` is set, and ``summary["promotions"]`` when given.

    Returns
    -------
    list of Path
        The five files, in :data:`REPORT_FILES` order.

    Raises
    ------
    SimulationError
        Without days.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import date
    >>> days = [DayRecord(0, date(2026, 1, 1), {"a": 1}, {"a": 1}, 0.0, 0.1, 0.04, "a")]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_report(Path(tmp), days, summarize(days))
    ...     [p.name for p in paths]
    ['report.md', 'regret.png', 'engagement.png', 'timeline.png', 'summary.json']
    """
    if not days:
        raise SimulationError("a report needs at least one day")
    ordered = sorted(days, key=lambda d: d.day_index)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in REPORT_FILES]
    report_md, regret_png, engagement_png, timeline_png, summary_json = paths

    _plot_regret(regret_png, ordered)
    _plot_engagement(engagement_png, ordered)
    _plot_timeline(timeline_png, ordered, summary)
    summary_json.write_text(
        json.dumps(
            {"summary": summary, "days": [d.as_dict() for d in ordered]},
            indent=2,
            sort_keys=True,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    report_md.write_text(_markdown(ordered, summary), encoding="utf-8")
    return paths


# --- summary helpers -----------------------------------------------------------------------------


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DIGITS) + 0.0


def _regret_per_post(days: Sequence[DayRecord]) -> float | None:
    if not days:
        return None
    posts = sum(d.posts for d in days)
    return math.fsum(d.regret for d in days) / posts if posts else 0.0


def _best_arm_share(days: Sequence[DayRecord]) -> float | None:
    posts = sum(d.posts for d in days)
    best = sum(d.pulls.get(d.oracle_arm, 0) for d in days)
    return _round(best / posts) if posts else None


def _share(days: Sequence[DayRecord], arm: str) -> float | None:
    posts = sum(d.posts for d in days)
    return _round(sum(d.pulls.get(arm, 0) for d in days) / posts) if posts else None


def _drift_figures(days: Sequence[DayRecord]) -> dict[str, Any]:
    """Alerts of every drift check of the run and each distinct action taken on them."""
    per_model: dict[str, int] = {}
    alert_days: dict[str, int] = {}
    actions: dict[str, dict[str, Any]] = {}
    for d in days:
        drift = d.extra.get("drift") or {}
        for alert in drift.get("alerts") or []:
            model = str(alert.get("model")) if isinstance(alert, dict) else "unknown"
            per_model[model] = per_model.get(model, 0) + 1
        for model in _alerted_models(d):
            alert_days[model] = alert_days.get(model, 0) + 1
        # The alerts route lists recent checks' actions: a later read repeats one, with its
        # newer state (a request carried out, an outcome decided). One per check and model.
        for action in drift.get("actions") or []:
            if isinstance(action, dict):
                actions[f"{action.get('at')}#{action.get('model')}"] = action
    distinct = list(actions.values())
    return {
        "drift_alerts": {
            "count": sum(per_model.values()),
            "per_model": dict(sorted(per_model.items())),
            "days": dict(sorted(alert_days.items())),
        },
        "drift_retrains": sum(a.get("action") in RETRAIN_ACTIONS for a in distinct),
        "drift_actions": distinct,
    }


def _alerted_models(day: DayRecord) -> list[str]:
    """The models a drift check alerted on that day, each once."""
    alerts = (day.extra.get("drift") or {}).get("alerts") or []
    return sorted({str(a.get("model")) if isinstance(a, dict) else "unknown" for a in alerts})


def _production_changes(days: Sequence[DayRecord]) -> dict[str, list[int]]:
    """Predictor → the days on which its production version (as graded) differed from the day
    before's (its first production version included)."""
    changes: dict[str, list[int]] = {}
    seen: dict[str, Any] = {}
    for d in days:
        versions = (d.extra.get("grades") or {}).get("versions") or {}
        for model, version in versions.items():
            if version is not None and version != seen.get(model):
                changes.setdefault(model, []).append(d.day_index)
                seen[model] = version
    return changes


def _mean_engagement(days: Sequence[DayRecord]) -> float | None:
    weighted = [(d.mean_engagement, d.posts) for d in days if d.mean_engagement is not None]
    posts = sum(p for _, p in weighted)
    if not posts:
        return None
    return _round(math.fsum(m * p for m, p in weighted) / posts)


def _cumulative(values: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


# --- plots ---------------------------------------------------------------------------------------


def _figure(rows: int) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2 * rows), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, 1, squeeze=False)[:, 0]


def _plot_regret(path: Path, days: Sequence[DayRecord]) -> None:
    figure, (axes,) = _figure(1)
    x = [d.day_index for d in days]
    axes.plot(x, _cumulative([d.regret for d in days]), label="bandit policy", lw=2)
    axes.plot(x, _cumulative([d.regret_random for d in days]), label="uniform random", ls="--")
    axes.axhline(0.0, color="grey", lw=0.8, label="oracle")
    axes.set_xlabel("day")
    axes.set_ylabel("cumulative expected regret (successes)")
    oracles = list(dict.fromkeys(d.oracle_arm for d in days))
    axes.set_title(f"Regret vs the oracle arm of each day ({' then '.join(oracles)})")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    figure.savefig(path, format="png")


def _plot_engagement(path: Path, days: Sequence[DayRecord]) -> None:
    figure, (rate_axes, share_axes) = _figure(2)
    x = [d.day_index for d in days]
    rates = [math.nan if d.mean_engagement is None else d.mean_engagement for d in days]
    rate_axes.plot(x, rates, marker=".", lw=1.5)
    rate_axes.axhline(0.03, color="grey", ls=":", lw=1, label="success threshold 0.03")
    rate_axes.set_ylabel("mean engagement rate")
    rate_axes.set_title("Mean engagement rate per day")
    rate_axes.legend(loc="lower right")
    rate_axes.grid(alpha=0.3)

    shares = [math.nan if d.best_arm_share is None else d.best_arm_share for d in days]
    share_axes.plot(x, shares, marker=".", lw=1.5, color="tab:green")
    n_arms = len({arm for d in days for arm in d.pulls}) or 1
    share_axes.axhline(1 / n_arms, color="grey", ls=":", lw=1, label="uniform random")
    share_axes.set_ylim(0.0, 1.0)
    share_axes.set_xlabel("day")
    share_axes.set_ylabel("share of posts")
    share_axes.set_title("Best-arm share per day (each day's oracle arm)")
    share_axes.legend(loc="lower right")
    share_axes.grid(alpha=0.3)
    figure.savefig(path, format="png")


def _plot_timeline(path: Path, days: Sequence[DayRecord], summary: Mapping[str, Any]) -> None:
    """Arm shares around the shift, production vs truth R² and AUC, and the loop's events."""
    figure, (share_axes, grade_axes, event_axes) = _figure(3)
    figure.set_figwidth(10)
    x = [d.day_index for d in days]
    shift_day = summary.get("shift_day")
    arms = list(dict.fromkeys(d.oracle_arm for d in days))
    labels = ["old best arm", "new best arm"] if len(arms) > 1 else ["best arm"]
    for arm, label in zip(arms, labels, strict=False):
        shares = [math.nan if (s := d.share_of(arm)) is None else s for d in days]
        share_axes.plot(x, shares, marker=".", lw=1.5, label=f"{label} ({arm})")
    share_axes.axhline(0.5, color="grey", ls=":", lw=1)
    share_axes.set_ylim(0.0, 1.0)
    share_axes.set_ylabel("share of posts")
    share_axes.set_title("Best-arm share per day")

    def grade(name: str) -> list[float]:
        values = [(d.extra.get("grades") or {}).get(name) for d in days]
        return [math.nan if v is None else float(v) for v in values]

    grade_axes.plot(x, grade("production_r2"), marker=".", label="production R² (engagement)")
    grade_axes.plot(x, grade("truth_r2"), ls="--", label="truth R²")
    grade_axes.plot(x, grade("production_auc"), marker=".", label="production AUC (follow-through)")
    grade_axes.plot(x, grade("truth_auc"), ls="--", label="truth AUC")
    grade_axes.set_ylabel("on the day's fresh posts")
    grade_axes.set_title("Production models vs the truth, per day")

    changes = summary.get("production_changes") or {}
    rows: list[tuple[str, list[int], str]] = [
        (f"{model} promoted", list(at), "^") for model, at in sorted(changes.items())
    ]
    alerted = sorted({m for d in days for m in _alerted_models(d)})
    rows += [
        (f"{model} drift alert", [d.day_index for d in days if model in _alerted_models(d)], "x")
        for model in alerted
    ]
    # Each action once, on the day of the check that took it (the route lists recent ones).
    day_of = {d.date.isoformat(): d.day_index for d in days}
    retrain_days = sorted(
        {
            day_of[str(a.get("at"))[:10]]
            for a in summary.get("drift_actions") or []
            if isinstance(a, dict)
            and a.get("action") in RETRAIN_ACTIONS
            and str(a.get("at"))[:10] in day_of
        }
    )
    rows.append(("drift retrains", retrain_days, "o"))
    for row, (label, at, marker) in enumerate(rows):
        event_axes.scatter(at, [row] * len(at), marker=marker, s=40, label=label)
    event_axes.set_yticks(range(len(rows)), [label for label, _, _ in rows])
    event_axes.set_ylim(-0.5, len(rows) - 0.5)
    event_axes.set_xlabel("day")
    event_axes.set_title("Production versions, drift alerts and retrains")
    from matplotlib.ticker import MaxNLocator

    for axes in (share_axes, grade_axes, event_axes):
        if shift_day is not None:
            axes.axvline(shift_day - 0.5, color="tab:red", lw=1.2, label="world shifts")
        axes.set_xlim(min(x) - 0.5, max(x) + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
    for axes in (share_axes, grade_axes):  # beside the plot: the lines fill its whole height
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    figure.savefig(path, format="png")


# --- markdown ------------------------------------------------------------------------------------

_HEADLINE_KEYS = {
    "days",
    "posts",
    "oracle_arm",
    "arms",
    "best_arm_share",
    "best_arm_share_last_quarter",
    "regret_vs_oracle",
    "regret_random",
    "regret_ratio",
    "regret_slope_first_half",
    "regret_slope_last_half",
    "regret_sublinear",
    "mean_engagement",
    "mean_engagement_first_half",
    "mean_engagement_last_half",
    "shift_day",
    "old_best_arm",
    "new_best_arm",
    "new_best_arm_share_last_quarter",
    "old_best_arm_share_last_quarter",
    "days_to_recover",
    "production_r2_last_quarter",
    "truth_r2_last_quarter",
    "production_auc_last_quarter",
    "truth_auc_last_quarter",
    "drift_alerts",
    "drift_retrains",
    "promotions",
}


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _markdown(days: Sequence[DayRecord], summary: Mapping[str, Any]) -> str:
    get = summary.get
    lines = [
        "# learnloop demo report",
        "",
        f"{_fmt(get('days', len(days)))} simulated days, {_fmt(get('posts'))} posts. "
        f"Oracle arm: `{get('oracle_arm', days[0].oracle_arm)}`.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| best-arm share, last quarter | {_pct(get('best_arm_share_last_quarter'))} |",
        f"| best-arm share, whole run | {_pct(get('best_arm_share'))} |",
        f"| cumulative regret, bandit | {_fmt(get('regret_vs_oracle'))} |",
        f"| cumulative regret, uniform random | {_fmt(get('regret_random'))} |",
        f"| regret ratio (bandit / random) | {_fmt(get('regret_ratio'))} |",
        f"| regret per post, first half | {_fmt(get('regret_slope_first_half'))} |",
        f"| regret per post, last half | {_fmt(get('regret_slope_last_half'))} |",
        f"| regret sublinear | {_fmt(get('regret_sublinear'))} |",
        f"| mean engagement, first half | {_fmt(get('mean_engagement_first_half'))} |",
        f"| mean engagement, last half | {_fmt(get('mean_engagement_last_half'))} |",
        "",
    ]
    lines += _recovery_markdown(summary)
    arms = get("arms") or {}
    if arms:
        # After a shift, both regimes' probabilities (the driver adds the one before it).
        before = any("expected_success_before_shift" in row for row in arms.values())
        lines += [
            "## Arms",
            "",
            "| arm | pulls | successes | success rate | hidden probability |"
            + (" before the shift |" if before else ""),
            "|---|---:|---:|---:|---:|" + ("---:|" if before else ""),
        ]
        for arm, row in arms.items():
            lines.append(
                f"| `{arm}` | {row.get('pulls', 0)} | {row.get('successes', 0)} "
                f"| {_fmt(row.get('success_rate'))} | {_fmt(row.get('expected_success'))} |"
                + (f" {_fmt(row.get('expected_success_before_shift'))} |" if before else "")
            )
        lines.append("")
    lines += [
        "## Plots",
        "",
        "![cumulative regret](regret.png)",
        "",
        "![engagement and best-arm share](engagement.png)",
        "",
        "![shift, recovery, production models and drift](timeline.png)",
        "",
    ]
    others = {k: v for k, v in summary.items() if k not in _HEADLINE_KEYS}
    if others:
        lines += ["## More", ""]
        scalars = {k: v for k, v in others.items() if not isinstance(v, dict | list)}
        lines += [f"- **{key}**: {_fmt(scalars[key])}" for key in sorted(scalars)]
        lines += [""] if scalars else []
        for key in sorted(k for k in others if k not in scalars):
            shown = json.dumps(others[key], indent=2, sort_keys=True, default=str)
            lines += [f"### {key}", "", "```json", shown, "```", ""]
    lines += [
        "## Days",
        "",
        "| day | date | posts | best-arm share | mean engagement | regret | regret (random) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for d in days:
        lines.append(
            f"| {d.day_index} | {d.date.isoformat()} | {d.posts} | {_pct(d.best_arm_share)} "
            f"| {_fmt(d.mean_engagement)} | {d.regret:.3f} | {d.regret_random:.3f} |"
        )
    lines.append("")
    return "\n".join(lines)


def _recovery_markdown(summary: Mapping[str, Any]) -> list[str]:
    get = summary.get
    lines: list[str] = []
    if get("shift_day") is not None:
        recovered = get("days_to_recover")
        lines += [
            "## The world shifts",
            "",
            f"On day {get('shift_day')} the hidden truth changed: the best arm went from "
            f"`{get('old_best_arm')}` to `{get('new_best_arm')}` and the quality → engagement "
            "slope changed (both regimes are in `summary.json` under `hidden_truth`). The bandits "
            f"forget old counts by a factor of {_fmt(get('bandit_discount'))} per simulated day "
            "(`LEARNLOOP_BANDIT_DISCOUNT`), so they can follow.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| new best arm's share, last quarter | "
            f"{_pct(get('new_best_arm_share_last_quarter'))} |",
            f"| old best arm's share, last quarter | "
            f"{_pct(get('old_best_arm_share_last_quarter'))} |",
            "| days until the new best arm's daily share passes 50 % | "
            f"{'never' if recovered is None else recovered} |",
        ]
    else:
        lines += ["## Models and drift", "", "| figure | value |", "|---|---|"]
    alerts = get("drift_alerts") or {}
    promotions = get("promotions") or {}
    lines += [
        f"| production R², last quarter (truth) | {_fmt(get('production_r2_last_quarter'))} "
        f"({_fmt(get('truth_r2_last_quarter'))}) |",
        f"| production AUC, last quarter (truth) | {_fmt(get('production_auc_last_quarter'))} "
        f"({_fmt(get('truth_auc_last_quarter'))}) |",
        f"| drift alerts (days with one, per model) | {_fmt(alerts.get('count'))} "
        f"{_fmt(alerts.get('days') or {}) if alerts.get('count') else ''} |",
        f"| drift retrains | {_fmt(get('drift_retrains'))} |",
        "| promotions | "
        + (", ".join(f"{m} {n}" for m, n in sorted(promotions.items())) or "n/a")
        + " |",
        "",
    ]
    return lines

"""Journal analytics: activity and retention, pattern → outcome, insight effectiveness.

Pure functions over plain dicts (the shapes of the stored records) do the arithmetic, so tests
check them against hand-computed values; ``*_report`` functions read a date range's journal
rollup sections (:mod:`learnloop.journal.rollup`) and call them. Every figure is an aggregate:
users are counted, never named.

Examples
--------
>>> from datetime import date
>>> activity({"u1": {date(2026, 11, 20)}, "u2": {date(2026, 11, 14)}},
...          date(2026, 11, 20), date(2026, 11, 20))[0]
{'date': '2026-11-20', 'dau': 1, 'wau': 2, 'mau': 2}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Any

import numpy as np
from pydantic import ConfigDict, Field

from learnloop.clock import utcnow
from learnloop.journal.occurrences import (
    OUTCOMES,
)
from learnloop.journal.rollup import (
    closed_trades,
    insight_rows_of,
    merge_days,
    pattern_sums,
    sections,
)
from learnloop.journal.stats import mean_interval_of_sums, t_quantile, wilson_interval
from learnloop.store.queries import days_between
from learnloop.store.tables import Tables
from learnloop.validation import Strict, invalid, validate

#: The longest range an analytics route reads.
MAX_RANGE_DAYS = 92
DEFAULT_RANGE_DAYS = 28
#: Trades compared before and after an insight, unless the query says otherwise.
DEFAULT_TRADES_AFTER = 10
_FIRST = date(2000, 1, 1)
_LAST = date(2100, 12, 31)
Day = Annotated[date, Field(ge=_FIRST, le=_LAST)]
_DIGITS = 6

Record = Mapping[str, Any]


class JournalRangeIn(Strict):
    """The query of the admin journal routes: ``from``, ``to`` (inclusive) and, for insight
    effectiveness, ``n`` (trades compared on each side of an insight)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    n: Annotated[int, Field(ge=1, le=100)] = DEFAULT_TRADES_AFTER


def parse_range(
    query: Mapping[str, str] | None, *, today: date | None = None
) -> tuple[date, date, int]:
    """``(first, last, n)`` of a query; default: the 28 days up to today (UTC).

    Raises
    ------
    ValidationError
        A bad date or ``n``, ``from`` after ``to`` or a range over 92 days (422).

    Examples
    --------
    >>> parse_range({"from": "2026-11-01", "to": "2026-11-03"})
    (datetime.date(2026, 11, 1), datetime.date(2026, 11, 3), 10)
    """
    params = validate(JournalRangeIn, dict(query or {}))
    last = params.to or (today or utcnow().date())
    first = params.from_ or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first > last:
        raise invalid([{"field": "from", "message": "must not be after 'to'", "type": "range"}])
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise invalid(
            [
                {
                    "field": "from",
                    "message": f"the range must be at most {MAX_RANGE_DAYS} days",
                    "type": "range",
                }
            ]
        )
    return first, last, params.n


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DIGITS) + 0.0


def _day(stamp: str) -> date:
    return date.fromisoformat(str(stamp)[:10])


# --- activity and retention ----------------------------------------------------------------------


def active_days(events: Iterable[Record]) -> dict[str, set[date]]:
    """``{user_id: {days with at least one event}}``.

    Examples
    --------
    >>> active_days([{"user_id": "u1", "occurred_at": "2026-11-20T10:00:00Z"}])
    {'u1': {datetime.date(2026, 11, 20)}}
    """
    days: dict[str, set[date]] = {}
    for event in events:
        days.setdefault(str(event["user_id"]), set()).add(_day(event["occurred_at"]))
    return days


def activity(days: Mapping[str, set[date]], first: date, last: date) -> list[dict[str, Any]]:
    """DAU, WAU and MAU of every day from ``first`` to ``last``.

    WAU and MAU are the distinct users active in the 7 and 30 days ending that day, so
    ``days`` must cover the 29 days before ``first`` too.
    """
    series = []
    for day in days_between(first, last):
        week, month = day - timedelta(days=6), day - timedelta(days=29)
        dau = wau = mau = 0
        for active in days.values():
            dau += day in active
            wau += any(week <= d <= day for d in active)
            mau += any(month <= d <= day for d in active)
        series.append({"date": day.isoformat(), "dau": dau, "wau": wau, "mau": mau})
    return series


def week_of(day: date) -> date:
    """The Monday of ``day``'s ISO week.

    Examples
    --------
    >>> week_of(date(2026, 11, 22))
    datetime.date(2026, 11, 16)
    """
    return day - timedelta(days=day.weekday())


def cohort_retention(
    days: Mapping[str, set[date]], first: date, last: date
) -> list[dict[str, Any]]:
    """Weekly cohorts by first active week within ``first``..``last``, and each week's retention.

    A user's cohort is the ISO week (Monday) of their first active day in the range; week ``k``
    retention is the share of the cohort active in the ``k``-th week after it (week 0 is 1).
    Weeks that end after ``last`` are left out; users active before ``first`` are not new and
    belong to no cohort, so pass only what the range read.

    Examples
    --------
    >>> d = {"u1": {date(2026, 11, 2), date(2026, 11, 10)}, "u2": {date(2026, 11, 3)}}
    >>> cohort_retention(d, date(2026, 11, 2), date(2026, 11, 15))
    [{'cohort': '2026-11-02', 'users': 2, 'retention': [1.0, 0.5]}, {'cohort': '2026-11-09', 'users': 0, 'retention': [None]}]
    """  # noqa: E501
    weeks: dict[date, list[set[date]]] = {}
    for active in days.values():
        inside = {d for d in active if first <= d <= last}
        if inside:
            weeks.setdefault(week_of(min(inside)), []).append({week_of(d) for d in inside})
    cohorts = []
    week = week_of(first)
    while week <= last:
        members = weeks.get(week, [])
        retention: list[float | None] = []
        later = week
        while later <= last:
            returning = sum(1 for m in members if later in m)
            retention.append(_round(returning / len(members)) if members else None)
            later += timedelta(days=7)
        cohorts.append({"cohort": week.isoformat(), "users": len(members), "retention": retention})
        week += timedelta(days=7)
    return cohorts


# --- pattern → outcome ---------------------------------------------------------------------------


def pattern_outcomes(
    occurrences: Sequence[Record], trades: Mapping[tuple[str, str], Mapping[str, Any]]
) -> dict[str, Any]:
    """Loss rate and mean P&L per pattern type, with counts and 95 % intervals, and a baseline.

    Parameters
    ----------
    occurrences
        :func:`~learnloop.journal.occurrences.occurrence_row` rows; one without an outcome
        takes its trade's from ``trades``.
    trades
        ``{(user_id, trade_id): {"outcome", "pnl"}}`` of closed trades
        (:func:`~learnloop.journal.occurrences.trade_results`).

    Returns
    -------
    dict
        ``patterns``: per type ``occurrences``, ``with_outcome``, ``outcomes``
        (``{"win", "loss", "breakeven"}`` counts: the heatmap), ``loss_rate`` and
        ``loss_rate_interval`` (Wilson), ``pnl_count``, ``mean_pnl`` and ``mean_pnl_interval``
        (t), ``lift`` (loss rate minus the baseline's); ranked by loss rate's lower bound,
        then loss rate, then count, so a pattern that reliably loses comes first.
        ``baseline``: the same figures over closed trades without any occurrence.
    """
    return pattern_table(pattern_sums(occurrences, trades))


def pattern_table(sums: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`pattern_outcomes` from :func:`learnloop.journal.rollup.pattern_sums` (or their
    sum over days)."""
    baseline = _outcome_figures(sums["baseline"])
    patterns = []
    for pattern, group in sums["patterns"].items():
        figures = _outcome_figures(group)
        base_rate = baseline["loss_rate"]
        lift = (
            _round(figures["loss_rate"] - base_rate)
            if figures["loss_rate"] is not None and base_rate is not None
            else None
        )
        patterns.append(
            {"pattern_type": pattern, "occurrences": group["occurrences"], **figures, "lift": lift}
        )

    def rank(p: dict[str, Any]) -> tuple[float, float, int, str]:
        interval = p["loss_rate_interval"]
        return (
            -(interval[0] if interval else -1.0),
            -(p["loss_rate"] if p["loss_rate"] is not None else -1.0),
            -p["occurrences"],
            p["pattern_type"],
        )

    patterns.sort(key=rank)
    return {
        "patterns": patterns,
        "baseline": {"trades": sums["baseline"]["occurrences"], **baseline},
    }


def _outcome_figures(sums: Mapping[str, Any]) -> dict[str, Any]:
    counts = {k: int(sums["outcomes"].get(k, 0)) for k in OUTCOMES}
    n_pnl, total, squares = sums["pnl"]
    n = sum(counts.values())
    mean = mean_interval_of_sums(int(n_pnl), float(total), float(squares))
    return {
        "with_outcome": n,
        "outcomes": counts,
        "loss_rate": _round(counts["loss"] / n) if n else None,
        "loss_rate_interval": wilson_interval(counts["loss"], n),
        "pnl_count": int(n_pnl),
        "mean_pnl": mean[0] if mean else (_round(float(total)) if n_pnl else None),
        "mean_pnl_interval": [mean[1], mean[2]] if mean else None,
    }


# --- insight effectiveness -----------------------------------------------------------------------


def _window_figures(
    trades: Sequence[Mapping[str, Any]], patterns: set[str] | None, flagged: Mapping[str, set[str]]
) -> dict[str, float | None]:
    """Loss rate, mean P&L and pattern rate of a window of one user's trades."""
    with_outcome = [t for t in trades if t.get("outcome") is not None]
    pnls = [float(t["pnl"]) for t in trades if t.get("pnl") is not None]

    def recurred(trade: Mapping[str, Any]) -> bool:
        types = flagged.get(str(trade["trade_id"]), set())
        return bool(types if patterns is None else types & patterns)

    return {
        "loss_rate": (
            sum(t["outcome"] == "loss" for t in with_outcome) / len(with_outcome)
            if with_outcome
            else None
        ),
        "mean_pnl": math.fsum(pnls) / len(pnls) if pnls else None,
        "pattern_rate": sum(recurred(t) for t in trades) / len(trades) if trades else None,
        # per active day: a burst puts many flagged trades into one day, so the per-trade rate
        # of a day-level pattern (overtrading) swings with how many trades the burst held
        "pattern_day_rate": (
            len({str(t["at"])[:10] for t in trades if recurred(t)})
            / len({str(t["at"])[:10] for t in trades})
            if trades
            else None
        ),
    }


METRICS: tuple[str, ...] = ("loss_rate", "mean_pnl", "pattern_rate", "pattern_day_rate")
#: How the effectiveness interval is drawn: ``jackknife`` (the default: a delete-one-user
#: jackknife standard error and a Student-t interval on the treated users less one degrees of
#: freedom) or ``bootstrap`` (the percentile user bootstrap this replaced, kept so the
#: calibration bench, ``bench/journal_insights.py``, compares both on the same worlds).
INTERVALS: tuple[str, ...] = ("jackknife", "bootstrap")
#: Bootstrap resamples of the ``bootstrap`` interval, and their seed (a fixed seed: the same
#: data always gives the same report).
RESAMPLES = 2000
#: Treated users an effectiveness interval needs.
MIN_INTERVAL_USERS = 5
_SEED = 20261207


def _first_insights(
    insights: Sequence[Record],
) -> dict[str, dict[str, tuple[str, set[str] | None]]]:
    """``{type: {user: (created_at, patterns)}}`` of each user's first insight of each type."""
    by_type: dict[str, dict[str, tuple[str, set[str] | None]]] = {}
    for insight in sorted(insights, key=lambda i: (str(i["created_at"]), str(i["insight_id"]))):
        kind = str(insight.get("insight_type") or "unknown")
        properties = insight.get("properties") or {}
        if not isinstance(properties, Mapping):
            properties = {}
        pattern = properties.get("pattern_type")
        by_type.setdefault(kind, {}).setdefault(
            str(insight["user_id"]),
            (str(insight["created_at"]), {pattern} if isinstance(pattern, str) else None),
        )
    return by_type


def _windows(
    rows: Sequence[Mapping[str, Any]], at: str, n: int
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The last ``n`` trades closed before the UTC day of ``at`` and the first ``n`` closed
    from the day after it. The insight's own day is left out on both sides: an insight is
    triggered by a pattern in the middle of an episode (a burst, a losing streak), so the
    rest of that day would credit (or blame) the insight for the episode itself.

    Examples
    --------
    >>> rows = [{"at": f"2026-11-0{d}T10:00:00Z"} for d in range(1, 6)]
    >>> [[r["at"][:10] for r in w] for w in _windows(rows, "2026-11-03T09:00:00Z", 1)]
    [['2026-11-02'], ['2026-11-04']]
    """
    day = date.fromisoformat(at[:10])
    start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
    before = [t for t in rows if str(t["at"]) < start]
    return before[-n:], [t for t in rows if str(t["at"]) >= end][:n]


def insight_effectiveness(
    insights: Sequence[Record],
    trades: Mapping[str, Sequence[Mapping[str, Any]]],
    occurrences: Sequence[Record],
    *,
    n: int = DEFAULT_TRADES_AFTER,
    resamples: int = RESAMPLES,
    interval: str = "jackknife",
) -> list[dict[str, Any]]:
    """Per insight type: did outcomes improve and patterns recur less after a user's first
    insight of that type, compared with users not yet treated over the same time?

    The design is a difference in differences, one cohort per treated user (a "stacked"
    design, so users treated earlier never serve as controls):

    * **treated change**: a user's metric over their first ``n`` trades after their first
      insight of the type minus over their last ``n`` trades before it (the insight's own day
      left out on both sides, see :func:`_windows`);
    * **control change**: the same change around the same moment for every user who has not
      had an insight of the type by the end of their own after-window (not yet treated: later
      cohorts and never-treated users both qualify);
    * **effect**: the mean over treated users of (treated change - mean control change).

    A user needs at least one trade on each side, an interval five treated users. The 95 %
    interval (``interval="jackknife"``, the default) is the effect plus or minus Student's t
    on the treated users less one degrees of freedom times a delete-one-user jackknife
    standard error: each user is left out of every role at once (their own cohort and each
    cohort they control for), since a control serves several cohorts. It has no random draws.
    ``interval="bootstrap"`` gives the percentile user bootstrap it replaced (``resamples``
    draws, a fixed seed), which was too narrow for ~30 treated users: the calibration bench
    ``bench/journal_insights.py`` compares the two. Metrics: ``loss_rate``, ``mean_pnl``,
    ``pattern_rate`` (share of trades with an occurrence of the insight's
    ``properties.pattern_type``, or of any pattern when the insight names none) and
    ``pattern_day_rate`` (share of the window's active days with one: the measure for a
    day-level pattern such as overtrading, whose bursts put many trades into one day).

    Parameters
    ----------
    insights
        ``{"insight_id", "user_id", "insight_type", "created_at", "properties"}`` rows.
    trades
        :func:`closed_trades`.
    occurrences
        Occurrence rows (``user_id``, ``trade_id``, ``pattern_type``).
    n
        Trades compared on each side.
    resamples
        Resamples of the ``bootstrap`` interval.
    interval
        ``"jackknife"`` or ``"bootstrap"`` (see above).

    Returns
    -------
    list of dict
        ``{"insight_type", "treated_users", "control_users", "metrics": {metric:
        {"treated_change", "control_change", "effect", "interval", "significant"}}}``;
        ``control_users`` counts the distinct users that served as a control.

    Examples
    --------
    >>> trades = {u: [{"trade_id": f"{u}{i}", "at": f"2026-11-0{i + 1}", "outcome": "win",
    ...                "pnl": 1.0} for i in range(4)] for u in ("a", "b")}
    >>> insight = {"insight_id": "i", "user_id": "a", "insight_type": "tip",
    ...            "created_at": "2026-11-02T12:00:00Z"}
    >>> report = insight_effectiveness([insight], trades, [], n=2)[0]
    >>> report["treated_users"], report["metrics"]["loss_rate"]["effect"]
    (1, 0.0)
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    flagged: dict[str, dict[str, set[str]]] = {}
    for row in occurrences:
        if row.get("trade_id"):
            per_trade = flagged.setdefault(str(row["user_id"]), {})
            per_trade.setdefault(str(row["trade_id"]), set()).add(str(row["pattern_type"]))
    users = sorted(trades)
    report = []
    for kind, treated in sorted(_first_insights(insights).items()):
        named = [p for _, p in treated.values() if p is not None]
        patterns: set[str] | None = set().union(*named) if named else None
        cohorts = sorted(u for u in treated if u in trades)
        # change[m][i, j]: user j's change of metric m around cohort i's insight (nan: none)
        change = {m: np.full((len(cohorts), len(users)), np.nan) for m in METRICS}
        own = {m: np.full(len(cohorts), np.nan) for m in METRICS}
        for i, cohort in enumerate(cohorts):
            at = treated[cohort][0]
            for j, user in enumerate(users):
                is_self = user == cohort
                before, after = _windows(trades[user], at, n)
                if not before or not after:
                    continue
                if not is_self and user in treated and treated[user][0] <= after[-1]["at"]:
                    continue  # treated by the end of its window: not a control
                figures = flagged.get(user, {})
                b = _window_figures(before, patterns, figures)
                a = _window_figures(after, patterns, figures)
                for m in METRICS:
                    if a[m] is not None and b[m] is not None:
                        target = own[m] if is_self else change[m][i]
                        target[i if is_self else j] = a[m] - b[m]  # type: ignore[operator]
        columns = np.asarray([users.index(c) for c in cohorts], dtype=int)
        metrics = {
            m: _did(own[m], change[m], columns, resamples=resamples, interval=interval)
            for m in METRICS
        }
        served = np.zeros(len(users), dtype=bool)
        for m in METRICS:
            valid = ~np.isnan(own[m])
            served |= (~np.isnan(change[m][valid])).any(axis=0)
        report.append(
            {
                "insight_type": kind,
                "treated_users": max(int(v["users"]) for v in metrics.values()),
                "control_users": int(served.sum()),
                "metrics": {
                    m: {k: v for k, v in figures.items() if k != "users"}
                    for m, figures in metrics.items()
                },
            }
        )
    return report


def _effects(
    weights: np.ndarray,
    own: np.ndarray,
    values: np.ndarray,
    eligible: np.ndarray,
    columns: np.ndarray,
) -> np.ndarray:
    """The effect under each row of user weights (``weights[b, j]``: how much user ``j``
    counts in draw ``b``; a cohort counts as its own user does, a control as it does); nan
    where a draw leaves no cohort with a control."""
    sums = weights @ values.T  # (draws, cohorts)
    drawn = weights @ eligible.T.astype(float)
    cohort_weights = weights[:, columns]
    ok = (drawn > 0) & (cohort_weights > 0)
    diff = np.where(ok, own[None, :] - sums / np.where(drawn > 0, drawn, 1.0), 0.0)
    w = np.where(ok, cohort_weights, 0.0)
    total = w.sum(axis=1)
    return np.where(total > 0, (diff * w).sum(axis=1) / np.where(total > 0, total, 1.0), np.nan)


def _did(
    own: np.ndarray,
    change: np.ndarray,
    columns: np.ndarray,
    *,
    resamples: int,
    interval: str = "jackknife",
) -> dict[str, Any]:
    """Effect and 95 % interval of one metric: ``own[i]`` is cohort ``i``'s change,
    ``change[i, j]`` user ``j``'s change around cohort ``i``'s insight, ``columns[i]`` the
    column of cohort ``i``'s own user.

    Examples
    --------
    Four treated users whose change beats their two controls' by exactly 0.5:

    >>> own = np.array([0.6, 0.4, 0.7, 0.5, 0.3])
    >>> change = np.full((5, 7), np.nan)
    >>> change[:, 5:] = [[0.1, 0.1], [-0.1, -0.1], [0.2, 0.2], [0.0, 0.0], [-0.2, -0.2]]
    >>> figures = _did(own, change, np.arange(5), resamples=0)
    >>> figures["effect"], figures["interval"]
    (0.5, [0.5, 0.5])
    """
    eligible = ~np.isnan(change)
    values = np.where(eligible, change, 0.0)
    counts = eligible.sum(axis=1)
    usable = ~np.isnan(own) & (counts > 0)
    if not usable.any():
        # no control to compare with: the treated users' own change alone
        changed = own[~np.isnan(own)]
        return {
            "users": len(changed),
            "treated_change": _round(float(changed.mean())) if len(changed) else None,
            "control_change": None,
            "effect": None,
            "interval": None,
            "significant": False,
        }
    control = values[usable].sum(axis=1) / counts[usable]
    treated = own[usable]
    effect = float((treated - control).mean())
    figures: dict[str, Any] = {
        "users": int(usable.sum()),
        "treated_change": _round(float(treated.mean())),
        "control_change": _round(float(control.mean())),
        "effect": _round(effect),
        "interval": None,
        "significant": False,
    }
    if usable.sum() < MIN_INTERVAL_USERS:
        return figures  # an interval over a handful of users says nothing
    args = (treated, values[usable], eligible[usable], columns[usable])
    n_users = change.shape[1]
    if interval == "bootstrap":
        # resample users, treated and controls together (a control serves several cohorts)
        rng = np.random.default_rng(_SEED)
        weights = rng.multinomial(n_users, np.full(n_users, 1.0 / n_users), size=resamples)
        effects = _effects(weights.astype(float), *args)
        effects = effects[~np.isnan(effects)]
        if len(effects) < resamples // 2:
            return figures
        low, high = (float(q) for q in np.quantile(effects, [0.025, 0.975]))
    elif interval == "jackknife":
        # Leave each user out in turn, from every role they play (their own cohort and every
        # cohort they control for): the spread of those effects is a standard error that
        # holds when a user's treated and control changes are correlated. Only users that
        # take part count (leaving out the others changes nothing).
        taking_part = np.zeros(n_users, dtype=bool)
        taking_part[columns[usable]] = True
        taking_part |= eligible[usable].any(axis=0)
        users = np.flatnonzero(taking_part)
        keep = np.ones((len(users), n_users))
        keep[np.arange(len(users)), users] = 0.0
        left_out = _effects(keep, *args)
        left_out = left_out[~np.isnan(left_out)]
        g = len(left_out)
        se = math.sqrt((g - 1) / g * float(((left_out - left_out.mean()) ** 2).sum()))
        # Student-t on the treated users less one: the binding count is the treated users,
        # not all users, and t rather than normal widens the interval for ~30 of them
        half = t_quantile(int(usable.sum()) - 1) * se
        low, high = effect - half, effect + half
    else:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    figures["interval"] = [_round(low), _round(high)]
    figures["significant"] = bool(figures["interval"][0] > 0 or figures["interval"][1] < 0)
    return figures


# --- reading a range ------------------------------------------------------------------------------


def activity_report(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/admin/journal/activity``: DAU / WAU / MAU per day and weekly cohort retention.

    Reads the journal rollup of the range and of the 29 days before it (for WAU and MAU);
    users are their rollup keys (pseudonyms). Every report lists the days it found no
    rollup for (``not_rolled_up``, see :func:`learnloop.journal.rollup.sections`).
    """
    first, last, _ = parse_range(query, today=today)
    days = days_between(first - timedelta(days=29), last)
    found, missing = sections(tables, days, today=today or utcnow().date())
    merged = merge_days(found)
    active: dict[str, set[date]] = {}
    for day, users in zip(days, merged["active_days"], strict=True):
        for user in users:
            active.setdefault(user, set()).add(day)
    inside = {u: {d for d in ds if d >= first} for u, ds in active.items()}
    new = {u: ds for u, ds in inside.items() if ds and min(active[u]) >= first}
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "activity": activity(active, first, last),
        "retention": cohort_retention(new, first, last),
        "not_rolled_up": missing,
    }


def patterns_report(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/admin/journal/patterns``: the pattern → outcome table of a range, from the
    journal rollup (occurrences joined with the trades closed the same day)."""
    first, last, _ = parse_range(query, today=today)
    found, missing = sections(tables, days_between(first, last), today=today or utcnow().date())
    merged = merge_days(found)
    table = pattern_table({"patterns": merged["patterns"], "baseline": merged["baseline"]})
    return {"from": first.isoformat(), "to": last.isoformat(), **table, "not_rolled_up": missing}


def insights_report(
    tables: Tables, query: Mapping[str, str] | None, *, today: date | None = None
) -> dict[str, Any]:
    """``GET /v1/admin/journal/insights``: effectiveness and quality per insight type, from
    the journal rollup. Quality pools the range's insights (complexity match) and the
    verdicts last given in it; per-insight scores are ``GET /v1/insights/{id}/quality``."""
    from learnloop.journal.quality import QualityWeights, combine

    first, last, n = parse_range(query, today=today)
    found, missing = sections(tables, days_between(first, last), today=today or utcnow().date())
    merged = merge_days(found)
    trades = {
        user: [{"trade_id": t[1], "at": t[0], "outcome": t[2], "pnl": t[3]} for t in rows]
        for user, rows in merged["trades"].items()
    }
    occurrences = [
        {"user_id": user, "trade_id": t[1], "pattern_type": p}
        for user, rows in merged["trades"].items()
        for t in rows
        for p in t[4]
    ]
    insights = [
        {
            "insight_id": f"{user}#{kind}",
            "user_id": user,
            "insight_type": kind,
            "created_at": at,
            "properties": {"pattern_type": pattern} if pattern else {},
        }
        for user, kinds in merged["first"].items()
        for kind, (at, pattern) in kinds.items()
    ]
    weights = QualityWeights.from_settings(tables.settings)
    quality = []
    for kind, sums in sorted(merged["quality"].items()):
        (matched, match), (engaged_n, engaged) = sums["match"], sums["engaged"]
        terms = {
            "positive_rate": _round(sums["helpful"] / sums["verdicts"])
            if sums["verdicts"]
            else None,
            "engagement": _round(engaged / engaged_n) if engaged_n else None,
            "complexity_match": _round(match / matched) if matched else None,
            "feedback": sums["verdicts"],
            "helpful": sums["helpful"],
        }
        quality.append(
            {"insight_type": kind, "insights": sums["insights"], **combine(terms, weights), **terms}
        )
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "n": n,
        "effectiveness": insight_effectiveness(insights, trades, occurrences, n=n),
        "quality": quality,
        "not_rolled_up": missing,
    }


__all__ = [
    "INTERVALS",
    "METRICS",
    "JournalRangeIn",
    "active_days",
    "activity",
    "activity_report",
    "closed_trades",
    "cohort_retention",
    "insight_effectiveness",
    "insight_rows_of",
    "insights_report",
    "parse_range",
    "pattern_outcomes",
    "pattern_table",
    "patterns_report",
    "week_of",
]

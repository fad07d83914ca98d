"""The journal world's report: ``journal-report.md``, ``journal.png`` and
``journal-summary.json`` (matplotlib's Agg canvas, imported when a report is written).

Examples
--------
>>> line = format_summary({"outcome": {"model_auc": 0.71, "truth_auc": 0.74, "gap": 0.03,
...     "met": True}, "churn": {"auc": 0.9, "met": True}, "patterns": {"overall":
...     {"precision": 0.95, "recall": 0.9}, "met": True}})
>>> line.split("; ")[0]
'journal world: outcome AUC 0.710 (truth 0.740, gap 0.030) met'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from learnloop_tools.demo.journal import grade
from learnloop_tools.demo.journal.world import HELPFUL_INSIGHT, PATTERN_EFFECT, Trade

#: The planted pattern that costs the most (the pattern → outcome table should rank it first).
HARMFUL = min(PATTERN_EFFECT, key=lambda p: PATTERN_EFFECT[p])


def format_summary(summary: Mapping[str, Any]) -> str:
    """One line: the three figures the issue asks for and whether each is met."""
    outcome = summary.get("outcome") or {}
    churn = summary.get("churn") or {}
    patterns = summary.get("patterns") or {}
    overall = patterns.get("overall") or {}
    return (
        f"journal world: outcome AUC {_num(outcome.get('model_auc'))} "
        f"(truth {_num(outcome.get('truth_auc'))}, gap {_num(outcome.get('gap'))}) "
        f"{_met(outcome)}; churn AUC {_num(churn.get('auc'))} {_met(churn)}; "
        f"patterns precision {_num(overall.get('precision'))} "
        f"recall {_num(overall.get('recall'))} {_met(patterns)}"
        + "".join(
            f"; {row['insight_type']} effect {_signed(row.get('effect'))} "
            f"{'met' if row['met'] else 'NOT met'}"
            for row in summary.get("insight_effect") or []
            if row.get("planted")
        )
    )


def write_report(
    out_dir: Path,
    summary: Mapping[str, Any],
    *,
    predicted: Sequence[float],
    fresh: Sequence[Trade],
    churn: tuple[Mapping[str, float], Mapping[str, bool]],
) -> list[Path]:
    """Write the markdown report, the plot and the JSON summary; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot = out_dir / "journal.png"
    _plot(plot, summary, predicted, fresh, churn)
    data = out_dir / "journal-summary.json"
    data.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    report = out_dir / "journal-report.md"
    report.write_text(_markdown(summary), encoding="utf-8")
    return [report, plot, data]


def _markdown(summary: Mapping[str, Any]) -> str:
    world = summary.get("world") or {}
    outcome = summary.get("outcome") or {}
    churn = summary.get("churn") or {}
    patterns = summary.get("patterns") or {}
    lines = [
        "# learnloop journal world",
        "",
        f"{world.get('traders')} simulated traders, {world.get('days')} training days and "
        f"{world.get('fresh_days')} fresh days (seed {world.get('seed')}); "
        f"{world.get('events_sent')} events and {world.get('trades_sent')} trades sent over "
        f"HTTP; {summary.get('seconds')} s.",
        "",
        format_summary(summary),
        "",
        "![ROC curves and pattern detection](journal.png)",
        "",
        "## What the issue asks",
        "",
        "| figure | measured | asked | met |",
        "|---|---|---|---|",
        f"| outcome AUC on {outcome.get('trades')} fresh trades vs the truth's | "
        f"{_num(outcome.get('model_auc'))} vs {_num(outcome.get('truth_auc'))} "
        f"(gap {_num(outcome.get('gap'))}) | gap <= {grade.OUTCOME_AUC_GAP} | {_met(outcome)} |",
        f"| the outcome route on {outcome.get('outcome_route_checked')} trades about to be "
        f"placed vs the stored trades' scores | max difference "
        f"{_num(outcome.get('outcome_route_max_difference'))} | 0 | "
        f"{'yes' if (outcome.get('outcome_route_max_difference') or 0) < 1e-6 else 'no'} |",
        f"| churn AUC ({churn.get('users')} active traders, {churn.get('churned')} churned) | "
        f"{_num(churn.get('auc'))} | >= {grade.CHURN_AUC} | {_met(churn)} |",
    ]
    for pattern in ("revenge_trading", "overtrading", "fomo"):
        row = patterns.get(pattern) or {}
        lines.append(
            f"| {pattern} detector ({row.get('planted')} planted) | precision "
            f"{_num(row.get('precision'))}, recall {_num(row.get('recall'))} | >= "
            f"{grade.PATTERN_PRECISION} each | "
            f"{'yes' if _pr_met(row) else 'no'} |"
        )
    table = summary.get("pattern_outcomes") or []
    top = table[0]["pattern"] if table else None
    lines.append(
        f"| pattern → outcome: the pattern ranked first | {top} | {HARMFUL} (the most harmful) "
        f"| {'yes' if top == HARMFUL else 'no'} |"
    )
    effects = {r["insight_type"]: r for r in summary.get("insight_effect") or []}
    helpful = effects.get(HELPFUL_INSIGHT) or {}
    interval = helpful.get("interval")
    lines.append(
        f"| insight effectiveness of {HELPFUL_INSIGHT} (planted helpful) | effect "
        f"{_signed(helpful.get('effect'))}, 95 % "
        + (f"{interval[0]:+.3f} - {interval[1]:+.3f}" if interval else "n/a")
        + f" | excludes zero | {'yes' if helpful.get('met') else 'no'} |"
    )
    nulls = [r for k, r in effects.items() if k != HELPFUL_INSIGHT]
    lines.append(
        f"| the other insight types (no effect planted) | "
        f"{sum(1 for r in nulls if r['met'])} of {len(nulls)} intervals include zero | all | "
        f"{'yes' if all(r['met'] for r in nulls) else 'no'} |"
    )
    lines += [
        "",
        "## Pattern → outcome (the app's reported patterns, training days)",
        "",
        "| pattern | trades | loss rate | 95 % interval | mean P&L |",
        "|---|---|---|---|---|",
    ]
    for row in summary.get("pattern_outcomes") or []:
        low, high = row["interval"]
        lines.append(
            f"| {row['pattern']} | {row['trades']} | {row['loss_rate']:.3f} | "
            f"{low:.3f} - {high:.3f} | {row['mean_pnl']:.2f} |"
        )
    lines += [
        "",
        "## Insight effectiveness (the admin route's estimator on the events sent)",
        "",
        "Change of each warning's pattern rate (`pattern_rate`: share of the user's trades "
        "the app flagged with it; `pattern_day_rate` for overtrading, a day-level pattern: "
        "share of the active days with it) over the n trades after each user's first insight "
        "of the type minus the n before, against users not yet treated over the same days "
        "(the insight's own day left out); 95 % interval: a delete-one-user jackknife "
        "standard error with Student's t on the treated users less one degrees of freedom. "
        "The world plants one helpful type (its interval should lie below zero); the others "
        "change nothing (theirs should include zero, and do on about 19 seeds in 20: a 95 % "
        "interval wrongly flags a null type about once in 20 by design, so one seed's flag "
        "is not a verdict; `bench/journal_insights.py` measures the rate over many seeds).",
        "",
        "| insight type | metric | planted | users (treated, controls) | treated change | "
        "control change | effect | 95 % interval | n | as planted |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary.get("insight_effect") or []:
        interval = row.get("interval")
        span = f"{interval[0]:+.3f} - {interval[1]:+.3f}" if interval else "n/a (too few)"
        lines.append(
            f"| {row['insight_type']} | {row.get('metric', 'pattern_rate')} | "
            f"{'helpful' if row['planted'] else 'none'} | "
            f"{row['treated_users']}, {row['control_users']} | "
            f"{_signed(row.get('treated_change'))} | {_signed(row.get('control_change'))} | "
            f"{_signed(row.get('effect'))} | {span} | {row['n']} | "
            f"{'yes' if row['met'] else 'no'} |"
        )
    lines += ["", "## Learn runs and the registry", ""]
    for run in summary.get("learn_runs") or []:
        trained = run.get("trained") or {}
        lines.append(f"- learn at {run.get('at')}: trained {', '.join(sorted(trained)) or 'none'}")
        for name, info in sorted(trained.items()):
            figures = {k: v for k, v in info.items() if k in ("rows", "auc", "r2", "log_loss")}
            lines.append(f"  - {name}: {figures}")
    for name, info in sorted((summary.get("models") or {}).items()):
        versions = info.get("versions") or []
        described = "; ".join(
            f"{v.get('version')} {v.get('status')}" + (f" ({v['rule']})" if v.get("rule") else "")
            for v in versions
        )
        lines.append(f"- {name}: production {info.get('production')}; {described}")
    state = summary.get("optimal_state")
    if state:
        lines += [
            "",
            f"## Optimal state of {state['user_id']} (outcome model)",
            "",
            "Best cells: "
            + "; ".join(
                f"{c['emotion']}, {c['hours']} UTC, losing streak {c['loss_streak']}: "
                f"{c['win_probability']:.3f}"
                for c in state["best"]
            ),
        ]
    return "\n".join(lines) + "\n"


def _plot(
    path: Path,
    summary: Mapping[str, Any],
    predicted: Sequence[float],
    fresh: Sequence[Trade],
    churn: tuple[Mapping[str, float], Mapping[str, bool]],
) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    figure = Figure(figsize=(13, 4))
    FigureCanvasAgg(figure)
    left, middle, right = figure.subplots(1, 3)
    won = np.asarray([t.won for t in fresh], dtype=int)
    if len(set(won.tolist())) > 1:
        for scores, label in (
            (np.asarray(predicted), "outcome model"),
            (np.asarray([t.p_win for t in fresh]), "hidden truth"),
        ):
            fpr, tpr, _ = roc_curve(won, scores)
            left.plot(fpr, tpr, label=label)
    left.plot([0, 1], [0, 1], color="grey", linestyle=":")
    left.set_title("Win prediction on fresh trades (ROC)")
    left.set_xlabel("false positive rate")
    left.set_ylabel("true positive rate")
    left.legend(loc="lower right")
    asked, churned = churn
    users = sorted(set(asked) & set(churned))
    labels = np.asarray([churned[u] for u in users], dtype=int)
    if len(set(labels.tolist())) > 1:
        fpr, tpr, _ = roc_curve(labels, [asked[u] for u in users])
        middle.plot(
            fpr, tpr, label=f"churn model (AUC {_num((summary.get('churn') or {}).get('auc'))})"
        )
        middle.legend(loc="lower right")
    middle.plot([0, 1], [0, 1], color="grey", linestyle=":")
    middle.set_title("Churn in the next 14 days (ROC)")
    middle.set_xlabel("false positive rate")
    patterns = summary.get("patterns") or {}
    names = ["revenge_trading", "overtrading", "fomo"]
    x = np.arange(len(names))
    precision = [(patterns.get(n) or {}).get("precision") or 0.0 for n in names]
    recall = [(patterns.get(n) or {}).get("recall") or 0.0 for n in names]
    right.bar(x - 0.2, precision, width=0.4, label="precision")
    right.bar(x + 0.2, recall, width=0.4, label="recall")
    right.axhline(grade.PATTERN_PRECISION, color="grey", linestyle=":")
    right.set_xticks(x, names)
    right.set_ylim(0, 1.05)
    right.set_title("Pattern detectors on planted patterns")
    right.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _pr_met(row: Mapping[str, Any]) -> bool:
    if not row.get("planted"):
        return True
    return (row.get("precision") or 0) >= grade.PATTERN_PRECISION and (
        row.get("recall") or 0
    ) >= grade.PATTERN_RECALL


def _signed(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):+.3f}"


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.3f}"


def _met(figures: Mapping[str, Any]) -> str:
    return "met" if figures.get("met") else "NOT met"


__all__ = ["format_summary", "write_report"]

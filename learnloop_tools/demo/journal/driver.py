"""Drive the journal world through a running learnloop over HTTP and grade what it learned
(``learnloop demo --world journal``).

1. **Training days.** Each simulated day's events go to ``POST /v1/events`` (ingest key);
   the scheduled ``learn`` job runs 6 days before the last of them and after the last, through the
   app's own schedule handler, and the bucket's events are delivered after it so
   registration records, compares and promotes each journal model.
2. **Churn.** At the cut-off every trader active in the 14 days before is asked
   ``GET /v1/journal/{user}/churn?at=cut-off``; the world then runs 14 more days (the fresh
   days are sent, the rest only simulated) to say who churned.
3. **Fresh trades.** The fresh days' events are sent; each trader is asked
   ``GET /v1/journal/{user}/patterns/detected`` over its fresh trades, each scored as of its
   opening (the detectors' patterns and the outcome model's win probability), and a sample
   of the trades ``GET .../outcome`` as trades about to be placed (size, side, symbol, entry
   emotion, ``at`` their opening), which must give the same probability. One call a trader,
   not a trade: the local stack's moto answers each query by scanning the whole table.
4. The figures (:mod:`learnloop_tools.demo.journal.grade`) and the report
   (:mod:`learnloop_tools.demo.journal.report`).

Examples
--------
>>> config = JournalDemoConfig(traders=40, days=20)  # doctest: +SKIP
>>> JournalDemo(api_url, keys, schedules, config).run().summary["outcome"]  # doctest: +SKIP
{'trades': 212, 'model_auc': 0.71, 'truth_auc': 0.73, 'gap': 0.02, 'met': True}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from learnloop.journal.features import CHURN_DAYS
from learnloop_tools.demo.client import ApiClient
from learnloop_tools.demo.journal import grade
from learnloop_tools.demo.journal.world import Day, JournalWorld, Trade
from learnloop_tools.local.schedule import scheduled_event

Job = Callable[[dict[str, Any]], object]


@dataclass(frozen=True)
class JournalDemoConfig:
    """How big a journal world to run, and where the report goes."""

    traders: int = 60
    days: int = 22
    fresh_days: int = 3
    seed: int = 7
    out_dir: Path = Path("learnloop-report")
    batch: int = 500
    #: Fresh trades also asked through ``outcome`` (a trade about to be placed), to check it
    #: agrees with the stored trade's score.
    outcome_checks: int = 10
    #: Seconds an HTTP request may take.
    request_timeout: float = 600.0


@dataclass
class JournalRun:
    """What a run measured (``summary``) and the report files it wrote."""

    summary: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


class JournalDemo:
    """One journal-world run against a learnloop API (see the module docstring)."""

    def __init__(
        self,
        api_url: str,
        keys: dict[str, str],
        schedules: list[tuple[str, Any, Job]],
        config: JournalDemoConfig,
        *,
        echo: Callable[[str], None] = print,
        after_job: Callable[[], object] | None = None,
        today: datetime | None = None,
    ) -> None:
        # a batch of events writes its derived records too: on a loaded machine moto can take
        # over a minute (the client's default timeout) to answer one
        timeout = config.request_timeout
        self.ingest = ApiClient(api_url, key=keys["ingest"], timeout=timeout)
        self.read = ApiClient(api_url, key=keys["read"], timeout=timeout)
        self.admin = (
            ApiClient(api_url, key=keys["admin"], timeout=timeout) if "admin" in keys else None
        )
        self.jobs = {name: job for name, _, job in schedules}
        self.config = config
        self.echo = echo
        self.after_job = after_job
        midnight = (today or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
        # every sent event lies in the past: the world ends (fresh days included) yesterday
        start = midnight - timedelta(days=config.days + config.fresh_days + 1)
        self.world = JournalWorld.generate(n_traders=config.traders, seed=config.seed, start=start)
        self.rng = np.random.default_rng(config.seed + 1)
        self._last_day: set[str] = set()

    def run(self) -> JournalRun:
        """Simulate, send, learn, ask and grade; writes the report."""
        from learnloop_tools.demo.journal.report import write_report

        config, world = self.config, self.world
        began = time.monotonic()
        sent = 0
        posted: list[Trade] = []
        sent_events: list[dict[str, Any]] = []
        learned: list[dict[str, Any]] = []
        # the first learn run 6 days before the last: production is younger than the
        # max-age rule's 7 days when the second run's versions are compared with it
        mid = max(1, config.days - 6)
        for index in range(config.days):
            day = world.simulate_day(index, self.rng)
            sent += self._send(day)
            sent_events += day.events
            posted += day.trades
            self.echo(
                f"day {index + 1:>3}/{config.days}  trades {len(day.trades):>4}  "
                f"active traders {len(world.active_users()):>4}  quit {len(day.quit):>2}  "
                f"events sent {sent}"
            )
            if index + 1 in (mid, config.days):
                learned.append(self._learn(world.day_start(index + 1) + timedelta(minutes=5)))
        cut = world.day_start(config.days)
        self._last_day = {
            t.user_id
            for t in world.traders
            if t.clock and datetime.fromtimestamp(t.clock, UTC) > cut - timedelta(days=1)
        }
        self.echo("asking the churn model about every active trader ...")
        churn_asked = self._ask_churn(cut)
        fresh: list[Trade] = []
        followed: list[Day] = []
        for index in range(config.days, config.days + CHURN_DAYS):
            day = world.simulate_day(index, self.rng)
            followed.append(day)
            if index < config.days + config.fresh_days:
                sent += self._send(day)
                sent_events += day.events
                fresh += day.trades
        churned = self._churned(churn_asked, followed)
        self.echo(f"asking the outcome and pattern models about {len(fresh)} fresh trades ...")
        detected, scored = self._ask_patterns(fresh)
        predicted = [scored[t.trade_id] for t in fresh]
        # the route for a trade about to be placed gives what the trade's stored row got
        sample = fresh[:: max(1, len(fresh) // self.config.outcome_checks)]
        agreement = max(
            (abs(self._ask_outcome(t) - scored[t.trade_id]) for t in sample), default=None
        )
        summary = {
            "world": {
                "traders": config.traders,
                "days": config.days,
                "fresh_days": config.fresh_days,
                "seed": config.seed,
                "events_sent": sent,
                "trades_sent": len(posted) + len(fresh),
            },
            "learn_runs": learned,
            "models": self._registry(),
            "outcome": {
                **grade.outcome_figures(predicted, fresh),
                "outcome_route_checked": len(sample),
                "outcome_route_max_difference": agreement,
            },
            "churn": grade.churn_figures(churn_asked, churned, last_day=self._last_day),
            "patterns": grade.pattern_figures(detected, fresh),
            "pattern_outcomes": grade.pattern_outcome_table(posted),
            "insight_effect": grade.insight_effect(sent_events),
            "optimal_state": self._example_state(cut),
            "seconds": round(time.monotonic() - began, 1),
        }
        run = JournalRun(summary=summary)
        run.files = write_report(
            config.out_dir, summary, predicted=predicted, fresh=fresh, churn=(churn_asked, churned)
        )
        return run

    # --- steps ---------------------------------------------------------------------------

    def _send(self, day: Day) -> int:
        events = day.events
        for start in range(0, len(events), self.config.batch):
            self.ingest.request(
                "POST", "/v1/events", {"events": events[start : start + self.config.batch]}
            )
        return len(events)

    def _learn(self, when: datetime) -> dict[str, Any]:
        job = self.jobs["learn"]
        began = time.monotonic()
        result = job(scheduled_event("learn", when))
        if self.after_job is not None:
            self.after_job()  # registration: the manifests the run dropped
        journal = (result or {}).get("journal", {}) if isinstance(result, dict) else {}
        trained = {
            name: {
                "version": info.get("version"),
                "rows": info.get("rows"),
                **{k: _round(v) for k, v in (info.get("metrics") or {}).items()},
            }
            for name, info in journal.items()
            if "version" in info
        }
        skipped = {name: info["skipped"] for name, info in journal.items() if "skipped" in info}
        self.echo(
            f"learn at {when:%Y-%m-%d %H:%M}: trained {len(trained)} journal models"
            + (f", skipped {sorted(skipped)}" if skipped else "")
            + f" ({time.monotonic() - began:.1f} s)"
        )
        return {"at": when.isoformat(), "trained": trained, "skipped": skipped}

    def _ask_churn(self, cut: datetime) -> dict[str, float]:
        window = cut - timedelta(days=CHURN_DAYS)
        asked = {}
        for trader in self.world.traders:
            last = trader.clock  # the end of the trader's last trade
            if not last or datetime.fromtimestamp(last, UTC) <= window:
                continue
            reply = self.read.request(
                "GET", f"/v1/journal/{trader.user_id}/churn?" + urlencode({"at": _stamp(cut)})
            )
            asked[trader.user_id] = float(reply["churn_probability"])
        return asked

    def _churned(self, asked: dict[str, float], followed: list[Day]) -> dict[str, bool]:
        traded = {t.user_id for day in followed for t in day.trades}
        return {user: user not in traded for user in asked}

    def _ask_outcome(self, trade: Trade) -> float:
        query = {
            "at": _stamp(trade.opened_at),
            "quantity": repr(trade.quantity),
            "price": repr(trade.price),
            "symbol": trade.symbol,
            "side": trade.side,
            "emotion": trade.emotion,
            "emotion_confidence": "0.9",
        }
        reply = self.read.request("GET", f"/v1/journal/{trade.user_id}/outcome?" + urlencode(query))
        return float(reply["win_probability"])

    def _ask_patterns(self, fresh: list[Trade]) -> tuple[dict[str, set[str]], dict[str, float]]:
        """One call a trader: the detectors' patterns and the outcome model's win
        probability of each fresh trade, as of its opening."""
        by_user: dict[str, list[Trade]] = {}
        for trade in fresh:
            by_user.setdefault(trade.user_id, []).append(trade)
        detected: dict[str, set[str]] = {}
        win: dict[str, float] = {}
        for user, trades in by_user.items():
            last = max(t.closed_at for t in trades) + timedelta(minutes=1)
            query = {"at": _stamp(last), "limit": str(min(200, len(trades)))}
            reply = self.read.request(
                "GET", f"/v1/journal/{user}/patterns/detected?" + urlencode(query)
            )
            for scored in reply["trades"]:
                detected[scored["trade_id"]] = set(scored["detected"])
                win[scored["trade_id"]] = float(scored["win_probability"])
        return detected, win

    def _example_state(self, cut: datetime) -> dict[str, Any] | None:
        active = self.world.active_users()
        if not active:
            return None
        reply = self.read.request(
            "GET", f"/v1/journal/{active[0]}/optimal-state?" + urlencode({"at": _stamp(cut)})
        )
        return {
            "user_id": active[0],
            "best": reply["best"],
            "by_emotion": reply["by_emotion"][:3],
            "by_hour": reply["by_hour"][:3],
        }

    def _registry(self) -> dict[str, Any]:
        if self.admin is None:
            return {}
        listed = self.admin.request("GET", "/v1/models")
        models = listed.get("models") if isinstance(listed, dict) else None
        out: dict[str, Any] = {}
        for name, info in (models or {}).items():
            if not str(name).startswith("journal_"):
                continue
            out[str(name)] = {
                "production": info.get("production"),
                "versions": [
                    {
                        "version": v.get("version"),
                        "status": v.get("status"),
                        "rule": (v.get("comparison") or {}).get("rule"),
                        "reason": v.get("reason"),
                    }
                    for v in info.get("versions") or []
                ],
            }
        return out


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def run_journal_demo(
    runner: Any, config: JournalDemoConfig, *, echo: Callable[[str], None] = print
) -> JournalRun:
    """Reset the demo stage of a started :class:`~learnloop_tools.local.Runner` and run the
    journal world on it.

    Examples
    --------
    >>> with Runner(port=0, settings=demo_settings()) as runner:  # doctest: +SKIP
    ...     run = run_journal_demo(runner, JournalDemoConfig(traders=40, days=20))
    """
    from learnloop.store import Tables
    from learnloop.store.clients import s3_client
    from learnloop.store.reset import reset_stage
    from learnloop_tools.local.runner import app_schedules

    settings = runner.settings
    removed = reset_stage(Tables(settings), s3_client(settings))
    if any(removed.values()):
        echo(f"reset the demo stage: removed {sum(removed.values())} items from the last run")
    demo = JournalDemo(
        runner.api_url,
        runner.keys,
        app_schedules(runner.app_module),
        config,
        echo=echo,
        after_job=runner.deliver_bucket_events,
    )
    return demo.run()


__all__ = ["JournalDemo", "JournalDemoConfig", "JournalRun", "run_journal_demo"]

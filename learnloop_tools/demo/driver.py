"""``learnloop demo``: drive the local stack with a simulated population and grade what it learned.

Every simulated day the driver asks the bandits over HTTP which hooks and hours to post with,
posts the content, its outcomes, users' reactions and analytics events over HTTP, and fires the
app's own scheduled handlers (``learn`` every 4 hours, ``rollup_daily`` after midnight,
``drift_check`` at 01:30, ...) at their schedule expressions on a simulated clock. Each day it
also grades the production models on a few hundred fresh posts from the world (through
``POST /v1/predict/*``) and reads what the drift check found (``GET /v1/admin/alerts``).

By default the world shifts part-way through the run (:meth:`World.shifted`: another arm
becomes the best, the quality → engagement slope changes); the report shows whether the loop
recovers. At the end it compares what was learned with the world's hidden truth and writes the
report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from learnloop.clock import iso, utcnow
from learnloop.exceptions import SimulationError
from learnloop_tools.demo.client import ApiCallError, ApiClient
from learnloop_tools.demo.report import DayRecord, recovery, summarize, write_report
from learnloop_tools.demo.world import SimulatedPost, World
from learnloop_tools.local.schedule import parse_schedule, scheduled_event

EVENT_MIX: tuple[tuple[str, Callable[[np.random.Generator, int], dict[str, Any]]], ...] = (
    ("alert_shown", lambda rng, i: {"alert_id": f"alert-{i}", "alert_type": "risk"}),
    (
        "pattern_detected",
        lambda rng, i: {
            "pattern_type": str(rng.choice(["fomo", "revenge_trading", "overtrading"])),
            "confidence": round(float(rng.uniform(0.5, 1.0)), 3),
        },
    ),
    ("chat_message_sent", lambda rng, i: {"message_length": int(rng.integers(5, 400))}),
    (
        "emotion_analyzed",
        lambda rng, i: {
            "emotion": str(rng.choice(["fear", "greed", "calm"])),
            "confidence": round(float(rng.uniform()), 3),
        },
    ),
)


@dataclass(frozen=True)
class DemoConfig:
    """How big a run is. The defaults finish in under 2 minutes on two cores."""

    days: int = 16
    posts_per_day: int = 24
    hours_per_day: int = 4
    reactions_per_day: int = 40
    events_per_day: int = 30
    seed: int = 7
    drafts_per_post: int = 2
    out_dir: Path = Path("learnloop-report")
    evaluation_posts: int = 3000
    #: Fresh posts each day's grading of the production models draws (from that day's regime).
    daily_evaluation_posts: int = 300
    #: Whether the hidden truth shifts mid-run (see :meth:`World.shifted`).
    shift: bool = True
    #: The ``day_index`` (from 0) of the first day of the new regime; ``None``: 40 % into the
    #: run (day 6 of 16), which leaves the bandit time to settle before and to recover after.
    shift_day: int | None = None
    #: Schedules nothing in the report depends on fire once, after the last day, instead of on
    #: their expressions: the hourly deletion purge (the demo deletes nobody) and the hourly
    #: market anomaly flags (the demo sends no candles). The drift check runs daily so that
    #: drift can act on the shift.
    final_only: tuple[str, ...] = ("privacy_purge", "market_anomalies")

    def __post_init__(self) -> None:
        shift_at = self.shift_at
        if shift_at is not None and not 1 <= shift_at < self.days:
            raise SimulationError(
                f"shift_day must be between 1 and {self.days - 1} (days - 1), got {shift_at}"
            )

    @property
    def shift_at(self) -> int | None:
        """The day the world shifts on, ``None`` without a shift."""
        if not self.shift:
            return None
        return self.shift_day if self.shift_day is not None else default_shift_day(self.days)


def default_shift_day(days: int) -> int:
    """40 % into a run of ``days`` days (at least day 1).

    Examples
    --------
    >>> default_shift_day(21), default_shift_day(8), default_shift_day(2)
    (8, 3, 1)
    """
    return max(1, round(0.4 * days))


@dataclass
class DemoRun:
    """The outcome of a run: per-day records, the summary and the report's files."""

    days: list[DayRecord] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


Scheduled = tuple[str, Any, Callable[[dict[str, Any]], object]]


class DemoDriver:
    """Runs the simulation against a started stack.

    Parameters
    ----------
    api_url, keys
        Where the API listens and its ``ingest`` and ``read`` keys.
    schedules
        ``(name, expression, handler)`` of the app's scheduled functions; each handler takes
        an EventBridge scheduled event.
    config
        The run's size and seed.
    echo
        Where lines go when there is no progress bar.
    after_job
        Called after each scheduled job (e.g. delivers the S3 events of published models).
    bandit_discount
        The stack's ``LEARNLOOP_BANDIT_DISCOUNT``, for the report.
    """

    def __init__(
        self,
        *,
        api_url: str,
        keys: dict[str, str],
        schedules: list[Scheduled],
        config: DemoConfig,
        echo: Callable[[str], None] = print,
        after_job: Callable[[], object] | None = None,
        bandit_discount: float | None = None,
    ) -> None:
        self.ingest = ApiClient(api_url, key=keys["ingest"])
        self.read = ApiClient(api_url, key=keys["read"])
        #: Reads the drift alerts and the registry; without an admin key neither is reported.
        self.admin = ApiClient(api_url, key=keys["admin"]) if "admin" in keys else None
        self.schedules = schedules
        self.after_job = after_job
        self.bandit_discount = bandit_discount
        self.config = config
        self.echo = echo
        #: The regimes: before the shift, and after it (``None`` without a shift).
        self.before = World.generate(seed=config.seed)
        self.after = (
            self.before.shifted(seed=config.seed + 3) if config.shift_at is not None else None
        )
        #: The regime in force on the day being simulated.
        self.world = self.before
        self.model_picked_days = 0
        #: What the drift checks fired today found: ``{"alerts": [...], "actions": [...]}``.
        self._drift_today: dict[str, list[Any]] = {"alerts": [], "actions": []}
        #: Schedule name → how often it fired.
        self.fired: dict[str, int] = {}
        self.rng = np.random.default_rng(config.seed + 1)
        #: Grading draws from its own stream so that it changes nothing the loop sees.
        self.grading_rng = np.random.default_rng(config.seed + 4)

    def run(self, *, progress: bool = True) -> DemoRun:
        """Simulate every day, fire the schedules, grade the models, write the report."""

        config = self.config
        start = datetime.combine(
            utcnow().date() - timedelta(days=config.days + 1), datetime.min.time(), UTC
        )
        expressions = {name: parse_schedule(expression) for name, expression, _ in self.schedules}
        handlers = {name: handler for name, _, handler in self.schedules}
        next_fire: dict[str, datetime | None] = {
            name: None if name in config.final_only else expressions[name].next_after(start)
            for name in expressions
        }
        run = DemoRun()
        days = range(config.days)
        bar = _progress(days, enabled=progress)

        def fire_until(moment: datetime) -> None:
            self._fire_due(
                next_fire, expressions, handlers, until=moment, scheduled_event=scheduled_event
            )

        for day_index in bar:
            if day_index == config.shift_at and self.after is not None:
                self.world = self.after
            day_start = start + timedelta(days=day_index)
            fire_until(day_start + timedelta(minutes=30))  # 00:00 learn, 00:15 rollup
            posts = self._post_content(day_index, day_start)
            fire_until(day_start + timedelta(hours=23, minutes=58))
            self._post_outcomes(posts, day_start)  # measured at 23:59
            self._react(day_start)
            self._send_events(day_index, day_start)
            record = self._record(day_index, day_start.date(), posts)
            record.extra["grades"] = self._grade_day()
            record.extra["drift"], self._drift_today = (
                self._drift_today,
                {"alerts": [], "actions": []},
            )
            run.days.append(record)
            _write(bar, self._day_line(record), self.echo)
        # Let the last day's outcomes be learned from and rolled up.
        end = start + timedelta(days=config.days, hours=1)
        fire_until(end)
        for name in config.final_only:
            if name in handlers:
                self._fire(name, handlers[name], scheduled_event(name, end))
        run.summary = summarize(
            run.days, expected_success={a: self.world.expected_success(a) for a in self.world.arms}
        )
        if self.after is not None:
            for arm, row in run.summary["arms"].items():
                row["expected_success_before_shift"] = round(self.before.expected_success(arm), 6)
        run.summary.update(recovery(run.days, shift_day=config.shift_at))
        run.summary["promotions"] = self._promotions()
        run.summary["bandit_discount"] = self.bandit_discount
        run.summary.update(self._grade_models())
        run.summary["days_drafts_picked_by_model"] = self.model_picked_days
        run.summary["schedules_fired"] = dict(sorted(self.fired.items()))
        run.summary["hidden_truth"] = self.before.hidden_truth()
        if self.after is not None:
            run.summary["hidden_truth"]["after_shift"] = self.after.hidden_truth() | {
                "from_day": config.shift_at
            }
        run.summary["config"] = {
            k: str(v) if isinstance(v, Path) else v for k, v in config.__dict__.items()
        }
        run.files = write_report(config.out_dir, run.days, run.summary)
        return run

    # --- one day -----------------------------------------------------------------------------

    def _post_content(
        self, day_index: int, day_start: datetime
    ) -> list[tuple[str, datetime, SimulatedPost]]:
        """Ask the bandits for the day's hooks and hours, then publish the posts."""
        config, world = self.config, self.world
        arms = self.read.request(
            "POST",
            "/v1/bandit/select",
            {
                "scope": "content",
                "candidates": list(world.arms),
                "n": config.posts_per_day,
                "seed": config.seed * 100_003 + day_index,
            },
        )["arms"]
        hours = [
            int(h)
            for h in self.read.request(
                "POST",
                "/v1/bandit/select",
                {
                    "scope": "timing",
                    "candidates": [str(h) for h in range(24)],
                    "n": config.hours_per_day,
                    "seed": config.seed * 100_019 + day_index,
                },
            )["arms"]
        ]
        # Each post is written in a few drafts; once an engagement model is in production, the
        # draft it rates highest is published (through POST /v1/predict/engagement).
        drafts = [
            [
                world.post(arm, hours[j % len(hours)], self.rng)
                for _ in range(config.drafts_per_post)
            ]
            for j, arm in enumerate(arms)
        ]
        chosen = self._best_drafts(drafts)
        self.model_picked_days += chosen is not None
        posts: list[tuple[str, datetime, SimulatedPost]] = []
        for j, options in enumerate(drafts):
            post = options[chosen[j]] if chosen is not None else options[0]
            hour = post.hour
            posted_at = day_start + timedelta(hours=hour, minutes=j)
            decision_id = f"demo-{config.seed}-{day_index:03d}-{j:03d}"
            self.ingest.request(
                "PUT",
                f"/v1/content/{decision_id}",
                post.content_fields() | {"posted_at": iso(posted_at)},
            )
            posts.append((decision_id, posted_at, post))
        return posts

    def _best_drafts(self, drafts: list[list[SimulatedPost]]) -> list[int] | None:
        """Per post, the index of the draft with the highest predicted engagement; ``None``
        while no engagement model is in production."""
        rows = [
            {
                "quality_score": d.quality_score,
                "content_type": d.content_type,
                "posted_hour": d.hour,
                "length": d.length,
            }
            for options in drafts
            for d in options
        ]
        predicted = self._predict("/v1/predict/engagement", rows)
        if predicted is None:
            return None
        scores = predicted[0].reshape(len(drafts), -1)
        return [int(i) for i in scores.argmax(axis=1)]

    def _post_outcomes(
        self, posts: list[tuple[str, datetime, SimulatedPost]], day_start: datetime
    ) -> None:
        day_end = day_start + timedelta(hours=23, minutes=59)
        self.ingest.request(
            "POST",
            "/v1/outcomes",
            {
                "outcomes": [
                    post.outcome_fields()
                    | {
                        "decision_id": decision_id,
                        "collected_at": iso(min(posted_at + timedelta(hours=6), day_end)),
                    }
                    for decision_id, posted_at, post in posts
                ]
            },
        )

    def _react(self, day_start: datetime) -> None:
        world, rng = self.world, self.rng
        for _ in range(self.config.reactions_per_day):
            user = world.users[int(rng.integers(len(world.users)))]
            item = world.items[int(rng.integers(len(world.items)))]
            reaction = world.react(user, item, rng)
            if reaction is None:
                continue
            self.ingest.request(
                "PUT",
                "/v1/reactions",
                {
                    "user_id": user.user_id,
                    "content_type": item.content_type,
                    "external_id": item.external_id,
                    "reaction": reaction,
                    "content": {"text": item.text[:200]},
                    "occurred_at": iso(day_start + timedelta(seconds=int(rng.integers(86_000)))),
                },
            )

    def _send_events(self, day_index: int, day_start: datetime) -> None:
        world, rng = self.world, self.rng
        events = []
        for i in range(self.config.events_per_day):
            event_type, properties = EVENT_MIX[int(rng.integers(len(EVENT_MIX)))]
            events.append(
                {
                    "event_id": f"demo-{self.config.seed}-{day_index:03d}-{i:03d}",
                    "type": event_type,
                    "user_id": world.users[int(rng.integers(len(world.users)))].user_id,
                    "occurred_at": iso(day_start + timedelta(seconds=int(rng.integers(86_000)))),
                    "properties": properties(rng, i),
                }
            )
        if events:
            self.ingest.request("POST", "/v1/events", {"events": events})

    def _record(
        self, day_index: int, day: date, posts: list[tuple[str, datetime, SimulatedPost]]
    ) -> DayRecord:
        world = self.world
        pulls = {arm: 0 for arm in world.arms}
        successes = {arm: 0 for arm in world.arms}
        regret = regret_random = 0.0
        for _, _, post in posts:
            pulls[post.arm] += 1
            successes[post.arm] += int(post.success)
            regret += world.regret(post.arm, post.hour)
            regret_random += world.expected_success(world.oracle_arm, post.hour) - (
                world.random_policy_success(post.hour)
            )
        rates = [post.engagement_rate for _, _, post in posts]
        return DayRecord(
            day_index=day_index,
            date=day,
            pulls=pulls,
            successes=successes,
            regret=regret,
            regret_random=regret_random,
            mean_engagement=float(np.mean(rates)) if rates else None,
            oracle_arm=world.oracle_arm,
            extra={"hours": sorted({post.hour for _, _, post in posts})},
        )

    def _fire_due(
        self,
        next_fire: dict[str, datetime | None],
        expressions: dict[str, Any],
        handlers: dict[str, Callable[[dict[str, Any]], object]],
        *,
        until: datetime,
        scheduled_event: Callable[..., dict[str, Any]],
    ) -> None:
        """Fire, in time order, every schedule due at or before ``until`` (simulated)."""
        while True:
            due = [
                (when, name)
                for name, when in next_fire.items()
                if when is not None and when <= until
            ]
            if not due:
                return
            when, name = min(due)
            self._fire(name, handlers[name], scheduled_event(name, when))
            next_fire[name] = expressions[name].next_after(when)

    def _fire(
        self, name: str, handler: Callable[[dict[str, Any]], object], event: dict[str, Any]
    ) -> None:
        handler(event)
        self.fired[name] = self.fired.get(name, 0) + 1
        if self.after_job is not None:
            self.after_job()  # e.g. deliver the S3 events of the models a job published
        if name == "drift_check" and self.admin is not None:
            latest = self.admin.request("GET", "/v1/admin/alerts")
            # ``actions`` (what drift did about its alerts) is newer than the route: read it
            # defensively.
            for key in ("alerts", "actions"):
                found = latest.get(key) if isinstance(latest, dict) else None
                self._drift_today[key].extend(found if isinstance(found, list) else [])

    def _day_line(self, record: DayRecord) -> str:
        share = record.best_arm_share or 0.0
        engagement = record.mean_engagement or 0.0
        shifted = "  (the world shifted)" if record.day_index == self.config.shift_at else ""
        return (
            f"day {record.day_index + 1:>3} {record.date}  posts {record.posts:>3}  "
            f"best-arm share {share:5.0%}  regret {record.regret:5.2f} "
            f"(random {record.regret_random:5.2f})  mean engagement {engagement:.4f}  "
            f"hours {record.extra['hours']}{shifted}"
        )

    # --- grading -----------------------------------------------------------------------------

    def _grade_models(self) -> dict[str, Any]:
        """Ridge R² and logistic AUC of the production models, asked over the predict API on
        fresh posts from the world (as it is at the end of the run), next to what the truth
        itself scores."""
        grades = self._grade(
            self.config.evaluation_posts, np.random.default_rng(self.config.seed + 2)
        )
        return {
            "truth_r2": grades["truth_r2"],
            "truth_auc": grades["truth_auc"],
            "ridge_r2": grades["production_r2"],
            "ridge_r2_vs_expected": grades["production_r2_vs_expected"],
            "logistic_auc": grades["production_auc"],
            "models": {k: v for k, v in grades["versions"].items() if v is not None},
        }

    def _grade_day(self) -> dict[str, Any]:
        """The same grades on today's fresh posts, from today's regime."""
        return self._grade(self.config.daily_evaluation_posts, self.grading_rng)

    def _grade(self, n_posts: int, rng: np.random.Generator) -> dict[str, Any]:
        """``production_r2`` (vs the drawn rates), ``production_r2_vs_expected``,
        ``production_auc``, ``truth_r2``, ``truth_auc`` and ``versions`` (predictor → the
        production version that predicted, ``None`` before one exists) on ``n_posts`` fresh
        posts of the current regime."""
        from sklearn.metrics import r2_score, roc_auc_score

        world = self.world
        posts = [
            world.post(world.arms[int(rng.integers(len(world.arms)))], int(rng.integers(24)), rng)
            for _ in range(n_posts)
        ]
        rates = np.array([p.engagement_rate for p in posts])
        expected = np.array([p.expected_rate for p in posts])
        labels = np.array([p.followers_gained > 0 for p in posts])
        truth = np.array(
            [
                world.follow_through.probability(p.novelty_score, p.expertise_level, p.viral_score)
                for p in posts
            ]
        )
        # AUC needs both classes; a tiny grading sample might lack one.
        both = bool(labels.any() and not labels.all())
        grades: dict[str, Any] = {
            "truth_r2": _rounded(r2_score(rates, expected)),
            "truth_auc": _rounded(roc_auc_score(labels, truth)) if both else None,
            "production_r2": None,
            "production_r2_vs_expected": None,
            "production_auc": None,
            "versions": {"engagement": None, "follow_through": None},
        }
        engagement = self._predict(
            "/v1/predict/engagement",
            [
                {
                    "quality_score": p.quality_score,
                    "content_type": p.content_type,
                    "posted_hour": p.hour,
                    "length": p.length,
                }
                for p in posts
            ],
        )
        if engagement is not None:
            predicted, grades["versions"]["engagement"] = engagement
            grades["production_r2"] = _rounded(r2_score(rates, predicted))
            grades["production_r2_vs_expected"] = _rounded(r2_score(expected, predicted))
        follow = self._predict(
            "/v1/predict/follow-through",
            [
                {
                    "novelty_score": p.novelty_score,
                    "expertise_level": p.expertise_level,
                    "viral_score": p.viral_score,
                }
                for p in posts
            ],
        )
        if follow is not None:
            scores, grades["versions"]["follow_through"] = follow
            grades["production_auc"] = _rounded(roc_auc_score(labels, scores)) if both else None
        return grades

    def _promotions(self) -> dict[str, int] | None:
        """Per model, how often the registry moved production forward (``promote`` in its
        history, the first version included); ``None`` without an admin key."""
        if self.admin is None:
            return None
        models = self.admin.request("GET", "/v1/models").get("models", {})
        return {
            name: sum(
                h.get("action") == "promote" and h.get("to") is not None
                for h in info.get("history") or []
            )
            for name, info in sorted(models.items())
        }

    def _predict(self, path: str, rows: list[dict[str, Any]]) -> tuple[np.ndarray, str] | None:
        """Predictions for ``rows`` (1000 per request) and the model version that made them;
        ``None`` while no model is in production (409)."""

        predictions: list[float] = []
        version = ""
        for start in range(0, len(rows), 1000):
            try:
                reply = self.read.request("POST", path, {"rows": rows[start : start + 1000]})
            except ApiCallError as exc:
                if exc.status == 409:
                    return None
                raise
            predictions.extend(reply["predictions"])
            version = reply["version"]
        return np.array(predictions), version


def _rounded(value: float) -> float:
    return round(float(value), 4)


def _progress(days: range, *, enabled: bool) -> Any:
    if not enabled:
        return days
    from tqdm import tqdm

    return tqdm(days, desc="simulated days", unit="day", leave=False)


def _write(bar: Any, line: str, echo: Callable[[str], None]) -> None:
    writer = getattr(bar, "write", None)
    (writer or echo)(line)


def format_summary(summary: dict[str, Any]) -> str:
    """The closing lines of a run, for people."""
    get = summary.get
    lines = []
    if get("shift_day") is not None:
        recovered = get("days_to_recover")
        lines.append(
            f"the world shifted on day {summary['shift_day']}: best arm {get('old_best_arm')} "
            f"-> {get('new_best_arm')}; the bandit's daily share of the new one passed 50 % "
            + (
                "never"
                if recovered is None
                else f"{recovered} day{'' if recovered == 1 else 's'} later"
            )
            + f"; its share over the last quarter: {_share(get('new_best_arm_share_last_quarter'))}"
        )
    lines += [
        f"best-arm share, last quarter: {summary['best_arm_share_last_quarter']:.1%} "
        f"(oracle arm {summary['oracle_arm']})",
        f"cumulative regret: {summary['regret_vs_oracle']:.1f} vs the oracle, "
        f"{summary['regret_random']:.1f} for uniform random "
        f"(sublinear: {summary['regret_sublinear']})",
        f"ridge R² on fresh posts: {summary['ridge_r2']} (the truth itself scores "
        f"{summary['truth_r2']}); vs expected rate: {summary['ridge_r2_vs_expected']}",
        f"logistic AUC on fresh posts: {summary['logistic_auc']} (the truth itself scores "
        f"{summary['truth_auc']})",
        f"graded through POST /v1/predict/* with the production models {summary['models']}; "
        f"the engagement model picked the published drafts on "
        f"{summary['days_drafts_picked_by_model']} of {summary['days']} days",
    ]
    if "production_r2_last_quarter" in summary:
        alerts = get("drift_alerts") or {}
        lines += [
            f"last quarter, daily fresh posts: production R² "
            f"{_num(get('production_r2_last_quarter'))} (truth {_num(get('truth_r2_last_quarter'))}"
            f"), production AUC {_num(get('production_auc_last_quarter'))} (truth "
            f"{_num(get('truth_auc_last_quarter'))})",
            f"drift alerts {alerts.get('count', 0)} (days with one: {alerts.get('days') or {}}), "
            f"drift retrains {get('drift_retrains', 0)}, promotions {get('promotions')}",
        ]
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, default=str)

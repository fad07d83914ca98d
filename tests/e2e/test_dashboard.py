"""The admin dashboard in headless Chromium against a running local stack with seeded data.

Debian's chromium is driven through the ``playwright`` package (never ``playwright install``);
``.ci/run`` installs chromium when it is missing. Locally the test skips only without it.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from learnloop.jobs import run_job
from learnloop.settings import Settings
from learnloop.store import Tables
from learnloop_tools.local import Runner

pytestmark = [pytest.mark.e2e, pytest.mark.heavy(50)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOW = datetime.now(UTC).replace(microsecond=0)
DAYS = [(NOW - timedelta(days=d)).date() for d in (3, 2, 1)]
EVENT_TYPES = ["alert_shown", "alert_dismissed", "myapp.opened"]
HOOKS = ["hook:story", "hook:question", "hook:list"]


def send(runner: Runner, method: str, path: str, body: Any, key: str) -> Any:
    request = urllib.request.Request(
        f"{runner.api_url}{path}", data=json.dumps(body).encode(), method=method
    )
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A running stack with events, reactions, content and outcomes, rolled up and learned."""
    if not CHROMIUM.exists():
        reason = "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run installs it")  # CI must run this test
        pytest.skip(reason)
    stage = f"dash{uuid.uuid4().hex[:6]}"
    settings = Settings(stage=stage, table_prefix=f"{stage}-", bucket=f"{stage}-bucket")
    state = tmp_path_factory.mktemp("dashboard")
    with Runner(port=0, state_dir=state, settings=settings, snapshot_seconds=0) as runner:
        ingest = runner.keys["ingest"]
        counts = {day.isoformat(): 0 for day in DAYS}
        for d, day in enumerate(DAYS):
            events = [
                {
                    "event_id": f"{day}-{i}",
                    "type": EVENT_TYPES[i % (d + 1)],
                    "user_id": f"u{i % 5}",
                    "occurred_at": f"{day.isoformat()}T{8 + i % 10:02d}:00:00Z",
                    "properties": {"alert_id": f"a{i}"} if i % (d + 1) < 2 else {},
                }
                for i in range(6 * (d + 1))
            ]
            counts[day.isoformat()] = len(events)
            send(runner, "POST", "/v1/events", {"events": events}, ingest)
        # The journal: j1's six closed trades, four with a pattern (3 revenge losses, 1 fomo win).
        last = DAYS[-1].isoformat()
        journal = []
        for i, (pnl, pattern) in enumerate(
            [(-5, "revenge"), (-5, "revenge"), (-5, "revenge"), (5, "fomo"), (1, None), (1, None)]
        ):
            at = f"{last}T{10 + i:02d}:00:00Z"
            journal.append(
                {
                    "type": "trade_closed",
                    "user_id": "j1",
                    "occurred_at": at,
                    "properties": {"trade_id": f"t{i}", "pnl": pnl},
                }
            )
            if pattern:
                journal.append(
                    {
                        "type": "pattern_detected",
                        "user_id": "j1",
                        "occurred_at": at,
                        "properties": {"pattern_type": pattern, "trade_id": f"t{i}"},
                    }
                )
        counts[last] += len(journal)
        send(runner, "POST", "/v1/events", {"events": journal}, ingest)
        for i in range(12):
            reaction = {
                "user_id": f"u{i % 4}",
                "content_type": ["meme", "news", "coin"][i % 3],
                "external_id": f"item{i % 5}",
                "reaction": "like" if i % 4 else "dislike",
                "occurred_at": f"{DAYS[-1].isoformat()}T12:00:00Z",
            }
            send(runner, "PUT", "/v1/reactions", reaction, ingest)
        outcomes = []
        for i in range(60):
            posted = datetime.combine(DAYS[i % 3], datetime.min.time(), UTC) + timedelta(
                hours=[9, 13, 18][i % 3]
            )
            quality = (i % 10) / 10
            send(
                runner,
                "PUT",
                f"/v1/content/d-{i}",
                {
                    "posted_at": posted.isoformat(),
                    "bandit_arm": HOOKS[i % 3],
                    "content_type": "news",
                    "quality_score": quality,
                    "novelty_score": 0.5,
                    "expertise_level": 0.5,
                    "length": "short",
                },
                ingest,
            )
            outcomes.append(
                {
                    "decision_id": f"d-{i}",
                    "collected_at": (posted + timedelta(hours=6)).isoformat(),
                    "impressions": 1000,
                    "likes": 10 + round(60 * quality) + 15 * (i % 3 == 0),
                    "followers_gained": i % 2,
                    "viral_score": 10.0 + i,
                }
            )
        send(runner, "POST", "/v1/outcomes", {"outcomes": outcomes}, ingest)
        # Four logged bandit decisions, one clicked: the decisions panel shows 25 % CTR.
        choice = {"scope": "content", "candidates": ["hook:x", "hook:y"]}
        picks = [
            send(runner, "POST", "/v1/bandit/select", choice, runner.keys["read"]) for _ in "abcd"
        ]
        send(
            runner,
            "POST",
            "/v1/feedback",
            {"decision_id": picks[0]["decision_id"], "type": "click"},
            ingest,
        )
        # The runner spools decisions and loads them each minute: load them now.
        assert runner.load_decisions()["loaded"] == 4
        # Texts about BTC, one per day and source: the sentiment panel charts their volume.
        texts = [
            {
                "text_id": f"txt-{day}-{source}",
                "source": source,
                "symbols": ["BTC"],
                "text": "Bitcoin rallies to a record high" if source == "news" else "BTC dumps",
                "published_at": f"{day.isoformat()}T10:00:00Z",
            }
            for day in DAYS
            for source in ("news", "reddit")
        ]
        send(runner, "POST", "/v1/texts", {"texts": texts}, ingest)
        tables = Tables(runner.settings)
        for day in DAYS:
            run_job("rollup_daily", tables, NOW, day=day)
        learned = runner.run_schedule("learn")
        runner.deliver_bucket_events()  # register what learn dropped, now
        drift = runner.run_schedule("drift_check")
        yield {
            "runner": runner,
            "events": counts,
            "reactions": 12,
            "texts": len(texts),
            "learned": learned,
            "drift": drift,
            "state": state,
        }


@pytest.fixture(scope="module")
def browser(seeded: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_dashboard_logs_in_and_charts_the_seeded_data(
    seeded: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    runner: Runner = seeded["runner"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{runner.api_url}/admin")
    assert page.is_visible("#login") and not page.is_visible("#dashboard")

    page.fill("#admin-key", runner.keys["admin"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("body[data-state=ready]", timeout=20_000)
    assert page.evaluate("sessionStorage.getItem('learnloop.adminKey')") == runner.keys["admin"]

    events = page.locator("svg[data-chart=events-per-day]")
    assert events.get_attribute("data-total") == str(sum(seeded["events"].values()))
    assert events.get_attribute("data-points") == "3"
    # The seeded types, and the journal's trade_closed and pattern_detected.
    assert events.get_attribute("data-series") == str(len(EVENT_TYPES) + 2)
    per_day: dict[str, int] = {}
    for bar in events.locator("rect.bar").all():
        date = bar.get_attribute("data-date")
        per_day[date] = per_day.get(date, 0) + int(bar.get_attribute("data-value"))
    assert per_day == seeded["events"]

    reactions = page.locator("svg[data-chart=reactions-by-content-type]")
    assert reactions.get_attribute("data-total") == str(seeded["reactions"])
    assert reactions.get_attribute("data-points") == "3"

    content = page.locator("svg[data-chart=content-arms]")
    assert content.get_attribute("data-points") == str(len(HOOKS))
    assert content.get_attribute("data-total") == "60"
    assert {c.get_attribute("data-arm") for c in content.locator("circle.arm").all()} == set(HOOKS)
    timing = page.locator("svg[data-chart=timing-arms]")
    assert {b.get_attribute("data-arm") for b in timing.locator("rect.bar").all()} == {
        "9",
        "13",
        "18",
    }

    sentiment = page.locator("svg[data-chart=symbol-sentiment]")
    assert sentiment.get_attribute("data-total") == str(seeded["texts"])
    assert sum(int(b.get_attribute("data-value")) for b in sentiment.locator("rect.bar").all()) == 6
    assert "BTC: 6 texts" in page.locator("#sentiment-summary").inner_text()

    decisions = page.locator("#decisions")
    assert decisions.get_attribute("data-policies") == "1"
    assert decisions.locator("tr[data-policy=thompson] td.ctr").inner_text() == "25.0%"

    models = page.locator("#models")
    assert int(models.get_attribute("data-models")) >= 1, seeded["learned"]
    assert page.locator(".model .badge.production").count() >= 1
    assert page.locator("ul.history li").count() >= 1
    drift = seeded["drift"]
    panel = page.locator("#alerts")
    assert int(panel.get_attribute("data-alerts")) == len(drift["alerts"])
    assert drift["checked_at"] in panel.inner_text()
    for model, report in drift["models"].items():
        # A model the check could not judge is named with the reason, never "no drift".
        assert (f"{model}: not checked" in panel.inner_text()) == bool(report.get("skipped"))
    assert int(panel.get_attribute("data-actions")) == len(drift["actions"])

    heatmap = page.locator("svg[data-chart=pattern-outcomes]")
    assert (heatmap.get_attribute("data-rows"), heatmap.get_attribute("data-total")) == ("2", "4")
    # The harmful pattern is the first row: its three trades all lost.
    assert heatmap.locator("rect.cell").first.get_attribute("data-pattern") == "revenge"
    losses = heatmap.locator("rect[data-pattern=revenge][data-outcome=loss]")
    assert losses.get_attribute("data-value") == "3"
    retention = page.locator("svg[data-chart=retention]")
    assert int(retention.get_attribute("data-series")) >= 1
    assert retention.locator("polyline").count() == int(retention.get_attribute("data-series"))

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert problems == [], problems


def test_the_alerts_panel_shows_what_drift_did(seeded: dict[str, Any], browser: Any) -> None:
    from learnloop.drift.ledger import action_key
    from learnloop.models.registry import production_record

    runner: Runner = seeded["runner"]
    tables = Tables(runner.settings)
    at = seeded["drift"]["checked_at"]
    version = production_record(tables, "engagement").target
    alert = {"model": "engagement", "feature": None, "metric": "r2", "value": 0.1}
    # What the drift job writes: a predictor retrained (now production), a request pending.
    for model, action, made in (
        ("engagement", "retrained", version),
        ("two_tower", "retrain_requested", None),
    ):
        value = {
            "at": at,
            "model": model,
            "trigger": [{**alert, "model": model}],
            "action": action,
            "version": made,
            "reason": "seeded",
        }
        tables.ledger(action_key(at, model), created_at=at, value=value).save()
    page = browser.new_page()
    page.goto(f"{runner.api_url}/admin")
    page.fill("#admin-key", runner.keys["admin"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("body[data-state=ready]", timeout=20_000)
    panel = page.locator("#alerts")
    assert panel.get_attribute("data-actions") == "2"
    retrained = panel.locator("ol.actions li[data-model=engagement]")
    assert retrained.get_attribute("data-outcome") == "promoted"
    assert f"engagement: drift → retrained → promoted v{version}" in retrained.inner_text()
    requested = panel.locator("ol.actions li[data-model=two_tower]")
    assert "two_tower: drift → retrain requested → pending" in requested.inner_text()


def test_a_key_without_admin_scope_is_turned_away(seeded: dict[str, Any], browser: Any) -> None:
    runner: Runner = seeded["runner"]
    page = browser.new_page()
    page.goto(f"{runner.api_url}/admin")
    page.fill("#admin-key", runner.keys["read"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])", timeout=10_000)
    assert "no admin scope" in page.inner_text("#login-error")
    assert page.evaluate("sessionStorage.getItem('learnloop.adminKey')") is None
    assert not page.is_visible("#dashboard")


def test_the_market_panel_lists_a_flagged_flash_crash(seeded: dict[str, Any], browser: Any) -> None:
    runner: Runner = seeded["runner"]
    # 80 quiet daily candles ending yesterday; the one three days ago plunged 30 % and bounced.
    first = NOW.date() - timedelta(days=80)
    crash = NOW.date() - timedelta(days=3)
    candles, close = [], 100.0
    for i in range(80):
        day = first + timedelta(days=i)
        open_, close = close, close * (1.004 if i % 3 else 0.995)
        low = min(open_, close) * (0.7 / 0.995 if day == crash else 0.998 - 0.001 * (i % 4))
        candles.append(
            {
                "open_time": day.isoformat(),
                "open": open_,
                "high": max(open_, close) * 1.002,
                "low": low,
                "close": close,
                "volume": 1000 + i % 7,
            }
        )
    body = {"symbol": "BTC-USD", "interval": "1d", "candles": candles}
    send(runner, "POST", "/v1/market/candles", body, runner.keys["ingest"])
    flagged = run_job("market_anomalies", Tables(runner.settings), NOW, candles=30)
    assert flagged["flagged"] == 1, flagged
    page = browser.new_page()
    page.goto(f"{runner.api_url}/admin")
    page.fill("#admin-key", runner.keys["admin"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("body[data-state=ready]", timeout=20_000)
    panel = page.locator("#anomalies")
    assert panel.get_attribute("data-anomalies") == "1"
    row = panel.locator("tr[data-kind=flash_crash]")
    assert row.get_attribute("data-symbol") == "BTC-USD"
    assert row.get_attribute("data-open-time") == f"{crash.isoformat()}T00:00:00Z"
    assert "flash crash" in row.inner_text()

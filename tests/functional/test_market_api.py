"""Market routes over the real app against moto's server: candles in (idempotent, every bad
row named), read back through the forecast contract, indicators, portfolio risk, anomaly
flags from the scheduled job, and risk profiles from journal trades."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from support.api import call, error_of, fields_of

from learnloop.jobs import run_job
from learnloop.market.candles import read_candles
from learnloop.market.indicators import compute_indicators

DAY0 = date(2026, 1, 1)


def daily(n: int, *, start: date = DAY0, base: float = 100.0, step: float = 0.01) -> list[dict]:
    """``n`` daily candles, each close ``1 + step`` times the last (alternating sign)."""
    rows, close = [], base
    for i in range(n):
        open_ = close
        close = open_ * (1 + (step if i % 2 == 0 else -step / 2))
        rows.append(
            {
                "open_time": (start + timedelta(days=i)).isoformat(),
                "open": open_,
                "high": max(open_, close) * 1.001,
                "low": min(open_, close) * 0.999,
                "close": close,
                "volume": 1000 + i,
            }
        )
    return rows


def post(client: Any, key: str, symbol: str, interval: str, candles: list[dict]) -> Any:
    body = {"symbol": symbol, "interval": interval, "candles": candles}
    return call(client, "POST", "/v1/market/candles", key=key, body=body)


def test_candles_are_stored_once_per_open_time_and_read_back_as_a_series(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    rows = daily(40, start=date(2025, 12, 10))  # crosses a year: two partitions
    first = post(client, keys["ingest"], "btc-usd", "1d", rows)
    assert first.status_code == 200, first.body
    assert first.json_body == {
        "symbol": "BTC-USD",
        "interval": "1d",
        "stored": 40,
        "first": "2025-12-10T00:00:00Z",
        "last": "2026-01-18T00:00:00Z",
    }
    again = post(client, keys["ingest"], "BTC-USD", "1d", rows[:10])  # a redelivery
    assert again.status_code == 200
    assert tables.candles.count("BTC-USD#1d#2025") == 22
    assert tables.candles.count("BTC-USD#1d#2026") == 18

    series = read_candles(
        "btc-usd", "1d", datetime(2025, 12, 31), datetime(2026, 1, 3), tables=tables
    )
    assert series.symbol == "BTC-USD" and len(series) == 3
    assert series.iso_times()[0] == "2025-12-31T00:00:00Z"
    assert series.open_time.dtype == np.dtype("datetime64[s]")
    assert series.close.tolist() == pytest.approx([r["close"] for r in rows[21:24]])
    # Through the settings (what the forecast job passes), not bound tables.
    same = read_candles(
        "BTC-USD", "1d", datetime(2025, 1, 1), datetime(2027, 1, 1), settings=tables.settings
    )
    assert len(same) == 40


def test_hourly_candles_live_in_day_partitions(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    start = datetime(2026, 3, 1, 20, tzinfo=UTC)
    rows = [
        {
            "open_time": (start + timedelta(hours=h)).isoformat(),
            "open": 1,
            "high": 1,
            "low": 1,
            "close": 1,
            "volume": 0,
        }
        for h in range(8)
    ]
    assert post(client, keys["ingest"], "ETH-USD", "1h", rows).status_code == 200
    assert tables.candles.count("ETH-USD#1h#2026-03-01") == 4
    assert tables.candles.count("ETH-USD#1h#2026-03-02") == 4
    window = read_candles(
        "ETH-USD", "1h", start + timedelta(hours=3), start + timedelta(hours=6), tables=tables
    )
    assert window.iso_times() == [
        "2026-03-01T23:00:00Z",
        "2026-03-02T00:00:00Z",
        "2026-03-02T01:00:00Z",
    ]


def test_bad_candles_are_422_naming_each_row_and_nothing_is_stored(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    rows = daily(6)
    rows[1]["high"] = min(rows[1]["open"], rows[1]["close"])  # above low, below the body
    rows[2]["low"] = rows[2]["close"] * 2
    rows[3]["volume"] = -1
    rows[4]["open_time"] = "2026-01-05T12:00:00Z"
    rows[5]["open_time"] = rows[0]["open_time"]
    response = post(client, keys["ingest"], "BTC-USD", "1d", rows)
    assert response.status_code == 422
    assert fields_of(response) == {
        "candles[1].high",
        "candles[2].low",
        "candles[3].volume",
        "candles[4].open_time",
        "candles[5].open_time",
    }
    nan = post(client, keys["ingest"], "BTC-USD", "1d", [{**daily(1)[0], "close": "NaN"}])
    assert nan.status_code == 422 and fields_of(nan) == {"candles[0].close"}
    odd = call(
        client,
        "POST",
        "/v1/market/candles",
        key=keys["ingest"],
        body={"symbol": "BTC/USD", "interval": "2d", "candles": [], "x": 1},
    )
    assert fields_of(odd) == {"symbol", "interval", "candles", "x"}
    assert list(tables.candles.scan()) == []


def test_indicators_route_equals_the_library_over_the_requested_days(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    rows = daily(120)
    assert post(client, keys["ingest"], "BTC-USD", "1d", rows).status_code == 200
    query = "interval=1d&from=2026-03-01&to=2026-03-31&names=rsi,macd,sma,vwap&period=10"
    response = call(client, "GET", f"/v1/market/btc-usd/indicators?{query}", key=keys["read"])
    assert response.status_code == 200, response.body
    body = response.json_body
    assert body["open_time"][0] == "2026-03-01T00:00:00Z" and len(body["open_time"]) == 31
    assert set(body["indicators"]) == {
        "rsi",
        "macd",
        "macd_signal",
        "macd_histogram",
        "sma",
        "vwap",
    }
    series = read_candles(
        "BTC-USD", "1d", datetime(2025, 1, 1), datetime(2027, 1, 1), tables=tables
    )
    expected = compute_indicators(series, ["rsi", "sma"], period=10)
    offset = 59  # 2026-03-01 is the 60th day
    assert body["indicators"]["sma"] == pytest.approx(
        expected["sma"][offset : offset + 31].tolist()
    )
    assert body["indicators"]["rsi"] == pytest.approx(
        expected["rsi"][offset : offset + 31].tolist()
    )
    early = call(
        client,
        "GET",
        "/v1/market/BTC-USD/indicators?from=2026-01-01&to=2026-01-05&names=sma",
        key=keys["read"],
    )
    assert early.json_body["indicators"]["sma"] == [None] * 5  # 20 candles not there yet
    empty = call(client, "GET", "/v1/market/DOGE/indicators?names=ema", key=keys["read"])
    assert empty.status_code == 200 and empty.json_body["open_time"] == []


def test_indicator_queries_are_422_naming_the_field(client: Any, keys: dict[str, str]) -> None:
    for query, field in [
        ("interval=2h", "interval"),
        ("names=rsi,ichimoku", "names"),
        ("period=1", "period"),
        ("from=2026-02-30", "from"),
        ("from=2026-03-01&to=2026-02-01", "from"),
        ("interval=1m&from=2026-01-01&to=2026-01-05", "from"),  # 7200 candles
        ("colour=red", "colour"),
    ]:
        response = call(client, "GET", f"/v1/market/BTC/indicators?{query}", key=keys["read"])
        assert response.status_code == 422, (query, response.body)
        assert field in fields_of(response), query


def test_portfolio_risk_from_stored_candles(client: Any, keys: dict[str, str], tables: Any) -> None:
    # A: +10 %, -10 %, +10 %; B flat; the benchmark A itself.
    closes = {"AAA": [100, 110, 99, 108.9], "BBB": [50, 50, 50, 50, 50]}
    for symbol, values in closes.items():
        rows = [
            {
                "open_time": (DAY0 + timedelta(days=i)).isoformat(),
                "open": c,
                "high": c,
                "low": c,
                "close": c,
                "volume": 1,
            }
            for i, c in enumerate(values)
        ]
        assert post(client, keys["ingest"], symbol, "1d", rows).status_code == 200
    body = {
        "portfolio": {
            "symbols": ["AAA", "bbb"],
            "weights": [0.5, 0.5],
            "from": "2026-01-01",
            "to": "2026-01-10",
        },
        "benchmark": "AAA",
        "periods_per_year": 365,
    }
    response = call(client, "POST", "/v1/risk/metrics", key=keys["read"], body=body)
    assert response.status_code == 200, response.body
    report = response.json_body
    # Portfolio returns: 0.5 * (+0.1, -0.1, +0.1) = (0.05, -0.05, 0.05) on the 3 shared days.
    assert report["portfolio"]["periods"] == 3
    assert report["mean_return"] == pytest.approx(0.05 / 3)
    assert report["max_drawdown"]["value"] == pytest.approx(0.05)
    assert report["beta"] == {
        "value": pytest.approx(0.5),
        "correlation": pytest.approx(1.0),
        "benchmark": "AAA",
    }
    assert report["var"]["historical"]["95"] == pytest.approx(0.04)  # -0.05 + 0.1 * 0.1
    missing = call(
        client,
        "POST",
        "/v1/risk/metrics",
        key=keys["read"],
        body={"portfolio": {"symbols": ["AAA", "ZZZ"], "weights": [1, 0]}},
    )
    assert missing.status_code == 422 and fields_of(missing) == {"portfolio.symbols[1]"}
    ragged = call(
        client,
        "POST",
        "/v1/risk/metrics",
        key=keys["read"],
        body={"portfolio": {"symbols": ["AAA"], "weights": [1, 0]}},
    )
    assert fields_of(ragged) == {"portfolio.weights"}
    assert (
        call(
            client, "POST", "/v1/risk/metrics", key=keys["ingest"], body={"returns": [0.1, 0.2]}
        ).status_code
        == 403
    )


def test_the_anomaly_job_flags_a_planted_flash_crash_and_the_route_lists_it(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    rng = np.random.default_rng(5)
    n, crash = 120, 100
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]]
    shadows = np.exp(np.abs(rng.normal(0, 0.003, (2, n))))
    high, low = np.maximum(open_, close) * shadows[0], np.minimum(open_, close) / shadows[1]
    low[crash], close[crash] = open_[crash] * 0.7, open_[crash] * 0.995
    open_[crash + 1] = close[crash]
    high[crash + 1] = max(high[crash + 1], open_[crash + 1])
    low[crash + 1] = min(low[crash + 1], open_[crash + 1])
    rows = [
        {
            "open_time": (DAY0 + timedelta(days=i)).isoformat(),
            "open": open_[i],
            "high": high[i],
            "low": low[i],
            "close": close[i],
            "volume": 1000,
        }
        for i in range(n)
    ]
    assert post(client, keys["ingest"], "SYN", "1d", rows).status_code == 200
    now = datetime.combine(DAY0 + timedelta(days=n), datetime.min.time(), UTC)
    result = run_job("market_anomalies", tables, now, candles=60)
    assert result == {
        "job": "market_anomalies",
        "series": 1,
        "candles_checked": 60,
        "flagged": 1,
        "removed": 0,
    }
    assert run_job("market_anomalies", tables, now, candles=60)["flagged"] == 1  # idempotent
    crash_day = (DAY0 + timedelta(days=crash)).isoformat()
    query = f"from={DAY0.isoformat()}&to={(DAY0 + timedelta(days=n)).isoformat()}"
    listed = call(client, "GET", f"/v1/market/anomalies?{query}", key=keys["read"])
    assert listed.status_code == 200, listed.body
    anomalies = listed.json_body["anomalies"]
    assert [(a["symbol"], a["open_time"], a["kind"]) for a in anomalies] == [
        ("SYN", f"{crash_day}T00:00:00Z", "flash_crash")
    ]
    # The crash is corrected (a redelivered, fixed candle): the next run removes its flag.
    fixed = {**rows[crash], "low": min(rows[crash]["open"], rows[crash]["close"]) * 0.999}
    assert post(client, keys["ingest"], "SYN", "1d", [fixed]).status_code == 200
    assert run_job("market_anomalies", tables, now, candles=60)["removed"] == 1
    empty = call(client, "GET", f"/v1/market/anomalies?{query}&symbol=syn", key=keys["read"])
    assert empty.json_body["anomalies"] == []
    bad = call(client, "GET", "/v1/market/anomalies?kind=meteor&from=x", key=keys["read"])
    assert bad.status_code == 422 and fields_of(bad) == {"kind", "from"}


def trade_events(user: str, sizes: list[float], pnls: list[float]) -> list[dict]:
    events = []
    for i, (size, pnl) in enumerate(zip(sizes, pnls, strict=True)):
        opened = datetime.now(UTC) - timedelta(days=20 - i)
        events.append(
            {
                "type": "trade_created",
                "user_id": user,
                "occurred_at": opened.isoformat(),
                "properties": {
                    "trade_id": f"t{i}",
                    "symbol": "BTC",
                    "side": "buy",
                    "quantity": size / 100,
                    "price": 100,
                },
            }
        )
        events.append(
            {
                "type": "trade_closed",
                "user_id": user,
                "occurred_at": (opened + timedelta(minutes=20)).isoformat(),
                "properties": {"trade_id": f"t{i}", "pnl": pnl, "holding_seconds": 1200},
            }
        )
    return events


def test_risk_profile_from_journal_trades_and_gone_with_the_user(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    sizes = [1000, 1000, 4000, 1000, 1000, 5000]
    pnls = [10, -300, 50, 10, -250, 40]
    sent = call(
        client,
        "POST",
        "/v1/events",
        key=keys["ingest"],
        body={"events": trade_events("u-risk", sizes, pnls)},
    )
    assert sent.status_code == 200, sent.body
    response = call(client, "GET", "/v1/users/u-risk/risk-profile?days=30", key=keys["read"])
    assert response.status_code == 200, response.body
    profile = response.json_body
    assert profile["profile"] == "aggressive"
    assert profile["trades"] == {"opened": 6, "closed": 6}
    assert profile["figures"]["size_after_loss"] == 4.5
    assert (
        call(client, "GET", "/v1/users/u-risk/risk-profile?days=0", key=keys["read"]).status_code
        == 422
    )
    deleted = call(client, "DELETE", "/v1/users/u-risk", key=keys["admin"])
    assert deleted.status_code in (200, 202)
    after = call(client, "GET", "/v1/users/u-risk/risk-profile", key=keys["read"]).json_body
    assert after["profile"] is None and after["trades"] == {"opened": 0, "closed": 0}
    assert error_of(call(client, "GET", "/v1/users/u-risk/risk-profile"))["code"] == "unauthorized"

"""GET /v1/market/{symbol}/forecast over the real app, against moto's server.

The real price forecast job trains (small members) on synthetic candles, its artifact and
evaluation set go to the stage's bucket, registration checks and promotes it as the
``price_forecast`` kind; the route must then serve what the members predict, from ONNX.

The route reads the latest candles from the candle store: the tests post them through
``POST /v1/market/candles``, dated up to yesterday.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from support.api import call, error_of
from support.model_drops import T0

from learnloop.clock import utcnow
from learnloop.market.forecast import serving as forecast_serving
from learnloop.market.forecast.features import build_features, sequences
from learnloop.models.artifacts import new_version, write_artifact
from learnloop.models.registration import register_model
from training_jobs.price_forecast.job import (
    Candles,
    build_artifact,
    train_price_forecast,
    write_evaluation_set,
)
from training_jobs.price_forecast.members import GradientBoostingMember, LSTMMember

SYMBOL = "BTC-USD"
WINDOW = 10


def synthetic_candles(n: int = 420, seed: int = 0, *, start: str = "2020-01-01") -> Candles:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))
    spread = np.abs(rng.normal(0.0, 0.01, n))
    start = np.datetime64(f"{start}T00:00:00", "s")
    opened = start + np.arange(n) * np.timedelta64(86400, "s")
    volume = rng.uniform(1e6, 2e6, n)
    return Candles(
        SYMBOL, "1d", opened, close, close * (1 + spread), close * (1 - spread), close, volume
    )


@pytest.fixture(scope="module")
def training() -> Any:
    return train_price_forecast(
        synthetic_candles(),
        eval_rows=30,
        step=30,
        warmup_folds=1,
        window=WINDOW,
        gbm=lambda: GradientBoostingMember(n_estimators=15),
        lstm=lambda: LSTMMember(max_epochs=2, hidden_size=8),
        log=lambda _: None,
    )


def store(client: Any, keys: dict[str, str], candles: Candles) -> None:
    """Post ``candles`` as an app would (one batch of at most 1,000)."""
    rows = [
        {"open_time": int(t), "open": o, "high": h, "low": lo, "close": c, "volume": v}
        for t, o, h, lo, c, v in zip(
            candles.open_time.astype(np.int64).tolist(),
            candles.open.tolist(),
            candles.high.tolist(),
            candles.low.tolist(),
            candles.close.tolist(),
            candles.volume.tolist(),
            strict=True,
        )
    ]
    body = {"symbol": SYMBOL, "interval": "1d", "candles": rows}
    response = call(client, "POST", "/v1/market/candles", key=keys["ingest"], body=body)
    assert response.status_code == 200, response.body


def recent(n: int, seed: int = 0) -> Candles:
    """``n`` daily candles whose last opened yesterday (UTC)."""
    today = np.datetime64(utcnow().date().isoformat(), "D")
    return synthetic_candles(n, seed, start=str(today - np.timedelta64(n, "D")))


@pytest.fixture
def stored_candles(client: Any, keys: dict[str, str]) -> Candles:
    candles = recent(420)
    store(client, keys, candles)
    return candles


def publish(tables: Any, s3: Any, training: Any, *, minute: int = 0, edit: Any = None) -> Any:
    version = new_version(T0.replace(minute=minute))
    name = forecast_serving.forecast_model_name(SYMBOL)
    evaluation = write_evaluation_set(s3, tables.settings.bucket, name, training)
    name, files, manifest = build_artifact(training, version=version, evaluation=evaluation)
    if edit is not None:
        edit(manifest)
    keys = write_artifact(s3, tables.settings.bucket, name, version, files, manifest)
    return register_model(tables, s3, bucket=tables.settings.bucket, key=keys[-1], now=T0)


def get(client: Any, key: str | None, symbol: str = SYMBOL) -> Any:
    return call(client, "GET", f"/v1/market/{symbol}/forecast", key=key)


def test_no_production_forecast_is_409(
    client: Any, keys: dict[str, str], stored_candles: Candles
) -> None:
    response = get(client, keys["read"])
    assert response.status_code == 409
    assert error_of(response)["code"] == "no_production_model"


def test_the_route_serves_the_members_predictions_from_onnx(
    client: Any,
    keys: dict[str, str],
    tables: Any,
    s3: Any,
    training: Any,
    stored_candles: Candles,
) -> None:
    result = publish(tables, s3, training)
    assert (result.status, result.promoted) == ("production", True), result.reason
    response = get(client, keys["read"])
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert (body["symbol"], body["model"], body["version"]) == (
        SYMBOL,
        "price_forecast_btc-usd",
        result.version,
    )
    last = np.datetime_as_string(stored_candles.open_time[-1], unit="s")
    assert body["as_of"] == f"{last}Z"  # the last stored candle
    assert body["close"] == pytest.approx(stored_candles.close[-1], rel=1e-7)
    # what the in-memory (scikit-learn / torch) members predict from the same candles
    X = build_features(
        stored_candles.close, stored_candles.high, stored_candles.low, stored_candles.volume
    )
    last = np.array([len(X) - 1])
    expected = {
        "gbm": float(training.members["gbm"].predict(X[last])[0]),
        "lstm": float(training.members["lstm"].predict(sequences(X, last, WINDOW))[0]),
    }
    weights = body["weights"]
    assert weights == pytest.approx(training.weights)
    for member, value in expected.items():
        served = body["members"][member]
        assert served["log_return"] == pytest.approx(value, abs=1e-6)
        assert served["interval"]["lower"] < served["close"] < served["interval"]["upper"]
    ensemble = sum(weights[m] * v for m, v in expected.items())
    prediction = body["prediction"]
    assert prediction["log_return"] == pytest.approx(ensemble, abs=1e-6)
    assert prediction["close"] == pytest.approx(body["close"] * math.exp(ensemble), rel=1e-6)
    interval = prediction["interval"]
    assert interval["coverage"] == 0.8
    assert interval["lower"] < prediction["close"] < interval["upper"]


def test_a_second_version_is_compared_on_the_same_holdout_candles(
    tables: Any, s3: Any, training: Any
) -> None:
    first = publish(tables, s3, training)
    assert first.status == "production"
    second = publish(tables, s3, training, minute=30)
    comparison = second.comparison or {}
    assert comparison["metric"] == "mae"
    assert comparison["production_version"] == first.version
    # the same twins on the same 30 hold-out candles: a tie, so the newer version wins
    assert comparison["rows"] == len(training.evaluation["y"]) == 30
    assert comparison["candidate"] == pytest.approx(comparison["production"])
    assert (comparison["rule"], comparison["decision"]) == ("not_worse", "promote")
    assert second.status == "production"


def test_weights_that_do_not_sum_to_one_are_rejected(tables: Any, s3: Any, training: Any) -> None:
    def edit(manifest: dict[str, Any]) -> None:
        manifest["extra"]["weights"] = {"gbm": 0.9, "lstm": 0.9}

    result = publish(tables, s3, training, edit=edit)
    assert result.status == "rejected"
    assert "extra.weights" in (result.reason or "")


@pytest.mark.parametrize("symbol", ["BTC.USD", "A" * 33, "-BTC"])
def test_a_bad_symbol_is_422_naming_it(
    client: Any, keys: dict[str, str], symbol: str, stored_candles: Candles
) -> None:
    response = get(client, keys["read"], symbol)
    assert response.status_code == 422, response.body
    assert [d["field"] for d in error_of(response)["details"]] == ["symbol"]


def test_too_few_stored_candles_is_409(
    client: Any,
    keys: dict[str, str],
    tables: Any,
    s3: Any,
    training: Any,
) -> None:
    assert publish(tables, s3, training).status == "production"
    store(client, keys, recent(40))
    response = get(client, keys["read"])
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_enough_candles"
    assert "40" in error["message"]


def test_the_route_needs_the_read_scope(client: Any, keys: dict[str, str]) -> None:
    assert get(client, None).status_code == 401
    assert get(client, keys["ingest"]).status_code == 403


# --- drift: the production forecast on recent candles ----------------------------------------


def served_model(training: Any) -> Any:
    import onnxruntime as ort

    sessions = {
        m: ort.InferenceSession(training.onnx[f"{m}.onnx"], providers=["CPUExecutionProvider"])
        for m in ("gbm", "lstm")
    }
    return forecast_serving.PriceForecastModel(
        name="price_forecast_btc-usd",
        version="20261120T090000Z",
        symbol=SYMBOL,
        interval="1d",
        window=WINDOW,
        feature_names=tuple(training.evaluation["feature_names"]),
        weights=training.weights,
        quantiles=training.quantiles,
        coverage=0.8,
        sessions=sessions,
    )


def test_drift_is_quiet_on_candles_like_the_training_ones_and_alerts_on_a_wilder_market(
    training: Any,
) -> None:
    from learnloop.drift.forecast import forecast_drift
    from learnloop.models.evaluation import decode_set, encode_set

    model = served_model(training)
    _, _, manifest = build_artifact(training, version=new_version(T0))
    reference = decode_set(encode_set(training.reference))  # as the artifact stores it
    calm = synthetic_candles(420, seed=5)  # the same process, other draws
    report, alerts = forecast_drift(model, manifest, reference, calm)
    assert report["recent_rows"] == 90
    assert alerts == [], alerts
    assert 0.6 <= report["performance"]["coverage"] <= 1.0

    wild = synthetic_candles(420, seed=5)
    returns = np.diff(np.log(wild.close))
    returns[-120:] *= 6.0  # the last 120 days six times as volatile
    close = wild.close[0] * np.exp(np.r_[0.0, np.cumsum(returns)])
    wild = Candles(
        SYMBOL, "1d", wild.open_time, close, close * 1.01, close * 0.99, close, wild.volume
    )
    report, alerts = forecast_drift(model, manifest, reference, wild)
    flagged = {(a["metric"], a.get("feature")) for a in alerts}
    assert ("psi", "ret_1") in flagged and ("mae", None) in flagged, flagged
    assert report["performance"]["mae"] > 3 * report["performance"]["training_mae"]


def test_drift_skips_a_forecast_with_too_few_recent_candles(training: Any) -> None:
    from learnloop.drift.forecast import forecast_drift

    report, alerts = forecast_drift(
        served_model(training), {}, training.reference, synthetic_candles(80)
    )
    assert alerts == [] and "needs at least 30" in report["skipped"]


def test_the_drift_check_watches_each_stored_forecast_and_requests_its_retrain(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, training: Any
) -> None:
    from learnloop.jobs import run_job
    from learnloop_tools.local.retrain import run_pending_retrains

    assert publish(tables, s3, training).status == "production"
    calm = recent(420, seed=5)
    returns = np.diff(np.log(calm.close))
    returns[-120:] *= 6.0  # the last 120 days six times as volatile as training's market
    close = calm.close[0] * np.exp(np.r_[0.0, np.cumsum(returns)])
    wild = Candles(
        SYMBOL, "1d", calm.open_time, close, close * 1.01, close * 0.99, close, calm.volume
    )
    store(client, keys, wild)
    result = run_job("drift_check", tables, utcnow(), s3=s3)
    name = forecast_serving.forecast_model_name(SYMBOL)
    assert result["models"][name]["recent_rows"] == 90
    alerts = [a for a in result["alerts"] if a["model"] == name]
    assert ("mae", SYMBOL) in {(a["metric"], a["symbol"]) for a in alerts}
    [action] = [a for a in result["actions"] if a["model"] == name]
    assert (action["action"], action["symbol"]) == ("retrain_requested", SYMBOL)
    # The local stack runs the symbol's job (on AWS the stack's rule starts its task).
    ran: list[tuple[str, list[str]]] = []

    def record(job: str, args: Any) -> int:
        ran.append((job, list(args)))
        return 1

    run_pending_retrains(tables, s3, run=record, missing=lambda job: None)
    assert ran == [("price_forecast", ["--symbol", SYMBOL])]


def test_a_run_without_symbols_trains_every_stored_series_of_its_interval(
    client: Any, keys: dict[str, str], tables: Any
) -> None:
    from training_jobs.price_forecast.job import stored_symbols

    assert stored_symbols(tables.settings, "1d") == []
    store(client, keys, recent(3))
    rows = [
        {
            "open_time": "2026-01-01T00:00:00Z",
            "open": 1,
            "high": 1,
            "low": 1,
            "close": 1,
            "volume": 1,
        }
    ]
    body = {"symbol": "ETH-USD", "interval": "1h", "candles": rows}
    assert (
        call(client, "POST", "/v1/market/candles", key=keys["ingest"], body=body).status_code == 200
    )
    assert stored_symbols(tables.settings, "1d") == [SYMBOL]
    assert stored_symbols(tables.settings, "1h") == ["ETH-USD"]

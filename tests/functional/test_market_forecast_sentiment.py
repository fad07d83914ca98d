"""A forecast trained with text sentiment serves with the same sentiment columns (issue 16).

The job trains (small members) on synthetic candles with generated daily sentiment for
``BTC`` (what ``BTC-USD`` maps to), the version is registered and promoted; texts naming
``btc`` are posted over HTTP (scored by the real lexicon), candles too. The route must then
serve what the in-memory members predict from features whose sentiment columns are computed
here by hand from the texts' returned polarities; the job's own store read gives the same
days.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from support.api import call
from support.model_drops import T0

from learnloop.clock import utcnow
from learnloop.market.forecast import serving as forecast_serving
from learnloop.market.forecast.features import (
    SENTIMENT_FEATURE_NAMES,
    build_features,
    sentiment_features,
    sequences,
)
from learnloop.models.artifacts import new_version, write_artifact
from learnloop.models.registration import register_model
from training_jobs.price_forecast.job import (
    Candles,
    build_artifact,
    read_stored_sentiment,
    train_price_forecast,
    write_evaluation_set,
)
from training_jobs.price_forecast.members import GradientBoostingMember, LSTMMember

SYMBOL = "BTC-USD"
WINDOW = 5
N = 320


def recent_candles() -> Candles:
    """``N`` daily candles whose last opened yesterday (UTC)."""
    rng = np.random.default_rng(0)
    today = np.datetime64(utcnow().date().isoformat(), "D")
    opened = (today - np.timedelta64(N, "D")).astype("datetime64[s]") + np.arange(
        N
    ) * np.timedelta64(86400, "s")
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, N)))
    spread = np.abs(rng.normal(0.0, 0.01, N))
    return Candles(
        SYMBOL, "1d", opened, close, close * (1 + spread), close * (1 - spread), close,
        rng.uniform(1e6, 2e6, N),
    )  # fmt: skip


def generated_daily(candles: Candles) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(1)
    return {
        str(t.astype("datetime64[D]")): {
            "score": float(rng.uniform(-1, 1)),
            "mean": float(rng.uniform(-1, 1)),
            "count": int(rng.integers(1, 30)),
        }
        for t in candles.open_time
    }


@pytest.fixture(scope="module")
def training() -> Any:
    candles = recent_candles()
    return train_price_forecast(
        candles,
        eval_rows=30,
        step=30,
        warmup_folds=1,
        window=WINDOW,
        gbm=lambda: GradientBoostingMember(n_estimators=15),
        lstm=lambda: LSTMMember(max_epochs=2, hidden_size=8),
        log=lambda _: None,
        sentiment=generated_daily(candles),
        sentiment_symbol="BTC",
    )


def store_candles(client: Any, keys: dict[str, str], candles: Candles) -> None:
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


WORDS = {
    "news": ["Bitcoin rallies as demand surges and profits soar", "BTC crashes, losses mount"],
    "twitter": ["btc pumping, great gains today", "BTC dumped overnight, rekt"],
}


def post_texts(client: Any, keys: dict[str, str], days: list[str]) -> dict[str, Any]:
    """Texts naming ``btc`` on each of ``days`` (news and twitter, a different mix each day);
    the hand-computed daily sentiment from the polarities the route returns."""
    items = []
    for d, day in enumerate(days):
        for i in range(d % 3 + 1):
            for source, phrases in WORDS.items():
                items.append(
                    {
                        "text_id": f"{day}-{source}-{i}",
                        "source": source,
                        "text": phrases[(d + i) % 2],
                        "symbols": ["btc"],
                        "published_at": f"{day}T{10 + i:02d}:00:00Z",
                    }
                )
    response = call(client, "POST", "/v1/texts", key=keys["ingest"], body={"texts": items})
    assert response.status_code == 200, response.body
    polarity = {r["text_id"]: r["polarity"] for r in json.loads(response.body)["results"]}
    weights = {"news": 0.4, "twitter": 0.3}
    daily: dict[str, Any] = {}
    for day in days:
        by_source = {
            s: [p for t, p in polarity.items() if t.startswith(f"{day}-{s}-")] for s in weights
        }
        means = {s: sum(v) / len(v) for s, v in by_source.items()}
        values = [p for v in by_source.values() for p in v]
        daily[day] = {
            "score": sum(weights[s] * m for s, m in means.items()) / sum(weights.values()),
            "mean": sum(values) / len(values),
            "count": len(values),
        }
    return daily


def publish(tables: Any, s3: Any, training: Any) -> Any:
    version = new_version(T0)
    name = forecast_serving.forecast_model_name(SYMBOL)
    evaluation = write_evaluation_set(s3, tables.settings.bucket, name, training)
    name, files, manifest = build_artifact(training, version=version, evaluation=evaluation)
    keys = write_artifact(s3, tables.settings.bucket, name, version, files, manifest)
    return register_model(tables, s3, bucket=tables.settings.bucket, key=keys[-1], now=T0)


def expected(training: Any, candles: Candles, daily: Any) -> dict[str, float]:
    columns = sentiment_features(candles.open_time, 86400, daily)
    X = build_features(candles.close, candles.high, candles.low, candles.volume, columns)
    last = np.array([len(X) - 1])
    return {
        "gbm": float(training.members["gbm"].predict(X[last])[0]),
        "lstm": float(training.members["lstm"].predict(sequences(X, last, WINDOW))[0]),
    }


def test_the_route_builds_the_sentiment_columns_training_built(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, training: Any
) -> None:
    assert training.feature_names[-3:] == SENTIMENT_FEATURE_NAMES
    result = publish(tables, s3, training)
    assert (result.status, result.promoted) == ("production", True), result.reason
    candles = recent_candles()
    store_candles(client, keys, candles)
    days = [str(t.astype("datetime64[D]")) for t in candles.open_time[-WINDOW:]]
    daily = post_texts(client, keys, days)
    assert len({round(v["score"], 6) for v in daily.values()}) > 1  # the days differ

    response = call(client, "GET", f"/v1/market/{SYMBOL}/forecast", key=keys["read"])
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    want = expected(training, candles, daily)
    for member, value in want.items():
        assert body["members"][member]["log_return"] == pytest.approx(value, abs=1e-6)
    ensemble = sum(body["weights"][m] * v for m, v in want.items())
    assert body["prediction"]["log_return"] == pytest.approx(ensemble, abs=1e-6)
    assert body["prediction"]["close"] == pytest.approx(body["close"] * math.exp(ensemble))
    # the texts moved the forecast: without them the members say something else
    blind = expected(training, candles, {})
    assert any(abs(blind[m] - want[m]) > 1e-6 for m in want)

    # the job's store read (what a retrain on this stage reads) finds the same days
    symbol, stored = read_stored_sentiment(candles, tables.settings)
    assert symbol == "BTC"
    assert sorted(stored) == days
    for day in days:
        assert stored[day]["count"] == daily[day]["count"]
        assert stored[day]["score"] == pytest.approx(daily[day]["score"], abs=1e-6)
        assert stored[day]["mean"] == pytest.approx(daily[day]["mean"], abs=1e-6)


def test_a_sentiment_version_serves_without_texts_as_days_without_texts(
    client: Any, keys: dict[str, str], tables: Any, s3: Any, training: Any
) -> None:
    assert publish(tables, s3, training).status == "production"
    candles = recent_candles()
    store_candles(client, keys, candles)
    response = call(client, "GET", f"/v1/market/{SYMBOL}/forecast", key=keys["read"])
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    for member, value in expected(training, candles, {}).items():
        assert body["members"][member]["log_return"] == pytest.approx(value, abs=1e-6)


def test_drift_builds_the_sentiment_columns_too(training: Any) -> None:
    import onnxruntime as ort

    from learnloop.drift.forecast import forecast_drift

    sessions = {
        m: ort.InferenceSession(training.onnx[f"{m}.onnx"], providers=["CPUExecutionProvider"])
        for m in ("gbm", "lstm")
    }
    model = forecast_serving.PriceForecastModel(
        name="price_forecast_btc-usd",
        version="20261120T090000Z",
        symbol=SYMBOL,
        interval="1d",
        window=WINDOW,
        feature_names=training.feature_names,
        weights=training.weights,
        quantiles=training.quantiles,
        coverage=0.8,
        sessions=sessions,
        sentiment_symbol="BTC",
    )
    _, _, manifest = build_artifact(training, version=new_version(T0))
    candles = recent_candles()
    report, alerts = forecast_drift(model, manifest, training.reference, candles)
    assert report["skipped"] == "no text sentiment was read"
    assert alerts == []
    report, _ = forecast_drift(
        model, manifest, training.reference, candles, sentiment=generated_daily(candles)
    )
    assert report["recent_rows"] == 90
    assert set(SENTIMENT_FEATURE_NAMES) <= set(report["features"])  # PSI reported, no alert
    # the training candles and sentiment again: the ensemble's error is the walk-forward's kind
    assert report["performance"]["mae"] > 0

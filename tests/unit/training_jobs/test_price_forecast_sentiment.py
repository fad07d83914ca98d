"""The price forecast uses the asset's daily text sentiment when the stage has it (issue 16).

On a generated series where yesterday's sentiment moves today's return, the walk-forward error
with the sentiment columns is lower than without them; with too few days of texts, or none,
the job trains exactly the model it trained before (same columns, same predictions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from learnloop.market.forecast.features import FEATURE_NAMES, SENTIMENT_FEATURE_NAMES
from training_jobs.price_forecast.job import Candles, build_artifact, train_price_forecast
from training_jobs.price_forecast.members import GradientBoostingMember, LSTMMember

N = 420


def leading_series(seed: int = 0) -> tuple[Candles, dict[str, dict[str, float]]]:
    """Daily candles whose return on day d + 1 is 1.5 % x the sentiment score of day d, plus
    1 % noise: sentiment leads returns, candles alone cannot forecast them."""
    rng = np.random.default_rng(seed)
    score = np.tanh(rng.normal(0.0, 1.0, N))
    returns = np.empty(N)
    returns[0] = 0.0
    returns[1:] = 0.015 * score[:-1] + rng.normal(0.0, 0.01, N - 1)
    close = 100.0 * np.exp(np.cumsum(returns))
    spread = np.abs(rng.normal(0.0, 0.01, N))
    opened = np.datetime64("2020-01-01T00:00:00", "s") + np.arange(N) * np.timedelta64(86400, "s")
    candles = Candles(
        "BTC-USD", "1d", opened, close, close * (1 + spread), close * (1 - spread), close,
        rng.uniform(1e6, 2e6, N),
    )  # fmt: skip
    daily = {
        str(opened[d].astype("datetime64[D]")): {
            "score": float(score[d]),
            "mean": float(score[d] + rng.normal(0.0, 0.1)),
            "count": int(rng.integers(5, 40)),
        }
        for d in range(N)
    }
    return candles, daily


def train(candles: Candles, sentiment: Any = None, **kwargs: Any) -> Any:
    return train_price_forecast(
        candles,
        eval_rows=90,
        step=30,
        warmup_folds=1,
        window=5,
        gbm=lambda: GradientBoostingMember(n_estimators=40),
        lstm=lambda: LSTMMember(max_epochs=2, hidden_size=8),
        log=lambda _: None,
        sentiment=sentiment,
        sentiment_symbol="BTC" if sentiment is not None else None,
        **kwargs,
    )


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    candles, daily = leading_series()
    return {"without": train(candles), "with": train(candles, daily), "daily": daily}


def test_sentiment_that_leads_returns_lowers_the_walk_forward_error(runs: dict[str, Any]) -> None:
    without, with_ = runs["without"].scores, runs["with"].scores
    # the GBM reads the columns directly: most of the return's variance is sentiment
    assert with_["gbm"]["mae_log_return"] < 0.8 * without["gbm"]["mae_log_return"]
    assert with_["ensemble"]["mae_log_return"] < without["ensemble"]["mae_log_return"]
    # without it nothing beats persistence by much; with it the forecast does
    assert with_["gbm"]["mae_ratio"] < 0.9 <= without["gbm"]["mae_ratio"] + 0.1


def test_the_version_records_the_columns_and_the_symbol_serving_reads(
    runs: dict[str, Any],
) -> None:
    training = runs["with"]
    assert training.feature_names == FEATURE_NAMES + SENTIMENT_FEATURE_NAMES
    assert training.sentiment == {
        "symbol": "BTC",
        "days": N,
        "features": list(SENTIMENT_FEATURE_NAMES),
    }
    assert training.evaluation["X"].shape[1] == len(FEATURE_NAMES) + 3
    _, _, manifest = build_artifact(training, version="20261207T000000Z")
    assert manifest["feature_names"] == list(FEATURE_NAMES + SENTIMENT_FEATURE_NAMES)
    assert manifest["extra"]["sentiment"]["symbol"] == "BTC"
    _, _, plain = build_artifact(runs["without"], version="20261207T000000Z")
    assert plain["feature_names"] == list(FEATURE_NAMES)
    assert plain["extra"]["sentiment"] is None


def test_too_few_days_of_texts_train_the_model_without_sentiment(runs: dict[str, Any]) -> None:
    candles, daily = leading_series()
    few = dict(list(daily.items())[-29:])  # 29 days < MIN_SENTIMENT_DAYS (30)
    training = train(candles, few)
    assert training.feature_names == FEATURE_NAMES
    assert training.sentiment is None
    assert training.scores == runs["without"].scores  # the same model, the same figures
    # 30 days is enough
    assert train(candles, few, min_sentiment_days=29).sentiment is not None

"""``GET /v1/market/{symbol}/forecast``: the next candle's close, from the production ONNX.

Each symbol has its own model, ``price_forecast_{symbol}`` (:func:`forecast_model_name`;
``learnloop train price_forecast`` publishes it, registration checks and promotes it as the
``price_forecast`` kind). The route reads the symbol's latest candles from storage
(:func:`recent_candles`, the one call into the candle store), builds the feature rows
(:mod:`learnloop.market.forecast.features`), runs both members' ONNX with onnxruntime, combines
them with the weights the training job learned from recent out-of-sample error and returns
the conformal interval around each (``prediction ± q * vol_20``). numpy and onnxruntime only;
both arrive with the first request.

A version trained with text sentiment (``extra.sentiment.symbol``, see the job) also reads
that symbol's daily sentiment for the days its last window of candles uses (the ``sentiment``
reader, :func:`learnloop.sentiment.daily.daily_sentiment` in the app) and builds the same
columns as training; a version without it reads no texts.

Examples
--------
>>> forecast_model_name("BTC-USD")
'price_forecast_btc-usd'
>>> forecast(services.forecast_cache, "BTC-USD", candles=reader)  # doctest: +SKIP
{'symbol': 'BTC-USD', 'model': 'price_forecast_btc-usd', 'version': '20261207T010000Z',
 'interval': '1d', 'as_of': '2021-08-24T00:00:00Z', 'close': 48531.83,
 'prediction': {'log_return': 0.0009, 'close': 48575.5,
                'interval': {'coverage': 0.8, 'lower': 46210.1, 'upper': 51060.2}},
 'members': {'gbm': {...}, 'lstm': {...}}, 'weights': {'gbm': 0.52, 'lstm': 0.48}}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import StringConstraints

from learnloop.clock import utcnow
from learnloop.exceptions import ConflictError, ModelLoadError
from learnloop.models.kinds import FORECAST_MEMBERS, ArtifactRejectedError, check_price_forecast
from learnloop.validation import Strict, validate

if TYPE_CHECKING:
    import numpy as np

    from learnloop.models.cache import ProductionRef, S3ArtifactLoader, VersionCache
    from learnloop.settings import Settings

__all__ = [
    "FORECAST_PREFIX",
    "INTERVAL_SECONDS",
    "SYMBOL_PATTERN",
    "ForecastIn",
    "NotEnoughCandlesError",
    "PriceForecastModel",
    "forecast",
    "forecast_model_name",
    "load_forecast_artifact",
    "recent_candles",
]

FORECAST_PREFIX = "price_forecast_"
#: A ticker as exchanges and Yahoo write them: ``BTC-USD``, ``BTCUSDT``, ``ETH_USD``.
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
INTERVAL_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
#: Candles read beyond the feature warm-up and the LSTM window. ``close_ema_50`` depends on
#: every earlier close; after 360 more its start weighs (49/51) ** 360 < 1e-6, so serving
#: computes the features training computed on the whole history (and gaps are covered).
SERVING_HISTORY = 360

Symbol = Annotated[str, StringConstraints(pattern=SYMBOL_PATTERN)]


class ForecastIn(Strict):
    """The path: ``symbol`` (letters, digits, ``-``, ``_``; at most 32)."""

    symbol: Symbol


class NotEnoughCandlesError(ConflictError):
    """The store holds too few recent candles of the symbol to build one feature window."""

    code = "not_enough_candles"


def forecast_model_name(symbol: str) -> str:
    """The registry name of ``symbol``'s forecast model.

    Examples
    --------
    >>> forecast_model_name("eth_usd")
    'price_forecast_eth_usd'
    """
    return FORECAST_PREFIX + re.sub(r"[^a-z0-9_-]", "-", symbol.lower())


@dataclass(frozen=True, eq=False)
class PriceForecastModel:
    """One loaded forecast version: both members' sessions and what combines them."""

    name: str
    version: str
    symbol: str
    interval: str
    window: int
    feature_names: tuple[str, ...]
    weights: dict[str, float]
    quantiles: dict[str, float]
    coverage: float
    sessions: dict[str, Any]
    #: The text symbol whose daily sentiment the last features are; None: no sentiment.
    sentiment_symbol: str | None = None

    def predict(self, X: np.ndarray) -> dict[str, float]:
        """Each member's predicted log return from the last ``window`` feature rows ``X``."""
        import numpy as np

        rows = np.asarray(X, dtype=np.float32)
        feeds = {"gbm": rows[-1:], "lstm": rows[None, -self.window :, :]}
        out: dict[str, float] = {}
        for member, session in self.sessions.items():
            [values] = session.run(None, {session.get_inputs()[0].name: feeds[member]})[:1]
            out[member] = float(np.asarray(values).reshape(-1)[0])
        return out


def load_forecast_artifact(loader: S3ArtifactLoader, ref: ProductionRef) -> PriceForecastModel:
    """Read a forecast version (sha256-verified), check it as registration did and open its
    serving members.

    Raises
    ------
    ModelLoadError
        The files are unreadable or fail the ``price_forecast`` checks.
    """
    import onnxruntime as ort

    only = tuple(pair[0] for pair in FORECAST_MEMBERS.values())
    manifest, files = loader.read_artifact(ref, only=only)
    try:
        check_price_forecast(files, manifest)
    except ArtifactRejectedError as exc:
        raise ModelLoadError(f"{ref.name} {ref.version}: {exc.reason}") from exc
    extra = manifest["extra"]
    sessions = {
        member: ort.InferenceSession(files[pair[0]], providers=["CPUExecutionProvider"])
        for member, pair in FORECAST_MEMBERS.items()
    }
    return PriceForecastModel(
        name=ref.name,
        version=ref.version,
        symbol=str(extra["symbol"]),
        interval=str(extra.get("interval", "1d")),
        window=int(extra["window"]),
        feature_names=tuple(manifest["feature_names"]),
        weights={k: float(v) for k, v in extra["weights"].items()},
        quantiles={k: float(v) for k, v in extra["quantiles"].items()},
        coverage=float(extra.get("coverage", 0.8)),
        sessions=sessions,
        sentiment_symbol=(extra.get("sentiment") or {}).get("symbol"),
    )


CandleReader = Callable[[str, str, int], Any]
#: ``sentiment(text symbol, first day, last day)`` → ``{"YYYY-MM-DD": {"score", "mean",
#: "count"}}``.
SentimentReader = Callable[[str, date, date], Any]


def recent_candles(settings: Settings, symbol: str, interval: str, count: int) -> Any:
    """The symbol's candles of the last ``count`` intervals from the candle store (the one
    call into :func:`learnloop.market.candles.read_candles`): an object with ``open_time``,
    ``high``, ``low``, ``close``, ``volume`` arrays, oldest first."""
    from learnloop.market.candles import read_candles

    end = utcnow()
    start = end - timedelta(seconds=INTERVAL_SECONDS.get(interval, 86400) * count)
    return read_candles(symbol, interval, start, end, settings=settings)


def forecast(
    cache: VersionCache[PriceForecastModel],
    symbol: str,
    *,
    candles: CandleReader,
    sentiment: SentimentReader | None = None,
) -> dict[str, Any]:
    """The next candle's forecast for ``symbol``.

    Parameters
    ----------
    cache : VersionCache
        The container's forecast models.
    symbol : str
        From the path.
    candles : callable
        ``candles(symbol, interval, count)`` → the latest candles (see :func:`recent_candles`).
    sentiment : callable, optional
        ``sentiment(symbol, first, last)`` → daily text sentiment; called only for a version
        trained with it (which fails without it).

    Returns
    -------
    dict
        ``{"symbol", "model", "version", "interval", "as_of", "close", "prediction": {
        "log_return", "close", "interval": {"coverage", "lower", "upper"}}, "members": {name:
        same shape}, "weights"}``: ``as_of`` is the open time of the last candle used;
        ``close`` its close, the price the forecast starts from.

    Raises
    ------
    ValidationError
        ``symbol`` is not a ticker (422 naming ``symbol``).
    NoProductionModelError
        The symbol has no production forecast (409).
    NotEnoughCandlesError
        Too few stored candles to build the features (409).
    """
    import numpy as np

    from learnloop.market.forecast.features import (
        VOLATILITY_FEATURE,
        WARMUP,
        build_features,
        sentiment_days,
        sentiment_features,
    )

    request = validate(ForecastIn, {"symbol": symbol})
    model = cache.get(forecast_model_name(request.symbol))
    needed = WARMUP + model.window
    series = candles(request.symbol, model.interval, needed + SERVING_HISTORY)
    close = np.asarray(series.close, dtype=np.float64)
    if len(close) < needed:
        raise NotEnoughCandlesError(
            f"{request.symbol} has {len(close)} recent {model.interval} candles; the forecast "
            f"needs {needed}",
            details=[{"field": "symbol", "message": f"{len(close)} of {needed} candles"}],
        )
    columns = None
    if model.sentiment_symbol is not None:
        if sentiment is None:
            raise ModelLoadError(f"{model.name} {model.version} needs a text sentiment reader")
        opened = np.asarray(series.open_time)
        seconds = INTERVAL_SECONDS.get(model.interval, 86400)
        # only the last window's rows reach the members: read the days they use
        days = sentiment_days(opened[-model.window :], seconds)
        daily = sentiment(model.sentiment_symbol, days[0].astype(object), days[-1].astype(object))
        columns = sentiment_features(opened, seconds, daily)
    X = build_features(close, series.high, series.low, series.volume, columns)[-model.window :]
    if not np.isfinite(X).all():
        raise NotEnoughCandlesError(
            f"{request.symbol}'s latest {model.window} candles give incomplete features"
        )
    members = model.predict(X)
    ensemble = sum(model.weights[m] * members[m] for m in members)
    scale = max(float(X[-1, model.feature_names.index(VOLATILITY_FEATURE)]), 1e-4)
    last = float(close[-1])

    def point(log_return: float, q: float) -> dict[str, Any]:
        return {
            "log_return": round(log_return, 8),
            "close": _price(last * math.exp(log_return)),
            "interval": {
                "coverage": model.coverage,
                "lower": _price(last * math.exp(log_return - q * scale)),
                "upper": _price(last * math.exp(log_return + q * scale)),
            },
        }

    opened = np.asarray(series.open_time).astype("datetime64[s]")[-1]
    as_of = datetime.fromtimestamp(int(opened.astype(np.int64)), tz=UTC)
    return {
        "symbol": request.symbol,
        "model": model.name,
        "version": model.version,
        "interval": model.interval,
        "as_of": as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "close": _price(last),
        "prediction": point(ensemble, model.quantiles["ensemble"]),
        "members": {m: point(v, model.quantiles[m]) for m, v in members.items()},
        "weights": dict(model.weights),
    }


def _price(value: float) -> float:
    return float(f"{value:.8g}")

"""Markets: figures about coins and prices.

- ``coin_sentiment``: ``GET /v1/sentiment/market``, per-coin sentiment from users' reactions as
  the daily rollups counted it.
- ``candle_store``: ``POST /v1/market/candles`` and the ``candles`` table's keys (no numpy: the
  ingest path).
- ``candles``: :class:`~learnloop.market.candles.CandleSeries`, ``read_candles`` and
  ``parse_candles_file``: what everything below (and the forecasts) reads prices through.
- ``indicators``: TA-Lib indicators and ``GET /v1/market/{symbol}/indicators``.
- ``risk``: VaR, CVaR, ratios, drawdown, beta, position sizes; ``POST /v1/risk/metrics``.
- ``anomalies``: the ``market_anomalies`` job and ``GET /v1/market/anomalies``.
- ``risk_profile``: ``GET /v1/users/{user_id}/risk-profile`` from journal trades.
- ``forecast``: next-candle price forecasts (features, walk-forward evaluation, the ensemble,
  and ``GET /v1/market/{symbol}/forecast`` served from ONNX).
"""

from __future__ import annotations

__all__: list[str] = []

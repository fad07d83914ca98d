"""Next-candle price forecasts, one module per step (numpy; serving adds onnxruntime).

- ``features``: feature rows and targets from candles (and daily text sentiment), no look-ahead.
- ``evaluation``: walk-forward scores against the naive baselines.
- ``ensemble``: the members' weights from recent out-of-sample error, conformal intervals.
- ``serving``: ``GET /v1/market/{symbol}/forecast`` from the production ONNX.
"""

from __future__ import annotations

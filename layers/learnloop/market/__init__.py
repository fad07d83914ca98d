"""Markets: figures about coins and prices.

- ``coin_sentiment``: ``GET /v1/sentiment/market``, per-coin sentiment from users' reactions as
  the daily rollups counted it.
"""

from __future__ import annotations

__all__: list[str] = []

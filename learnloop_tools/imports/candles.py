"""``learnloop import candles FILE|s3://bucket/key``: a CSV or JSON Lines file of candles.

The whole file is checked before the first write (a bad row stops the import with every
bad row named), then written in batches: the same puts as ``POST /v1/market/candles``, so
importing a file twice stores each candle once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from learnloop.market.candle_store import write_candles
from learnloop.market.candles import parse_candles
from learnloop.store.tables import Tables
from learnloop_tools.imports.source import DEFAULT_BATCH_SIZE, read_source, write_in_batches


def import_candles(
    source: str | Path,
    tables: Tables,
    *,
    symbol: str | None = None,
    interval: str = "1d",
    batch_size: int = DEFAULT_BATCH_SIZE,
    s3: Any | None = None,
    progress: Callable[[int], None] | None = None,
    on_parsed: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Import the candles of ``source`` into the stage of ``tables``.

    Parameters
    ----------
    source
        A local path or ``s3://bucket/key``.
    tables
        The stage's tables.
    symbol, interval
        As :func:`learnloop.market.candles.parse_candles_file` takes them.
    batch_size
        Candles per write.
    s3
        An S3 client (default: the stage's).
    progress, on_parsed
        Told each written batch's size, and the number of candles to write.

    Returns
    -------
    dict
        ``{"source", "symbol", "interval", "lines", "skipped_lines", "stored", "first",
        "last"}``.

    Examples
    --------
    >>> import_candles("BTC-USD-daily.csv", tables)  # doctest: +SKIP
    {'source': 'BTC-USD-daily.csv', 'symbol': 'BTC-USD', 'interval': '1d', 'lines': 2534, ...}
    """
    data, name = read_source(source, settings=tables.settings, s3=s3)
    parsed = parse_candles(data, symbol=symbol, interval=interval, name=name)
    series = parsed.series
    rows = list(series.rows())
    if on_parsed is not None:
        on_parsed(len(rows))
    stored = write_in_batches(
        rows,
        lambda chunk: write_candles(tables, series.symbol, series.interval, chunk),
        batch_size=batch_size,
        progress=progress,
    )
    times = series.iso_times()
    return {
        "source": str(source),
        "symbol": series.symbol,
        "interval": series.interval,
        "lines": parsed.lines,
        "skipped_lines": parsed.skipped_lines,
        "stored": stored,
        "first": times[0] if times else None,
        "last": times[-1] if times else None,
    }

"""Candle series as numpy arrays: read from the store, or parsed from a CSV or JSON Lines file.

This is the contract the indicators, risk, anomaly and forecast code read prices through:
a frozen :class:`CandleSeries` (sorted by ``open_time``, no duplicates), :func:`read_candles`
(``start <= open_time < end`` from the stage's ``candles`` table) and
:func:`parse_candles_file` (Yahoo-style ``Date,Open,High,Low,Close,Adj Close,Volume``, a plain
``open_time,open,high,low,close,volume`` CSV, or JSON Lines with the plain keys). Writing goes
through :mod:`learnloop.market.candle_store`, which has no numpy (the ingest Lambda's).

Examples
--------
>>> text = (b"open_time,open,high,low,close,volume\\n"
...         b"2026-01-02,2,3,1,2.5,10\\n2026-01-01,1,2,1,2,5\\n")
>>> series = parse_candles_file(text, symbol="btc-usd")
>>> series.symbol, len(series), series.close.tolist()
('BTC-USD', 2, [2.0, 2.5])
>>> str(series.open_time[0])
'2026-01-01T00:00:00'
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from learnloop.exceptions import ValidationError
from learnloop.market.candle_store import (
    INTERVALS,
    grid_problem,
    ohlc_problems,
    parse_open_time,
    query_candles,
)
from learnloop.settings import Settings
from learnloop.store.tables import Tables
from learnloop.validation import invalid

__all__ = [
    "CandleSeries",
    "ParsedCandles",
    "parse_candles",
    "parse_candles_file",
    "read_candles",
]

FloatArray = npt.NDArray[np.float64]
_FIELDS = ("open", "high", "low", "close", "volume")
#: Header spellings → our names (lower-cased, spaces and dashes as ``_``).
_ALIASES = {
    "date": "open_time",
    "datetime": "open_time",
    "time": "open_time",
    "timestamp": "open_time",
    "open_time": "open_time",
    "adj_close": "adj_close",
}
_MISSING = {"", "null", "nan", "none"}
#: At most this many rows are named in one error: enough to fix a file, not a 10 MB message.
_MAX_DETAILS = 20
_NAME_SUFFIX = re.compile(r"[-_](daily|hourly|weekly|minute|\d+[mhdw])$", re.IGNORECASE)


@dataclass(frozen=True)
class CandleSeries:
    """OHLCV candles of one symbol and interval, oldest first, one per open time.

    Parameters
    ----------
    symbol, interval
        ``"BTC-USD"``, ``"1d"``.
    open_time
        ``datetime64[s]`` (UTC, naive as numpy keeps it), strictly increasing.
    open, high, low, close, volume
        ``float64`` arrays of the same length.

    Examples
    --------
    >>> s = CandleSeries.from_rows("BTC", "1d", [(datetime(2026, 1, 1, tzinfo=UTC), 1, 2, 1, 2, 5)])
    >>> len(s), s.close.dtype.name, s.open_time.dtype.name
    (1, 'float64', 'datetime64[s]')
    """

    symbol: str
    interval: str
    open_time: npt.NDArray[np.datetime64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        n = len(self.open_time)
        if any(len(getattr(self, name)) != n for name in _FIELDS):
            raise ValueError("every column of a CandleSeries must have the same length")
        if self.open_time.dtype != np.dtype("datetime64[s]"):
            raise ValueError("open_time must be datetime64[s]")
        if n > 1 and not bool(np.all(np.diff(self.open_time.astype(np.int64)) > 0)):
            raise ValueError("open_time must be strictly increasing (sorted, no duplicates)")

    def __len__(self) -> int:
        return len(self.open_time)

    @classmethod
    def empty(cls, symbol: str, interval: str) -> CandleSeries:
        """A series with no candles."""
        return cls.from_rows(symbol, interval, [])

    @classmethod
    def from_rows(cls, symbol: str, interval: str, rows: Sequence[Sequence[Any]]) -> CandleSeries:
        """From ``(open_time, open, high, low, close, volume)`` rows in any order; a repeated
        open time keeps its last row."""
        latest: dict[int, Sequence[Any]] = {}
        for row in rows:
            latest[_epoch(row[0])] = row
        times = sorted(latest)
        columns = [
            np.array([float(latest[t][i]) for t in times], dtype=np.float64) for i in range(1, 6)
        ]
        return cls(
            symbol,
            interval,
            np.array(times, dtype=np.int64).astype("datetime64[s]"),
            *columns,
        )

    def rows(self) -> Iterator[tuple[datetime, float, float, float, float, float]]:
        """``(open_time, open, high, low, close, volume)`` per candle, ``open_time`` aware UTC."""
        for i, t in enumerate(self.open_time.astype(np.int64).tolist()):
            yield (
                datetime.fromtimestamp(t, UTC),
                float(self.open[i]),
                float(self.high[i]),
                float(self.low[i]),
                float(self.close[i]),
                float(self.volume[i]),
            )

    def iso_times(self) -> list[str]:
        """Open times as ``YYYY-MM-DDTHH:MM:SSZ``."""
        return [f"{t}Z" for t in np.datetime_as_string(self.open_time, unit="s")]


def _epoch(value: Any) -> int:
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[s]").astype(np.int64))
    return int(parse_open_time(value).timestamp())


def read_candles(
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    *,
    settings: Settings | None = None,
    tables: Tables | None = None,
) -> CandleSeries:
    """The stored candles of ``symbol``/``interval`` with ``start <= open_time < end``.

    Parameters
    ----------
    symbol, interval
        As stored (the symbol is upper-cased first, as ``POST /v1/market/candles`` stores it).
    start, end
        The half-open range (naive datetimes are UTC).
    settings : Settings, optional
        The stage (default: from the environment).
    tables : Tables, optional
        Already-bound tables (what request handlers and jobs pass).

    Returns
    -------
    CandleSeries
        Possibly empty.

    Examples
    --------
    >>> read_candles("BTC-USD", "1d", datetime(2024, 1, 1), datetime(2026, 1, 1))  # doctest: +SKIP
    CandleSeries(symbol='BTC-USD', interval='1d', open_time=array([...]), ...)
    """
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; intervals: {', '.join(INTERVALS)}")
    tables = tables or Tables(settings or Settings.from_env())
    items = query_candles(tables, symbol.upper(), interval, start, end)
    rows = [
        (item.open_time, item.open, item.high, item.low, item.close, item.volume) for item in items
    ]
    return CandleSeries.from_rows(symbol.upper(), interval, rows)


@dataclass(frozen=True)
class ParsedCandles:
    """What :func:`parse_candles` read: the series, and the data lines it skipped (Yahoo
    writes ``null`` for every field of a day it has no price for)."""

    series: CandleSeries
    lines: int
    skipped_lines: list[int] = field(default_factory=list)


def parse_candles_file(
    path_or_bytes: str | Path | bytes, *, symbol: str | None = None, interval: str = "1d"
) -> CandleSeries:
    """Candles from a CSV or JSON Lines file (a path or its bytes).

    Parameters
    ----------
    path_or_bytes
        A file path, or the file's content.
    symbol
        The series' symbol; default: a ``symbol`` column/key, else the file name without a
        ``-daily``-style suffix (``BTC-USD-daily.csv`` → ``BTC-USD``).
    interval
        One of :data:`~learnloop.market.candle_store.INTERVALS` (default ``1d``).

    Returns
    -------
    CandleSeries
        Sorted; rows whose every price is missing (``null``) are skipped.

    Raises
    ------
    ValidationError
        A bad row (naming ``line[N].field``, up to 20 of them), conflicting duplicate open
        times, or no way to know the symbol.

    Examples
    --------
    >>> parse_candles_file(b'{"open_time": 0, "open": 1}\\n', symbol="X")
    Traceback (most recent call last):
    learnloop.exceptions.ValidationError: invalid fields: line[1].open_time, line[1].high, ...
    """
    return parse_candles(path_or_bytes, symbol=symbol, interval=interval).series


def parse_candles(
    path_or_bytes: str | Path | bytes,
    *,
    symbol: str | None = None,
    interval: str = "1d",
    name: str | None = None,
) -> ParsedCandles:
    """:func:`parse_candles_file`, also returning how many lines it read and skipped;
    ``name`` is the file name of ``bytes`` (an S3 key), for the default symbol."""
    if interval not in INTERVALS:
        raise invalid([{"field": "interval", "message": f"one of {', '.join(INTERVALS)}"}])
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
    else:
        path = Path(path_or_bytes)
        data, name = path.read_bytes(), path.name
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid([{"field": "file", "message": "the file is not UTF-8"}]) from None
    records = list(_records(text))
    rows: list[tuple[int, datetime, float, float, float, float, float]] = []
    skipped: list[int] = []
    symbols: set[str] = set()
    details: list[dict[str, Any]] = []
    for line, record in records:
        where = f"line[{line}]"
        values = {k: record.get(k) for k in _FIELDS}
        if all(_is_missing(v) for v in values.values()):
            skipped.append(line)
            continue
        if record.get("symbol") not in (None, ""):
            symbols.add(str(record["symbol"]).strip().upper())
        row_details = _row_details(where, record, values, interval)
        if row_details:
            details.extend(row_details)
            continue
        moment = parse_open_time(record["open_time"])
        numbers = [float(values[k]) for k in _FIELDS]  # type: ignore[arg-type]
        rows.append((line, moment, *numbers))  # type: ignore[arg-type]
        if len(details) >= _MAX_DETAILS:
            break
    details.extend(_duplicate_details(rows))
    if details:
        raise _file_error(details)
    chosen = _symbol(symbol, symbols, name)
    series = CandleSeries.from_rows(chosen, interval, [row[1:] for row in rows])
    return ParsedCandles(series=series, lines=len(records), skipped_lines=skipped)


def _records(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                raise invalid(
                    [{"field": f"line[{number}]", "message": "not a JSON object"}]
                ) from None
            if not isinstance(value, dict):
                raise invalid([{"field": f"line[{number}]", "message": "not a JSON object"}])
            yield number, _normalise(value)
        return
    reader = csv.DictReader(io.StringIO(text))
    for record in reader:
        # DictReader's line_num is the physical line just read: the header is line 1.
        yield reader.line_num, _normalise(record)


def _normalise(record: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key is None:  # a CSV row with more cells than the header
            continue
        name = re.sub(r"[\s\-]+", "_", str(key).strip().lower())
        out[_ALIASES.get(name, name)] = value.strip() if isinstance(value, str) else value
    return out


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _MISSING)


def _row_details(
    where: str, record: Mapping[str, Any], values: Mapping[str, Any], interval: str
) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    moment: datetime | None = None
    try:
        moment = parse_open_time(record.get("open_time"))
    except ValueError as exc:
        details.append({"field": f"{where}.open_time", "message": str(exc)})
    numbers: dict[str, float] = {}
    for key, value in values.items():
        try:
            if isinstance(value, bool) or _is_missing(value):
                raise ValueError
            numbers[key] = float(value)
        except (TypeError, ValueError):
            details.append({"field": f"{where}.{key}", "message": "must be a number"})
    if len(numbers) == len(_FIELDS):
        for key, message in ohlc_problems(*(numbers[k] for k in _FIELDS)):
            details.append({"field": f"{where}.{key}", "message": message})
        for key in ("open", "high", "low", "close"):
            if numbers[key] <= 0:
                details.append({"field": f"{where}.{key}", "message": "must be positive"})
    if moment is not None:
        off_grid = grid_problem(moment, interval)
        if off_grid:
            details.append({"field": f"{where}.open_time", "message": off_grid})
    return details


def _duplicate_details(
    rows: Sequence[tuple[int, datetime, float, float, float, float, float]],
) -> list[dict[str, Any]]:
    first: dict[datetime, tuple[int, tuple[float, ...]]] = {}
    details = []
    for line, moment, *numbers in rows:
        earlier = first.get(moment)
        if earlier is not None and earlier[1] != tuple(numbers):
            message = f"open_time repeats line {earlier[0]} with other values"
            details.append({"field": f"line[{line}].open_time", "message": message})
        first.setdefault(moment, (line, tuple(numbers)))
    return details


def _file_error(details: list[dict[str, Any]]) -> ValidationError:
    return invalid(details[:_MAX_DETAILS])


def _symbol(given: str | None, found: set[str], file_name: str | None) -> str:
    if given:
        return given.strip().upper()
    if len(found) == 1:
        return found.pop()
    if len(found) > 1:
        raise invalid([{"field": "symbol", "message": f"the file holds {len(found)} symbols"}])
    if file_name:
        stem = Path(file_name).name.split(".")[0]
        return _NAME_SUFFIX.sub("", stem).upper()
    raise invalid([{"field": "symbol", "message": "name the symbol: the data does not"}])

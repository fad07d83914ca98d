"""Candles in and out of the ``candles`` table, in plain Python (the ingest Lambda has no numpy).

``POST /v1/market/candles`` takes a batch of OHLCV rows of one symbol and interval; each row
is keyed by (symbol, interval, open_time), so a redelivered batch overwrites the same items.
Rows are checked before anything is written: prices finite and positive, ``high`` at least
``max(open, close)``, ``low`` at most ``min(open, close)``, ``volume`` finite and not negative,
``open_time`` on the interval's grid and once per batch. Every bad row is named
(``candles[3].high``).

Items live in time partitions (see :class:`learnloop.store.records.Candle`): a UTC day for
intervals under a day, a year for daily and weekly candles, so a range read is a handful of
Queries, never a Scan.

Examples
--------
>>> moment = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
>>> bucket_of(moment, "1h"), bucket_of(moment, "1d")
('2026-03-05', '2026')
>>> parse_open_time("2026-03-05").isoformat(), parse_open_time(1772668800).isoformat()
('2026-03-05T00:00:00+00:00', '2026-03-05T00:00:00+00:00')
>>> ohlc_problems(10.0, 9.0, 8.0, 9.5, 1.0)
[('high', 'high 9.0 is below max(open, close) = 10.0')]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BeforeValidator, Field, StringConstraints

from learnloop.clock import as_utc, utcnow
from learnloop.exceptions import ValidationError
from learnloop.store.batch import write_in_parallel
from learnloop.store.records import Candle
from learnloop.store.tables import Tables
from learnloop.validation import Strict, invalid, validate

__all__ = [
    "INTERVALS",
    "MAX_CANDLES",
    "SERIES_PARTITION",
    "CandleBatchIn",
    "CandleIn",
    "Interval",
    "Symbol",
    "bucket_of",
    "buckets_between",
    "candle_time",
    "list_series",
    "ohlc_problems",
    "parse_open_time",
    "put_candles",
    "query_candles",
    "series_key",
    "write_candles",
]

#: Interval name → seconds. Weekly candles open on any UTC midnight (exchanges differ).
INTERVALS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14_400,
    "1d": 86_400,
    "1w": 604_800,
}
Interval = Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]
#: One request's rows: 40 BatchWriteItem calls, well inside a Lambda's time.
MAX_CANDLES = 1000
#: The partition that lists every (symbol, interval) ever written.
SERIES_PARTITION = "@series"
_DAY = 86_400
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_MAX_PRICE = 1e15
_MAX_VOLUME = 1e18


#: ``BTC-USD``, ``ETHUSDT``, ``btc.x`` (stored upper case); no ``/`` or ``#``, so it is safe in
#: keys and paths.
Symbol = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"),
    BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
]


def parse_open_time(value: Any) -> datetime:
    """A candle's open time from epoch seconds, ``YYYY-MM-DD`` or ISO 8601 with an offset.

    A date alone is UTC midnight; a time without an offset is refused (whose clock?).

    Raises
    ------
    ValueError
        Anything else, or a time outside 1970-01-02 .. 2100-01-01.
    """
    if isinstance(value, bool):
        raise ValueError("open_time must be epoch seconds or an ISO 8601 time")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("epoch seconds must be a whole number")
        try:
            moment = datetime.fromtimestamp(int(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("epoch seconds out of range") from None
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("open_time needs a UTC offset (or send a date, or epoch seconds)")
        moment = as_utc(value)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) <= 12:
            return parse_open_time(int(text))
        try:
            if len(text) == 10:
                return parse_open_time(date.fromisoformat(text))
            return parse_open_time(datetime.fromisoformat(text))
        except ValueError as exc:
            if "UTC offset" in str(exc) or "range" in str(exc):
                raise
            raise ValueError("open_time must be epoch seconds or an ISO 8601 time") from None
    else:
        raise ValueError("open_time must be epoch seconds or an ISO 8601 time")
    if not _EARLIEST <= moment < _LATEST:
        raise ValueError("open_time out of range (1970-01-02 .. 2100-01-01)")
    return moment


def _open_time(value: Any) -> datetime:
    return parse_open_time(value)


#: Epoch seconds, a date or ISO 8601 with an offset (the document says so: int or string).
OpenTime = Annotated[datetime, BeforeValidator(_open_time, json_schema_input_type=int | str)]
Price = Annotated[float, Field(gt=0, le=_MAX_PRICE, allow_inf_nan=False)]
#: Not negative: checked with the row's other relations, so one 422 names them all.
Volume = Annotated[float, Field(le=_MAX_VOLUME, allow_inf_nan=False)]


class CandleIn(Strict):
    """One OHLCV row: ``open_time`` (epoch seconds, a date or ISO 8601 with an offset)."""

    open_time: OpenTime
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Volume


class CandleBatchIn(Strict):
    """A batch of 1-1000 candles of one ``symbol`` and ``interval``."""

    symbol: Symbol
    interval: Interval
    candles: Annotated[list[CandleIn], Field(min_length=1, max_length=MAX_CANDLES)]


def ohlc_problems(
    open_: float, high: float, low: float, close: float, volume: float
) -> list[tuple[str, str]]:
    """``(field, message)`` for each broken relation of one row's prices and volume."""
    problems: list[tuple[str, str]] = []
    for name, value in (
        ("open", open_),
        ("high", high),
        ("low", low),
        ("close", close),
        ("volume", volume),
    ):
        if not math.isfinite(value):
            problems.append((name, f"{name} must be a finite number"))
    if problems:
        return problems
    if high < max(open_, close):
        problems.append(("high", f"high {high} is below max(open, close) = {max(open_, close)}"))
    if low > min(open_, close):
        problems.append(("low", f"low {low} is above min(open, close) = {min(open_, close)}"))
    if low > high:
        problems.append(("low", f"low {low} is above high {high}"))
    if volume < 0:
        problems.append(("volume", f"volume {volume} is negative"))
    return problems


def grid_problem(moment: datetime, interval: str) -> str | None:
    """Why ``moment`` is not an open time of ``interval`` (``None`` when it is)."""
    seconds = int(moment.timestamp())
    step = _DAY if interval == "1w" else INTERVALS[interval]
    if seconds % step:
        where = "a UTC midnight" if step == _DAY else f"a multiple of {step} s since the epoch"
        return f"open_time {candle_time(moment)} is not on the {interval} grid ({where})"
    return None


def candle_time(moment: datetime) -> str:
    """The stored form of an open time: ``YYYY-MM-DDTHH:MM:SSZ`` (sorts as time does)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def bucket_of(moment: datetime, interval: str) -> str:
    """The time partition of a candle: its UTC day under a day, its year from a day up."""
    moment = as_utc(moment)
    return moment.strftime("%Y") if INTERVALS[interval] >= _DAY else moment.date().isoformat()


def buckets_between(start: datetime, end: datetime, interval: str) -> list[str]:
    """Every partition holding open times in ``[start, end)``, oldest first."""
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        return []
    last = end - timedelta(seconds=1)
    if INTERVALS[interval] >= _DAY:
        return [str(year) for year in range(start.year, last.year + 1)]
    days = (last.date() - start.date()).days
    return [(start.date() + timedelta(days=i)).isoformat() for i in range(days + 1)]


def _partition(symbol: str, interval: str, bucket: str) -> str:
    return f"{symbol}#{interval}#{bucket}"


def put_candles(tables: Tables, body: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Validate and store a batch of candles (``POST /v1/market/candles``).

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    body : Any
        The decoded JSON body (:class:`CandleBatchIn`).
    now : datetime, optional
        ``received_at`` of the items (default: the current time).

    Returns
    -------
    dict
        ``{"symbol", "interval", "stored", "first", "last"}``.

    Raises
    ------
    ValidationError
        Any bad field or row (422), naming each: ``candles[3].low``; nothing is stored then.

    Examples
    --------
    >>> put_candles(tables, {"symbol": "btc-usd", "interval": "1d", "candles": [
    ...     {"open_time": "2026-01-01", "open": 1, "high": 2, "low": 0.5, "close": 1.5,
    ...      "volume": 10}]})  # doctest: +SKIP
    {'symbol': 'BTC-USD', 'interval': '1d', 'stored': 1, 'first': '2026-01-01T00:00:00Z', ...}
    """
    try:
        batch = validate(CandleBatchIn, body)
    except ValidationError as exc:
        # Name the rows that broke a relation too, not only those pydantic refused.
        raise invalid([*exc.details, *_relations_of_raw(body)]) from None
    details = _relation_details(batch.candles, batch.interval)
    seen = {row.open_time for row in batch.candles}
    if details:
        raise invalid(details)
    rows = [
        (row.open_time, row.open, row.high, row.low, row.close, row.volume) for row in batch.candles
    ]
    stored = write_candles(tables, batch.symbol.upper(), batch.interval, rows, now=now)
    times = sorted(seen)
    return {
        "symbol": batch.symbol.upper(),
        "interval": batch.interval,
        "stored": stored,
        "first": candle_time(times[0]),
        "last": candle_time(times[-1]),
    }


def _relation_details(candles: Sequence[CandleIn], interval: str) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    seen: dict[datetime, int] = {}
    for index, row in enumerate(candles):
        where = f"candles[{index}]"
        for name, message in ohlc_problems(row.open, row.high, row.low, row.close, row.volume):
            details.append({"field": f"{where}.{name}", "message": message, "index": index})
        off_grid = grid_problem(row.open_time, interval)
        if off_grid:
            details.append({"field": f"{where}.open_time", "message": off_grid, "index": index})
        if row.open_time in seen:
            message = f"open_time repeats candles[{seen[row.open_time]}]"
            details.append({"field": f"{where}.open_time", "message": message, "index": index})
        seen.setdefault(row.open_time, index)
    return details


def _relations_of_raw(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or body.get("interval") not in INTERVALS:
        return []
    rows = body.get("candles")
    if not isinstance(rows, list) or len(rows) > MAX_CANDLES:
        return []
    details = []
    for index, raw in enumerate(rows):
        try:
            row = CandleIn.model_validate(raw)
        except pydantic.ValidationError:
            continue  # already named by the batch's own errors
        for detail in _relation_details([row], str(body["interval"])):
            details.append(
                {**detail, "field": detail["field"].replace("[0]", f"[{index}]", 1), "index": index}
            )
    return details


def write_candles(
    tables: Tables,
    symbol: str,
    interval: str,
    rows: Iterable[Sequence[Any]],
    *,
    now: datetime | None = None,
) -> int:
    """Store checked ``(open_time, open, high, low, close, volume)`` rows; returns how many.

    Puts, so writing a row again (a redelivery, an import run twice) leaves one item. The
    series is recorded in :data:`SERIES_PARTITION` for the jobs that walk every series.
    """
    received = candle_time(now or utcnow())
    model = tables.candles
    items = [
        model(
            _partition(symbol, interval, bucket_of(moment, interval)),
            candle_time(moment),
            open=float(o),
            high=float(h),
            low=float(lo),
            close=float(c),
            volume=float(v),
            received_at=received,
        )
        for moment, o, h, lo, c, v in rows
    ]
    if not items:
        return 0
    write_in_parallel(model, items)
    model(
        SERIES_PARTITION,
        f"{symbol}#{interval}",
        symbol=symbol,
        interval=interval,
        received_at=received,
    ).save()
    return len(items)


def query_candles(
    tables: Tables,
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    *,
    workers: int = 8,
) -> list[Candle]:
    """Every stored candle of ``symbol``/``interval`` with ``start <= open_time < end``, in
    time order; partitions are Queried in parallel."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; intervals: {', '.join(INTERVALS)}")
    model = tables.candles
    first, last = candle_time(start), candle_time(as_utc(end) - timedelta(seconds=1))
    partitions = [_partition(symbol, interval, b) for b in buckets_between(start, end, interval)]

    def read(partition: str) -> list[Candle]:
        condition = model.open_time.between(first, last)
        return list(model.query(partition, range_key_condition=condition))

    if len(partitions) <= 1:
        return [item for p in partitions for item in read(p)]
    with ThreadPoolExecutor(max_workers=min(workers, len(partitions))) as pool:
        return [item for items in pool.map(read, partitions) for item in items]


def list_series(tables: Tables) -> list[tuple[str, str]]:
    """Every ``(symbol, interval)`` with stored candles, sorted."""
    found = tables.candles.query(SERIES_PARTITION)
    return sorted((str(item.symbol), str(item.interval)) for item in found)


def series_key(symbol: str, interval: str) -> str:
    """``{symbol}#{interval}``: the anomalies table's partition of one series."""
    return f"{symbol}#{interval}"

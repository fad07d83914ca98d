"""The candle contract: CandleSeries' invariants, and files parsed into it (Yahoo CSV, plain
CSV, JSON Lines), with every bad row named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from learnloop.exceptions import ValidationError
from learnloop.market.candle_store import bucket_of, buckets_between, ohlc_problems
from learnloop.market.candles import CandleSeries, parse_candles, parse_candles_file

YAHOO = b"""Date,Open,High,Low,Close,Adj Close,Volume
2021-08-23,49291.675781,50482.078125,49074.605469,49546.148438,49546.148438,34305053719
2021-08-22,48869.105469,49471.609375,48199.941406,49321.652344,49321.652344,25370975378
2021-08-21,null,null,null,null,null,null
2021-08-24,49461.226563,49860.957031,48531.832031,48531.832031,48531.832031,35024986112
"""


def fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {d["field"] for d in exc.value.details}


def test_a_yahoo_file_is_sorted_its_null_days_skipped_and_its_symbol_taken_from_the_name(
    tmp_path: Path,
) -> None:
    path = tmp_path / "BTC-USD-daily.csv"
    path.write_bytes(YAHOO)
    parsed = parse_candles(path)
    series = parsed.series
    assert (series.symbol, series.interval, len(series)) == ("BTC-USD", "1d", 3)
    assert parsed.skipped_lines == [4] and parsed.lines == 4
    assert series.iso_times() == [
        "2021-08-22T00:00:00Z",
        "2021-08-23T00:00:00Z",
        "2021-08-24T00:00:00Z",
    ]
    assert series.open_time.dtype == np.dtype("datetime64[s]")
    assert series.close.tolist() == [49321.652344, 49546.148438, 48531.832031]
    assert series.volume.dtype == np.float64 and series.volume[0] == 25370975378.0


def test_plain_csv_with_epoch_or_iso_times_and_jsonl_give_the_same_series() -> None:
    plain = (
        b"open_time,open,high,low,close,volume\n"
        b"1767225600,1,2,0.5,1.5,10\n1767229200,1.5,2,1,1.8,0\n"
    )
    iso = (
        b"open_time,open,high,low,close,volume\n"
        b"2026-01-01T00:00:00Z,1,2,0.5,1.5,10\n2026-01-01T02:00:00+01:00,1.5,2,1,1.8,0\n"
    )
    jsonl = (
        b'{"symbol": "eth-usd", "open_time": "2026-01-01T00:00:00Z", "open": 1, "high": 2,'
        b' "low": 0.5, "close": 1.5, "volume": 10}\n\n'
        b'{"symbol": "eth-usd", "open_time": 1767229200, "open": 1.5, "high": 2, "low": 1,'
        b' "close": 1.8, "volume": 0}\n'
    )
    a = parse_candles_file(plain, symbol="ETH-USD", interval="1h")
    b = parse_candles_file(iso, symbol="eth-usd", interval="1h")
    c = parse_candles_file(jsonl, interval="1h")
    for s in (a, b, c):
        assert s.symbol == "ETH-USD"
        assert s.iso_times() == ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"]
        assert s.close.tolist() == [1.5, 1.8]


def test_every_bad_row_is_named_by_line_and_field() -> None:
    text = (
        b"open_time,open,high,low,close,volume\n"
        b"2026-01-01,10,9,8,9.5,1\n"  # high below the open
        b"2026-01-02,10,11,10.5,10.2,1\n"  # low above the close
        b"2026-01-03,10,11,9,10,-1\n"  # negative volume
        b"2026-01-04,10,11,9,nan,1\n"  # NaN close
        b"2026-01-05T12:00:00Z,10,11,9,10,1\n"  # not on the daily grid
        b"2026-01-06T00:00:00,10,11,9,10,1\n"  # no UTC offset
        b"2026-01-07,abc,11,9,10,1\n"
    )
    with pytest.raises(ValidationError) as caught:
        parse_candles_file(text, symbol="X")
    assert fields(caught) == {
        "line[2].high",
        "line[3].low",
        "line[4].volume",
        "line[5].close",
        "line[6].open_time",
        "line[7].open_time",
        "line[8].open",
    }


def test_conflicting_duplicates_and_unknown_symbols_are_refused() -> None:
    dup = b"open_time,open,high,low,close,volume\n2026-01-01,1,2,1,1,1\n2026-01-01,1,2,1,2,1\n"
    with pytest.raises(ValidationError) as caught:
        parse_candles_file(dup, symbol="X")
    assert fields(caught) == {"line[3].open_time"}
    same = b"open_time,open,high,low,close,volume\n2026-01-01,1,2,1,1,1\n2026-01-01,1,2,1,1,1\n"
    assert len(parse_candles_file(same, symbol="X")) == 1
    with pytest.raises(ValidationError) as caught:
        parse_candles_file(same)
    assert fields(caught) == {"symbol"}
    with pytest.raises(ValidationError) as caught:
        parse_candles_file(b"\xff\xfe", symbol="X")
    assert fields(caught) == {"file"}


def test_candle_series_refuses_unsorted_or_ragged_columns() -> None:
    t = np.array([2, 1], dtype=np.int64).astype("datetime64[s]")
    ones = np.ones(2)
    with pytest.raises(ValueError, match="increasing"):
        CandleSeries("X", "1d", t, ones, ones, ones, ones, ones)
    with pytest.raises(ValueError, match="length"):
        CandleSeries("X", "1d", t[:1], ones, ones, ones, ones, ones)
    rows = [(datetime(2026, 1, 2, tzinfo=UTC), 1, 1, 1, 1, 1), ("2026-01-01", 2, 2, 2, 2, 2)]
    s = CandleSeries.from_rows("X", "1d", rows)
    assert s.iso_times() == ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]
    assert [r[1] for r in s.rows()] == [2.0, 1.0]
    assert len(CandleSeries.empty("X", "1d")) == 0


def test_partitions_are_days_under_a_day_and_years_above() -> None:
    start, end = datetime(2025, 12, 31, 22, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert buckets_between(start, end, "1h") == ["2025-12-31", "2026-01-01"]
    assert buckets_between(start, end, "1d") == ["2025", "2026"]
    assert buckets_between(end, start, "1d") == []
    assert bucket_of(start, "1m") == "2025-12-31" and bucket_of(start, "1w") == "2025"
    assert ohlc_problems(1, 2, 0.5, 1.5, 0) == []

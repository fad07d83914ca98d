"""``learnloop import candles``: a local file or an S3 object, checked whole, written in
batches with progress, idempotent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from learnloop.market.candles import read_candles
from learnloop_tools.cli import main

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2021-08-20,46717.578125,49350.351563,46704.703125,49339.175781,49339.175781,34706848809
2021-08-21,49327.074219,49717.019531,48312.199219,48905.492188,48905.492188,40585205312
2021-08-22,null,null,null,null,null,null
2021-08-23,49291.675781,50482.078125,49074.605469,49546.148438,49546.148438,34305053719
2021-08-24,49461.226563,49860.957031,48531.832031,48531.832031,48531.832031,35024986112
"""


@pytest.fixture
def env(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", settings.endpoint_url)
    monkeypatch.setenv("LEARNLOOP_STAGE", settings.stage)
    monkeypatch.setenv("LEARNLOOP_TABLE_PREFIX", settings.table_prefix)
    monkeypatch.setenv("LEARNLOOP_BUCKET", settings.bucket)
    return settings


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["import", "candles", *args])


def test_a_yahoo_file_imports_once_however_often_it_is_run(
    env: Any, tables: Any, tmp_path: Path
) -> None:
    path = tmp_path / "BTC-USD-daily.csv"
    path.write_text(YAHOO)
    first = run(str(path), "--batch-size", "2")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout[first.stdout.index("{") :])
    assert report["symbol"] == "BTC-USD" and report["stored"] == 4
    assert report["skipped_lines"] == [4] and report["lines"] == 5
    assert (report["first"], report["last"]) == ("2021-08-20T00:00:00Z", "2021-08-24T00:00:00Z")
    assert "candles" in first.stderr  # the progress bar
    assert run(str(path)).exit_code == 0
    assert tables.candles.count("BTC-USD#1d#2021") == 4
    series = read_candles("BTC-USD", "1d", *_year(2021), tables=tables)
    assert series.close.tolist()[-1] == 48531.832031
    # The flags job walks the imported series (too short to score: nothing flagged).
    flags = CliRunner().invoke(
        main,
        ["job", "run", "market_anomalies", "--candles", "10", "--now", "2021-08-25T00:00:00Z"],
    )
    assert flags.exit_code == 0, flags.output
    assert json.loads(flags.stdout) == {
        "job": "market_anomalies",
        "series": 1,
        "candles_checked": 4,
        "flagged": 0,
        "removed": 0,
    }


def test_an_s3_object_imports_with_its_symbol_from_the_key(env: Any, tables: Any, s3: Any) -> None:
    lines = [
        {
            "open_time": f"2026-01-01T0{h}:00:00Z",
            "open": 1,
            "high": 2,
            "low": 1,
            "close": 1.5,
            "volume": 3,
        }
        for h in range(3)
    ]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    s3.put_object(Bucket=tables.settings.bucket, Key="prices/SOL-USD.jsonl", Body=body)
    result = run(f"s3://{tables.settings.bucket}/prices/SOL-USD.jsonl", "--interval", "1h")
    assert result.exit_code == 0, result.output
    assert tables.candles.count("SOL-USD#1h#2026-01-01") == 3


def test_a_bad_file_names_its_rows_and_stores_nothing(
    env: Any, tables: Any, tmp_path: Path
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("open_time,open,high,low,close,volume\n2026-01-01,1,0.5,1,1,1\n")
    result = run(str(path), "--symbol", "X")
    assert result.exit_code == 1
    assert "line[2].high" in result.output
    assert run(str(tmp_path / "missing.csv")).exit_code == 1
    assert list(tables.candles.scan()) == []


def _year(year: int) -> tuple[Any, Any]:
    from datetime import datetime

    return datetime(year, 1, 1), datetime(year + 1, 1, 1)

"""Every scheduled job, cut into ≥ 5 invocations by a deadline, gives one uninterrupted run's
result; a crash after a checkpoint, or before one, loses and doubles nothing.

Each test plants the same data in two stages: one runs the job once, the other under a fake
deadline (no wall clock) that lets one unit through per invocation, chained in-process.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from learnloop.ingest import ingest_events, ingest_outcomes, put_content, put_reaction
from learnloop.jobs import run_job, run_job_chained
from learnloop.jobs.deadline import Checkpoint, Deadline
from learnloop.market.candle_store import put_candles
from learnloop.privacy.exports import DATA_FILES, MANIFEST_FILE, build_day_files, export_prefix

pytestmark = pytest.mark.heavy(60)  # seconds in CI: see tests/conftest.py

NOW = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)


def one_unit_each() -> Deadline:
    """A fake deadline: every ``remaining()`` call costs a second out of 2.5, so after its
    first unit (two calls) an invocation has no room for another."""
    ticks = itertools.count()
    return Deadline(lambda: 2.5 - next(ticks), margin=0.0)


def units_each(count: int) -> Deadline:
    """A fake deadline with room for ``count`` units an invocation (as :func:`one_unit_each`)."""
    ticks = itertools.count()
    return Deadline(lambda: 2 * count + 0.5 - next(ticks), margin=0.0)


@pytest.fixture
def stage(aws_endpoint: str, s3: Any, _dynamodb_client: Any) -> Callable[..., Any]:
    """Makes a fresh stage's tables (``shards`` day shards), created."""
    from support.stage import new_stage_settings

    from learnloop.store import Tables, bootstrap

    def make(shards: int = 1, **overrides: Any) -> Any:
        settings = new_stage_settings(aws_endpoint).with_overrides(day_shards=shards, **overrides)
        tables = Tables(settings, dynamodb_client=_dynamodb_client)
        bootstrap(settings, tables=tables, s3=s3)
        return tables

    return make


def chained(name: str, tables: Any, **options: Any) -> dict[str, Any]:
    result = run_job_chained(name, tables, NOW, deadline=one_unit_each, **options)
    assert result.pop("invocations") >= 5
    return result


# --- learn --------------------------------------------------------------------------------------


def plant_outcomes(tables: Any, n: int = 12, *, varied: bool = False) -> None:
    """``n`` decisions with content and an outcome (``varied``: features and followers
    vary, so both predictors have something to fit)."""
    for i in range(n):
        posted = datetime(2026, 11, 20, i % 24, tzinfo=UTC)
        put_content(
            tables,
            f"d-{i}",
            {
                "posted_at": posted.isoformat(),
                "bandit_arm": ("a", "b", "c")[i % 3],
                "content_type": "educational",
                "quality_score": (i % 10) / 10 if varied else 0.5,
                "novelty_score": (i % 7) / 7 if varied else 0.5,
                "expertise_level": 0.5,
                "length": "short",
            },
            now=NOW,
        )
        ingest_outcomes(
            tables,
            {
                "decision_id": f"d-{i}",
                "collected_at": (posted + timedelta(hours=6)).isoformat(),
                "impressions": 1000,
                "likes": 7 * i,
                "followers_gained": i % 3 if varied else 0,
            },
            now=NOW,
        )


def arms(tables: Any) -> dict[tuple[str, str], tuple[float, ...]]:
    return {
        (a.scope, a.arm): (a.successes, a.failures, a.pulls, a.reward_sum)
        for a in tables.bandit_arms.scan()
    }


def counted(tables: Any) -> int:
    return sum(1 for e in tables.ledger.scan() if e.key.startswith("learn#d-"))


LEARN = {"train": False, "chunk_size": 2}


def test_learn_in_many_invocations_equals_one_run(stage: Callable[..., Any]) -> None:
    once, cut = stage(), stage()
    plant_outcomes(once)
    plant_outcomes(cut)
    expected = run_job("learn", once, NOW, **LEARN)
    # A unit per day of the window: four units an invocation keep the chain short.
    result = run_job_chained("learn", cut, NOW, deadline=lambda: units_each(4), **LEARN)
    assert result.pop("invocations") >= 5
    assert result == expected
    assert expected["bandits"]["counted"] == 12
    assert arms(cut) == arms(once)
    assert counted(cut) == counted(once) == 12
    # The checkpoint is gone: a later run starts afresh, and finds nothing new.
    assert not [e for e in cut.ledger.scan() if e.key.startswith("checkpoint#")]
    assert run_job("learn", cut, NOW, **LEARN)["bandits"]["counted"] == 0


def test_a_crash_before_and_one_after_a_checkpoint_lose_and_double_nothing(
    stage: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import learnloop.jobs.learn as learn_module

    once, cut = stage(), stage()
    plant_outcomes(once)
    plant_outcomes(cut)
    expected = run_job("learn", once, NOW, **LEARN)

    real_commit, real_save = learn_module.commit_chunk, Checkpoint.save
    commits, saves = itertools.count(1), itertools.count(1)

    def commit_then_crash(*args: Any, **kwargs: Any) -> Any:
        done = real_commit(*args, **kwargs)
        if next(commits) == 2:  # the chunk is counted, its checkpoint never written
            raise RuntimeError("crash before the checkpoint")
        return done

    def save_then_crash(self: Checkpoint, tables: Any) -> None:
        real_save(self, tables)
        if next(saves) == 5:  # the checkpoint is written, the invocation dies
            raise RuntimeError("crash after the checkpoint")

    monkeypatch.setattr(learn_module, "commit_chunk", commit_then_crash)
    monkeypatch.setattr(Checkpoint, "save", save_then_crash)
    crashes = 0
    result: dict[str, Any] = {"resume": True}
    for _ in range(40):
        try:
            result = run_job("learn", cut, NOW, deadline=units_each(4), **LEARN)
        except RuntimeError:
            crashes += 1
            continue
        if "resume" not in result:
            break
    assert crashes == 2
    assert result == expected
    assert arms(cut) == arms(once)
    assert counted(cut) == 12


class Calls:
    """DynamoDB operations a client makes (a botocore event hook), by name and table."""

    def __init__(self, client: Any) -> None:
        self.seen: list[tuple[str, str]] = []
        client.meta.events.register("before-parameter-build.dynamodb.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        table = str(params.get("TableName") or ",".join(params.get("RequestItems") or {}))
        self.seen.append((model.name, table))

    def count(self, operation: str, table: str = "") -> int:
        return sum(1 for op, name in self.seen if op == operation and table in name)

    def reset(self) -> None:
        self.seen.clear()


def test_learn_with_training_in_many_invocations_trains_the_same_model_and_reads_each_day_once(
    stage: Callable[..., Any], s3: Any, _dynamodb_client: Any
) -> None:
    from learnloop.bandits.updates import window_days
    from learnloop.jobs.learn import learn
    from learnloop.jobs.spool import SPOOL_PREFIX
    from learnloop.predictors.training import training_days

    small = {"shards": 2, "training_window_days": 4, "min_training_rows": 20}
    once, cut = stage(**small), stage(**small)
    plant_outcomes(once, 40, varied=True)
    plant_outcomes(cut, 40, varied=True)
    calls = Calls(_dynamodb_client)
    # The in-memory path (joined_rows, no spool): what the spooled units must equal.
    expected = learn(once, NOW, s3=s3).to_dict()
    once_queries = calls.count("Query", once.outcomes.Meta.table_name)
    calls.reset()
    result = run_job_chained(
        "learn", cut, NOW, deadline=lambda: units_each(8), s3=s3, train=True, chunk_size=10
    )
    assert result.pop("invocations") >= 5
    outcome_queries = calls.count("Query", cut.outcomes.Meta.table_name)
    calls.reset()

    def model_bytes(tables: Any, outcome: dict[str, Any]) -> dict[str, bytes]:
        import onnx

        found = {}
        for name, model in outcome["models"].items():
            key = str(model["manifest_key"]).replace("manifest.json", "model.onnx")
            graph = onnx.load_from_string(
                s3.get_object(Bucket=tables.settings.bucket, Key=key)["Body"].read()
            )
            graph.graph.name = ""  # skl2onnx names each graph anew
            found[name] = graph.SerializeToString()
        return found

    assert result["bandits"] == expected["bandits"] and result["bandits"]["counted"] == 40
    assert sorted(result["models"]) == ["engagement", "follow_through"]
    for name, model in result["models"].items():
        assert model["rows"] == expected["models"][name]["rows"] > 20
        assert model["metrics"] == expected["models"][name]["metrics"]
    assert model_bytes(cut, result) == model_bytes(once, expected)
    # Chunks of 10 against one of 1,000: the same counts, sums grouped differently.
    got, want = arms(cut), arms(once)
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k], rel=1e-12) for k in want)
    # Each receipt day and collection day of the run is read once per shard (2), in all the
    # invocations together: a resumed invocation never reads a finished day shard again.
    days = len(window_days(cut, NOW, None)[0]) + len(training_days(cut, NOW))
    assert outcome_queries == once_queries == days * 2
    # The run's spool is gone with its checkpoint.
    listed = s3.list_objects_v2(Bucket=cut.settings.bucket, Prefix=SPOOL_PREFIX)
    assert "Contents" not in listed


# --- export_training_data -----------------------------------------------------------------------


def plant_day(tables: Any) -> None:
    for i in range(9):
        put_reaction(
            tables,
            {
                "user_id": f"u{i % 4}",
                "content_type": "coin",
                "external_id": ("BTC", "ETH", "SOL")[i % 3],
                "reaction": ("like", "dislike")[i % 2],
                # Equal times across shards: the merge must still order them as a sort does.
                "occurred_at": f"2026-11-20T{10 + i // 3:02d}:00:00Z",
            },
            now=NOW,
        )
    ingest_events(
        tables,
        {
            "events": [
                {
                    "type": "alert_shown",
                    "user_id": f"u{i % 5}",
                    "occurred_at": f"2026-11-20T{12 + i % 3:02d}:00:00Z",
                    "properties": {"alert_id": f"a{i}"},
                }
                for i in range(8)
            ]
        },
        now=NOW,
    )


def stored(s3: Any, tables: Any, day: date) -> dict[str, bytes]:
    bucket, prefix = tables.settings.bucket, export_prefix(day)
    return {
        name: s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()
        for name in (*DATA_FILES, MANIFEST_FILE)
    }


def test_export_in_many_invocations_writes_the_same_bytes(
    stage: Callable[..., Any], s3: Any
) -> None:
    once, cut = stage(shards=4), stage(shards=4)
    plant_day(once)
    plant_day(cut)
    expected = run_job("export_training_data", once, NOW, day=DAY, s3=s3)
    result = chained("export_training_data", cut, day=DAY, s3=s3)
    assert {k: v for k, v in result.items()} == expected
    assert expected["rows"]["reactions.jsonl"] == 9
    assert stored(s3, cut, DAY) == stored(s3, once, DAY)
    # The streamed files are the bytes the whole-day builder makes.
    files, _ = build_day_files(cut, DAY)
    assert {n: stored(s3, cut, DAY)[n] for n in files} == files


def test_export_range_and_backfill(stage: Callable[..., Any], s3: Any) -> None:
    tables = stage()
    plant_day(tables)
    first = DAY - timedelta(days=1)
    result = chained("export_training_data", tables, day_from=first, day_to=DAY, s3=s3)
    assert [d["date"] for d in result["days"]] == [first.isoformat(), DAY.isoformat()]
    assert result["days"][1]["rows"]["reactions.jsonl"] == 9
    # Backfill exports only the days not exported yet.
    later = run_job(
        "export_training_data",
        tables,
        NOW + timedelta(days=1),
        backfill=True,
        day_from=first,
        s3=s3,
    )
    assert [d["date"] for d in later["days"]] == [(DAY + timedelta(days=1)).isoformat()]


def test_streamed_object_goes_multipart_above_one_part(stage: Callable[..., Any], s3: Any) -> None:
    from learnloop.privacy.exports import StreamedObject, file_entry

    tables = stage()
    data = b"".join(b'{"row":%d,"pad":"%s"}\n' % (i, b"x" * 200) for i in range(30_000))
    out = StreamedObject(s3, tables.settings.bucket, "exports/big.jsonl", part_size=5 * 2**20)
    for start in range(0, len(data), 100_000):
        out.write(data[start : start + 100_000])
    assert out.close() == file_entry(data)
    got = s3.get_object(Bucket=tables.settings.bucket, Key="exports/big.jsonl")
    assert got["Body"].read() == data
    assert "-" in got["ETag"]  # a multipart object's ETag names its parts


# --- rollup_daily, evaluate_policies, drift_check, market_anomalies -------------------------------


def test_rollup_of_five_days_in_five_invocations(stage: Callable[..., Any]) -> None:
    once, cut = stage(), stage()
    plant_day(once)
    plant_day(cut)
    days = {"day_from": DAY - timedelta(days=4), "day_to": DAY}
    expected = run_job("rollup_daily", once, NOW, **days)
    assert chained("rollup_daily", cut, **days) == expected
    assert len(expected["days"]) == 5
    stats = {i.date: i.stats for i in cut.daily_stats.scan()}
    assert stats == {i.date: i.stats for i in once.daily_stats.scan()}


def test_evaluate_policies_one_candidate_per_unit(stage: Callable[..., Any]) -> None:
    once, cut = stage(), stage()
    candidates = [f"thompson:prior={a}/8" for a in range(1, 6)]
    expected = run_job("evaluate_policies", once, NOW, candidates=candidates)
    assert chained("evaluate_policies", cut, candidates=candidates) == expected
    assert len(expected["candidates"]) == 5


def test_drift_check_one_model_per_unit(stage: Callable[..., Any], s3: Any) -> None:
    once, cut = stage(), stage()
    expected = run_job("drift_check", once, NOW, s3=s3)
    result = chained("drift_check", cut, s3=s3)
    assert result == expected
    assert len(expected["models"]) >= 5


def test_market_anomalies_one_series_per_unit(stage: Callable[..., Any]) -> None:
    once, cut = stage(), stage()
    for tables in (once, cut):
        for symbol in ("AAA", "BBB", "CCC", "DDD", "EEE"):
            candles = [
                {
                    "open_time": f"2026-11-{d:02d}",
                    "open": 10.0,
                    "high": 45.0 if d == 20 else 12.0,
                    "low": 9.0,
                    "close": 40.0 if d == 20 else 11.0,
                    "volume": 100.0,
                }
                for d in range(1, 21)
            ]
            put_candles(tables, {"symbol": symbol, "interval": "1d", "candles": candles}, now=NOW)
    expected = run_job("market_anomalies", once, NOW)
    assert chained("market_anomalies", cut) == expected
    assert expected["series"] == 5
    flags = {(a.series, a.flag) for a in cut.market_anomalies.scan()}
    assert flags == {(a.series, a.flag) for a in once.market_anomalies.scan()}


# --- privacy_purge, load_decisions ---------------------------------------------------------------


def test_privacy_purge_one_prefix_per_unit(stage: Callable[..., Any], s3: Any) -> None:
    from learnloop.privacy.purge import queue_purge
    from learnloop.users.pseudonym import pseudonymize

    once, cut = stage(), stage()
    days = [DAY - timedelta(days=n) for n in range(5)]
    for tables in (once, cut):
        for day in days:
            for user in ("gone", "kept"):
                put_reaction(
                    tables,
                    {
                        "user_id": user,
                        "content_type": "coin",
                        "external_id": f"C{day.day}",
                        "reaction": "like",
                        "occurred_at": f"{day.isoformat()}T10:00:00Z",
                    },
                    now=NOW,
                )
            run_job("export_training_data", tables, NOW, day=day, s3=s3)
        pseudonym = pseudonymize("gone", tables.settings.pseudonym_secret)
        queue_purge(tables, pseudonym, [export_prefix(d) for d in days], now=NOW)
    expected = run_job("privacy_purge", once, NOW, s3=s3, workers=1)
    assert chained("privacy_purge", cut, s3=s3, workers=1) == expected
    assert (expected["prefixes_done"], expected["completed_users"]) == (5, 1)
    for day in days:
        assert stored(s3, cut, day) == stored(s3, once, day)
        assert pseudonym.encode() not in stored(s3, cut, day)["reactions.jsonl"]


def test_load_decisions_one_spool_file_per_unit(stage: Callable[..., Any], tmp_path: Any) -> None:
    import json

    once, cut = stage(), stage()
    for name in ("once", "cut"):
        spool = tmp_path / name
        spool.mkdir()
        for f in range(5):
            lines = [
                json.dumps(
                    {
                        "learnloop_decision": 1,
                        "decision": {
                            "decision_id": f"d{f}-{i}",
                            "created_at": "2026-11-20T09:30:00.000000Z",
                            "day_shard": "2026-11-20#0",
                            "shown": [],
                            "chosen": [],
                        },
                    }
                )
                for i in range(3)
            ]
            (spool / f"decisions-{f}.jsonl").write_text("\n".join(lines) + "\n")
    expected = run_job("load_decisions", once, NOW, directory=str(tmp_path / "once"))
    assert chained("load_decisions", cut, directory=str(tmp_path / "cut")) == expected
    assert (expected["files"], expected["loaded"]) == (5, 15)
    assert sorted(d.decision_id for d in cut.decisions.scan()) == sorted(
        d.decision_id for d in once.decisions.scan()
    )
    assert list((tmp_path / "cut").iterdir()) == []


# --- on Lambda: the scheduled function re-invokes itself ------------------------------------------


def test_a_scheduled_run_out_of_time_reinvokes_itself_until_done(
    stage: Callable[..., Any],
) -> None:
    import json

    from chalice.app import CloudWatchEvent

    from learnloop.jobs import handle_schedule

    tables = stage()
    plant_outcomes(tables, 4)

    class Context:
        """A Lambda context whose clock loses a second per look, from 22 s (margin 20 s)."""

        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:learn"

        def __init__(self) -> None:
            self.ticks = itertools.count()

        def get_remaining_time_in_millis(self) -> int:
            return 22_000 - 1000 * next(self.ticks)

    class Lambda:
        def __init__(self) -> None:
            self.payloads: list[dict[str, Any]] = []

        def invoke(self, **kwargs: Any) -> None:
            assert kwargs["InvocationType"] == "Event"
            assert kwargs["FunctionName"] == Context.invoked_function_arn
            self.payloads.append(json.loads(kwargs["Payload"]))

    scheduled = {
        "version": "0",
        "id": "e1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-21T01:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    client = Lambda()
    payload, invocations = scheduled, 0
    while True:
        invocations += 1
        event = CloudWatchEvent(payload, Context())
        result = handle_schedule("learn", event, tables, lambda_client=client)
        if "resume" not in result:
            break
        payload = client.payloads[-1]
        assert payload["time"] == scheduled["time"]
        assert payload["detail"]["resume"]["job"] == "learn"
    assert invocations >= 5 and len(client.payloads) == invocations - 1
    assert result["bandits"]["counted"] == 4


def test_the_cli_chains_invocations_and_says_how_many(
    stage: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner
    from support.stage import stage_environment

    from learnloop_tools.cli import main

    tables = stage()
    plant_day(tables)
    for name, value in stage_environment(tables.settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEARNLOOP_DAY_SHARDS", "1")
    args = ["job", "run", "rollup_daily", "--from", "2026-11-16", "--to", "2026-11-20"]
    # A deadline shorter than any unit: each invocation does the one unit it always may.
    result = CliRunner().invoke(main, [*args, "--deadline-seconds", "0.001"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["invocations"] == 5
    assert [d["date"] for d in body["days"]][-1] == "2026-11-20"
    assert body["days"][-1]["users_active"] == 5  # u0..u4 (events)

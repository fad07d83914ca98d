"""The learnloop CLI against moto's server (the environment points it there)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from support.bandit_log import log_bandit_decisions

from learnloop_tools.cli import main


@pytest.fixture
def env(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", settings.endpoint_url)
    monkeypatch.setenv("LEARNLOOP_STAGE", settings.stage)
    monkeypatch.setenv("LEARNLOOP_TABLE_PREFIX", settings.table_prefix)
    monkeypatch.setenv("LEARNLOOP_BUCKET", settings.bucket)
    return settings


def test_bootstrap_is_safe_to_run_twice(env: Any) -> None:
    first = CliRunner().invoke(main, ["bootstrap"])
    second = CliRunner().invoke(main, ["bootstrap"])
    assert first.exit_code == second.exit_code == 0, first.output
    assert f"created table {env.table_prefix}reactions" in first.output
    assert "created" not in second.output.replace("already exists", "")
    assert f"table {env.table_prefix}reactions already exists" in second.output


def test_keys_create_prints_the_key_once_and_stores_its_hash(env: Any, tables: Any) -> None:
    from learnloop.api.auth import hash_key

    result = CliRunner().invoke(main, ["keys", "create", "--scope", "ingest", "--name", "web"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[0]
    assert secret.startswith("ll_")
    stored = tables.api_keys.get(hash_key(secret))
    assert (stored.name, set(stored.scopes)) == ("web", {"ingest"})


def test_job_run_rolls_up_a_given_date(env: Any, tables: Any) -> None:
    from learnloop.ingest import put_reaction

    put_reaction(
        tables,
        {
            "user_id": "u1",
            "content_type": "coin",
            "external_id": "BTC",
            "reaction": "like",
            "occurred_at": "2026-11-20T10:00:00Z",
        },
    )
    result = CliRunner().invoke(main, ["job", "run", "rollup_daily", "--date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["date"] == "2026-11-20"
    assert tables.daily_stats.get("2026-11-20").stats["users_active"] == 1


def test_job_run_drift_check_records_the_check(env: Any, tables: Any) -> None:
    result = CliRunner().invoke(
        main, ["job", "run", "drift_check", "--now", "2026-11-20T01:30:00Z"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["job"] == "drift_check" and body["alerts"] == []
    assert body["models"]["engagement"] == {"skipped": "engagement has no production version"}
    stored = tables.ledger.get("drift_check#latest").value
    assert stored["checked_at"] == body["checked_at"] == "2026-11-20T01:30:00.000000Z"


def test_job_run_refuses_an_unknown_job(env: Any) -> None:
    result = CliRunner().invoke(main, ["job", "run", "nope"])
    assert result.exit_code == 2
    assert "learn" in result.output and "rollup_daily" in result.output
    assert "drift_check" in result.output


def test_models_promote_and_rollback_from_the_cli(env: Any, tables: Any, s3: Any) -> None:
    from support.model_drops import drop

    from learnloop.models.registration import register_model

    bucket = tables.settings.bucket
    v1 = register_model(tables, s3, bucket=bucket, key=drop(tables, s3, minute=0)).version
    v2 = register_model(
        tables, s3, bucket=bucket, key=drop(tables, s3, minute=1, metrics={"r2": 0.9})
    ).version
    back = CliRunner().invoke(main, ["models", "rollback", "engagement", "--reason", "canary"])
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["to"] == v1
    forward = CliRunner().invoke(main, ["models", "promote", "engagement", v2])
    assert json.loads(forward.stdout)["to"] == v2
    listed = json.loads(CliRunner().invoke(main, ["models", "list"]).stdout)
    assert listed["models"]["engagement"]["production"] == v2
    missing = CliRunner().invoke(main, ["models", "promote", "engagement", "20200101T000000Z"])
    assert missing.exit_code == 1 and "Error" in missing.output


def test_retrain_pending_runs_each_requested_job_and_records_what_it_gave(
    env: Any, tables: Any
) -> None:
    from support.drift_requests import CHECKED_AT, request_retrain

    from learnloop.drift.actions import pending_requests

    assert CliRunner().invoke(main, ["retrain"]).exit_code == 2  # --pending is required
    request_retrain(tables, "two_tower")
    result = CliRunner().invoke(main, ["retrain", "--pending"])
    assert result.exit_code == 0, result.output
    [done] = json.loads(result.stdout[result.stdout.index('{\n  "retrains"') :])["retrains"]
    assert (done["model"], done["at"], done["version"]) == ("two_tower", CHECKED_AT, None)
    # torch is here, so the job really ran; with no exports to train on it published nothing
    # (or, without torch, it could not run): either way the request stays pending, saying why.
    assert done["reason"].startswith("retrain requested; ")
    [pending] = pending_requests(tables)
    assert pending["reason"] == done["reason"]


def test_evaluate_policy_prints_the_estimate_production_and_the_gate(env: Any, tables: Any) -> None:
    log_bandit_decisions(tables)
    args = ["evaluate", "policy", "--candidate", "thompson:prior=2/2", "--days", "1"]
    text = CliRunner().invoke(main, [*args, "--resamples", "200"])
    assert text.exit_code == 0, text.output
    assert "production 0.5000" in text.output
    assert "gate       PROMOTE:" in text.output
    assert "200 rows used; skipped: none" in text.output
    report = json.loads(CliRunner().invoke(main, [*args, "--resamples", "200", "--json"]).stdout)
    assert report["gate"]["decision"] == "promote" and report["estimator"] == "dr"
    assert report["production"]["estimate"] == 0.5
    assert report["value"]["ci_low"] > 0.5 and set(report["estimates"]) == {
        "ipw",
        "snipw",
        "dm",
        "dr",
    }
    # A margin larger than the gain turns the verdict, and ipw can be asked for instead.
    strict = CliRunner().invoke(main, [*args, "--margin", "0.6", "--estimator", "ipw", "--json"])
    assert json.loads(strict.stdout)["gate"]["decision"] == "keep"


def test_evaluate_policy_register_publishes_a_bandit_policy_version(
    env: Any, tables: Any, s3: Any
) -> None:
    log_bandit_decisions(tables)
    args = ["evaluate", "policy", "--candidate", "thompson:prior=2/2", "--resamples", "200"]
    result = CliRunner().invoke(main, [*args, "--register", "--json"])
    assert result.exit_code == 0, result.output
    registered = json.loads(result.stdout)["registered"]
    assert registered["name"] == "bandit_policy"
    prefix = f"models/bandit_policy/{registered['version']}/"
    listed = s3.list_objects_v2(Bucket=env.bucket, Prefix=prefix)["Contents"]
    assert {o["Key"][len(prefix) :] for o in listed} == {
        "manifest.json",
        "ope_report.json",
        "policy.json",
    }
    assert registered["manifest"] == prefix + "manifest.json"


def test_evaluate_policy_says_what_is_wrong(env: Any, tables: Any) -> None:
    empty = CliRunner().invoke(main, ["evaluate", "policy", "--candidate", "thompson"])
    assert empty.exit_code == 1 and "no usable bandit decision" in empty.output
    bad = CliRunner().invoke(main, ["evaluate", "policy", "--candidate", "thompson:prior=x"])
    assert bad.exit_code == 1 and "bad setting 'prior=x'" in bad.output
    wrong = CliRunner().invoke(
        main, ["evaluate", "policy", "--candidate", "ucb1", "--scope", "content"]
    )
    assert wrong.exit_code == 1 and "runs thompson" in wrong.output
    both = CliRunner().invoke(
        main,
        ["evaluate", "policy", "--candidate", "thompson", "--days", "2", "--from", "2026-01-01"],
    )
    assert both.exit_code == 2


def test_sentiment_import_stores_phrasebank_and_mapped_csv(
    env: Any, tables: Any, s3: Any, tmp_path: Any
) -> None:
    from learnloop.sentiment.labelled import LABELLED_KEY

    phrasebank = tmp_path / "Sentences_AllAgree.txt"
    phrasebank.write_bytes("Profit rose\xa05 %@positive\nSales fell@negative\n".encode("latin-1"))
    args = ["sentiment", "import", "--state-dir", str(tmp_path)]
    first = CliRunner().invoke(main, [*args, str(phrasebank)])
    again = CliRunner().invoke(main, [*args, str(phrasebank)])
    assert first.exit_code == again.exit_code == 0, first.output
    assert json.loads(again.stdout[again.stdout.index("{") :])["added"] == 0

    def stored() -> list[dict[str, str]]:
        body = s3.get_object(Bucket=env.bucket, Key=LABELLED_KEY)["Body"].read()
        return [json.loads(line) for line in body.decode("utf-8").splitlines()]

    assert stored() == [
        {"text": "Profit rose\xa05 %", "label": "positive"},
        {"text": "Sales fell", "label": "negative"},
    ]
    coded = tmp_path / "coded.csv"
    coded.write_text("text,label\nboard met,2\n")
    mapped = [*args, str(coded), "--labels", "0=negative,1=positive,2=neutral", "--replace"]
    assert CliRunner().invoke(main, mapped).exit_code == 0
    assert stored() == [{"text": "board met", "label": "neutral"}]
    refused = CliRunner().invoke(main, [*args, str(coded)])  # 2 is no label without the map
    assert refused.exit_code != 0 and "unknown label '2'" in refused.output


# --- issue 18: every command reads .learnloop/local.env; errors are one clear line -----------


@pytest.fixture
def state_dir(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A state directory whose local.env points at the stage, and an environment without it
    (as in a new shell where nobody sourced local.env)."""
    from support.stage import stage_environment

    from learnloop_tools.local.env_file import write_env_file

    values = {
        **stage_environment(settings),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    write_env_file(tmp_path / "local.env", values)
    for name in (*values, "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_commands_that_talk_to_the_stack_read_local_env(
    state_dir: Any, tables: Any, settings: Any
) -> None:
    from learnloop.api.auth import hash_key

    created = CliRunner().invoke(
        main, ["keys", "create", "--scope", "read", "--name", "cli", "--state-dir", str(state_dir)]
    )
    assert created.exit_code == 0, created.output
    assert tables.api_keys.get(hash_key(created.stdout.strip())).name == "cli"
    listed = CliRunner().invoke(main, ["models", "list", "--state-dir", str(state_dir)])
    assert listed.exit_code == 0, listed.output
    assert "engagement" in json.loads(listed.stdout)["models"]
    ran = CliRunner().invoke(
        main,
        ["job", "run", "rollup_daily", "--date", "2026-11-20", "--state-dir", str(state_dir)],
    )
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["date"] == "2026-11-20"
    assert tables.daily_stats.get("2026-11-20")  # written to the stage local.env names


def test_no_credentials_is_one_clear_line_not_a_traceback(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookups
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    for args in (
        ["up", "--endpoint", "http://127.0.0.1:9", "--port", "0", "--state-dir", str(tmp_path)],
        ["keys", "create", "--scope", "read", "--name", "x", "--state-dir", str(tmp_path)],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert "no AWS credentials" in result.output, result.output
        assert "Traceback" not in result.output


def test_job_run_prints_only_its_json_on_stdout(env: Any, tables: Any) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(str(root / p) for p in ("layers", ".", "tests"))
    command = ["job", "run", "rollup_daily", "--date", "2026-11-20"]
    done = subprocess.run(
        [sys.executable, "-m", "learnloop_tools.cli", *command],
        env={**os.environ, "PYTHONPATH": path, "POWERTOOLS_LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["date"] == "2026-11-20"  # nothing else on stdout
    assert "rolled up day" in done.stderr


def test_local_env_says_which_content_types_the_api_accepts(tmp_path: Any) -> None:
    from learnloop.settings import Settings
    from learnloop_tools.local import Runner

    custom = Settings(content_types=("meme", "stock"))
    assert Runner(state_dir=tmp_path, settings=custom).env()["LEARNLOOP_CONTENT_TYPES"] == (
        "meme,stock"
    )
    assert "LEARNLOOP_CONTENT_TYPES" not in Runner(state_dir=tmp_path, settings=Settings()).env()

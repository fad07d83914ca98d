"""The Runner in-process: keys, env, schedules, explicit snapshots and a restart."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from learnloop.clock import utcnow
from learnloop.settings import Settings
from learnloop_tools.local import Runner, RunnerError
from learnloop_tools.local.env_file import read_env_file


@pytest.fixture
def stage_settings(_offline_aws_credentials: None) -> Settings:
    stage = f"r{uuid.uuid4().hex[:8]}"
    return Settings(stage=stage, table_prefix=f"{stage}-", bucket=f"{stage}-bucket")


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_runner_serves_schedules_snapshots_and_restores(
    stage_settings: Settings, tmp_path: Path
) -> None:
    before = os.environ.get("AWS_ENDPOINT_URL")
    fired = threading.Event()
    runner = Runner(port=0, state_dir=tmp_path, settings=stage_settings, snapshot_seconds=0)
    with runner:
        assert runner.running and runner.api_url and runner.endpoint_url
        assert os.environ["AWS_ENDPOINT_URL"] == runner.endpoint_url
        assert os.environ["LEARNLOOP_STAGE"] == stage_settings.stage
        assert get(f"{runner.api_url}/v1/health") == {"status": "ok", "stage": stage_settings.stage}
        assert sorted(runner.keys) == ["admin", "ingest", "read"]
        assert read_env_file(runner.env_path)["LEARNLOOP_READ_KEY"] == runner.keys["read"]

        runner.add_schedule("tick", "rate(1 minute)", lambda event: fired.set())
        assert runner.run_schedule("tick") is None
        assert fired.is_set()

        report = runner.snapshot()
        assert report is not None and report.items >= 3  # the three keys at least
        keys = dict(runner.keys)
    assert not runner.running
    assert os.environ.get("AWS_ENDPOINT_URL") == before, "the environment is put back"

    with Runner(port=0, state_dir=tmp_path, settings=stage_settings) as again:
        assert again.restored is not None and again.restored.items == report.items
        assert again.keys == keys, "keys still valid are reused"


def test_a_taken_port_is_a_runner_error(stage_settings: Settings, tmp_path: Path) -> None:
    with Runner(port=0, state_dir=tmp_path / "a", settings=stage_settings) as first:
        port = int(first.api_url.rsplit(":", 1)[1])  # type: ignore[union-attr]
        second = Runner(port=port, state_dir=tmp_path / "b", settings=stage_settings)
        with pytest.raises(RunnerError, match="--port"):
            second.start()
        assert not second.running
        assert get(f"{first.api_url}/v1/health")["status"] == "ok"


def test_the_runner_carries_out_retrain_requests_after_a_drift_check(
    stage_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.drift_requests import request_retrain

    from learnloop.drift.actions import pending_requests
    from learnloop.store import Tables
    from learnloop_tools.local import retrain

    # As where the train extra is not installed: the runner says so instead of failing.
    monkeypatch.setattr(retrain, "missing_extra", lambda name: "train")
    with Runner(port=0, state_dir=tmp_path, settings=stage_settings, snapshot_seconds=0) as runner:
        tables = Tables(runner.settings)
        request_retrain(tables, "two_tower")
        runner.run_schedule("drift_check")
        [pending] = pending_requests(tables)
    assert pending["reason"] == retrain.unavailable_reason("train")


def post(url: str, body: Any, key: str) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_runner_spools_decisions_and_loads_them_on_schedule_and_at_stop(
    stage_settings: Settings, tmp_path: Path
) -> None:
    from learnloop.decisions.log import read_decisions
    from learnloop.store import Tables

    choice = {"scope": "content", "candidates": ["hook:x", "hook:y"]}
    with Runner(port=0, state_dir=tmp_path, settings=stage_settings, snapshot_seconds=0) as runner:
        assert runner.settings.decision_sink == "spool"
        spool = tmp_path.resolve() / "decisions"
        first = post(f"{runner.api_url}/v1/bandit/select", choice, runner.keys["read"])
        assert [p.name.startswith("decisions-") for p in spool.iterdir()] == [True]
        runner.run_schedule("load_decisions")
        assert list(spool.iterdir()) == []
        second = post(f"{runner.api_url}/v1/bandit/select", choice, runner.keys["read"])
        tables = Tables(runner.settings)
        today = {d["decision_id"] for d in read_decisions(tables, *[utcnow().date()] * 2)}
        assert today == {first["decision_id"]}
        report = runner.snapshot()
    assert report is not None
    # The stop loaded the second decision before its final snapshot: a restart has both.
    with Runner(port=0, state_dir=tmp_path, settings=stage_settings, snapshot_seconds=0) as again:
        tables = Tables(again.settings)
        today = {d["decision_id"] for d in read_decisions(tables, *[utcnow().date()] * 2)}
        assert today == {first["decision_id"], second["decision_id"]}

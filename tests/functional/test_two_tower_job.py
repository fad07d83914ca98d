"""The two-tower job against moto's S3: contract-B exports in, a contract-C artifact out,
in process (``main``) and through ``learnloop train`` as a subprocess."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from support.planted import export_days, planted, put_exports
from support.stage import stage_environment

from training_jobs.two_tower import main

# The two-tower candidate alone, its defaults only (no search): ALS and the search have their
# own tests (test_two_tower_selection.py).
FAST = ["--epochs", "6", "--patience", "6", "--batch-size", "32", "--quiet",
        "--candidates", "two_tower", "--budget-seconds", "0"]  # fmt: skip
FILES = {
    "user_tower.onnx",
    "item_tower.onnx",
    "item_embeddings.npy",
    "items.json",
    "user_embeddings.npy",
    "users.json",
    "manifest.json",
}


@pytest.fixture
def job_env(tables: Any, s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The stage's settings in the environment and three days of exports in its bucket."""
    settings = tables.settings
    for name, value in stage_environment(settings).items():
        monkeypatch.setenv(name, value)
    rows, items = planted(n_users=40, seed=1)
    days = export_days(rows, items)
    put_exports(s3, settings.bucket, days)
    # An export still being written (no manifest yet) is not read.
    s3.put_object(Bucket=settings.bucket, Key="exports/2026-12-01/reactions.jsonl", Body=b"{")
    return settings, days, rows


def artifact(s3: Any, bucket: str) -> tuple[str, dict[str, bytes]]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="models/two_tower/")["Contents"]
    versions = {entry["Key"].split("/")[2] for entry in listed}
    assert len(versions) == 1, versions
    (version,) = versions
    prefix = f"models/two_tower/{version}/"
    files = {
        entry["Key"][len(prefix) :]: s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        for entry in listed
    }
    return version, files


def check_artifact(files: dict[str, bytes], days: dict[str, dict[str, bytes]]) -> dict[str, Any]:
    import onnxruntime as ort

    assert set(files) == FILES
    manifest = json.loads(files["manifest.json"])
    for name, entry in manifest["files"].items():
        assert hashlib.sha256(files[name]).hexdigest() == entry["sha256"], name
        assert len(files[name]) == entry["size"]
    assert set(manifest["files"]) == FILES - {"manifest.json"}
    items = json.loads(files["items.json"])
    users = json.loads(files["users.json"])["users"]
    item_matrix = np.load(io.BytesIO(files["item_embeddings.npy"]), allow_pickle=False)
    user_matrix = np.load(io.BytesIO(files["user_embeddings.npy"]), allow_pickle=False)
    dim = manifest["extra"]["embedding_dim"]
    assert item_matrix.dtype == user_matrix.dtype == np.float32
    assert item_matrix.shape == (len(items["item_keys"]), dim)
    assert len(items["content_types"]) == len(items["popularity"]) == len(items["item_keys"])
    assert user_matrix.shape == (len(users), dim)
    assert manifest["name"] == "two_tower" and manifest["extra"]["kind"] == "two_tower"
    for k in (5, 10, 20):
        for metric in ("recall", "ndcg", "map"):
            assert 0.0 <= manifest["metrics"][f"{metric}@{k}"] <= 1.0
            assert 0.0 <= manifest["metrics"][f"popularity_{metric}@{k}"] <= 1.0
    named = manifest["extra"]["exports"]
    assert [e["date"] for e in named] == sorted(days)
    for entry in named:
        expected = hashlib.sha256(days[entry["date"]]["manifest.json"]).hexdigest()
        assert entry["manifest_sha256"] == expected
    # The towers load in onnxruntime and reproduce the published matrices.
    towers = manifest["extra"]["towers"]
    user_session = ort.InferenceSession(files[towers["user_tower"]["file"]])
    assert [i.name for i in user_session.get_inputs()] == [
        i["name"] for i in towers["user_tower"]["inputs"]
    ]
    history = np.zeros((1, len(items["item_keys"])), dtype=np.float32)
    item_session = ort.InferenceSession(files[towers["item_tower"]["file"]])
    vocabulary = towers["content_types"]
    feeds = {
        "item_index": np.arange(3, dtype=np.int64),
        "content_type": np.array(
            [vocabulary.index(t) for t in items["content_types"][:3]], dtype=np.int64
        ),
    }
    if "text_embedding" in {i.name for i in item_session.get_inputs()}:
        feeds["text_embedding"] = np.zeros((3, manifest["extra"]["text_dim"]), np.float32)
    assert item_session.run(None, feeds)[0].shape == (3, dim)
    assert user_session.run(None, {"user_index": np.array([-1]), "history": history})[0].shape == (
        1,
        dim,
    )
    return manifest


def test_main_writes_a_complete_artifact_naming_its_exports(
    job_env: Any, s3: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, days, rows = job_env
    gone = rows[0][0]
    exclude = tmp_path / "exclude.txt"
    exclude.write_text(gone + "\n")
    code = main([*FAST, "--text-encoder", "hashing", "--embedding-dim", "64",
                 "--exclude-file", str(exclude)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    version, files = artifact(s3, settings.bucket)
    assert summary["version"] == version and summary["keys"][-1].endswith("manifest.json")
    manifest = check_artifact(files, days)
    assert manifest["extra"]["embedding_dim"] == 64
    assert manifest["extra"]["text_encoder"] == "hashing"
    users = json.loads(files["users.json"])["users"]
    assert gone not in users and len(users) == len({r[0] for r in rows}) - 1
    assert manifest["rows"] == sum(1 for r in rows if r[0] != gone)
    # The test split is the version's evaluation set; the excluded user is not in it.
    from learnloop.models.evaluation import read_set

    evaluation = manifest["evaluation"]
    assert evaluation["source"] == "holdout"
    assert evaluation["rows"] == manifest["extra"]["split"]["test"]
    held_out = read_set(s3, settings.bucket, evaluation)
    assert len(held_out["users"]) == evaluation["rows"] and gone not in held_out["users"]
    assert len(held_out["seen_users"]) == (
        manifest["extra"]["split"]["train"] + manifest["extra"]["split"]["validation"]
    )


def test_main_without_exports_fails_with_a_reason(
    tables: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tables.settings
    monkeypatch.setenv("AWS_ENDPOINT_URL", settings.endpoint_url)
    monkeypatch.setenv("LEARNLOOP_TABLE_PREFIX", settings.table_prefix)
    monkeypatch.setenv("LEARNLOOP_BUCKET", settings.bucket)
    assert main([*FAST, "--text-encoder", "none"]) == 1
    assert "no complete exports" in capsys.readouterr().err


def test_learnloop_train_runs_the_job_as_a_subprocess_with_minilm(
    job_env: Any, s3: Any, tmp_path: Any
) -> None:
    settings, days, _ = job_env
    state = tmp_path / "state"
    state.mkdir()
    # local.env supplies defaults (as `learnloop up` writes it); the environment wins.
    (state / "local.env").write_text(f"LEARNLOOP_BUCKET={settings.bucket}\nLEARNLOOP_X=1\n")
    env = {k: v for k, v in os.environ.items() if k != "LEARNLOOP_BUCKET"}
    result = subprocess.run(
        [sys.executable, "-m", "learnloop_tools.cli", "train", "--state-dir", str(state),
         "two_tower", "--epochs", "3", "--batch-size", "32", "--embedding-dim", "128",
         "--candidates", "two_tower", "--budget-seconds", "0"],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "refit epoch 1/" in result.stderr  # progress streamed (a line per epoch off a TTY)
    _, files = artifact(s3, settings.bucket)
    manifest = check_artifact(files, days)
    assert manifest["extra"]["text_encoder"] == "minilm"
    assert manifest["extra"]["text_dim"] == 384
    assert manifest["extra"]["embedding_dim"] == 128


def test_learnloop_train_refuses_unknown_jobs_and_targets() -> None:
    from click.testing import CliRunner

    from learnloop_tools.cli import main as cli

    unknown = CliRunner().invoke(cli, ["train", "nope"])
    assert unknown.exit_code == 2 and "two_tower" in unknown.output
    target = CliRunner().invoke(cli, ["train", "--target", "k8s", "two_tower"])
    assert target.exit_code == 2 and "'k8s' is not one of 'local', 'ecs'" in target.output

"""Each training job's Dockerfile installs the `train` extra with pyproject's torch pin from
the PyTorch CPU index and runs the job's entry module."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from learnloop.deploy.inventory import training_job_specs

ROOT = Path(__file__).resolve().parents[3]
JOBS = training_job_specs()


def _torch_pin() -> str:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    train = extras["optional-dependencies"]["train"]
    return next(r.split("==", 1)[1] for r in train if r.startswith("torch=="))


@pytest.mark.parametrize("job", JOBS, ids=[job.name for job in JOBS])
def test_dockerfile_installs_train_and_runs_the_entry_module(job: object) -> None:
    dockerfile = (ROOT / "training_jobs" / job.name / "Dockerfile").read_text()  # type: ignore[attr-defined]
    assert f"ARG TORCH_VERSION={_torch_pin()}" in dockerfile
    assert re.search(r'--index-url "\$\{TORCH_INDEX}" "torch==\$\{TORCH_VERSION}"', dockerfile)
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in dockerfile
    assert 'pip install ".[train]"' in dockerfile
    assert "/opt/wheels" not in dockerfile
    cmd = re.findall(r"^CMD (.*)$", dockerfile, flags=re.M)
    assert cmd == [f'["python", "-m", "{job.module}"]']  # type: ignore[attr-defined]


def test_there_are_training_jobs() -> None:
    assert {job.name for job in JOBS} >= {"two_tower", "text_encoder"}

"""Each training job's Dockerfile installs its extra and runs the job's entry module; an image
with the `train` extra gets pyproject's torch pin from the PyTorch CPU index, any other none."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from learnloop_tools.deploy.inventory import training_job_specs

ROOT = Path(__file__).resolve().parents[3]
JOBS = training_job_specs()


def _torch_pin() -> str:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    train = extras["optional-dependencies"]["train"]
    return next(r.split("==", 1)[1] for r in train if r.startswith("torch=="))


@pytest.mark.parametrize("job", JOBS, ids=[job.name for job in JOBS])
def test_dockerfile_installs_its_extra_and_runs_the_entry_module(job: object) -> None:
    dockerfile = (ROOT / "training_jobs" / job.name / "Dockerfile").read_text()  # type: ignore[attr-defined]
    extra = job.extra  # type: ignore[attr-defined]
    assert f'pip install ".[{extra}]"' in dockerfile
    torch_lines = [
        f"ARG TORCH_VERSION={_torch_pin()}" in dockerfile,
        bool(re.search(r'--index-url "\$\{TORCH_INDEX}" "torch==\$\{TORCH_VERSION}"', dockerfile)),
        "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in dockerfile,
    ]
    if extra == "train":
        assert all(torch_lines)
    else:
        assert not any(torch_lines) and "torch" not in dockerfile.lower()
    assert "/opt/wheels" not in dockerfile
    cmd = re.findall(r"^CMD (.*)$", dockerfile, flags=re.M)
    assert cmd == [f'["python", "-m", "{job.module}"]']  # type: ignore[attr-defined]
    # The image holds the runtime library and the jobs, never the developer tooling.
    copied = re.findall(r"^COPY (\S+) ", dockerfile, flags=re.M)
    assert {"layers", "training_jobs"} <= set(copied)
    assert job.module.split(".")[0] == "training_jobs"  # type: ignore[attr-defined]
    assert not any("learnloop_tools" in line for line in copied)


def test_the_sentiment_image_needs_no_torch() -> None:
    # Its modules import scikit-learn, onnxruntime and tokenizers only.
    assert {job.name: job.extra for job in JOBS}["sentiment"] == "learn"


def test_there_are_training_jobs() -> None:
    assert {job.name for job in JOBS} >= {"two_tower", "text_encoder"}

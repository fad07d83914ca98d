"""One Dockerfile builds every training job's image: a target per job, which installs the job's
extra and runs its entry module; a `train` image gets pyproject's torch pin from the PyTorch CPU
index, any other none."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from learnloop_tools.deploy.inventory import training_job_specs

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "training_jobs" / "Dockerfile"
JOBS = training_job_specs()


def _torch_pin() -> str:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    train = extras["optional-dependencies"]["train"]
    return next(r.split("==", 1)[1] for r in train if r.startswith("torch=="))


def stages() -> dict[str, tuple[str, str]]:
    """Stage name → (the image or stage it starts from, its instructions)."""
    text = re.sub(r"^#.*\n", "", DOCKERFILE.read_text(), flags=re.M)
    parts = re.split(r"^FROM (\S+) AS (\S+)\n", text, flags=re.M)[1:]
    return {parts[i + 1]: (parts[i], parts[i + 2]) for i in range(0, len(parts), 3)}


def chain(name: str) -> str:
    """The instructions that build stage ``name``: its parents' first, then its own."""
    found = stages()
    parent, body = found[name]
    return (chain(parent) if parent in found else "") + body


@pytest.mark.parametrize("job", JOBS, ids=[job.name for job in JOBS])
def test_the_jobs_target_installs_its_extra_and_runs_the_entry_module(job: object) -> None:
    name, extra = job.name, job.extra  # type: ignore[attr-defined]
    found = stages()
    assert name in found, f"no `FROM ... AS {name}` target in {DOCKERFILE}"
    steps = chain(name)
    assert f'pip install ".[{extra}]"' in steps
    torch_lines = [
        f"ARG TORCH_VERSION={_torch_pin()}" in steps,
        bool(re.search(r'--index-url "\$\{TORCH_INDEX}" "torch==\$\{TORCH_VERSION}"', steps)),
        "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in steps,
    ]
    if extra == "train":
        assert all(torch_lines)
        # torch before the code: a code change does not download torch again.
        assert steps.index("torch==") < steps.index("COPY layers")
    else:
        assert not any(torch_lines) and "torch" not in steps.lower()
    assert "/opt/wheels" not in steps
    cmd = re.findall(r"^CMD (.*)$", found[name][1], flags=re.M)
    assert cmd == [f'["python", "-m", "{job.module}"]']  # type: ignore[attr-defined]
    # The image holds the runtime library and the jobs, never the developer tooling.
    copied = re.findall(r"^COPY (\S+) ", steps, flags=re.M)
    assert {"layers", "training_jobs"} <= set(copied)
    assert job.module.split(".")[0] == "training_jobs"  # type: ignore[attr-defined]
    assert not any("learnloop_tools" in line for line in copied)
    assert re.search(r"^USER 1000$", steps, flags=re.M)


def test_every_target_is_a_job_and_no_job_keeps_a_dockerfile_of_its_own() -> None:
    shared = {"base", "train", "learn"}
    assert set(stages()) - shared == {job.name for job in JOBS}
    assert not list((ROOT / "training_jobs").glob("*/Dockerfile"))


def test_the_sentiment_image_needs_no_torch() -> None:
    # Its modules import scikit-learn, onnxruntime and tokenizers only.
    assert {job.name: job.extra for job in JOBS}["sentiment"] == "learn"


def test_there_are_training_jobs() -> None:
    assert {job.name for job in JOBS} >= {"two_tower", "text_encoder"}

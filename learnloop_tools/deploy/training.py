"""Start a container training job: as an ECS Fargate task on AWS, or as a local subprocess.

Both run the same entry module (``python -m training_jobs.{name}``, contract D); the ECS
task is the one the stack defines, started with the stack's cluster, subnets and security
group (read from its outputs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from learnloop_tools.deploy.exceptions import TrainingTargetError
from learnloop_tools.deploy.inventory import TrainingJobSpec
from learnloop_tools.deploy.template import logical_id


def find_job(jobs: Sequence[TrainingJobSpec], name: str) -> TrainingJobSpec:
    """The job called ``name``; :class:`TrainingTargetError` lists the known ones otherwise."""
    for job in jobs:
        if job.name == name:
            return job
    known = ", ".join(job.name for job in jobs) or "none"
    raise TrainingTargetError(f"unknown training job {name!r}; jobs: {known}")


@dataclass(frozen=True)
class StartedTask:
    """An ECS task that was started."""

    task_arn: str
    cluster: str
    job: str


def run_ecs_task(
    ecs: Any,
    outputs: Mapping[str, str],
    job: TrainingJobSpec,
    *,
    args: Sequence[str] = (),
    started_by: str = "learnloop-cli",
) -> StartedTask:
    """RunTask the stack's task definition of ``job`` on Fargate.

    Parameters
    ----------
    ecs
        An ECS client.
    outputs
        The stack's outputs (``TrainingCluster``, ``TrainingSubnets``,
        ``TrainingSecurityGroup``, ``{Job}TaskDefinition``).
    job
        The job to run; ``args`` are appended to its entry module's command line.

    Raises
    ------
    TrainingTargetError
        When the outputs lack the job's task definition, or ECS starts no task.
    """
    task_key = logical_id(job.name, "TaskDefinition")
    missing = [k for k in ("TrainingCluster", "TrainingSubnets", task_key) if k not in outputs]
    if missing:
        raise TrainingTargetError(
            f"the stack has no {', '.join(missing)} output; deploy the stage again"
        )
    overrides: dict[str, Any] = {}
    if args:
        overrides = {
            "containerOverrides": [
                {"name": job.name, "command": ["python", "-m", job.module, *args]}
            ]
        }
    network: dict[str, Any] = {
        "subnets": [s for s in outputs["TrainingSubnets"].split(",") if s],
        "assignPublicIp": "ENABLED",
    }
    if outputs.get("TrainingSecurityGroup"):
        network["securityGroups"] = [outputs["TrainingSecurityGroup"]]
    response = ecs.run_task(
        cluster=outputs["TrainingCluster"],
        taskDefinition=outputs[task_key],
        launchType="FARGATE",
        count=1,
        startedBy=started_by,
        networkConfiguration={"awsvpcConfiguration": network},
        overrides=overrides,
    )
    if response.get("failures") or not response.get("tasks"):
        raise TrainingTargetError(f"ECS started no task: {response.get('failures')}")
    return StartedTask(response["tasks"][0]["taskArn"], outputs["TrainingCluster"], job.name)


def wait_for_task(
    ecs: Any,
    task: StartedTask,
    *,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 6 * 3600,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll until the task stops; returns its container's exit code (1 when unknown)."""
    deadline = time.monotonic() + timeout_seconds
    last = ""
    while time.monotonic() < deadline:
        described = ecs.describe_tasks(cluster=task.cluster, tasks=[task.task_arn])["tasks"][0]
        status = described.get("lastStatus", "")
        if status != last:
            echo(f"{task.job}: {status}")
            last = status
        if status == "STOPPED":
            codes = [c.get("exitCode") for c in described.get("containers", [])]
            return int(codes[0]) if codes and codes[0] is not None else 1
        sleep(poll_seconds)
    raise TrainingTargetError(f"{task.job} still running after {timeout_seconds:.0f} s")


def run_local(
    job: TrainingJobSpec,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
) -> int:
    """Run the job's entry module as a subprocess against the configured endpoint and bucket;
    returns its exit code (its output goes to this terminal)."""
    environment = dict(os.environ if env is None else env)
    environment.setdefault("HF_HUB_OFFLINE", "1")
    return subprocess.run(
        [python, "-m", job.module, *args], env=environment, check=False
    ).returncode


__all__ = ["StartedTask", "find_job", "run_ecs_task", "run_local", "wait_for_task"]

"""Carry out the retrain requests the drift check recorded for container-trained models.

For ``two_tower`` and ``sentiment`` (container jobs the runtime never imports) ``drift_check``
records a request: a ledger item in the sparse ``by_pending`` index (see
:mod:`learnloop.drift.actions`). On AWS an EventBridge rule on ``learnloop.retrain.requested``
can start the job's Fargate task; locally this module runs the job (``learnloop retrain
--pending``, and the local runner after each drift check). The predictors' requests are the
``learn`` job's (its next run trains them on the drift window), so they are left alone here.

* the job's package extra is not installed (two-tower needs torch: ``.[train]``): the request
  stays pending and its reason says ``retrain requested; training job unavailable here:
  install .[train]``;
* the job runs (a subprocess, as ``learnloop train NAME`` runs it) and publishes a version: the
  request is done, its action names the version (registration, triggered by the manifest,
  decides promotion; the timeline reads the outcome);
* the job fails or publishes nothing: the request stays pending, the reason says so.

Examples
--------
>>> run_pending_retrains(tables, s3)  # doctest: +SKIP
[{'model': 'sentiment', 'at': '2026-11-20T01:30:00+00:00', 'version': '20261120T013512Z', ...}]
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from learnloop.drift.actions import (
    complete_request,
    is_container_model,
    pending_requests,
    retrain_job,
)
from learnloop.store.tables import Tables

#: What each package extra must make importable for a job that needs it.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "train": ("torch", "sentence_transformers"),
    "learn": ("sklearn", "skl2onnx"),
}
#: A job runner: ``run(job_name, args) -> exit code``.
JobRunner = Callable[[str, Sequence[str]], int]


def unavailable_reason(extra: str) -> str:
    """What a request records when the job cannot run here.

    Examples
    --------
    >>> unavailable_reason("train")
    'retrain requested; training job unavailable here: install .[train]'
    """
    return f"retrain requested; training job unavailable here: install .[{extra}]"


def missing_extra(name: str) -> str | None:
    """The extra to install before job ``name`` can run here, or None when it can."""
    from training_jobs import IMAGE_EXTRAS

    extra = IMAGE_EXTRAS.get(name, "train")
    return extra if missing_extra_of(extra) else None


def subprocess_runner(env: Mapping[str, str] | None = None) -> JobRunner:
    """Run a job as ``learnloop train NAME`` does: ``python -m training_jobs.NAME`` in a
    subprocess, with this environment (or ``env``), its output going to this terminal."""
    from training_jobs import JOBS

    def run(name: str, args: Sequence[str]) -> int:
        environment = dict(os.environ if env is None else env)
        environment.setdefault("HF_HUB_OFFLINE", "1")
        command = [sys.executable, "-m", JOBS[name], *args]
        return subprocess.run(command, env=environment, check=False).returncode

    return run


def published_versions(s3: Any, bucket: str, name: str) -> set[str]:
    """Versions of ``name`` whose manifest is in the bucket (manifest last: complete ones)."""
    found: set[str] = set()
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"models/{name}/"):
        for item in page.get("Contents", []):
            parts = item["Key"].split("/")
            if len(parts) == 4 and parts[3] == "manifest.json":
                found.add(parts[2])
    return found


def run_pending_retrains(
    tables: Tables,
    s3: Any,
    *,
    run: JobRunner | None = None,
    missing: Callable[[str], str | None] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Run the training job of every pending retrain request, oldest first.

    Parameters
    ----------
    tables : Tables
        The stage (its ledger holds the requests).
    s3 : boto3 S3 client
        Lists the published versions before and after each job.
    run : callable, optional
        ``run(job, args) -> exit code``; default: a subprocess (:func:`subprocess_runner`).
    missing : callable, optional
        ``missing(job)`` → the extra to install, or None when the job can run here (default:
        :func:`missing_extra`, which looks for the extra's modules).
    env : mapping, optional
        The subprocess's environment (default: this process's).

    Returns
    -------
    list of dict
        Per request: ``model``, ``at``, ``version`` (None when nothing was published) and
        ``reason``.
    """
    run = run or subprocess_runner(env)
    missing = missing or missing_extra
    bucket = tables.settings.bucket
    done: list[dict[str, Any]] = []
    for request in pending_requests(tables):
        model, at = str(request["model"]), str(request["at"])
        version: str | None = None
        if not is_container_model(model):
            continue  # the next learn run carries it out, where the rows and scikit-learn are
        job, args = retrain_job(request)
        extra = missing(job)
        if extra is not None:
            reason = unavailable_reason(extra)
        else:
            before = published_versions(s3, bucket, model)
            code = run(job, args)
            new = sorted(published_versions(s3, bucket, model) - before)
            if new:
                version = new[-1]
                reason = f"retrained: the {model} job published {version}"
            else:
                reason = (
                    f"retrain requested; the {model} job exited with {code} and published nothing"
                )
        complete_request(tables, at, model, version=version, reason=reason)
        done.append({"model": model, "at": at, "version": version, "reason": reason})
    return done


def missing_extra_of(extra: str) -> bool:
    """Whether a module of ``extra`` cannot be imported here."""
    return any(importlib.util.find_spec(m) is None for m in EXTRA_MODULES.get(extra, ()))


__all__ = [
    "EXTRA_MODULES",
    "missing_extra",
    "published_versions",
    "run_pending_retrains",
    "subprocess_runner",
    "unavailable_reason",
]

"""Create, update and delete a stage's stack; every AWS client is injected.

:func:`deploy` uploads what :func:`learnloop_tools.deploy.build.build` wrote (content-addressed, so
an unchanged layer is not uploaded again), then creates or updates the stack and waits;
:func:`destroy` deletes it (emptying the data bucket first unless the stage keeps its data).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from learnloop_tools.deploy.build import BuildResult, s3_prefix
from learnloop_tools.deploy.exceptions import StackError

#: CloudFormation's limit for an inline template body; larger ones go through S3.
MAX_INLINE_TEMPLATE = 51_200
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def stack_name(stage: str) -> str:
    """``learnloop-{stage}``.

    Examples
    --------
    >>> stack_name("dev")
    'learnloop-dev'
    """
    return f"learnloop-{stage}"


def default_artifacts_bucket(sts: Any, region: str) -> str:
    """``learnloop-artifacts-{account}-{region}``: one per account and region, keys per stage."""
    account = sts.get_caller_identity()["Account"]
    return f"learnloop-artifacts-{account}-{region}"


def ensure_artifacts_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create the private, encrypted artifacts bucket when missing; ``True`` if created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise StackError(f"cannot use the artifacts bucket {bucket}: {exc}") from exc
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    return True


def upload_artifacts(
    s3: Any, result: BuildResult, bucket: str, *, echo: Callable[[str], None] = print
) -> list[str]:
    """Upload the zips under their content-addressed keys; returns the keys uploaded now."""
    uploaded = []
    prefix = s3_prefix(result.template["Outputs"]["Stage"]["Value"])
    for artifact in result.artifacts:
        key = prefix + artifact.s3_name
        try:
            s3.head_object(Bucket=bucket, Key=key)
            echo(f"unchanged {artifact.path.name} (s3://{bucket}/{key})")
            continue
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.upload_file(str(artifact.path), bucket, key)
        echo(f"uploaded {artifact.path.name} to s3://{bucket}/{key}")
        uploaded.append(key)
    return uploaded


def _template_argument(s3: Any, result: BuildResult, bucket: str) -> dict[str, str]:
    body = json.dumps(result.template, separators=(",", ":"))
    if len(body.encode()) <= MAX_INLINE_TEMPLATE:
        return {"TemplateBody": body}
    import hashlib

    stage = result.template["Outputs"]["Stage"]["Value"]
    key = f"{s3_prefix(stage)}templates/{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600
    )
    return {"TemplateURL": url}


def wait_for_stack(
    cfn: Any,
    name: str,
    *,
    since: float,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 3600.0,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Wait until the stack leaves its ``*_IN_PROGRESS`` state, printing a line per resource
    event; returns the final status (``DELETE_COMPLETE`` when it is gone).

    Raises
    ------
    StackError
        When it ends failed or rolled back (with the failed resources' reasons), or is still in
        progress after ``timeout_seconds``.
    """
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
            status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return "DELETE_COMPLETE"
            raise
        for event in reversed(events):
            stamp = event.get("Timestamp")
            if event["EventId"] in seen or (stamp is not None and stamp.timestamp() < since):
                continue
            seen.add(event["EventId"])
            reason = (
                f" ({event['ResourceStatusReason']})" if event.get("ResourceStatusReason") else ""
            )
            echo(f"  {event['LogicalResourceId']}: {event['ResourceStatus']}{reason}")
        if not status.endswith("_IN_PROGRESS"):
            if status.endswith("FAILED") or "ROLLBACK" in status:
                reasons = "; ".join(_failure_reasons(cfn, name)) or status
                raise StackError(f"stack {name} ended {status}: {reasons}")
            return str(status)
        if time.monotonic() >= deadline:
            raise StackError(f"stack {name} still {status} after {timeout_seconds:.0f} s")
        sleep(poll_seconds)


def stack_exists(cfn: Any, name: str) -> bool:
    """Whether a stack called ``name`` exists (and is not deleted)."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return False
        raise
    return bool(stacks) and stacks[0]["StackStatus"] != "DELETE_COMPLETE"


def stack_outputs(cfn: Any, name: str) -> dict[str, str]:
    """The stack's outputs as ``{key: value}``.

    Raises
    ------
    StackError
        When the stack does not exist.
    """
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        raise StackError(f"stack {name} not found; run `learnloop deploy` first") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _failure_reasons(cfn: Any, name: str) -> list[str]:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return []
    return [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("FAILED")
    ][:10]


def deploy(
    result: BuildResult,
    *,
    cfn: Any,
    s3: Any,
    artifacts_bucket: str,
    region: str,
    name: str | None = None,
    image_tag: str | None = None,
    wait: bool = True,
    poll_seconds: float = 5.0,
    echo: Callable[[str], None] = print,
) -> dict[str, str]:
    """Upload the build and create or update its stack; returns the stack's outputs.

    Parameters
    ----------
    result
        What :func:`~learnloop_tools.deploy.build.build` wrote.
    cfn, s3
        CloudFormation and S3 clients.
    artifacts_bucket
        Where the zips go (created when missing).
    name
        The stack (default ``learnloop-{stage}``).
    image_tag
        The training images' tag (the template's ``ImageTag`` parameter).
    poll_seconds
        How often to ask CloudFormation while waiting.

    Raises
    ------
    StackError
        When CloudFormation rejects the template or rolls the stack back (with the reasons).
    """
    stage = result.template["Outputs"]["Stage"]["Value"]
    name = name or stack_name(stage)
    if ensure_artifacts_bucket(s3, artifacts_bucket, region):
        echo(f"created artifacts bucket {artifacts_bucket}")
    upload_artifacts(s3, result, artifacts_bucket, echo=echo)
    arguments: dict[str, Any] = {
        "StackName": name,
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": "learnloop:stage", "Value": stage}],
        **_template_argument(s3, result, artifacts_bucket),
    }
    parameters = [{"ParameterKey": "ArtifactsBucket", "ParameterValue": artifacts_bucket}]
    if "ImageTag" in result.template.get("Parameters", {}) and image_tag:
        parameters.append({"ParameterKey": "ImageTag", "ParameterValue": image_tag})
    arguments["Parameters"] = parameters
    exists = stack_exists(cfn, name)
    started = time.time() - 1
    try:
        if exists:
            echo(f"updating stack {name}")
            cfn.update_stack(**arguments)
        else:
            echo(f"creating stack {name}")
            cfn.create_stack(**arguments)
    except ClientError as exc:
        if "No updates are to be performed" in str(exc):
            echo(f"stack {name} is up to date")
            return stack_outputs(cfn, name)
        raise StackError(f"CloudFormation refused the stack {name}: {exc}") from exc
    if wait:
        wait_for_stack(cfn, name, since=started, poll_seconds=poll_seconds, echo=echo)
    outputs = stack_outputs(cfn, name)
    echo(f"stack {name} ready")
    return outputs


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker of ``bucket``; returns how many."""
    deleted = 0
    paginator = s3.get_paginator("list_object_versions")
    try:
        pages = list(paginator.paginate(Bucket=bucket))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucket":
            return 0
        raise
    for page in pages:
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(objects), 1000):
            chunk = objects[start : start + 1000]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
            deleted += len(chunk)
    return deleted


def destroy(
    stage: str,
    *,
    cfn: Any,
    s3: Any,
    name: str | None = None,
    wait: bool = True,
    poll_seconds: float = 5.0,
    echo: Callable[[str], None] = print,
) -> None:
    """Delete the stage's stack, emptying its bucket first so that it can go too.

    A stage built with ``retain_data`` (``prod`` by default) keeps its tables, bucket and
    secret: CloudFormation leaves them (``DeletionPolicy: Retain``) and the bucket is not
    emptied.

    Raises
    ------
    StackError
        When the stack does not exist or its deletion fails.
    """
    name = name or stack_name(stage)
    if not stack_exists(cfn, name):
        raise StackError(f"stack {name} does not exist")
    outputs = stack_outputs(cfn, name)
    if outputs.get("RetainsData") == "true":
        echo(f"{name} keeps its tables, bucket and secret (DeletionPolicy: Retain)")
    elif outputs.get("BucketName"):
        count = empty_bucket(s3, outputs["BucketName"])
        echo(f"emptied bucket {outputs['BucketName']} ({count} object versions)")
    started = time.time() - 1
    cfn.delete_stack(StackName=name)
    echo(f"deleting stack {name}")
    if wait:
        status = wait_for_stack(cfn, name, since=started, poll_seconds=poll_seconds, echo=echo)
        if status != "DELETE_COMPLETE":
            raise StackError(f"deleting stack {name} ended {status}")
    echo(f"stack {name} deleted")


__all__ = [
    "default_artifacts_bucket",
    "deploy",
    "destroy",
    "empty_bucket",
    "ensure_artifacts_bucket",
    "stack_exists",
    "stack_name",
    "stack_outputs",
    "upload_artifacts",
    "wait_for_stack",
]

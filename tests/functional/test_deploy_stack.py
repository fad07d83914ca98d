"""Stack deploy/destroy, ECS RunTask, local training runs and the LocalStack init hook,
against moto's server over HTTP.

moto's CloudFormation cannot create the whole generated stack (it has no API Gateway body
import, Secrets Manager or bucket-policy support and answers 500 on parts of it), so the stack
test deploys the generated template's tables and bucket only, through the same
:func:`learnloop_tools.deploy.stack.deploy` code path: upload, create, wait, outputs, update,
destroy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from learnloop_tools.deploy import stack
from learnloop_tools.deploy.build import build
from learnloop_tools.deploy.exceptions import StackError, TrainingTargetError
from learnloop_tools.deploy.inventory import TrainingJobSpec
from learnloop_tools.deploy.runtimes import get_runtime
from learnloop_tools.deploy.training import find_job, run_ecs_task, run_local

ROOT = Path(__file__).resolve().parents[2]


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint)


def _storage_only(result: Any) -> None:
    """Keep the tables, the bucket and their outputs: what moto's CloudFormation can create."""
    template = result.template
    keep = {
        k: v
        for k, v in template["Resources"].items()
        if v["Type"] in ("AWS::DynamoDB::Table", "AWS::S3::Bucket")
    }
    for resource in keep.values():
        resource["Properties"].pop("NotificationConfiguration", None)
    template["Resources"] = keep
    template["Outputs"] = {
        k: template["Outputs"][k] for k in ("BucketName", "Stage", "RetainsData", "TablePrefix")
    }
    template["Parameters"] = {"ArtifactsBucket": template["Parameters"]["ArtifactsBucket"]}


def test_deploy_uploads_creates_updates_and_destroy_empties_and_deletes(
    settings: Any, tmp_path: Path, s3: Any
) -> None:
    settings = settings.with_overrides(extra={"LEARNLOOP_BUCKET": settings.bucket})
    result = build(
        settings,
        get_runtime(),
        tmp_path,
        artifacts_bucket=f"{settings.stage}-artifacts",
        skip_layers=True,
        echo=lambda m: None,
    )
    _storage_only(result)
    cfn = _client("cloudformation", settings.endpoint_url)
    lines: list[str] = []
    outputs = stack.deploy(
        result,
        cfn=cfn,
        s3=s3,
        artifacts_bucket=f"{settings.stage}-artifacts",
        region="us-east-1",
        poll_seconds=0.2,
        echo=lines.append,
    )
    assert outputs["BucketName"] == settings.bucket
    # A line per stack event while CloudFormation works (moto reports only the stack's own).
    assert f"  learnloop-{settings.stage}: CREATE_COMPLETE" in lines
    assert outputs["TablePrefix"] == settings.table_prefix
    uploaded = s3.list_objects_v2(Bucket=f"{settings.stage}-artifacts")["Contents"]
    assert {o["Key"].rsplit("/", 1)[-1] for o in uploaded} == {a.s3_name for a in result.artifacts}
    ddb = _client("dynamodb", settings.endpoint_url)
    table = ddb.describe_table(TableName=f"{settings.table_prefix}reactions")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    # A second deploy uploads nothing new (content-addressed keys) and updates in place.
    again: list[str] = []
    stack.deploy(
        result,
        cfn=cfn,
        s3=s3,
        artifacts_bucket=f"{settings.stage}-artifacts",
        region="us-east-1",
        poll_seconds=0.2,
        echo=again.append,
    )
    assert not any(line.startswith("uploaded") for line in again)
    assert any(line.startswith("unchanged") for line in again)
    s3.put_object(Bucket=settings.bucket, Key="exports/2026-11-20/manifest.json", Body=b"{}")
    gone: list[str] = []
    stack.destroy(settings.stage, cfn=cfn, s3=s3, poll_seconds=0.2, echo=gone.append)
    assert any("emptied bucket" in line for line in gone)
    assert not stack.stack_exists(cfn, stack.stack_name(settings.stage))
    with pytest.raises(StackError, match="does not exist"):
        stack.destroy(settings.stage, cfn=cfn, s3=s3, poll_seconds=0.2, echo=gone.append)


def test_stack_outputs_of_a_missing_stack_say_what_to_do(aws_endpoint: str) -> None:
    with pytest.raises(StackError, match="learnloop deploy"):
        stack.stack_outputs(_client("cloudformation", aws_endpoint), "learnloop-nothing")


def test_train_on_ecs_runs_the_stacks_task_definition(aws_endpoint: str) -> None:
    ecs = _client("ecs", aws_endpoint)
    ec2 = _client("ec2", aws_endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    # As the stack's training VPC (moto's RunTask also needs DNS hostnames for the ENI).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="t", Description="t", VpcId=vpc)["GroupId"]
    cluster = ecs.create_cluster(clusterName="learnloop-t-training")["cluster"]["clusterArn"]
    job = TrainingJobSpec(name="two_tower", module="training_jobs.two_tower")
    task_definition = ecs.register_task_definition(
        family="learnloop-t-two-tower",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="2048",
        memory="8192",
        containerDefinitions=[
            {
                "name": job.name,
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:latest",
                "command": ["python", "-m", job.module],
                "memory": 8192,  # moto sums container memory even on Fargate
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    outputs = {
        "TrainingCluster": cluster,
        "TrainingSubnets": subnet,
        "TrainingSecurityGroup": group,
        "TwoTowerTaskDefinition": task_definition,
    }
    started = run_ecs_task(ecs, outputs, job, args=["--epochs", "1"])
    described = ecs.describe_tasks(cluster=cluster, tasks=[started.task_arn])["tasks"][0]
    assert described["taskDefinitionArn"] == task_definition
    assert described["startedBy"] == "learnloop-cli"
    override = described["overrides"]["containerOverrides"][0]
    assert override["command"] == ["python", "-m", job.module, "--epochs", "1"]
    with pytest.raises(TrainingTargetError, match="TextEncoderTaskDefinition"):
        run_ecs_task(ecs, outputs, TrainingJobSpec("text_encoder", "training_jobs.x"))


def test_unknown_job_lists_the_known_ones() -> None:
    jobs = (TrainingJobSpec("two_tower", "m"),)
    assert find_job(jobs, "two_tower").module == "m"
    with pytest.raises(TrainingTargetError, match="jobs: two_tower"):
        find_job(jobs, "gpt")


def test_train_local_runs_the_entry_module_against_the_configured_endpoint(
    tmp_path: Path, settings: Any, tables: Any, s3: Any
) -> None:
    # A tiny entry module with the contract's shape (main(argv) -> int) that writes to the bucket.
    package = tmp_path / "fake_jobs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "drop.py").write_text(
        "import os, sys\n"
        "from learnloop.settings import Settings\n"
        "from learnloop.store.clients import s3_client\n"
        "def main(argv):\n"
        "    s = Settings.from_env()\n"
        "    s3_client(s).put_object(Bucket=s.bucket, Key='models/x/' + argv[0], Body=b'1')\n"
        "    return 0\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(main(sys.argv[1:]))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{tmp_path}:{ROOT / 'layers'}",
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LEARNLOOP_STAGE": settings.stage,
        "LEARNLOOP_BUCKET": settings.bucket,
    }
    code = run_local(TrainingJobSpec("drop", "fake_jobs.drop"), args=["v1"], env=env)
    assert code == 0
    assert s3.get_object(Bucket=settings.bucket, Key="models/x/v1")["Body"].read() == b"1"


def test_localstack_init_hook_bootstraps_the_stage_against_moto(
    settings: Any, _dynamodb_client: Any, s3: Any
) -> None:
    from learnloop.store.records import MODELS

    env = {
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LEARNLOOP_STAGE": settings.stage,
        "LEARNLOOP_TABLE_PREFIX": settings.table_prefix,
        "LEARNLOOP_BUCKET": settings.bucket,
        "PYTHONPATH": str(ROOT / "layers"),
        "PATH": "/usr/bin:/bin",
    }
    # The hook's own command line, in a fresh interpreter, as the container runs it.
    first = subprocess.run(
        [sys.executable, "-m", "learnloop_tools.deploy.localstack"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    for model in MODELS:  # (ListTables pages at 100: the session's server holds more)
        table = _dynamodb_client.describe_table(TableName=settings.table_name(model.entity))
        assert table["Table"]["TableStatus"] == "ACTIVE"
    s3.head_bucket(Bucket=settings.bucket)
    assert f"created table {settings.table_prefix}reactions" in first.stdout
    # Every LocalStack restart runs the hook again: nothing is created twice.
    from learnloop_tools.deploy.localstack import init_localstack

    report = init_localstack(env, echo=lambda m: None)
    assert report["created_tables"] == [] and not report["bucket_created"]
    assert len(report["existing_tables"]) == len(MODELS)


def test_localstack_init_fails_clearly_when_nothing_answers() -> None:
    from learnloop_tools.deploy.exceptions import DeployError
    from learnloop_tools.deploy.localstack import wait_until_ready

    with pytest.raises(DeployError, match="did not answer"):
        wait_until_ready("http://127.0.0.1:9", timeout_seconds=0.2, poll_seconds=0.05)


def test_localstack_compose_mounts_the_hook_that_runs_bootstrap() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "localstack" / "docker-compose.yml").read_text())
    service = compose["services"]["localstack"]
    services = set(service["environment"]["SERVICES"].split(","))
    assert {"dynamodb", "s3", "events", "cloudformation"} <= services
    mounts = [v for v in service["volumes"] if "ready.d" in v]
    assert mounts
    hook = ROOT / "localstack" / mounts[0].split(":", 1)[0].removeprefix("./")
    text = hook.read_text()
    assert "-m learnloop_tools.deploy.localstack" in text
    assert all(p.startswith("127.0.0.1:") for p in service["ports"])


def test_destroy_asks_first_and_does_nothing_when_told_no(settings: Any) -> None:
    from click.testing import CliRunner

    from learnloop_tools.cli import main

    cfn = _client("cloudformation", settings.endpoint_url)
    result = CliRunner().invoke(
        main,
        ["destroy", "--stage", settings.stage],
        input="n\n",
        env={"AWS_ENDPOINT_URL": settings.endpoint_url},
    )
    assert result.exit_code == 1 and "Aborted" in result.output
    assert f"Delete stack learnloop-{settings.stage}" in result.output
    # Told yes, a stage without a stack fails with a clear message, not a traceback.
    result = CliRunner().invoke(
        main,
        ["destroy", "--stage", settings.stage, "--yes"],
        env={"AWS_ENDPOINT_URL": settings.endpoint_url},
    )
    assert result.exit_code == 1
    assert f"stack learnloop-{settings.stage} does not exist" in result.output
    assert not stack.stack_exists(cfn, f"learnloop-{settings.stage}")

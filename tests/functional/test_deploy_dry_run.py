"""`learnloop deploy --dry-run`: templates and zips in a folder, no AWS call, cfn-lint clean,
and every table, bucket, schedule, route and function the code declares is in the template.

The expected sets are read from the code itself (the Chalice app, MODELS, the training jobs),
not from the deploy package's inventory, so a route another stream adds must show up here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.deploy import cfn_lint, errors, resources_of

from learnloop_tools.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One dry run of stage dev, with every AWS API call recorded (there must be none)."""
    import botocore.client

    out = tmp_path_factory.mktemp("deploy")
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def record(self: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = record  # type: ignore[method-assign]
    try:
        result = CliRunner().invoke(
            main,
            ["deploy", "--stage", "dev", "--dry-run", "--skip-layers", "--out", str(out)],
            env={"LEARNLOOP_STAGE": "dev", "LEARNLOOP_TABLE_PREFIX": "learnloop-dev-"},
        )
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
    assert result.exit_code == 0, result.output
    template = json.loads((out / "learnloop.template.json").read_text())
    return {"out": out, "calls": calls, "output": result.output, "template": template}


def test_dry_run_writes_templates_and_zips_without_calling_aws(dry_run: dict[str, Any]) -> None:
    out = dry_run["out"]
    assert dry_run["calls"] == []
    names = {p.name for p in out.iterdir()}
    assert {"learnloop.template.json", "artifacts.json", "function.zip"} <= names
    assert {"layer-ingest.zip", "layer-inference.zip", "layer-learn.zip"} <= names
    assert "dry run: nothing was sent to AWS" in dry_run["output"]
    manifest = json.loads((out / "artifacts.json").read_text())
    # Every code location in the template is an artifact that was written.
    keys = {a["s3_key"] for a in manifest["artifacts"].values()}
    for resource in dry_run["template"]["Resources"].values():
        if resource["Type"] in ("AWS::Lambda::Function", "AWS::Lambda::LayerVersion"):
            props = resource["Properties"]
            assert (props.get("Code") or props["Content"])["S3Key"] in keys


def test_function_zip_holds_the_app_and_chalice_runtime(dry_run: dict[str, Any]) -> None:
    import zipfile

    with zipfile.ZipFile(dry_run["out"] / "function.zip") as archive:
        names = set(archive.namelist())
    assert {"app.py", "chalice/app.py", "chalice/__init__.py"} <= names
    assert not any(name.startswith(("numpy", "learnloop/")) for name in names)


def test_every_template_passes_cfn_lint(dry_run: dict[str, Any]) -> None:
    templates = sorted(dry_run["out"].glob("*.template.json"))
    assert templates
    for path in templates:
        matches = cfn_lint(path)
        assert errors(matches) == [], "\n".join(errors(matches))


def test_cfn_lint_catches_a_broken_template(dry_run: dict[str, Any], tmp_path: Path) -> None:
    # The lint check above is only worth something if cfn-lint really reads our templates.
    broken = json.loads(json.dumps(dry_run["template"]))
    del broken["Resources"]["Bucket"]
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(broken))
    assert errors(cfn_lint(path))


def test_every_table_of_the_models_is_in_the_template(dry_run: dict[str, Any]) -> None:
    from learnloop.store.records import MODELS

    tables = resources_of(dry_run["template"], "AWS::DynamoDB::Table")
    names = {t["Properties"]["TableName"] for t in tables.values()}
    assert names == {f"learnloop-dev-{model.entity}" for model in MODELS}
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
    for model in MODELS:
        props = next(
            t["Properties"]
            for t in tables.values()
            if t["Properties"]["TableName"].endswith(f"-{model.entity}")
        )
        indexes = {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])}
        assert indexes == {
            index.Meta.index_name
            for index in model._indexes.values()  # type: ignore[attr-defined]
        }
        ttl = model._ttl_attribute()
        if ttl is not None:
            assert props["TimeToLiveSpecification"] == {
                "AttributeName": ttl.attr_name,
                "Enabled": True,
            }
        else:
            assert "TimeToLiveSpecification" not in props


def test_every_route_schedule_and_trigger_of_the_app_is_deployed(
    dry_run: dict[str, Any], app_module: Any
) -> None:
    from chalice.app import CloudWatchEventConfig, ScheduledEventConfig

    template = dry_run["template"]
    functions = resources_of(template, "AWS::Lambda::Function")
    handlers = {f["Properties"]["Handler"] for f in functions.values()}
    swagger = template["Resources"]["RestApi"]["Properties"]["Body"]
    for path, methods in app_module.app.routes.items():
        for method in methods:
            integration = swagger["paths"][path][method.lower()]["x-amazon-apigateway-integration"]
            target = integration["uri"]["Fn::Sub"].split("${")[-1].split(".Arn")[0]
            assert functions[target]["Properties"]["Handler"] == "app.app", (path, method)
    rules = resources_of(template, "AWS::Events::Rule")
    by_target = {
        rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]: rule["Properties"]
        for rule in rules.values()
        if "Fn::GetAtt" in rule["Properties"]["Targets"][0]["Arn"]
        and rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0] in functions
    }
    sources = app_module.app.event_sources
    assert sources
    for source in sources:
        assert source.handler_string in handlers
        function_id = next(
            k for k, f in functions.items() if f["Properties"]["Handler"] == source.handler_string
        )
        rule = by_target[function_id]
        if isinstance(source, ScheduledEventConfig):
            assert rule["ScheduleExpression"] == source.schedule_expression.to_string()
        elif isinstance(source, CloudWatchEventConfig):
            pattern = rule["EventPattern"]
            for key, value in source.event_pattern.items():
                if key != "detail":
                    assert pattern[key] == value
            # The app's pattern, narrowed to the stage's own bucket.
            assert pattern["detail"]["object"] == source.event_pattern["detail"]["object"]
            assert pattern["detail"]["bucket"] == {"name": [{"Ref": "Bucket"}]}


def test_bucket_is_versioned_encrypted_private_and_sends_events(dry_run: dict[str, Any]) -> None:
    bucket = dry_run["template"]["Resources"]["Bucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True
    }
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-exports"]["Prefix"] == "exports/2"  # dated days, not labelled/
    assert rules["expire-import-reports"]["Prefix"] == "import-reports/"


def test_every_training_job_has_an_image_task_and_schedule(dry_run: dict[str, Any]) -> None:
    from learnloop_tools.deploy.inventory import training_job_specs

    jobs = training_job_specs()
    template = dry_run["template"]
    tasks = resources_of(template, "AWS::ECS::TaskDefinition")
    modules = {t["Properties"]["ContainerDefinitions"][0]["Command"][-1]: t for t in tasks.values()}
    assert jobs, "no training job found (training_jobs.JOBS)"
    for job in jobs:
        task = modules[job.module]["Properties"]
        assert task["RequiresCompatibilities"] == ["FARGATE"]
        assert task["ContainerDefinitions"][0]["Command"] == ["python", "-m", job.module]
    schedules = [
        r["Properties"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if "EcsParameters" in r["Properties"]["Targets"][0]
    ]
    assert {s["Targets"][0]["EcsParameters"]["TaskDefinitionArn"]["Ref"] for s in schedules} == {
        k for k in tasks
    }
    assert len(resources_of(template, "AWS::ECR::Repository")) == len(jobs)


def test_template_has_no_empty_values(dry_run: dict[str, Any]) -> None:
    # A null MemorySize or Timeout passes cfn-lint but is not what the config says.
    def nulls(node: Any, path: str) -> list[str]:
        if node is None:
            return [path]
        if isinstance(node, dict):
            return [p for k, v in node.items() for p in nulls(v, f"{path}.{k}")]
        if isinstance(node, list):
            return [p for i, v in enumerate(node) for p in nulls(v, f"{path}[{i}]")]
        return []

    assert nulls(dry_run["template"], "$") == []

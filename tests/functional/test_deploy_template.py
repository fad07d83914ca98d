"""The generated template against the code it comes from: tables exactly as bootstrap creates
them on moto, and least-privilege IAM spot checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.deploy import resources_of

from learnloop_tools.deploy.build import build
from learnloop_tools.deploy.runtimes import get_runtime

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from learnloop.settings import Settings

    settings = Settings(stage="iam", table_prefix="iam-", bucket="iam-bucket")
    out = tmp_path_factory.mktemp("template")
    return build(
        settings,
        get_runtime(),
        out,
        artifacts_bucket="artifacts",
        skip_layers=True,
        echo=lambda m: None,
    ).template


def _policy(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = template["Resources"][f"{function}Role"]["Properties"]
    return role["Policies"][0]["PolicyDocument"]["Statement"]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in s["Action"]}


def _s3_grants(statements: list[dict[str, Any]], action: str) -> list[str]:
    return [
        r["Fn::Sub"].split("}/", 1)[1]
        for s in statements
        if action in s["Action"]
        for r in s["Resource"]
    ]


def _functions(template: dict[str, Any]) -> list[str]:
    return [k.removesuffix("Function") for k in resources_of(template, "AWS::Lambda::Function")]


def test_tables_match_what_bootstrap_creates(
    template: dict[str, Any], tables: Any, _dynamodb_client: Any
) -> None:
    deployed = {
        t["Properties"]["TableName"].removeprefix("iam-"): t["Properties"]
        for t in resources_of(template, "AWS::DynamoDB::Table").values()
    }
    for model in tables.all():
        entity = model.entity
        live = _dynamodb_client.describe_table(TableName=model.Meta.table_name)["Table"]
        props = deployed[entity]

        def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
            return sorted((k["AttributeName"], k["KeyType"]) for k in schema)

        assert keys(props["KeySchema"]) == keys(live["KeySchema"]), entity
        assert sorted(map(str, props["AttributeDefinitions"])) == sorted(
            map(str, live["AttributeDefinitions"])
        ), entity
        live_indexes = {
            i["IndexName"]: (keys(i["KeySchema"]), i["Projection"]["ProjectionType"])
            for i in live.get("GlobalSecondaryIndexes", [])
        }
        indexes = {
            i["IndexName"]: (keys(i["KeySchema"]), i["Projection"]["ProjectionType"])
            for i in props.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == live_indexes, entity
        ttl = _dynamodb_client.describe_time_to_live(TableName=model.Meta.table_name)
        description = ttl["TimeToLiveDescription"]
        if description.get("TimeToLiveStatus") == "ENABLED":
            assert props["TimeToLiveSpecification"]["AttributeName"] == description["AttributeName"]
        else:
            assert "TimeToLiveSpecification" not in props


def test_ingest_function_has_no_s3_access_and_no_numpy(template: dict[str, Any]) -> None:
    statements = _policy(template, "ApiIngest")
    assert not any(a.startswith("s3:") for a in _actions(statements))
    layers = template["Resources"]["ApiIngestFunction"]["Properties"]["Layers"]
    assert layers == [{"Ref": "IngestLayer"}]


def test_only_learn_writes_models_and_nothing_deletes(template: dict[str, Any]) -> None:
    writers = {
        name: _s3_grants(_policy(template, name), "s3:PutObject")
        for name in _functions(template)
        if any(p.startswith("models/") for p in _s3_grants(_policy(template, name), "s3:PutObject"))
    }
    # evaluate_policies publishes bandit configurations, and nothing else under models/.
    assert set(writers) == {"Learn", "EvaluatePolicies"}
    assert writers["EvaluatePolicies"] == ["models/bandit_policy*"]
    for name in _functions(template):
        assert "s3:DeleteObject" not in _actions(_policy(template, name))


def test_request_paths_never_scan_and_no_wildcards(template: dict[str, Any]) -> None:
    for name in _functions(template):
        statements = _policy(template, name)
        actions = _actions(statements)
        assert not any(a.endswith(":*") or a == "*" for a in actions), name
        assert "dynamodb:DeleteTable" not in actions and "dynamodb:CreateTable" not in actions
        for statement in statements:
            assert statement["Resource"] != "*", name
        if name.startswith("Api"):
            assert "dynamodb:Scan" not in actions, name


def _dynamodb_tables(statements: list[dict[str, Any]]) -> set[str]:
    return {
        r["Fn::GetAtt"][0] if "Fn::GetAtt" in r else r["Fn::Sub"][2:].split(".")[0]
        for statement in statements
        if any(a.startswith("dynamodb:") for a in statement["Action"])
        for r in statement["Resource"]
    }


def test_dynamodb_grants_cover_only_the_stage_tables(template: dict[str, Any]) -> None:
    tables = set(resources_of(template, "AWS::DynamoDB::Table"))
    for name in _functions(template):
        named = _dynamodb_tables(_policy(template, name))
        # Every function but the purge job (ledger + users only), the decision loader
        # (decisions + users) and the market flags (candles + their flags) gets the stage's
        # tables.
        assert named == tables or name in ("PrivacyPurge", "OnDecisionLogs", "MarketAnomalies"), (
            name
        )


def test_market_anomalies_reads_candles_and_writes_only_its_flags(
    template: dict[str, Any],
) -> None:
    statements = _policy(template, "MarketAnomalies")
    assert _dynamodb_tables(statements) == {"CandlesTable", "MarketAnomaliesTable"}
    assert not [a for a in _actions(statements) if a.startswith("s3:")]
    function = template["Resources"]["MarketAnomaliesFunction"]["Properties"]
    assert function["Layers"] == [{"Ref": "IngestLayer"}, {"Ref": "InferenceLayer"}]
    assert "LEARNLOOP_PSEUDONYM_SECRET" not in function["Environment"]["Variables"]
    rules = [
        r["Properties"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if r["Properties"]["Targets"][0]["Arn"].get("Fn::GetAtt", [None])[0]
        == "MarketAnomaliesFunction"
    ]
    assert [r["ScheduleExpression"] for r in rules] == ["rate(1 hour)"]


def test_privacy_purge_touches_the_ledger_users_and_exports_only(
    template: dict[str, Any],
) -> None:
    statements = _policy(template, "PrivacyPurge")
    assert _dynamodb_tables(statements) == {"LedgerTable", "UsersTable"}
    actions = _actions(statements)
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= actions
    assert "dynamodb:Scan" not in actions and "s3:DeleteObject" not in actions
    assert _s3_grants(statements, "s3:GetObject") == ["exports/*"]
    assert _s3_grants(statements, "s3:PutObject") == ["exports/*"]
    function = template["Resources"]["PrivacyPurgeFunction"]["Properties"]
    assert function["Timeout"] == 900 and function["Layers"] == [{"Ref": "IngestLayer"}]
    assert "LEARNLOOP_PSEUDONYM_SECRET" not in function["Environment"]["Variables"]
    rules = [
        r["Properties"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if r["Properties"]["Targets"][0]["Arn"].get("Fn::GetAtt", [None])[0]
        == "PrivacyPurgeFunction"
    ]
    assert [r["ScheduleExpression"] for r in rules] == ["rate(1 hour)"]


def test_the_admin_function_rewrites_exports_within_a_deletion(
    template: dict[str, Any],
) -> None:
    statements = _policy(template, "ApiAdmin")
    assert _s3_grants(statements, "s3:PutObject") == ["exports/*"]


def test_training_tasks_read_exports_and_write_only_models(template: dict[str, Any]) -> None:
    role = template["Resources"]["TrainingTaskRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    # models/ and the hold-out rows each version is compared on (evaluation/).
    assert _s3_grants(statements, "s3:PutObject") == ["models/*", "evaluation/*"]
    assert set(_s3_grants(statements, "s3:GetObject")) == {"exports/*", "models/*"}
    # Of DynamoDB only the users table's exclusion index (who opted out or was deleted).
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in dynamodb] == [
        (["dynamodb:Query"], {"Fn::Sub": "${UsersTable.Arn}/index/by_exclusion"})
    ]


def test_registration_reads_models_and_evaluation_sets_and_writes_no_s3(
    template: dict[str, Any],
) -> None:
    statements = _policy(template, "OnModelDropped")
    assert _s3_grants(statements, "s3:GetObject") == ["models/*", "evaluation/*"]
    assert not {"s3:PutObject", "s3:DeleteObject"} & _actions(statements)


def test_retained_stage_keeps_its_data(tmp_path: Path) -> None:
    from learnloop.settings import Settings

    template = build(
        Settings(stage="prod", table_prefix="learnloop-prod-"),
        get_runtime("python3.12", "arm64"),
        tmp_path,
        artifacts_bucket="artifacts",
        skip_layers=True,
        echo=lambda m: None,
    ).template
    for table in resources_of(template, "AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert template["Resources"]["Bucket"]["DeletionPolicy"] == "Retain"
    function = template["Resources"]["LearnFunction"]["Properties"]
    assert (function["Runtime"], function["Architectures"]) == ("python3.12", ["arm64"])
    # Unset LEARNLOOP_BUCKET: a name unique to the account and region.
    assert (
        "${AWS::AccountId}"
        in template["Resources"]["Bucket"]["Properties"]["BucketName"]["Fn::Sub"]
    )


def test_memory_timeout_and_environment_come_from_the_chalice_config(
    template: dict[str, Any],
) -> None:
    import json as _json

    from chalice.config import Config

    config = _json.loads((ROOT / "functions" / ".chalice" / "config.json").read_text())
    for name in _functions(template):
        props = template["Resources"][f"{name}Function"]["Properties"]
        snake = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
        expected = Config(chalice_stage="iam", function_name=snake, config_from_disk=config)
        assert props["MemorySize"] == expected.lambda_memory_size, name
        assert props["Timeout"] == expected.lambda_timeout, name
        variables = props["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == "learnloop"
        assert variables["LEARNLOOP_STAGE"] == "iam"
        assert variables["LEARNLOOP_TABLE_PREFIX"] == "iam-"
    assert template["Resources"]["LearnFunction"]["Properties"]["Timeout"] == 900


def test_drift_check_reads_models_scores_with_onnx_and_writes_only_dynamodb(
    template: dict[str, Any],
) -> None:
    statements = _policy(template, "DriftCheck")
    actions = _actions(statements)
    # Day partitions are Queries; the only writes are its ledger items.
    assert "dynamodb:Scan" not in actions
    assert {"dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:PutItem"} <= actions
    assert _s3_grants(statements, "s3:GetObject") == ["models/*"]
    assert not {"s3:PutObject", "s3:DeleteObject"} & actions
    function = template["Resources"]["DriftCheckFunction"]["Properties"]
    # onnxruntime (inference), not scikit-learn (learn).
    assert function["Layers"] == [{"Ref": "IngestLayer"}, {"Ref": "InferenceLayer"}]
    # The two-tower check pseudonymizes reactions' users as training did.
    assert "LEARNLOOP_PSEUDONYM_SECRET" in function["Environment"]["Variables"]
    rules = [
        r["Properties"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if r["Properties"]["Targets"][0]["Arn"].get("Fn::GetAtt", [None])[0] == "DriftCheckFunction"
    ]
    assert [r["ScheduleExpression"] for r in rules] == ["cron(30 1 * * ? *)"]


def test_the_read_function_reads_sentiment_models_and_writes_nothing(
    template: dict[str, Any],
) -> None:
    # POST /v1/sentiment loads models/sentiment/{v}/ and the text_encoder version it names.
    statements = _policy(template, "ApiRead")
    reads = _s3_grants(statements, "s3:GetObject")
    assert reads == ["models/*"]
    assert all(
        f"models/{name}/".startswith(reads[0][:-1]) for name in ("sentiment", "text_encoder")
    )
    assert not {"s3:PutObject", "s3:DeleteObject"} & _actions(statements)


def test_the_sentiment_job_is_a_small_weekly_fargate_task(template: dict[str, Any]) -> None:
    task = template["Resources"]["SentimentTaskDefinition"]["Properties"]
    assert (task["Cpu"], task["Memory"]) == ("1024", "4096")
    command = task["ContainerDefinitions"][0].get("Command")
    assert command in (None, ["python", "-m", "training_jobs.sentiment"])
    schedule = template["Resources"]["SentimentSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 5 ? * SUN *)"


def test_evaluate_policies_reads_the_log_and_writes_only_bandit_policy_versions(
    template: dict[str, Any],
) -> None:
    statements = _policy(template, "EvaluatePolicies")
    actions = _actions(statements)
    assert "dynamodb:Scan" not in actions  # the decision log's day partitions are Queries
    assert _s3_grants(statements, "s3:PutObject") == ["models/bandit_policy*"]
    assert "s3:DeleteObject" not in actions
    function = template["Resources"]["EvaluatePoliciesFunction"]["Properties"]
    assert function["Layers"] == [{"Ref": "IngestLayer"}, {"Ref": "InferenceLayer"}]
    assert "LEARNLOOP_PSEUDONYM_SECRET" not in function["Environment"]["Variables"]


def test_a_drift_retrain_request_starts_the_container_models_task(
    template: dict[str, Any],
) -> None:
    from learnloop.drift.actions import EVENT_SOURCE, RETRAIN_DETAIL_TYPE

    resources = template["Resources"]
    [bus_id] = resources_of(template, "AWS::Events::EventBus")
    # drift_check is told the bus and may put events on it, and no other function may.
    variables = resources["DriftCheckFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["LEARNLOOP_EVENT_BUS"] == {"Ref": bus_id}
    puts = [
        f.removesuffix("Function")
        for f in _functions(template)
        if "events:PutEvents" in _actions(_policy(template, f))
    ]
    assert puts == ["DriftCheck"]
    [grant] = [s for s in _policy(template, "DriftCheck") if "events:PutEvents" in s["Action"]]
    assert grant["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    # One rule per container-trained model, on the stage's bus, running that model's task.
    rules = {
        name: r["Properties"]
        for name, r in resources_of(template, "AWS::Events::Rule").items()
        if "EventBusName" in r["Properties"]
    }
    assert sorted(rules) == [
        "PriceForecastRetrainRule",
        "SentimentRetrainRule",
        "TwoTowerRetrainRule",
    ]
    # A price forecast is one model per symbol: the request's symbol becomes --symbol.
    forecast = rules["PriceForecastRetrainRule"]
    assert forecast["EventPattern"]["detail"]["model"] == [{"prefix": "price_forecast_"}]
    [target] = forecast["Targets"]
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"symbol": "$.detail.symbol"}
    filled = json.loads(transformer["InputTemplate"].replace("<symbol>", '"BTC-USD"'))
    assert filled["containerOverrides"][0]["command"][-2:] == ["--symbol", "BTC-USD"]
    assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": "PriceForecastTaskDefinition"}
    for model, rule in (
        ("two_tower", rules["TwoTowerRetrainRule"]),
        ("sentiment", rules["SentimentRetrainRule"]),
    ):
        assert rule["EventBusName"] == {"Ref": bus_id}
        assert rule["EventPattern"] == {
            "source": [EVENT_SOURCE],
            "detail-type": [RETRAIN_DETAIL_TYPE],
            "detail": {"model": [model], "stage": ["iam"]},
        }
        [target] = rule["Targets"]
        task = "".join(part.title() for part in model.split("_")) + "TaskDefinition"
        assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": task}
        # The schedule role may run exactly these task definitions.
        role = resources[target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
        statement = role["Policies"][0]["PolicyDocument"]["Statement"][0]
        assert {"Ref": task} in statement["Resource"]


def test_api_functions_log_decisions_as_lines_the_loader_subscribes_to(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    filters = resources_of(template, "AWS::Logs::SubscriptionFilter")
    api_logs = {
        name[: -len("Logs")] + "Logs"
        for name, r in resources.items()
        if r["Type"] == "AWS::Logs::LogGroup" and name.startswith("Api")
    }
    assert {f["Properties"]["LogGroupName"]["Ref"] for f in filters.values()} == api_logs
    for f in filters.values():
        assert f["Properties"]["FilterPattern"] == "{ $.learnloop_decision = 1 }"
        assert f["Properties"]["DestinationArn"] == {
            "Fn::GetAtt": ["OnDecisionLogsFunction", "Arn"]
        }
    for name, r in resources.items():
        if r["Type"] == "AWS::Lambda::Function" and name.startswith("Api"):
            assert (
                r["Properties"]["Environment"]["Variables"]["LEARNLOOP_DECISION_SINK"] == "stdout"
            )
    on_failure = resources["OnDecisionLogsInvokeConfig"]["Properties"]["DestinationConfig"]
    assert on_failure["OnFailure"]["Destination"] == {"Fn::GetAtt": ["OnDecisionLogsFailed", "Arn"]}

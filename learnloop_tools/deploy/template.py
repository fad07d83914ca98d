"""Generate the stage's CloudFormation template from the code's inventory.

Chalice's own ``chalice package`` emits one API handler for every route, a role per function
built by reading the code, and no layers of our own; it cannot express the tables, the bucket,
the training tasks, nor a function per scope. So this module writes the whole template itself,
reusing Chalice where it fits: the API's Swagger body comes from Chalice's own
:class:`~chalice.deploy.swagger.CFNSwaggerGenerator` (every route of the app, whoever adds
it), re-pointed per route at the function of its scope, and memory, timeout and environment
come from ``functions/.chalice/config.json`` through Chalice's :class:`~chalice.config.Config`.

Examples
--------
>>> logical_id("api_ingest", "Function")
'ApiIngestFunction'
>>> logical_id("daily_stats", "Table")
'DailyStatsTable'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learnloop.drift.actions import (
    CONTAINER_MODELS,
    EVENT_SOURCE,
    FORECAST_JOB,
    FORECAST_PREFIX,
    RETRAIN_DETAIL_TYPE,
)
from learnloop.jobs.spool import SPOOL_PREFIX
from learnloop.settings import Settings
from learnloop.store.records import User
from learnloop_tools.deploy import iam
from learnloop_tools.deploy.inventory import FunctionSpec, Inventory, TableSpec, TrainingJobSpec
from learnloop_tools.deploy.profiles import LAYER_ORDER
from learnloop_tools.deploy.runtimes import Runtime
from learnloop_tools.deploy.security import accept_findings

Template = dict[str, Any]

BUCKET_ID = "Bucket"
SECRET_ID = "PseudonymSecret"
API_ID = "RestApi"
CLUSTER_ID = "TrainingCluster"
#: The stage's own EventBridge bus: drift's retrain requests, which start container jobs.
EVENT_BUS_ID = "EventBus"
#: The template parameter naming the bucket the zips were uploaded to.
ARTIFACTS_PARAMETER = "ArtifactsBucket"
#: What the exports lifecycle rule expires: every ``exports/YYYY-MM-DD/`` day (years 2000 to
#: 2999), never ``exports/labelled/``.
DATED_EXPORTS_PREFIX = "exports/2"
#: Where ``on_import`` writes its per-row reports (expired by their own rule).
IMPORT_REPORTS_PREFIX = "import-reports/"
#: What a training task may read and write in the bucket (contract B and C).
TRAINING_S3_READ = ("exports/", "models/")
TRAINING_S3_WRITE = ("models/", "evaluation/")
#: The one index training jobs read: who opted out or was deleted.
USERS_EXCLUSION_INDEX = User.by_exclusion.Meta.index_name
#: Fargate sizes and schedule per training job; unnamed jobs get ``"*"``.
TRAINING_DEFAULTS: dict[str, dict[str, Any]] = {
    "*": {"cpu": "2048", "memory": "8192", "schedule": "cron(30 3 * * ? *)"},
    # Re-exporting the pretrained encoder is only needed when the library changes: weekly.
    "text_encoder": {"cpu": "2048", "memory": "8192", "schedule": "cron(0 4 ? * SUN *)"},
    # A linear head over MiniLM embeddings (onnxruntime, no torch at run time): retrained
    # weekly, an hour after the encoder export, on exports/labelled/sentiment.jsonl.
    "sentiment": {"cpu": "1024", "memory": "4096", "schedule": "cron(0 5 ? * SUN *)"},
    # Next-candle forecasts of daily candles: refit every day, after the day's candle closed
    # (00:00 UTC) and was imported; one torch thread, so 1 vCPU.
    "price_forecast": {"cpu": "1024", "memory": "4096", "schedule": "cron(20 0 * * ? *)"},
}


def logical_id(name: str, suffix: str = "") -> str:
    """A CloudFormation logical id from a snake_case name."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_")) + (
        suffix
    )


_USERS_EXCLUSION_INDEX_ARN = (
    f"${{{logical_id('users', 'Table')}.Arn}}/index/{USERS_EXCLUSION_INDEX}"
)


@dataclass(frozen=True)
class Artifacts:
    """Where the function code and layer zips are in S3 (keys name their content hash)."""

    bucket: str
    function_key: str
    layer_keys: Mapping[str, str]


@dataclass(frozen=True)
class TemplateOptions:
    """Choices of one deployment.

    Parameters
    ----------
    stage
        The Chalice stage whose ``.chalice/config.json`` settings apply.
    runtime
        Lambda runtime and architecture.
    retain_data
        Keep tables, bucket and secret when the stack is deleted (default for ``prod``).
    chalice_config
        The parsed ``.chalice/config.json`` (default: read from ``functions/``).
    export_retention_days, import_report_retention_days
        Days the bucket keeps each daily export (never the labelled rows under
        ``exports/labelled/``) and each bulk import's report.
    """

    stage: str
    runtime: Runtime
    retain_data: bool = False
    chalice_config: Mapping[str, Any] = field(default_factory=dict)
    log_retention_days: int = 30
    export_retention_days: int = 90
    import_report_retention_days: int = 30


def read_chalice_config(project_dir: Path) -> dict[str, Any]:
    """``functions/.chalice/config.json`` of the project (empty when there is none)."""
    path = project_dir / "functions" / ".chalice" / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _function_config(options: TemplateOptions, name: str) -> Any:
    from chalice import constants
    from chalice.config import Config

    # Chalice's own precedence: the stage's per-function entry, the stage, the top-level
    # per-function entry (``lambda_functions``), the top level, then Chalice's defaults.
    return Config(
        chalice_stage=options.stage,
        function_name=name,
        config_from_disk=dict(options.chalice_config),
        default_params={
            "lambda_memory_size": constants.DEFAULT_LAMBDA_MEMORY_SIZE,
            "lambda_timeout": constants.DEFAULT_LAMBDA_TIMEOUT,
            "api_gateway_stage": constants.DEFAULT_APIGATEWAY_STAGE_NAME,
        },
    )


def function_name(inventory: Inventory, stage: str, name: str) -> str:
    """The physical Lambda name: ``{app}-{stage}-{function}``."""
    return f"{inventory.app_name}-{stage}-{name}"


def _retention(resource: dict[str, Any], retain: bool) -> dict[str, Any]:
    policy = "Retain" if retain else "Delete"
    resource["DeletionPolicy"] = policy
    resource["UpdateReplacePolicy"] = policy
    return resource


# --- storage -----------------------------------------------------------------------------------


def table_resource(table: TableSpec, *, retain: bool) -> dict[str, Any]:
    """One on-demand, encrypted, point-in-time-recoverable table, as bootstrap creates it."""
    properties: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": table.key_schema,
        "AttributeDefinitions": table.attribute_definitions,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": retain,
    }
    if table.global_indexes:
        properties["GlobalSecondaryIndexes"] = table.global_indexes
    if table.local_indexes:
        properties["LocalSecondaryIndexes"] = table.local_indexes
    if table.ttl_attribute:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": table.ttl_attribute,
            "Enabled": True,
        }
    return _retention({"Type": "AWS::DynamoDB::Table", "Properties": properties}, retain)


def bucket_name(settings: Settings) -> Any:
    """``LEARNLOOP_BUCKET`` when set; else a name unique to the account and region."""
    if "LEARNLOOP_BUCKET" in settings.extra:
        return settings.bucket
    return {"Fn::Sub": f"learnloop-{settings.stage}-${{AWS::AccountId}}-${{AWS::Region}}"}


def bucket_resources(settings: Settings, options: TemplateOptions) -> dict[str, Any]:
    """The stage's bucket (versioned, encrypted, private, TLS only, exports expire) and the
    EventBridge notifications that carry model drops to ``on_model_dropped``."""
    bucket = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketName": bucket_name(settings),
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        # The daily exports only: their prefixes are dates
                        # (exports/YYYY-MM-DD/). S3 rules cannot exclude a sub-prefix, and
                        # exports/labelled/ (the labelled training rows) must never expire.
                        "Id": "expire-exports",
                        "Status": "Enabled",
                        "Prefix": DATED_EXPORTS_PREFIX,
                        "ExpirationInDays": options.export_retention_days,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                    },
                    {
                        # Per-row reports of bulk imports (line and field of each refusal):
                        # read once after an import, so kept a month.
                        "Id": "expire-import-reports",
                        "Status": "Enabled",
                        "Prefix": IMPORT_REPORTS_PREFIX,
                        "ExpirationInDays": options.import_report_retention_days,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                    },
                    {
                        # Rows a resumable job spools between its invocations: the job drops
                        # them when it finishes; a run abandoned half-way leaves them here.
                        # Three days outlive any chain (200 invocations of 15 minutes).
                        "Id": "expire-job-spools",
                        "Status": "Enabled",
                        "Prefix": SPOOL_PREFIX,
                        "ExpirationInDays": 3,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                    },
                    {
                        # One-download copies (their presigned URL lasts hours): a user's
                        # deletion rewrites them at once; whatever is left goes after a day.
                        "Id": "expire-admin-exports",
                        "Status": "Enabled",
                        "Prefix": "admin-exports/",
                        "ExpirationInDays": 1,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                    },
                    {
                        "Id": "old-versions-and-uploads",
                        "Status": "Enabled",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                    },
                ]
            },
        },
    }
    policy = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": BUCKET_ID},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            {"Fn::GetAtt": [BUCKET_ID, "Arn"]},
                            {"Fn::Sub": f"${{{BUCKET_ID}.Arn}}/*"},
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    secret = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Name": f"learnloop/{settings.stage}/pseudonym-secret",
            "Description": "HMAC key of the pseudonyms in exports, training data and models",
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        },
    }
    return {
        BUCKET_ID: _retention(bucket, options.retain_data),
        "BucketPolicy": policy,
        SECRET_ID: _retention(secret, options.retain_data),
    }


# --- functions ---------------------------------------------------------------------------------


def _environment(
    settings: Settings, options: TemplateOptions, spec: FunctionSpec
) -> dict[str, Any]:
    config = _function_config(options, spec.name)
    variables: dict[str, Any] = dict(config.environment_variables)
    variables.update(
        {
            "LEARNLOOP_STAGE": settings.stage,
            "LEARNLOOP_TABLE_PREFIX": settings.table_prefix,
            "LEARNLOOP_BUCKET": {"Ref": BUCKET_ID},
        }
    )
    if spec.profile.puts_events:
        variables["LEARNLOOP_EVENT_BUS"] = {"Ref": EVENT_BUS_ID}
    if spec.profile.needs_secret:
        variables["LEARNLOOP_PSEUDONYM_SECRET"] = {
            "Fn::Sub": f"{{{{resolve:secretsmanager:${{{SECRET_ID}}}:SecretString}}}}"
        }
    return variables


def layer_resources(options: TemplateOptions, artifacts: Artifacts) -> dict[str, Any]:
    """One ``AWS::Lambda::LayerVersion`` per built layer."""
    resources = {}
    for name in LAYER_ORDER:
        if name not in artifacts.layer_keys:
            continue
        resources[logical_id(name, "Layer")] = {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": {
                "LayerName": f"learnloop-{options.stage}-{name}",
                "Description": f"learnloop {name} layer for {options.runtime.name}",
                "Content": {
                    "S3Bucket": {"Ref": ARTIFACTS_PARAMETER},
                    "S3Key": artifacts.layer_keys[name],
                },
                "CompatibleRuntimes": [options.runtime.name],
                "CompatibleArchitectures": [options.runtime.architecture],
            },
        }
    return resources


def function_resources(
    inventory: Inventory,
    settings: Settings,
    options: TemplateOptions,
    artifacts: Artifacts,
    spec: FunctionSpec,
) -> dict[str, Any]:
    """A function with its log group, role (least privilege) and triggers' permissions."""
    base = logical_id(spec.name)
    name = function_name(inventory, options.stage, spec.name)
    config = _function_config(options, spec.name)
    wanted = set(spec.profile.tables)
    table_ids = [
        logical_id(t.entity, "Table") for t in inventory.tables if not wanted or t.entity in wanted
    ]
    log_id, role_id, fn_id = f"{base}Logs", f"{base}Role", f"{base}Function"
    policy = iam.function_policy(spec.profile, table_ids, BUCKET_ID, log_id, EVENT_BUS_ID)
    properties: dict[str, Any] = {
        "FunctionName": name,
        "Role": {"Fn::GetAtt": [role_id, "Arn"]},
        "MemorySize": config.lambda_memory_size,
        "Timeout": config.lambda_timeout,
        "Architectures": [options.runtime.architecture],
        "Environment": {"Variables": _environment(settings, options, spec)},
    }
    properties["Runtime"] = options.runtime.name
    properties["Handler"] = spec.handler
    properties["Code"] = {
        "S3Bucket": {"Ref": ARTIFACTS_PARAMETER},
        "S3Key": artifacts.function_key,
    }
    properties["Layers"] = [
        {"Ref": logical_id(layer, "Layer")} for layer in LAYER_ORDER if layer in spec.profile.layers
    ]
    subscribers = [f for f in inventory.functions if f.kind == "logs"]
    if spec.kind == "api" and subscribers:
        # Decisions leave as log lines; the subscribers below load them into the table.
        properties["Environment"]["Variables"]["LEARNLOOP_DECISION_SINK"] = "stdout"
    if spec.kind == "logs":
        failed_id = f"{base}Failed"
        policy["Statement"].append(
            {
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": {"Fn::GetAtt": [failed_id, "Arn"]},
            }
        )
    if spec.schedule:
        # A scheduled job that stops at its deadline re-invokes itself with a resume token
        # (learnloop.jobs.deadline); by name, since the role cannot reference its function.
        policy["Statement"].append(
            {
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": {
                    "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
                    f"function:{name}"
                },
            }
        )
        policy["Statement"].append(
            {
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": {"Fn::GetAtt": [f"{base}Failed", "Arn"]},
            }
        )
    resources: dict[str, Any] = {
        log_id: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{name}",
                "RetentionInDays": options.log_retention_days,
            },
        },
        role_id: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": iam.assume_role_policy("lambda.amazonaws.com"),
                "Policies": [{"PolicyName": "least-privilege", "PolicyDocument": policy}],
            },
        },
        fn_id: {"Type": "AWS::Lambda::Function", "DependsOn": [log_id], "Properties": properties},
    }
    if spec.kind == "api":
        resources[f"{base}ApiPermission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": fn_id},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {
                    "Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:"
                    f"${{AWS::AccountId}}:${{{API_ID}}}/*"
                },
            },
        }
    elif spec.kind == "logs":
        resources.update(_log_subscription(inventory, options, spec, fn_id))
    else:
        rule_id = f"{base}Rule"
        rule: dict[str, Any] = {
            "Name": f"{name}",
            "State": "ENABLED",
            "Targets": [
                {
                    "Id": spec.name,
                    "Arn": {"Fn::GetAtt": [fn_id, "Arn"]},
                    "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600},
                }
            ],
        }
        if spec.schedule:
            rule["ScheduleExpression"] = spec.schedule
            resources.update(_resume_failures(base, fn_id))
        else:
            rule["EventPattern"] = _bucket_scoped(spec.event_pattern or {})
        resources[rule_id] = {"Type": "AWS::Events::Rule", "Properties": rule}
        resources[f"{base}RulePermission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": fn_id},
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
            },
        }
    return resources


def _resume_failures(base: str, fn_id: str) -> dict[str, Any]:
    """Where a resumable job's chain stops when it keeps failing: an asynchronous (resume)
    invocation is retried twice, then its event goes to an SQS queue (14 days); the job's
    checkpoint also caps a run at ``MAX_INVOCATIONS`` invocations."""
    failed_id = f"{base}Failed"
    return {
        failed_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True},
        },
        f"{base}InvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": fn_id},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 2,
                "DestinationConfig": {
                    "OnFailure": {"Destination": {"Fn::GetAtt": [failed_id, "Arn"]}}
                },
            },
        },
    }


def _log_subscription(
    inventory: Inventory, options: TemplateOptions, spec: FunctionSpec, fn_id: str
) -> dict[str, Any]:
    """A subscription filter on every API function's log group delivering to ``spec``.

    CloudWatch Logs invokes the function asynchronously: two retries, then the batch goes to
    an SQS queue (14 days) rather than being dropped.
    """
    base = logical_id(spec.name)
    failed_id = f"{base}Failed"
    resources: dict[str, Any] = {
        failed_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True},
        },
        f"{base}LogsPermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": fn_id},
                "Principal": "logs.amazonaws.com",
                "SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                    f"log-group:/aws/lambda/{inventory.app_name}-{options.stage}-*"
                },
            },
        },
        f"{base}InvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": fn_id},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 2,
                "DestinationConfig": {
                    "OnFailure": {"Destination": {"Fn::GetAtt": [failed_id, "Arn"]}}
                },
            },
        },
    }
    for api_spec in inventory.functions:
        if api_spec.kind != "api":
            continue
        api_base = logical_id(api_spec.name)
        resources[f"{api_base}{base}Subscription"] = {
            "Type": "AWS::Logs::SubscriptionFilter",
            "DependsOn": [f"{base}LogsPermission"],
            "Properties": {
                "LogGroupName": {"Ref": f"{api_base}Logs"},
                "FilterPattern": spec.log_filter or "",
                "DestinationArn": {"Fn::GetAtt": [fn_id, "Arn"]},
            },
        }
    return resources


def _bucket_scoped(pattern: Mapping[str, Any]) -> dict[str, Any]:
    """An S3 pattern limited to the stage's bucket (the app's pattern names no bucket)."""
    scoped = json.loads(json.dumps(pattern))
    if "aws.s3" in scoped.get("source", []):
        scoped.setdefault("detail", {})["bucket"] = {"name": [{"Ref": BUCKET_ID}]}
    return scoped


# --- the HTTP API ------------------------------------------------------------------------------


def _error_response(status: int, code: str, message: str) -> dict[str, Any]:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}})
    return {
        "statusCode": str(status),
        "responseTemplates": {"application/json": body},
    }


#: API Gateway's own replies, in the app's error envelope: an unknown route is a 404 (REST
#: APIs answer 403 "Missing Authentication Token" otherwise), as on the local server.
GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": _error_response(404, "not_found", "no such route"),
    "REQUEST_TOO_LARGE": _error_response(413, "payload_too_large", "the body is too large"),
    "THROTTLED": _error_response(429, "rate_limited", "too many requests"),
}


def swagger(inventory: Inventory) -> dict[str, Any]:
    """The REST API's Swagger, generated by Chalice, each route bound to its scope's function."""
    from chalice.deploy.swagger import CFNSwaggerGenerator

    targets = {
        (route.path, route.method): route.function
        for spec in inventory.functions
        for route in spec.routes
    }

    class ScopedSwaggerGenerator(CFNSwaggerGenerator):
        def _generate_route_method(self, view: Any) -> dict[str, Any]:
            current: dict[str, Any] = super()._generate_route_method(view)
            method = view.method
            function = targets[(view.uri_pattern, method)]
            current["x-amazon-apigateway-integration"]["uri"] = {
                "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/"
                f"2015-03-31/functions/${{{logical_id(function, 'Function')}.Arn}}/invocations"
            }
            return current

    body: dict[str, Any] = ScopedSwaggerGenerator().generate_swagger(inventory.app)
    body["x-amazon-apigateway-gateway-responses"] = GATEWAY_RESPONSES
    return body


def api_resources(inventory: Inventory, options: TemplateOptions) -> dict[str, Any]:
    """RestApi from the Swagger, a deployment named for its content, and the stage."""
    body = swagger(inventory)
    body["info"]["title"] = f"{inventory.app_name}-{options.stage}"
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]
    stage_name = _function_config(options, "api_handler").api_gateway_stage
    deployment_id = f"ApiDeployment{digest}"
    return {
        API_ID: {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Body": body,
                "EndpointConfiguration": {"Types": ["REGIONAL"]},
            },
        },
        deployment_id: {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": API_ID}},
        },
        "ApiStage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": {"Ref": API_ID},
                "DeploymentId": {"Ref": deployment_id},
                "StageName": stage_name,
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingBurstLimit": 200,
                        "ThrottlingRateLimit": 100,
                    }
                ],
            },
        },
    }


# --- training jobs -----------------------------------------------------------------------------


def network_resources() -> dict[str, Any]:
    """A small VPC for training tasks: two public subnets, egress only (no NAT to pay for)."""
    resources: dict[str, Any] = {
        "TrainingVpc": {
            "Type": "AWS::EC2::VPC",
            "Properties": {
                "CidrBlock": "10.42.0.0/16",
                "EnableDnsHostnames": True,
                "EnableDnsSupport": True,
            },
        },
        "TrainingInternetGateway": {"Type": "AWS::EC2::InternetGateway"},
        "TrainingGatewayAttachment": {
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {
                "VpcId": {"Ref": "TrainingVpc"},
                "InternetGatewayId": {"Ref": "TrainingInternetGateway"},
            },
        },
        "TrainingRouteTable": {
            "Type": "AWS::EC2::RouteTable",
            "Properties": {"VpcId": {"Ref": "TrainingVpc"}},
        },
        "TrainingDefaultRoute": {
            "Type": "AWS::EC2::Route",
            "DependsOn": ["TrainingGatewayAttachment"],
            "Properties": {
                "RouteTableId": {"Ref": "TrainingRouteTable"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": {"Ref": "TrainingInternetGateway"},
            },
        },
        "TrainingSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "learnloop training tasks: outbound only",
                "VpcId": {"Ref": "TrainingVpc"},
                "SecurityGroupEgress": [
                    {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "Description": "ECR, S3, logs"}
                ],
            },
        },
    }
    for index in (0, 1):
        subnet = f"TrainingSubnet{index + 1}"
        resources[subnet] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "TrainingVpc"},
                "CidrBlock": f"10.42.{index}.0/24",
                "AvailabilityZone": {"Fn::Select": [index, {"Fn::GetAZs": ""}]},
                "MapPublicIpOnLaunch": False,
            },
        }
        resources[f"{subnet}Routes"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {
                "SubnetId": {"Ref": subnet},
                "RouteTableId": {"Ref": "TrainingRouteTable"},
            },
        }
    return resources


def training_resources(
    settings: Settings, options: TemplateOptions, jobs: tuple[TrainingJobSpec, ...]
) -> dict[str, Any]:
    """ECS Fargate cluster, one image repository, task definition and schedule per job."""
    if not jobs:
        return {}
    resources: dict[str, Any] = {
        CLUSTER_ID: {
            "Type": "AWS::ECS::Cluster",
            "Properties": {
                "ClusterName": f"learnloop-{options.stage}-training",
                "CapacityProviders": ["FARGATE", "FARGATE_SPOT"],
            },
        },
        "TrainingLogs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/learnloop/{options.stage}/training",
                "RetentionInDays": options.log_retention_days,
            },
        },
        "TrainingExecutionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": iam.assume_role_policy("ecs-tasks.amazonaws.com"),
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonECSTaskExecutionRolePolicy"
                    }
                ],
                "Policies": [
                    {
                        "PolicyName": "read-pseudonym-secret",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["secretsmanager:GetSecretValue"],
                                    "Resource": {"Ref": SECRET_ID},
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "TrainingTaskRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": iam.assume_role_policy("ecs-tasks.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": "read-exports-write-models",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                *iam.s3_statements(
                                    BUCKET_ID, read=TRAINING_S3_READ, write=TRAINING_S3_WRITE
                                ),
                                # Who opted out or was deleted: one Query of the users
                                # table's exclusion index, nothing else of DynamoDB.
                                {
                                    "Effect": "Allow",
                                    "Action": ["dynamodb:Query"],
                                    "Resource": {"Fn::Sub": _USERS_EXCLUSION_INDEX_ARN},
                                },
                            ],
                        },
                    }
                ],
            },
        },
        "TrainingScheduleRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": iam.assume_role_policy("events.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": "run-training-tasks",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["ecs:RunTask"],
                                    "Resource": [
                                        {"Ref": logical_id(job.name, "TaskDefinition")}
                                        for job in jobs
                                    ],
                                    "Condition": {
                                        "ArnEquals": {
                                            "ecs:cluster": {"Fn::GetAtt": [CLUSTER_ID, "Arn"]}
                                        }
                                    },
                                },
                                {
                                    "Effect": "Allow",
                                    "Action": ["iam:PassRole"],
                                    "Resource": [
                                        {"Fn::GetAtt": ["TrainingTaskRole", "Arn"]},
                                        {"Fn::GetAtt": ["TrainingExecutionRole", "Arn"]},
                                    ],
                                },
                            ],
                        },
                    }
                ],
            },
        },
    }
    resources.update(network_resources())
    for job in jobs:
        sizes = {**TRAINING_DEFAULTS["*"], **TRAINING_DEFAULTS.get(job.name, {})}
        repo_id = logical_id(job.name, "Repository")
        task_id = logical_id(job.name, "TaskDefinition")
        resources[repo_id] = _retention(
            {
                "Type": "AWS::ECR::Repository",
                "Properties": {
                    "RepositoryName": f"learnloop-{options.stage}/{job.name.replace('_', '-')}",
                    "ImageScanningConfiguration": {"ScanOnPush": True},
                    "EmptyOnDelete": not options.retain_data,
                    "LifecyclePolicy": {
                        "LifecyclePolicyText": json.dumps(
                            {
                                "rules": [
                                    {
                                        "rulePriority": 1,
                                        "description": "keep the last 10 images",
                                        "selection": {
                                            "tagStatus": "any",
                                            "countType": "imageCountMoreThan",
                                            "countNumber": 10,
                                        },
                                        "action": {"type": "expire"},
                                    }
                                ]
                            }
                        )
                    },
                },
            },
            options.retain_data,
        )
        resources[task_id] = {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": f"learnloop-{options.stage}-{job.name.replace('_', '-')}",
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": sizes["cpu"],
                "Memory": sizes["memory"],
                "RuntimePlatform": {
                    "CpuArchitecture": "X86_64",
                    "OperatingSystemFamily": "LINUX",
                },
                "ExecutionRoleArn": {"Fn::GetAtt": ["TrainingExecutionRole", "Arn"]},
                "TaskRoleArn": {"Fn::GetAtt": ["TrainingTaskRole", "Arn"]},
                "ContainerDefinitions": [
                    {
                        "Name": job.name,
                        "Image": {"Fn::Sub": f"${{{repo_id}.RepositoryUri}}:${{ImageTag}}"},
                        "Essential": True,
                        "Command": ["python", "-m", job.module],
                        "Environment": [
                            {"Name": "LEARNLOOP_STAGE", "Value": settings.stage},
                            {"Name": "LEARNLOOP_TABLE_PREFIX", "Value": settings.table_prefix},
                            {"Name": "LEARNLOOP_BUCKET", "Value": {"Ref": BUCKET_ID}},
                            {"Name": "HF_HUB_OFFLINE", "Value": "1"},
                        ],
                        "Secrets": [
                            {"Name": "LEARNLOOP_PSEUDONYM_SECRET", "ValueFrom": {"Ref": SECRET_ID}}
                        ],
                        "LogConfiguration": {
                            "LogDriver": "awslogs",
                            "Options": {
                                "awslogs-group": {"Ref": "TrainingLogs"},
                                "awslogs-region": {"Ref": "AWS::Region"},
                                "awslogs-stream-prefix": job.name,
                            },
                        },
                    }
                ],
            },
        }
        target = _task_target(job.name, task_id)
        resources[logical_id(job.name, "Schedule")] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": f"learnloop-{options.stage}-train-{job.name.replace('_', '-')}",
                "ScheduleExpression": sizes["schedule"],
                "State": "ENABLED",
                "Targets": [target],
            },
        }
    return resources


def _task_target(job: str, task_id: str) -> dict[str, Any]:
    """An EventBridge target that runs one task of ``task_id`` on the training cluster."""
    return {
        "Id": job,
        "Arn": {"Fn::GetAtt": [CLUSTER_ID, "Arn"]},
        "RoleArn": {"Fn::GetAtt": ["TrainingScheduleRole", "Arn"]},
        "EcsParameters": {
            "TaskDefinitionArn": {"Ref": task_id},
            "TaskCount": 1,
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {
                "AwsVpcConfiguration": {
                    "AssignPublicIp": "ENABLED",
                    "Subnets": [{"Ref": "TrainingSubnet1"}, {"Ref": "TrainingSubnet2"}],
                    "SecurityGroups": [{"Ref": "TrainingSecurityGroup"}],
                }
            },
        },
    }


def event_bus_resources(
    settings: Settings, options: TemplateOptions, jobs: tuple[TrainingJobSpec, ...]
) -> dict[str, Any]:
    """The stage's event bus and, per container-trained model, the rule that starts its
    training task when ``drift_check`` puts a retrain request for it on the bus."""
    resources: dict[str, Any] = {
        EVENT_BUS_ID: {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": f"learnloop-{options.stage}"},
        }
    }
    for job in jobs:
        if job.name not in (*CONTAINER_MODELS, FORECAST_JOB):
            continue
        target = _task_target(job.name, logical_id(job.name, "TaskDefinition"))
        model: list[Any] = [job.name]
        if job.name == FORECAST_JOB:
            # One model per symbol: the request's symbol becomes the task's --symbol.
            model = [{"prefix": FORECAST_PREFIX}]
            # EventBridge puts the string in quotes where <symbol> stands in a JSON template.
            command = json.dumps(["python", "-m", job.module, "--symbol"])[:-1] + ", <symbol>]"
            overrides = f'{{"name": "{job.name}", "command": {command}}}'
            target["InputTransformer"] = {
                "InputPathsMap": {"symbol": "$.detail.symbol"},
                "InputTemplate": f'{{"containerOverrides": [{overrides}]}}',
            }
        resources[logical_id(job.name, "RetrainRule")] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": f"learnloop-{options.stage}-retrain-{job.name.replace('_', '-')}",
                "EventBusName": {"Ref": EVENT_BUS_ID},
                "EventPattern": {
                    "source": [EVENT_SOURCE],
                    "detail-type": [RETRAIN_DETAIL_TYPE],
                    "detail": {"model": model, "stage": [settings.stage]},
                },
                "State": "ENABLED",
                "Targets": [target],
            },
        }
    return resources


# --- the whole template ------------------------------------------------------------------------


def build_template(
    inventory: Inventory,
    settings: Settings,
    options: TemplateOptions,
    artifacts: Artifacts,
) -> Template:
    """The stage's whole CloudFormation template.

    Parameters
    ----------
    inventory
        Functions, tables and training jobs read from the code.
    settings
        The stage's names (table prefix, bucket).
    options
        Runtime, retention and Chalice configuration.
    artifacts
        Where the zips were uploaded (or will be, for a dry run).
    """
    resources: dict[str, Any] = {}
    for table in inventory.tables:
        resources[logical_id(table.entity, "Table")] = table_resource(
            table, retain=options.retain_data
        )
    resources.update(bucket_resources(settings, options))
    resources.update(layer_resources(options, artifacts))
    for spec in inventory.functions:
        resources.update(function_resources(inventory, settings, options, artifacts, spec))
    if any(spec.kind == "api" for spec in inventory.functions):
        resources.update(api_resources(inventory, options))
    if any(spec.profile.puts_events for spec in inventory.functions):
        resources.update(event_bus_resources(settings, options, inventory.training_jobs))
    resources.update(training_resources(settings, options, inventory.training_jobs))
    outputs: dict[str, Any] = {
        "BucketName": {"Value": {"Ref": BUCKET_ID}},
        "TablePrefix": {"Value": settings.table_prefix},
        "Stage": {"Value": settings.stage},
        "RetainsData": {"Value": "true" if options.retain_data else "false"},
    }
    if API_ID in resources:
        stage_name = resources["ApiStage"]["Properties"]["StageName"]
        outputs["ApiUrl"] = {
            "Value": {
                "Fn::Sub": f"https://${{{API_ID}}}.execute-api.${{AWS::Region}}."
                f"${{AWS::URLSuffix}}/{stage_name}"
            }
        }
    if inventory.training_jobs:
        outputs["TrainingCluster"] = {"Value": {"Ref": CLUSTER_ID}}
        outputs["TrainingSubnets"] = {
            "Value": {"Fn::Join": [",", [{"Ref": "TrainingSubnet1"}, {"Ref": "TrainingSubnet2"}]]}
        }
        outputs["TrainingSecurityGroup"] = {"Value": {"Ref": "TrainingSecurityGroup"}}
        for job in inventory.training_jobs:
            outputs[logical_id(job.name, "TaskDefinition")] = {
                "Value": {"Ref": logical_id(job.name, "TaskDefinition")}
            }
            outputs[logical_id(job.name, "Repository")] = {
                "Value": {"Fn::GetAtt": [logical_id(job.name, "Repository"), "RepositoryUri"]}
            }
    parameters: dict[str, Any] = {
        ARTIFACTS_PARAMETER: {
            "Type": "String",
            "Default": artifacts.bucket,
            "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            "Description": "The bucket holding the function code and layer zips",
        }
    }
    if inventory.training_jobs:
        parameters["ImageTag"] = {
            "Type": "String",
            "Default": "latest",
            "Description": "Tag of the training images pushed to the job repositories",
        }
    template: Template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"learnloop stage {settings.stage}: generated by `learnloop deploy`",
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": outputs,
    }
    # The security scan's accepted findings, each with its reason, travel in the template.
    return accept_findings(template)


__all__ = [
    "GATEWAY_RESPONSES",
    "TRAINING_DEFAULTS",
    "Artifacts",
    "Template",
    "TemplateOptions",
    "bucket_name",
    "build_template",
    "event_bus_resources",
    "function_name",
    "logical_id",
    "read_chalice_config",
    "swagger",
    "table_resource",
]

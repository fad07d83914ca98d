"""The infrastructure scan's findings this template accepts, each with its reason, in the template.

``tests/functional/test_deploy_checkov.py`` runs checkov on the generated template: every
finding must be fixed in the template or listed here. Listed findings are written into each
resource's ``Metadata.checkov.skip`` (checkov's own suppression format), so the reason travels
with the template and any scanner run on it shows it.

What the scan checks and the template passes (asserted by the test, so a regression fails):
least-privilege IAM (no ``*`` actions, no unconstrained writes, privilege escalation or data
exfiltration, assume-role only by one service), encryption at rest of the bucket, public access
blocks and versioning, point-in-time recovery on every table, a retention on every log group,
ECR scan-on-push, Lambda permissions limited by source ARN, no secrets in environments.

What is accepted below is, in short: customer-managed KMS keys (every store here is encrypted
at rest with AWS-owned or AWS-managed keys already; a CMK is a per-key monthly cost and a key
policy to administer, worth it only under a compliance rule that asks for one), VPC placement,
reserved concurrency and dead-letter queues where they do not fit, and per-request access
logging that needs account-wide settings a stack should not change.

Examples
--------
>>> template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {}}}}
>>> accept_findings(template)["Resources"]["Q"]["Metadata"]["checkov"]["skip"][0]["id"]
'CKV_AWS_27'
"""

from __future__ import annotations

from typing import Any

_CMK = (
    "encrypted at rest with an AWS {key} key already; a customer-managed KMS key adds a "
    "monthly cost per key and a key policy to administer: add one when a compliance rule "
    "asks for it"
)

#: Accepted findings by resource type: ``(check id, reason)``.
ACCEPTED: dict[str, tuple[tuple[str, str], ...]] = {
    "AWS::Lambda::Function": (
        (
            "CKV_AWS_115",
            "no reserved concurrency: a reservation fails to deploy on accounts whose limit is "
            "the new-account 10, and would cap the API below its rate limits; per-key rate "
            "limits and API Gateway throttling bound the load instead",
        ),
        (
            "CKV_AWS_116",
            "API functions are invoked synchronously (a DLQ never applies); scheduled jobs are "
            "idempotent and re-run by their next schedule; the decision-log loader has its "
            "own failure queue (OnDecisionLogsFailed) through its EventInvokeConfig",
        ),
        (
            "CKV_AWS_117",
            "not in a VPC: the functions reach only DynamoDB, S3, Secrets Manager and "
            "EventBridge over TLS with IAM; a VPC would need NAT or endpoints (a fixed monthly "
            "cost) and protects no resource here",
        ),
        (
            "CKV_AWS_173",
            "the environment holds names and settings only (the pseudonym key is in Secrets "
            "Manager); Lambda encrypts it at rest with an AWS-managed key",
        ),
    ),
    "AWS::DynamoDB::Table": (("CKV_AWS_119", _CMK.format(key="owned")),),
    "AWS::Logs::LogGroup": (("CKV_AWS_158", _CMK.format(key="managed")),),
    "AWS::SecretsManager::Secret": (
        ("CKV_AWS_149", _CMK.format(key="managed (aws/secretsmanager)")),
    ),
    "AWS::SQS::Queue": (
        (
            "CKV_AWS_27",
            "SqsManagedSseEnabled encrypts at rest (SSE-SQS); the check counts KMS only",
        ),
    ),
    "AWS::ECR::Repository": (
        ("CKV_AWS_136", "images are encrypted at rest with AES-256 (ECR's default)"),
        (
            "CKV_AWS_51",
            "tags stay mutable: deploy prints `docker push REPO:latest` and the task runs the "
            "ImageTag parameter (latest by default); pin ImageTag to a digest-like tag for "
            "immutable releases",
        ),
    ),
    "AWS::S3::Bucket": (
        (
            "CKV_AWS_18",
            "no server access logs: they need a second bucket of their own; enable CloudTrail "
            "S3 data events when object-level audit is required",
        ),
    ),
    "AWS::ECS::Cluster": (
        (
            "CKV_AWS_65",
            "a few short training tasks a week: their logs go to CloudWatch; Container "
            "Insights' metrics would cost more than the tasks",
        ),
    ),
    "AWS::ApiGateway::Stage": (
        (
            "CKV_AWS_120",
            "no response cache: answers depend on the caller's key and change with every "
            "write; a cache would serve stale or another key's data",
        ),
        (
            "CKV_AWS_73",
            "no X-Ray: every request logs a correlation id (Powertools); turn TracingEnabled "
            "on when traces are wanted (priced per trace)",
        ),
        (
            "CKV_AWS_76",
            "no access log: API Gateway needs an account-wide CloudWatch role "
            "(AWS::ApiGateway::Account) for it, which one stage's stack should not change; "
            "the functions log every request",
        ),
    ),
}


def accept_findings(template: dict[str, Any]) -> dict[str, Any]:
    """Write :data:`ACCEPTED`'s reasons into each matching resource's metadata (in place)."""
    for resource in template.get("Resources", {}).values():
        accepted = ACCEPTED.get(resource.get("Type", ""))
        if not accepted:
            continue
        checkov = resource.setdefault("Metadata", {}).setdefault("checkov", {})
        skip = checkov.setdefault("skip", [])
        known = {entry["id"] for entry in skip}
        skip.extend({"id": check, "comment": why} for check, why in accepted if check not in known)
    return template


__all__ = ["ACCEPTED", "accept_findings"]

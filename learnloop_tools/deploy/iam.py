"""Least-privilege IAM policy documents, one per function or task, from its profile.

Statements name resources by CloudFormation reference (``Fn::GetAtt``/``Fn::Sub``), so a
policy only ever covers the stage's own tables, bucket prefixes and log group.

Examples
--------
>>> from learnloop_tools.deploy.profiles import Profile
>>> doc = function_policy(Profile(layers=("ingest",)), ["EventsTable"], "Bucket", "Logs")
>>> sorted({a for s in doc["Statement"] for a in s["Action"]})[:3]
['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem']
>>> any(a.startswith("s3:") for s in doc["Statement"] for a in s["Action"])
False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from learnloop_tools.deploy.profiles import Profile

DYNAMODB_READ = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
)
DYNAMODB_WRITE = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")

Document = dict[str, Any]


def assume_role_policy(service: str) -> Document:
    """The trust policy letting ``service`` (``lambda.amazonaws.com``, ...) assume a role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def _table_resources(table_ids: Sequence[str]) -> list[Any]:
    resources: list[Any] = []
    for logical_id in table_ids:
        resources.append({"Fn::GetAtt": [logical_id, "Arn"]})
        resources.append({"Fn::Sub": f"${{{logical_id}.Arn}}/index/*"})
    return resources


def _objects(bucket_id: str, prefixes: Sequence[str]) -> list[Any]:
    return [{"Fn::Sub": f"${{{bucket_id}.Arn}}/{prefix}*"} for prefix in prefixes]


def s3_statements(
    bucket_id: str,
    *,
    read: Sequence[str] = (),
    write: Sequence[str] = (),
    delete: Sequence[str] = (),
) -> list[Document]:
    """GetObject/PutObject/DeleteObject on key prefixes, and ListBucket limited to them."""
    statements: list[Document] = []
    if read:
        statements.append(
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": _objects(bucket_id, read)}
        )
    if write:
        statements.append(
            {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": _objects(bucket_id, write)}
        )
    if delete:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:DeleteObject"],
                "Resource": _objects(bucket_id, delete),
            }
        )
    listed = sorted(set(read) | set(write) | set(delete))
    if listed:
        statement: Document = {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
        }
        if "" not in listed:
            statement["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in listed]}}
        statements.append(statement)
    return statements


def function_policy(
    profile: Profile,
    table_ids: Sequence[str],
    bucket_id: str,
    log_group_id: str,
    event_bus_id: str | None = None,
) -> Document:
    """The inline policy of one Lambda function.

    Parameters
    ----------
    profile
        What the function needs.
    table_ids, bucket_id, log_group_id
        Logical ids of the stage's tables, its bucket and the function's log group.
    event_bus_id
        Logical id of the stage's event bus (PutEvents on it when ``profile.puts_events``).
    """
    actions = list(DYNAMODB_READ)
    if profile.dynamodb_write:
        actions += DYNAMODB_WRITE
    if profile.dynamodb_scan:
        actions.append("dynamodb:Scan")
    statements: list[Document] = [
        {
            "Effect": "Allow",
            "Action": list(LOG_WRITE),
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        },
        {"Effect": "Allow", "Action": sorted(actions), "Resource": _table_resources(table_ids)},
    ]
    statements += s3_statements(
        bucket_id, read=profile.s3_read, write=profile.s3_write, delete=profile.s3_delete
    )
    if profile.puts_events and event_bus_id is not None:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["events:PutEvents"],
                "Resource": {"Fn::GetAtt": [event_bus_id, "Arn"]},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


__all__ = [
    "DYNAMODB_READ",
    "DYNAMODB_WRITE",
    "assume_role_policy",
    "function_policy",
    "s3_statements",
]

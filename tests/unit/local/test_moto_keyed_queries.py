"""The embedded emulator's keyed Query: one partition read, the same answers as moto's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from learnloop_tools.local.moto_server import ensure_local_credentials, install_keyed_queries

USERS = [f"u{i:03d}" for i in range(20)]


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    ensure_local_credentials()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="reactions",
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "item_key", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "user_id", "AttributeType": "S"},
                {"AttributeName": "item_key", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for user in USERS:
            for item in range(5):
                client.put_item(
                    TableName="reactions",
                    Item={
                        "user_id": {"S": user},
                        "item_key": {"S": f"meme#{item}"},
                        "reaction": {"S": "like" if item % 2 else "dislike"},
                    },
                )
        yield client


def query_all(client: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    paginator = client.get_paginator("query")
    for page in paginator.paginate(TableName="reactions", **kwargs):
        items.extend(page["Items"])
    return items


def test_a_keyed_query_reads_only_its_partition(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    install_keyed_queries()
    install_keyed_queries()  # idempotent
    seen: list[int] = []
    patched = Table.all_items

    def counting(self: Any) -> Any:
        items = patched(self)
        seen.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", counting)
    found = query_all(
        dynamodb,
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": "u007"}},
    )
    assert [i["item_key"]["S"] for i in found] == [f"meme#{i}" for i in range(5)]
    assert seen == [5]  # moto's own Query gathers all 100 items of the table


@pytest.mark.parametrize(
    "query",
    [
        {"ScanIndexForward": False, "Limit": 2},
        {"Limit": 2},
        {"FilterExpression": "reaction = :r", "extra": {":r": {"S": "like"}}},
        {"range": "AND item_key > :k", "extra": {":k": {"S": "meme#1"}}},
        {"ProjectionExpression": "item_key"},
    ],
)
def test_keyed_answers_are_moto_answers(dynamodb: Any, query: dict[str, Any]) -> None:
    from moto.dynamodb.models.table import Table

    query = dict(query)
    values = {":u": {"S": "u012"}, **query.pop("extra", {})}
    kwargs = {
        "KeyConditionExpression": "user_id = :u " + query.pop("range", ""),
        "ExpressionAttributeValues": values,
        **query,
    }
    install_keyed_queries()
    keyed = query_all(dynamodb, **kwargs)
    # moto's own answer: with the partition switch off, all_items is the whole table again.
    original = Table.all_items
    try:
        Table.all_items = lambda self: sorted(  # type: ignore[method-assign]
            (item for part in self.items.values() for item in part.values()),
            key=lambda x: (x.hash_key, x.range_key),
        )
        reference = query_all(dynamodb, **kwargs)
    finally:
        Table.all_items = original  # type: ignore[method-assign]
    assert keyed == reference and keyed

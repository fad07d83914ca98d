"""The capacity-unit counter: a known sequence of calls consumes what DynamoDB's rules say."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from learnloop_tools.scale.units import counting, item_size, number_size, value_size

KB = 1024


@pytest.fixture
def ddb(aws_endpoint: str) -> Iterator[tuple[Any, str]]:
    """A raw client and a fresh table: key ``pk``, index ``by_day`` on ``day`` (ALL) and
    ``by_kind`` on ``kind`` (KEYS_ONLY)."""
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=aws_endpoint)
    name = f"units-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "day", "kind")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_day",
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_kind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    yield client, name
    client.delete_table(TableName=name)


def _item(pk: str, payload_bytes: int, **extra: str) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "blob": {"S": "x" * payload_bytes}}
    item.update({k: {"S": v} for k, v in extra.items()})
    return item


def test_sizes_follow_the_published_rules() -> None:
    assert number_size("123") == 3  # two digit pairs + 1
    assert number_size("-0.5") == 2
    assert number_size("100000000000000000000") == 2  # trailing zeros trimmed
    assert value_size({"M": {"a": {"S": "bc"}, "d": {"BOOL": True}}}) == 3 + (1 + 1 + 2) + (
        1 + 1 + 1
    )
    assert value_size({"SS": ["é", "ab"]}) == 4  # UTF-8 bytes
    assert item_size({"ab": {"NULL": True}, "b": {"B": b"\x00\x01\x02"}}) == (2 + 1) + (1 + 3)


def test_writes_count_the_item_and_each_index_it_enters(ddb: tuple[Any, str]) -> None:
    client, table = ddb
    small = _item("a", 100, day="d1", kind="k")  # 1 KB or less everywhere
    big = _item("b", 2_500, day="d1")  # 3 KB; not in by_kind
    with counting() as counter:
        client.put_item(TableName=table, Item=small)
        client.put_item(TableName=table, Item=big)
    usage = counter.usage
    # table: 1 + 3; by_day (ALL): 1 + 3; by_kind (KEYS_ONLY, small only): 1
    assert usage.by_table[table]["wcu"] == 4
    assert usage.by_table[f"{table}/by_day"]["wcu"] == 4
    assert usage.by_table[f"{table}/by_kind"]["wcu"] == 1
    assert usage.wcu == 9 and usage.rcu == 0

    # growing "b" to 5 KB costs the larger size; moving it to another day costs the index 2
    with counting() as counter:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": "b"}},
            UpdateExpression="SET #b = :b, #d = :d",
            ExpressionAttributeNames={"#b": "blob", "#d": "day"},
            ExpressionAttributeValues={":b": {"S": "y" * 4_500}, ":d": {"S": "d2"}},
        )
    assert counter.usage.by_table[table]["wcu"] == 5
    assert counter.usage.by_table[f"{table}/by_day"]["wcu"] == 3 + 5  # delete old, put new
    assert f"{table}/by_kind" not in counter.usage.by_table

    # a failed condition still consumes the existing item's units, and nothing in the indexes
    with counting() as counter, pytest.raises(ClientError):
        client.put_item(TableName=table, Item=small, ConditionExpression="attribute_not_exists(pk)")
    assert counter.usage.wcu == 1
    assert dict(counter.usage.by_table) == {table: {"rcu": 0.0, "wcu": 1.0}}

    # deleting removes it from the table and both indexes
    with counting() as counter:
        client.delete_item(TableName=table, Key={"pk": {"S": "a"}})
    assert counter.usage.wcu == 3


def test_batch_writes_and_transactions(ddb: tuple[Any, str]) -> None:
    client, table = ddb
    items = [_item(f"p{i}", 1_100, day="d1") for i in range(3)]  # 2 KB each
    with counting() as counter:
        client.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]}
        )
    assert counter.usage.by_table[table]["wcu"] == 6
    assert counter.usage.by_table[f"{table}/by_day"]["wcu"] == 6
    with counting() as counter:
        client.transact_write_items(
            TransactItems=[{"Put": {"TableName": table, "Item": _item("t", 10)}}]
        )
    assert counter.usage.wcu == 2  # transactional: twice one unit, no index key


def test_reads_count_whole_items_by_consistency(ddb: tuple[Any, str]) -> None:
    client, table = ddb
    for i in range(4):  # 4 items of 3,000+ bytes in d1
        client.put_item(TableName=table, Item=_item(f"r{i}", 3_000, day="d1"))
    one = item_size(_item("r0", 3_000, day="d1"))
    with counting() as counter:
        client.get_item(TableName=table, Key={"pk": {"S": "r0"}}, ConsistentRead=True)
        # a projection returns less but consumes the whole item: 0.5 (eventual)
        client.get_item(TableName=table, Key={"pk": {"S": "r1"}}, ProjectionExpression="pk")
        client.get_item(TableName=table, Key={"pk": {"S": "missing"}})  # the minimum, 0.5
    assert counter.usage.rcu == 1 + 0.5 + 0.5
    with counting() as counter:
        client.batch_get_item(
            RequestItems={table: {"Keys": [{"pk": {"S": f"r{i}"}} for i in range(3)]}}
        )
    assert counter.usage.rcu == 3 * 0.5
    # a query page: the sum of the items it evaluated, filter or not, rounded up to 4 KB
    with counting() as counter:
        client.query(
            TableName=table,
            IndexName="by_day",
            KeyConditionExpression="#d = :d",
            FilterExpression="pk = :none",
            ExpressionAttributeNames={"#d": "day"},
            ExpressionAttributeValues={":d": {"S": "d1"}, ":none": {"S": "nothing"}},
        )
    expected = -(-4 * one // (4 * KB)) * 0.5
    assert counter.usage.by_table[f"{table}/by_day"]["rcu"] == expected
    assert counter.usage.dynamodb_calls["Query"] == 1  # the re-read is not counted


def test_s3_requests_and_bytes(aws_endpoint: str) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws_endpoint)
    bucket = f"units-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    with counting() as counter:
        s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 1_000)
        s3.upload_fileobj(io.BytesIO(b"y" * 500), bucket, "b")
        s3.get_object(Bucket=bucket, Key="a")["Body"].read()
        s3.list_objects_v2(Bucket=bucket)
    usage = counter.usage
    assert (usage.s3_tier1, usage.s3_tier2) == (3, 1)
    assert (usage.s3_bytes_in, usage.s3_bytes_out) == (1_500, 1_000)


def test_counting_stops_at_the_end_of_the_block(ddb: tuple[Any, str]) -> None:
    client, table = ddb
    with counting() as counter:
        client.put_item(TableName=table, Item=_item("z", 10))
    client.put_item(TableName=table, Item=_item("z2", 10))
    assert counter.usage.wcu == 1

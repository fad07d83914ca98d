"""The embedded emulator's keyed Query: one partition read, the same answers as moto's own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from learnloop_tools.local.moto_server import (
    EMULATOR_LOCK,
    ensure_local_credentials,
    install_keyed_queries,
)

USERS = [f"u{i:03d}" for i in range(20)]


@contextlib.contextmanager
def reactions_table(monkeypatch: pytest.MonkeyPatch, *, day_index: bool) -> Iterator[Any]:
    """A ``reactions`` table (with a ``by_day`` index when asked) in this process's moto: never
    an embedded server another test in the worker left running (``AWS_ENDPOINT_URL``), whose
    handlers would also wait for the emulator's lock these tests take."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    ensure_local_credentials()
    keys = ("user_id", "item_key", "day", "at") if day_index else ("user_id", "item_key")
    index = {
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by_day",
                "KeySchema": [
                    {"AttributeName": "day", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    }
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="reactions",
            KeySchema=[
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "item_key", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            BillingMode="PAY_PER_REQUEST",
            **(index if day_index else {}),
        )
        yield client


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with reactions_table(monkeypatch, day_index=False) as client:
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


@pytest.fixture
def by_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A table with a day index, as the reactions table has, 3 days x 8 users."""
    with reactions_table(monkeypatch, day_index=True) as client:
        for n in range(24):
            put(client, f"u{n % 8}", f"meme#{n}", f"d{n % 3}", f"t{(n * 7) % 24:02d}")
        yield client


def put(client: Any, user: str, item: str, day: str, at: str) -> None:
    client.put_item(
        TableName="reactions",
        Item={"user_id": {"S": user}, "item_key": {"S": item}, "day": {"S": day},
              "at": {"S": at}},
    )  # fmt: skip
    with EMULATOR_LOCK.writing():  # the embedded server moves the generation on each write
        pass


def day_query(client: Any, day: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Through the index path (inside the read lock, as the server answers a Query) and
    moto's own (outside it); both must agree."""
    query = {"IndexName": "by_day", "KeyConditionExpression": "#d = :d",
             "ExpressionAttributeNames": {"#d": "day"},
             "ExpressionAttributeValues": {":d": {"S": day}}, **kwargs}  # fmt: skip
    with EMULATOR_LOCK.reading():
        grouped = query_all(client, **query)
    assert grouped == query_all(client, **query)
    return grouped


@pytest.mark.parametrize("kwargs", [{}, {"Limit": 3}, {"ScanIndexForward": False, "Limit": 2}])
def test_an_index_query_reads_the_group_and_answers_as_moto(
    by_day: Any, kwargs: dict[str, Any]
) -> None:
    install_keyed_queries()
    found = day_query(by_day, "d1", **kwargs)
    assert [i["at"]["S"] for i in found] == sorted(i["at"]["S"] for i in found)[
        :: -1 if kwargs.get("ScanIndexForward") is False else 1
    ]
    assert {i["day"]["S"] for i in found} == {"d1"} and len(found) == 8
    table = next(t for t in _tables() if t.name == "reactions")
    _, groups = table._learnloop_index_groups  # the table grouped once by the index's key
    assert sorted(key.value for key in groups[("by_day", "day")]) == ["d0", "d1", "d2"]


def test_a_write_moves_the_generation_so_no_index_query_reads_a_stale_group(
    by_day: Any,
) -> None:
    install_keyed_queries()
    assert len(day_query(by_day, "d1")) == 8
    table = next(t for t in _tables() if t.name == "reactions")
    first = table._learnloop_index_groups
    assert len(day_query(by_day, "d2")) == 8
    assert table._learnloop_index_groups is first  # one grouping served both days
    with EMULATOR_LOCK.writing(tables=False):  # an S3 write, as an export's between its reads
        pass
    assert len(day_query(by_day, "d0")) == 8
    assert table._learnloop_index_groups is first
    put(by_day, "u0", "meme#new", "d1", "t99")
    put(by_day, "u1", "meme#1", "d2", "t00")  # an item moves from d1 to d2
    assert [i["item_key"]["S"] for i in day_query(by_day, "d1")][-1] == "meme#new"
    assert "meme#1" not in {i["item_key"]["S"] for i in day_query(by_day, "d1")}
    assert "meme#1" in {i["item_key"]["S"] for i in day_query(by_day, "d2")}
    assert table._learnloop_index_groups is not first


def _tables() -> list[Any]:
    from moto.dynamodb.models import dynamodb_backends

    return list(dynamodb_backends["123456789012"]["us-east-1"].tables.values())

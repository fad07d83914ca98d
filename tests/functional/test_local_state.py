"""Local state snapshots against moto's server: lossless round trips, schemas, atomicity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from learnloop.store.clients import dynamodb_client, s3_client
from learnloop_tools.local import SnapshotError, StateStore
from learnloop_tools.local.moto_server import MotoBackendAccess

ODD_ITEM = {
    "user_id": {"S": "u-bin"},
    "sk": {"S": "2026-11-20T00:00:00.000000Z#x"},
    "blob": {"B": b"\x00\xffbinary"},
    "blobs": {"BS": [b"a", b"\x01\x02"]},
    "nested": {"M": {"l": {"L": [{"B": b"z"}, {"NULL": True}, {"BOOL": False}, {"N": "1.50"}]}}},
    "tags": {"SS": ["x", "y"]},
    "nums": {"NS": ["1", "2.5"]},
    "day_shard": {"S": "2026-11-20#0"},
}


@pytest.fixture(params=["moto-backend", "api"])
def store(request: Any, tmp_path: Path) -> StateStore:
    direct = MotoBackendAccess() if request.param == "moto-backend" else None
    return StateStore(tmp_path / "state", direct=direct)


def seed(settings: Any, tables: Any) -> tuple[Any, Any]:
    dynamodb, s3 = dynamodb_client(settings), s3_client(settings)
    dynamodb.put_item(TableName=settings.table_name("events"), Item=ODD_ITEM)
    for i in range(30):
        tables.reactions(
            f"u{i}",
            f"meme#m{i}",
            content_type="meme",
            external_id=f"m{i}",
            reaction="like",
            content={"title": f"cat {i}", "emoji": "😺"},
            created_at="2026-11-20T00:00:00.000000Z",
            updated_at="2026-11-20T00:00:00.000000Z",
            day_shard="2026-11-20#1",
        ).save()
    s3.put_object(
        Bucket=settings.bucket,
        Key="models/ridge/1/model.onnx",
        Body=b"\x08\x01onnx",
        ContentType="application/octet-stream",
        Metadata={"sha256": "abc"},
    )
    s3.put_object(Bucket=settings.bucket, Key="exports/a b/ü.json", Body=b"{}")
    return dynamodb, s3


def test_round_trip_is_lossless(settings: Any, tables: Any, store: StateStore) -> None:
    dynamodb, s3 = seed(settings, tables)
    report = store.snapshot(settings)
    assert (report.items, report.objects) == (31, 2)
    assert report.tables == len(tables.all())

    # Change everything after the snapshot: restore must bring the saved values back.
    events = settings.table_name("events")
    dynamodb.delete_item(TableName=events, Key={k: ODD_ITEM[k] for k in ("user_id", "sk")})
    tables.reactions("u0", "meme#m0").update(actions=[tables.reactions.reaction.set("dislike")])
    s3.delete_object(Bucket=settings.bucket, Key="models/ridge/1/model.onnx")

    restored = store.restore(settings)
    assert restored is not None and (restored.items, restored.objects) == (31, 2)
    item = dynamodb.get_item(TableName=events, Key={k: ODD_ITEM[k] for k in ("user_id", "sk")})
    assert item["Item"] == ODD_ITEM
    assert tables.reactions.get("u0", "meme#m0").reaction == "like"
    assert tables.reactions.get("u7", "meme#m7").content == {"title": "cat 7", "emoji": "😺"}
    model = s3.get_object(Bucket=settings.bucket, Key="models/ridge/1/model.onnx")
    assert model["Body"].read() == b"\x08\x01onnx"
    assert model["ContentType"] == "application/octet-stream"
    assert model["Metadata"] == {"sha256": "abc"}
    odd_key = s3.get_object(Bucket=settings.bucket, Key="exports/a b/ü.json")
    assert odd_key["Body"].read() == b"{}"


def test_a_dropped_table_comes_back_with_its_indexes_and_ttl(
    settings: Any, tables: Any, store: StateStore
) -> None:
    dynamodb, _ = seed(settings, tables)
    store.snapshot(settings)
    events = settings.table_name("events")
    dynamodb.delete_table(TableName=events)

    store.restore(settings)
    table = dynamodb.describe_table(TableName=events)["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by_day"]
    ttl = dynamodb.describe_time_to_live(TableName=events)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    by_day = dynamodb.query(
        TableName=events,
        IndexName="by_day",
        KeyConditionExpression="day_shard = :d",
        ExpressionAttributeValues={":d": {"S": "2026-11-20#0"}},
    )
    assert by_day["Count"] == 1


def test_only_the_latest_snapshot_and_its_blobs_are_kept(
    settings: Any, tables: Any, store: StateStore
) -> None:
    _, s3 = seed(settings, tables)
    first = store.snapshot(settings)
    s3.put_object(Bucket=settings.bucket, Key="exports/a b/ü.json", Body=b'{"v": 2}')
    second = store.snapshot(settings)
    assert first.snapshot_id != second.snapshot_id
    assert [p.name for p in store.snapshots_dir.iterdir()] == [second.snapshot_id]
    blobs = sorted(p.read_bytes() for p in store.blobs_dir.glob("*/*"))
    assert blobs == [b"\x08\x01onnx", b'{"v": 2}']
    manifest = json.loads((store.snapshots_dir / second.snapshot_id / "manifest.json").read_text())
    assert manifest["format"] == 1 and manifest["objects"] == 2


class FailingS3:
    """An S3 client whose reads fail half-way through a snapshot."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def get_paginator(self, name: str) -> Any:
        return self.real.get_paginator(name)

    def get_object(self, **kwargs: Any) -> Any:
        raise boto3.client("s3", region_name="us-east-1").exceptions.ClientError(
            {"Error": {"Code": "InternalError", "Message": "boom"}}, "GetObject"
        )


def test_a_failed_snapshot_leaves_the_previous_one_current(
    settings: Any, tables: Any, tmp_path: Path
) -> None:
    _, s3 = seed(settings, tables)
    good = StateStore(tmp_path / "state").snapshot(settings)
    # A changed object must be downloaded again (unchanged ones are not), and that fails.
    s3.put_object(Bucket=settings.bucket, Key="exports/a b/ü.json", Body=b"[]")
    broken = StateStore(
        tmp_path / "state",
        dynamodb=dynamodb_client(settings),
        s3=FailingS3(s3_client(settings)),
    )
    with pytest.raises(SnapshotError, match="boom"):
        broken.snapshot(settings)
    current = broken.current()
    assert current is not None and current.name == good.snapshot_id
    assert [p.name for p in broken.snapshots_dir.iterdir()] == [good.snapshot_id]

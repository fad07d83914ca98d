"""Bootstrap against moto's server: idempotent, and it upgrades tables of an older release."""

from __future__ import annotations

from typing import Any

from learnloop.clock import iso, utcnow
from learnloop.store import Tables, bootstrap


def _create_without_index(model: type[Any], dropped: str) -> None:
    """The table as a release without the index ``dropped`` would have created it."""
    schema = model._get_schema()
    indexes = [i for i in schema["global_secondary_indexes"] if i["index_name"] != dropped]
    used = {k["AttributeName"] for k in schema["key_schema"]} | {
        k["AttributeName"] for i in indexes for k in i["key_schema"]
    }
    model._get_connection().connection.client.create_table(
        TableName=model.Meta.table_name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=schema["key_schema"],
        AttributeDefinitions=[
            a for a in schema["attribute_definitions"] if a["AttributeName"] in used
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": i["index_name"],
                "KeySchema": i["key_schema"],
                "Projection": i["projection"],
            }
            for i in indexes
        ],
    )


def test_a_table_from_an_older_release_gets_its_missing_index(
    settings: Any, s3: Any, _dynamodb_client: Any
) -> None:
    tables = Tables(settings, dynamodb_client=_dynamodb_client)
    ledger = tables.ledger
    _create_without_index(ledger, "by_user")
    # Written before the upgrade: the new index must cover it too.
    ledger("privacy#u1", created_at=iso(utcnow()), user_id="u1").save()

    report = bootstrap(settings, tables=tables, s3=s3)

    assert report.created_indexes == [f"{ledger.Meta.table_name}/by_user"]
    assert ledger.Meta.table_name in report.existing_tables
    assert [e.key for e in ledger.by_user.query("u1")] == ["privacy#u1"]
    again = bootstrap(settings, tables=tables, s3=s3)
    assert again.created_indexes == [] and again.created_tables == []


def test_a_fresh_stage_is_created_once(settings: Any, s3: Any, _dynamodb_client: Any) -> None:
    tables = Tables(settings, dynamodb_client=_dynamodb_client)
    first = bootstrap(settings, tables=tables, s3=s3)
    second = bootstrap(settings, tables=tables, s3=s3)
    assert len(first.created_tables) == len(tables.all()) and first.bucket_created
    assert second.created_tables == [] and not second.bucket_created
    assert second.existing_tables == first.created_tables
    assert first.created_indexes == second.created_indexes == []

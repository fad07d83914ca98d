"""export_training_data against moto: contract B's files, pseudonyms, exclusions, idempotence."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from learnloop.ingest import ingest_events, put_reaction
from learnloop.jobs import run_job
from learnloop.privacy.exports import export_day
from learnloop.users.consent import set_consent
from learnloop.users.pseudonym import pseudonymize
from learnloop.users.tombstones import write_tombstone

NOW = datetime(2026, 11, 21, 0, 45, tzinfo=UTC)
DAY = date(2026, 11, 20)
PREFIX = "exports/2026-11-20/"


def seed(tables: Any) -> None:
    for user, item, value, title in (
        ("alice", "m1", "like", "old title"),
        ("bob", "m1", "like", "new title"),
        ("alice", "m2", "dislike", None),
        ("carol", "m3", "like", "carol's meme"),
        ("dave", "m4", "like", "dave's meme"),
    ):
        hour = {"alice": 9, "bob": 10, "carol": 11, "dave": 12}[user]
        body: dict[str, Any] = {
            "user_id": user,
            "content_type": "meme",
            "external_id": item,
            "reaction": value,
            "occurred_at": f"2026-11-20T{hour:02d}:00:00Z",
        }
        if title:
            body["content"] = {"title": title, "lang": "en", "shared_by": user}
        put_reaction(tables, body, now=NOW)
    put_reaction(  # another day: not in this export
        tables,
        {
            "user_id": "bob",
            "content_type": "meme",
            "external_id": "m9",
            "reaction": "like",
            "occurred_at": "2026-11-19T10:00:00Z",
        },
        now=NOW,
    )
    events = [
        {
            "event_id": "e1",
            "type": "chat_message_sent",
            "user_id": "alice",
            "occurred_at": "2026-11-20T08:00:00Z",
            "properties": {"message_length": 12, "mood": "a free-text note about alice"},
        },
        {
            "event_id": "e2",
            "type": "insight_helpful",
            "user_id": "bob",
            "occurred_at": "2026-11-20T08:30:00Z",
            "properties": {"insight_id": "i1"},
        },
        {
            "event_id": "e3",
            "type": "acme.viewed",
            "user_id": "bob",
            "occurred_at": "2026-11-20T09:30:00Z",
            "properties": {
                "content_type": "meme",
                "external_id": "m1",
                "seconds": 4,
                "comment": "loved it",
            },
        },
        {
            "event_id": "e4",
            "type": "alert_shown",
            "user_id": "carol",
            "occurred_at": "2026-11-20T10:00:00Z",
            "properties": {"alert_id": "a1"},
        },
        {
            "event_id": "e5",
            "type": "alert_shown",
            "user_id": "dave",
            "occurred_at": "2026-11-20T11:00:00Z",
            "properties": {"alert_id": "a2"},
        },
    ]
    ingest_events(tables, {"events": events}, now=NOW)
    # carol opts out after her data was stored; dave was deleted while rows still existed.
    set_consent(tables, "carol", {"consent": "opted_out"}, now=NOW)
    write_tombstone(tables, pseudonymize("dave", tables.settings.pseudonym_secret), now=NOW)


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def rows(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines()]


def test_export_is_pseudonymized_excludes_opted_out_and_deleted_and_is_idempotent(
    tables: Any, s3: Any
) -> None:
    seed(tables)
    bucket = tables.settings.bucket
    secret = tables.settings.pseudonym_secret
    alice, bob = pseudonymize("alice", secret), pseudonymize("bob", secret)

    result = run_job("export_training_data", tables, NOW)  # the day before NOW
    assert result["date"] == "2026-11-20" and result["changed"] is True
    assert result["rows"] == {
        "reactions.jsonl": 3,
        "events.jsonl": 3,
        "items.jsonl": 2,
        "decisions.jsonl": 0,
        "occurrences.jsonl": 0,
        "insights.jsonl": 0,
    }
    assert result["excluded_users"] == 2

    files = objects(s3, bucket)
    assert sorted(files) == [
        PREFIX + n
        for n in (
            "decisions.jsonl",
            "events.jsonl",
            "insights.jsonl",
            "items.jsonl",
            "manifest.json",
            "occurrences.jsonl",
            "reactions.jsonl",
        )
    ]
    everything = b"".join(files.values())
    for raw in (b"alice", b"bob", b"carol", b"dave", b"free-text", b"loved it"):
        assert raw not in everything, raw
    for excluded in ("carol", "dave"):
        assert pseudonymize(excluded, secret).encode() not in everything

    reactions = rows(files[PREFIX + "reactions.jsonl"])
    assert [(r["user"], r["item_key"], r["reaction"]) for r in reactions] == [
        (alice, "meme#m1", "like"),
        (alice, "meme#m2", "dislike"),
        (bob, "meme#m1", "like"),
    ]
    assert set(reactions[0]) == {
        "user",
        "item_key",
        "content_type",
        "external_id",
        "reaction",
        "created_at",
        "updated_at",
    }
    events = {e["event_id"]: e for e in rows(files[PREFIX + "events.jsonl"])}
    assert sorted(events) == ["e1", "e2", "e3"]
    assert events["e1"]["properties"] == {"message_length": 12}
    assert events["e2"]["item_key"] == "ai_insight#i1"
    assert events["e3"]["properties"] == {"seconds": 4}
    assert events["e3"]["item_key"] == "meme#m1" and events["e3"]["user"] == bob
    items = rows(files[PREFIX + "items.jsonl"])
    assert items == [
        {
            "item_key": "meme#m1",
            "content_type": "meme",
            "external_id": "m1",
            "text": "new title",
            "metadata": {"lang": "en"},
            "updated_at": "2026-11-20T10:00:00.000000Z",
        },
        {
            "item_key": "meme#m2",
            "content_type": "meme",
            "external_id": "m2",
            "text": None,
            "metadata": {},
            "updated_at": "2026-11-20T09:00:00.000000Z",
        },
    ]

    manifest = json.loads(files[PREFIX + "manifest.json"])
    assert manifest["date"] == "2026-11-20" and manifest["pseudonym"] == "hmac-sha256"
    assert manifest["excluded_users"] == 2
    for name in ("reactions.jsonl", "events.jsonl", "items.jsonl"):
        data = files[PREFIX + name]
        assert manifest["files"][name] == {
            "rows": len(data.splitlines()),
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
    assert result["manifest_sha256"] == hashlib.sha256(files[PREFIX + "manifest.json"]).hexdigest()

    again = export_day(tables, DAY, s3=s3, now=datetime(2026, 11, 22, tzinfo=UTC))
    assert again.changed is False and again.manifest_sha256 == result["manifest_sha256"]
    assert objects(s3, bucket) == files

    # A data file lost since is written again; the manifest stays.
    s3.delete_object(Bucket=bucket, Key=PREFIX + "items.jsonl")
    repaired = export_day(tables, DAY, s3=s3, now=datetime(2026, 11, 22, tzinfo=UTC))
    assert repaired.changed is False and objects(s3, bucket) == files

    # Rebuilt from nothing, the data files come out byte for byte the same.
    for key in files:
        s3.delete_object(Bucket=bucket, Key=key)
    rebuilt = export_day(tables, DAY, s3=s3, now=datetime(2026, 11, 23, tzinfo=UTC))
    assert rebuilt.changed is True
    fresh = objects(s3, bucket)
    for name in ("reactions.jsonl", "events.jsonl", "items.jsonl"):
        assert fresh[PREFIX + name] == files[PREFIX + name]


def test_late_data_changes_the_export_and_its_manifest(tables: Any, s3: Any) -> None:
    seed(tables)
    first = export_day(tables, DAY, s3=s3, now=NOW)
    put_reaction(
        tables,
        {
            "user_id": "erin",
            "content_type": "meme",
            "external_id": "m5",
            "reaction": "like",
            "occurred_at": "2026-11-20T23:00:00Z",
        },
        now=NOW,
    )
    second = export_day(tables, DAY, s3=s3, now=NOW)
    assert second.changed is True and second.rows["reactions.jsonl"] == 4
    assert second.manifest_sha256 != first.manifest_sha256


def test_an_empty_day_exports_empty_files(tables: Any, s3: Any) -> None:
    result = export_day(tables, date(2026, 1, 1), s3=s3, now=NOW)
    assert result.rows == {
        "reactions.jsonl": 0,
        "events.jsonl": 0,
        "items.jsonl": 0,
        "decisions.jsonl": 0,
        "occurrences.jsonl": 0,
        "insights.jsonl": 0,
    }
    manifest = json.loads(
        s3.get_object(Bucket=tables.settings.bucket, Key="exports/2026-01-01/manifest.json")[
            "Body"
        ].read()
    )
    assert manifest["files"]["events.jsonl"]["sha256"] == hashlib.sha256(b"").hexdigest()


class _DeletionDuringWrite:
    """The real S3 client; a user is deleted just as the export writes its first file."""

    def __init__(self, s3: Any, tables: Any, user: str) -> None:
        self._s3, self._tables, self._user = s3, tables, user
        self.deleted = False

    def put_object(self, **kwargs: Any) -> Any:
        if not self.deleted:
            pseudonym = pseudonymize(self._user, self._tables.settings.pseudonym_secret)
            write_tombstone(self._tables, pseudonym, now=NOW)
            self.deleted = True
        return self._s3.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def test_a_user_deleted_while_the_day_is_written_is_not_in_it(tables: Any, s3: Any) -> None:
    seed(tables)
    racing = _DeletionDuringWrite(s3, tables, "bob")
    result = export_day(tables, DAY, s3=racing, now=NOW)
    assert racing.deleted
    bucket = tables.settings.bucket
    bob = pseudonymize("bob", tables.settings.pseudonym_secret).encode()
    stored = objects(s3, bucket)
    for name in ("reactions.jsonl", "events.jsonl", "items.jsonl"):
        assert bob not in stored[PREFIX + name], name
    assert [r["event_id"] for r in rows(stored[PREFIX + "events.jsonl"])] == ["e1"]
    manifest = json.loads(stored[PREFIX + "manifest.json"])
    assert result.manifest_sha256 == hashlib.sha256(stored[PREFIX + "manifest.json"]).hexdigest()
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(stored[PREFIX + name]).hexdigest()
    assert result.rows == {n: e["rows"] for n, e in manifest["files"].items()}
    assert manifest["excluded_users"] == result.excluded_users == 3  # carol, dave, then bob

"""``export_training_data``: one day of reactions, events and items, pseudonymized, to S3.

The layout is contract B (docs/contracts.md)::

    s3://{bucket}/exports/{yyyy-mm-dd}/reactions.jsonl
    s3://{bucket}/exports/{yyyy-mm-dd}/events.jsonl
    s3://{bucket}/exports/{yyyy-mm-dd}/items.jsonl
    s3://{bucket}/exports/{yyyy-mm-dd}/manifest.json      (written last)

JSON Lines rather than Parquet: pyarrow is ~100 MB, too heavy for a Lambda layer; JSONL streams,
diffs and needs only the standard library. Rows are sorted and serialized canonically, so
re-running a date writes identical bytes; when the data files come out identical the stored
manifest is kept as is (its sha256, which models name, does not move). Opted-out and deleted
users never appear; :func:`remove_user_from_exports` rewrites stored exports after a deletion.

Examples
--------
>>> export_day(tables, date(2026, 11, 20)).to_dict()  # doctest: +SKIP
{'job': 'export_training_data', 'date': '2026-11-20', 'changed': True,
 'rows': {'reactions.jsonl': 3, 'events.jsonl': 5, 'items.jsonl': 2}, ...}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from learnloop.exceptions import StoreError
from learnloop.jobs.reading import as_record, query_day
from learnloop.observability import logger
from learnloop.privacy.consent import excluded_pseudonyms
from learnloop.privacy.pseudonym import pseudonymize
from learnloop.privacy.rows import event_row, item_rows, jsonl, reaction_row
from learnloop.store.keys import as_utc, iso, utcnow
from learnloop.store.tables import Tables

EXPORTS_PREFIX = "exports/"
REACTIONS_FILE = "reactions.jsonl"
EVENTS_FILE = "events.jsonl"
ITEMS_FILE = "items.jsonl"
MANIFEST_FILE = "manifest.json"
DATA_FILES: tuple[str, ...] = (REACTIONS_FILE, EVENTS_FILE, ITEMS_FILE)
PSEUDONYM_SCHEME = "hmac-sha256"
JSONL_CONTENT_TYPE = "application/x-ndjson"


def export_prefix(day: date) -> str:
    """``exports/{yyyy-mm-dd}/``: where the export of ``day`` lives.

    Examples
    --------
    >>> export_prefix(date(2026, 11, 20))
    'exports/2026-11-20/'
    """
    return f"{EXPORTS_PREFIX}{day.isoformat()}/"


def file_entry(data: bytes) -> dict[str, Any]:
    """A manifest's entry for one file: ``rows`` (lines), ``sha256``, ``size``.

    Examples
    --------
    >>> file_entry(b'{"a":1}\\n{"a":2}\\n')["rows"]
    2
    """
    return {
        "rows": data.count(b"\n"),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """A manifest serialized canonically (its sha256 is what a model records)."""
    return json.dumps(manifest, sort_keys=True, indent=2).encode("utf-8") + b"\n"


@dataclass(frozen=True)
class ExportResult:
    """What one export run wrote (or found already written)."""

    date: str
    changed: bool
    rows: dict[str, int]
    excluded_users: int
    manifest_key: str
    manifest_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": "export_training_data",
            "date": self.date,
            "changed": self.changed,
            "rows": self.rows,
            "excluded_users": self.excluded_users,
            "manifest": self.manifest_key,
            "manifest_sha256": self.manifest_sha256,
        }


def build_day_files(
    tables: Tables, day: date, *, excluded: set[str] | None = None
) -> tuple[dict[str, bytes], int]:
    """The three data files of ``day`` and how many excluded users had rows that day.

    Reads the day's ``by_day`` partitions of reactions and events (never a Scan).
    """
    settings = tables.settings
    secret = settings.pseudonym_secret
    excluded = excluded_pseudonyms(tables) if excluded is None else excluded
    left_out: set[str] = set()

    def keep(records: Iterable[Any]) -> list[tuple[str, dict[str, Any]]]:
        kept = []
        for item in records:
            record = as_record(item)
            pseudonym = pseudonymize(record["user_id"], secret)
            if pseudonym in excluded:
                left_out.add(pseudonym)
            else:
                kept.append((pseudonym, record))
        return kept

    reactions = keep(query_day(tables.reactions, day, shards=settings.day_shards))
    logger.info("export: read reactions", extra={"date": day.isoformat(), "rows": len(reactions)})
    events = keep(query_day(tables.events, day, shards=settings.day_shards))
    logger.info("export: read events", extra={"date": day.isoformat(), "rows": len(events)})
    reaction_rows = sorted(
        (reaction_row(r, p) for p, r in reactions),
        key=lambda row: (row["updated_at"], row["user"], row["item_key"]),
    )
    event_rows = sorted(
        (event_row(r, p, content_types=settings.content_types) for p, r in events),
        key=lambda row: (row["occurred_at"], row["event_id"], row["user"]),
    )
    files = {
        REACTIONS_FILE: jsonl(reaction_rows),
        EVENTS_FILE: jsonl(event_rows),
        ITEMS_FILE: jsonl(item_rows(r for _, r in reactions)),
    }
    return files, len(left_out)


def export_day(
    tables: Tables, day: date, *, s3: Any | None = None, now: datetime | None = None
) -> ExportResult:
    """Write the training export of ``day``; re-running it writes the same bytes and keeps the
    stored manifest when the data files did not change.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    day : date
        The UTC day to export.
    s3 : boto3 S3 client, optional
        Default: built from the settings.
    now : datetime, optional
        ``created_at`` of a new manifest.

    Returns
    -------
    ExportResult
        Rows per file, how many excluded users had rows that day, the manifest's key and sha256,
        and whether anything was written.

    Examples
    --------
    >>> export_day(tables, date(2026, 11, 20)).rows  # doctest: +SKIP
    {'reactions.jsonl': 3, 'events.jsonl': 5, 'items.jsonl': 2}
    """
    from learnloop.store.clients import s3_client

    s3 = s3 or s3_client(tables.settings)
    bucket = tables.settings.bucket
    prefix = export_prefix(day)
    files, excluded_users = build_day_files(tables, day)
    entries = {name: file_entry(data) for name, data in files.items()}
    stored = read_manifest(s3, bucket, prefix)
    rows = {name: entry["rows"] for name, entry in entries.items()}
    # The data files are always (re)written: identical bytes are harmless, and a file lost or
    # damaged since the manifest was written is repaired.
    for name, data in files.items():
        _put(s3, bucket, prefix + name, data, JSONL_CONTENT_TYPE)
    if stored is not None and stored[0].get("files") == entries:
        logger.info("export unchanged", extra={"date": day.isoformat()})
        return ExportResult(
            date=day.isoformat(),
            changed=False,
            rows=rows,
            excluded_users=int(stored[0].get("excluded_users", 0)),
            manifest_key=prefix + MANIFEST_FILE,
            manifest_sha256=hashlib.sha256(stored[1]).hexdigest(),
        )
    manifest = {
        "date": day.isoformat(),
        "created_at": iso(now or utcnow()),
        "pseudonym": PSEUDONYM_SCHEME,
        "files": entries,
        "excluded_users": excluded_users,
    }
    body = manifest_bytes(manifest)
    _put(s3, bucket, prefix + MANIFEST_FILE, body, "application/json")
    logger.info("exported day", extra={"date": day.isoformat(), "rows": rows})
    return ExportResult(
        date=day.isoformat(),
        changed=True,
        rows=rows,
        excluded_users=excluded_users,
        manifest_key=prefix + MANIFEST_FILE,
        manifest_sha256=hashlib.sha256(body).hexdigest(),
    )


def day_to_export(now: datetime) -> date:
    """The day a run at ``now`` exports: the UTC day that ended most recently."""
    return (as_utc(now) - timedelta(days=1)).date()


def export_training_data(
    tables: Tables, now: datetime, *, day: date | None = None, s3: Any | None = None
) -> ExportResult:
    """The scheduled job: export ``day`` (default: the day before ``now``)."""
    return export_day(tables, day or day_to_export(now), s3=s3, now=now)


# --- reading and rewriting stored exports ------------------------------------------------------


def read_manifest(s3: Any, bucket: str, prefix: str) -> tuple[dict[str, Any], bytes] | None:
    """The manifest under ``prefix`` and its bytes, or ``None`` when there is none."""
    data = _get(s3, bucket, prefix + MANIFEST_FILE)
    if data is None:
        return None
    return json.loads(data), data


def export_prefixes(s3: Any, bucket: str) -> list[str]:
    """Every ``exports/{date}/`` prefix in the bucket, oldest first."""
    prefixes: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=EXPORTS_PREFIX, Delimiter="/"):
        prefixes.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    return sorted(prefixes)


def remove_user_from_exports(
    s3: Any, bucket: str, pseudonym: str, *, workers: int = 8
) -> dict[str, dict[str, int]]:
    """Rewrite every stored export that names ``pseudonym`` without its rows.

    Each file holding the pseudonym loses every line that names it; ``items.jsonl`` also loses
    the items no remaining reaction of that day refers to. The manifest is rewritten last with
    the new rows, sha256 and size (and one more ``excluded_users``). Running it again finds
    nothing and changes nothing.

    Returns
    -------
    dict
        ``{prefix: {file: rows removed}}`` for every prefix that changed.

    Examples
    --------
    >>> remove_user_from_exports(s3, "bucket", pseudonym)  # doctest: +SKIP
    {'exports/2026-11-20/': {'reactions.jsonl': 2, 'events.jsonl': 3, 'items.jsonl': 1}}
    """
    needle = pseudonym.encode("ascii")

    def rewrite(prefix: str) -> tuple[str, dict[str, int]]:
        originals = {name: _get(s3, bucket, prefix + name) for name in DATA_FILES}
        if not any(data is not None and needle in data for data in originals.values()):
            return prefix, {}
        removed: dict[str, int] = {}
        rewritten: dict[str, bytes] = {}
        for name, data in originals.items():
            if data is None:
                continue
            lines = data.splitlines(keepends=True)
            kept = [line for line in lines if needle not in line]
            if len(kept) != len(lines):
                removed[name] = len(lines) - len(kept)
                rewritten[name] = b"".join(kept)
        if REACTIONS_FILE in rewritten and originals.get(ITEMS_FILE) is not None:
            referenced = {
                json.loads(line)["item_key"] for line in rewritten[REACTIONS_FILE].splitlines()
            }
            items = rewritten.get(ITEMS_FILE, originals[ITEMS_FILE]) or b""
            lines = items.splitlines(keepends=True)
            kept = [line for line in lines if json.loads(line)["item_key"] in referenced]
            if len(kept) != len(lines):
                removed[ITEMS_FILE] = removed.get(ITEMS_FILE, 0) + len(lines) - len(kept)
                rewritten[ITEMS_FILE] = b"".join(kept)
        for name, data in rewritten.items():
            _put(s3, bucket, prefix + name, data, JSONL_CONTENT_TYPE)
        stored = read_manifest(s3, bucket, prefix)
        if stored is not None:
            manifest = stored[0]
            files = dict(manifest.get("files", {}))
            for name, data in rewritten.items():
                files[name] = file_entry(data)
            manifest["files"] = files
            manifest["excluded_users"] = int(manifest.get("excluded_users", 0)) + 1
            _put(s3, bucket, prefix + MANIFEST_FILE, manifest_bytes(manifest), "application/json")
        logger.info("rewrote export without a deleted user", extra={"prefix": prefix})
        return prefix, removed

    prefixes = export_prefixes(s3, bucket)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(prefixes) or 1))) as pool:
        results = list(pool.map(rewrite, prefixes))
    return {prefix: removed for prefix, removed in results if removed}


def _get(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise StoreError(f"could not read s3://{bucket}/{key}: {exc}") from exc
    return body


def _put(s3: Any, bucket: str, key: str, data: bytes, content_type: str) -> None:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    except ClientError as exc:
        raise StoreError(f"could not write s3://{bucket}/{key}: {exc}") from exc


__all__ = [
    "DATA_FILES",
    "EXPORTS_PREFIX",
    "MANIFEST_FILE",
    "ExportResult",
    "build_day_files",
    "day_to_export",
    "export_day",
    "export_prefix",
    "export_prefixes",
    "export_training_data",
    "file_entry",
    "read_manifest",
    "remove_user_from_exports",
]

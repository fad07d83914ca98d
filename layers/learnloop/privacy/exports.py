"""``export_training_data``: one day of reactions, events and items, pseudonymized, to S3.

The layout is contract B (docs/contracts.md)::

    s3://{bucket}/exports/{yyyy-mm-dd}/reactions.jsonl
    s3://{bucket}/exports/{yyyy-mm-dd}/events.jsonl
    s3://{bucket}/exports/{yyyy-mm-dd}/items.jsonl
    s3://{bucket}/exports/{yyyy-mm-dd}/decisions.jsonl    (logged decisions with feedback)
    s3://{bucket}/exports/{yyyy-mm-dd}/occurrences.jsonl  (trading-journal pattern occurrences)
    s3://{bucket}/exports/{yyyy-mm-dd}/insights.jsonl     (insights' features and verdicts, no text)
    s3://{bucket}/exports/{yyyy-mm-dd}/manifest.json      (written last)

JSON Lines rather than Parquet: pyarrow is ~100 MB, too heavy for a Lambda layer; JSONL streams,
diffs and needs only the standard library. Rows are sorted and serialized canonically, so
re-running a date writes identical bytes; when the data files come out identical the stored
manifest is kept as is (its sha256, which models name, does not move). Opted-out and deleted
users never appear; :func:`purge_exports` rewrites stored exports after a deletion.

Examples
--------
>>> export_day(tables, date(2026, 11, 20)).to_dict()  # doctest: +SKIP
{'job': 'export_training_data', 'date': '2026-11-20', 'changed': True,
 'rows': {'reactions.jsonl': 3, 'events.jsonl': 5, 'items.jsonl': 2}, ...}
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from learnloop.clock import as_utc, iso, utcnow
from learnloop.decisions.log import read_decisions
from learnloop.exceptions import StoreError
from learnloop.observability import logger
from learnloop.privacy.rows import (
    decision_row,
    dumps_row,
    event_row,
    feedback_row,
    fold_item,
    insight_row,
    item_rows,
    item_rows_of,
    jsonl,
    occurrence_row,
    reaction_row,
)
from learnloop.store.clients import s3_client
from learnloop.store.keys import day_partitions
from learnloop.store.queries import ReadAhead, as_record, batch_get, query_day
from learnloop.store.records import INSIGHT_RECORD
from learnloop.store.tables import Tables
from learnloop.users.consent import excluded_pseudonyms
from learnloop.users.pseudonym import pseudonymize

EXPORTS_PREFIX = "exports/"
REACTIONS_FILE = "reactions.jsonl"
EVENTS_FILE = "events.jsonl"
ITEMS_FILE = "items.jsonl"
DECISIONS_FILE = "decisions.jsonl"
OCCURRENCES_FILE = "occurrences.jsonl"
INSIGHTS_FILE = "insights.jsonl"
MANIFEST_FILE = "manifest.json"
DATA_FILES: tuple[str, ...] = (
    REACTIONS_FILE,
    EVENTS_FILE,
    ITEMS_FILE,
    DECISIONS_FILE,
    OCCURRENCES_FILE,
    INSIGHTS_FILE,
)
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

    keep = partial(_pseudonymized, secret=secret, excluded=excluded, left_out=left_out)

    # Rows flagged by the data-quality checks (bursts, floods) are not training data.
    reactions = keep(
        r for r in query_day(tables.reactions, day, shards=settings.day_shards) if not r.quality
    )
    logger.info("export: read reactions", extra={"date": day.isoformat(), "rows": len(reactions)})
    events = keep(
        e for e in query_day(tables.events, day, shards=settings.day_shards) if not e.quality
    )
    logger.info("export: read events", extra={"date": day.isoformat(), "rows": len(events)})
    reaction_rows = sorted(
        (reaction_row(r, p) for p, r in reactions),
        key=lambda row: (row["updated_at"], row["user"], row["item_key"]),
    )
    event_rows = sorted(
        (event_row(r, p, content_types=settings.content_types) for p, r in events),
        key=lambda row: (row["occurred_at"], row["event_id"], row["user"]),
    )
    decision_rows = []
    # Decisions already carry the pseudonym (or None: logged without one).
    for decision in read_decisions(tables, day, day):
        if decision["user_id"] in excluded:
            left_out.add(decision["user_id"])
        else:
            decision_rows.append(decision_row(decision))
    occurrences = keep(query_day(tables.pattern_occurrences, day, shards=settings.day_shards))
    occurrence_rows = sorted(
        (occurrence_row(r, p) for p, r in occurrences),
        key=lambda row: (row["detected_at"], row["occurrence_id"], row["user"]),
    )
    files = {
        REACTIONS_FILE: jsonl(reaction_rows),
        EVENTS_FILE: jsonl(event_rows),
        ITEMS_FILE: jsonl(item_rows(r for _, r in reactions)),
        DECISIONS_FILE: jsonl(decision_rows),
        OCCURRENCES_FILE: jsonl(occurrence_rows),
        INSIGHTS_FILE: jsonl(_insight_rows(tables, day, keep, excluded, left_out)),
    }
    return files, len(left_out)


#: Bytes buffered per part of a streamed upload (S3's minimum part is 5 MiB).
PART_SIZE = 8 * 1024 * 1024


class StreamedObject:
    """Bytes written to one S3 object as they come, in bounded memory.

    Below one part the object is one ``put_object``; above, a multipart upload of
    :data:`PART_SIZE` parts. Either way the stored bytes are exactly those written, and
    :meth:`close` returns their manifest entry (rows, sha256, size) computed on the way.

    Examples
    --------
    >>> out = StreamedObject(s3, "bucket", "exports/2026-11-20/events.jsonl")  # doctest: +SKIP
    >>> out.write(b'{"a":1}\\n'); out.close()["rows"]  # doctest: +SKIP
    1
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        content_type: str = JSONL_CONTENT_TYPE,
        *,
        part_size: int = PART_SIZE,
    ) -> None:
        self.s3, self.bucket, self.key, self.content_type = s3, bucket, key, content_type
        self.part_size = part_size
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._rows = self._size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._rows += data.count(b"\n")
        self._size += len(data)
        self._buffer += data
        if len(self._buffer) >= self.part_size:
            self._flush()

    def _flush(self) -> None:
        if self._upload_id is None:
            self._upload_id = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]
        number = len(self._parts) + 1
        response = self.s3.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(self._buffer),
        )
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})
        self._buffer.clear()

    def close(self) -> dict[str, Any]:
        """Finish the object; returns its manifest entry."""
        try:
            if self._upload_id is None:
                _put(self.s3, self.bucket, self.key, bytes(self._buffer), self.content_type)
            else:
                if self._buffer:
                    self._flush()
                self.s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except Exception:
            self.abort()
            raise
        self._buffer.clear()
        return {"rows": self._rows, "sha256": self._digest.hexdigest(), "size": self._size}

    def abort(self) -> None:
        """Drop a multipart upload begun (S3 would otherwise keep its parts)."""
        if self._upload_id is not None:
            self.s3.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
            )
            self._upload_id = None


def _merged_day(
    model: Any,
    day: date,
    shards: int,
    merge_key: Callable[[Any], Any],
) -> Iterator[list[Any]]:
    """The day's items of ``model`` across its shards in ``merge_key`` order (the index's
    range key), as groups of items with equal keys: one page per shard in memory."""
    gsi = model.by_day
    # Each shard's pages are fetched ahead in its own thread: shards read in parallel.
    streams = [ReadAhead(gsi.query(p)) for p in day_partitions(day, shards=shards)]
    group: list[Any] = []
    for item in heapq.merge(*streams, key=merge_key):
        if group and merge_key(group[0]) != merge_key(item):
            yield group
            group = []
        group.append(item)
    if group:
        yield group


def export_file_steps(
    tables: Tables, day: date, *, s3: Any, excluded: set[str]
) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """Each data file of ``day`` as a step that writes it, streamed, to S3 and returns
    ``{"files": {name: manifest entry}, "left_out": [excluded pseudonyms met]}``.

    ``reactions`` also writes ``items.jsonl`` (the items its rows name). Rows come out in
    the same order and bytes as :func:`build_day_files`: the big files are merged from the
    shards in their index's order (each shard's query is sorted) and sorted only within a
    run of equal keys, so memory holds a page per shard and the distinct items, not the day.
    :func:`write_manifest` runs after them.
    """
    settings = tables.settings
    secret = settings.pseudonym_secret
    bucket = settings.bucket
    prefix = export_prefix(day)

    def sorted_rows(
        model: Any,
        merge_key: Callable[[Any], Any],
        row: Callable[[dict[str, Any], str], dict[str, Any]],
        order: Callable[[dict[str, Any]], Any],
        left_out: set[str],
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for group in _merged_day(model, day, settings.day_shards, merge_key):
            rows = []
            for item in group:
                record = as_record(item)
                pseudonym = pseudonymize(record["user_id"], secret)
                if pseudonym in excluded:
                    left_out.add(pseudonym)
                else:
                    rows.append((row(record, pseudonym), record))
            rows.sort(key=lambda pair: order(pair[0]))
            yield from rows

    def write_rows(name: str, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
        out = StreamedObject(s3, bucket, prefix + name)
        try:
            for row in rows:
                out.write(dumps_row(row).encode("utf-8") + b"\n")
        except BaseException:
            out.abort()
            raise
        return out.close()

    def reactions() -> dict[str, Any]:
        left_out: set[str] = set()
        pairs = sorted_rows(
            tables.reactions,
            lambda item: item.updated_at,
            reaction_row,
            lambda r: (r["updated_at"], r["user"], r["item_key"]),
            left_out,
        )
        latest: dict[str, dict[str, Any]] = {}

        def rows() -> Iterator[dict[str, Any]]:
            for row, record in pairs:
                fold_item(latest, record)  # one reaction per item is all items.jsonl needs
                yield row

        entry = write_rows(REACTIONS_FILE, rows())
        items = write_rows(ITEMS_FILE, item_rows_of(latest))
        return {"files": {REACTIONS_FILE: entry, ITEMS_FILE: items}, "left_out": sorted(left_out)}

    def events() -> dict[str, Any]:
        left_out: set[str] = set()
        pairs = sorted_rows(
            tables.events,
            lambda item: item.sk,
            lambda r, p: event_row(r, p, content_types=settings.content_types),
            lambda r: (r["occurred_at"], r["event_id"], r["user"]),
            left_out,
        )
        entry = write_rows(EVENTS_FILE, (row for row, _ in pairs))
        return {"files": {EVENTS_FILE: entry}, "left_out": sorted(left_out)}

    def decisions() -> dict[str, Any]:
        left_out: set[str] = set()
        rows = []
        # Decisions already carry the pseudonym (or None: logged without one).
        for decision in read_decisions(tables, day, day):
            if decision["user_id"] in excluded:
                left_out.add(decision["user_id"])
            else:
                rows.append(decision_row(decision))
        entry = write_rows(DECISIONS_FILE, rows)
        return {"files": {DECISIONS_FILE: entry}, "left_out": sorted(left_out)}

    def occurrences() -> dict[str, Any]:
        left_out: set[str] = set()
        pairs = sorted_rows(
            tables.pattern_occurrences,
            lambda item: item.detected_at,
            occurrence_row,
            lambda r: (r["detected_at"], r["occurrence_id"], r["user"]),
            left_out,
        )
        entry = write_rows(OCCURRENCES_FILE, (row for row, _ in pairs))
        return {"files": {OCCURRENCES_FILE: entry}, "left_out": sorted(left_out)}

    def insights() -> dict[str, Any]:
        left_out: set[str] = set()

        keep = partial(_pseudonymized, secret=secret, excluded=excluded, left_out=left_out)

        rows = _insight_rows(tables, day, keep, excluded, left_out)
        entry = write_rows(INSIGHTS_FILE, rows)
        return {"files": {INSIGHTS_FILE: entry}, "left_out": sorted(left_out)}

    return [
        ("reactions", reactions),
        ("events", events),
        ("decisions", decisions),
        ("occurrences", occurrences),
        ("insights", insights),
    ]


def write_manifest(
    tables: Tables,
    day: date,
    parts: Iterable[Mapping[str, Any]],
    *,
    s3: Any,
    excluded: set[str],
    now: datetime | None = None,
) -> ExportResult:
    """Write the manifest of ``day`` from the file steps' ``parts`` (keeps the stored one when
    every file is unchanged), then purge users excluded since ``excluded`` was read."""
    bucket = tables.settings.bucket
    prefix = export_prefix(day)
    entries: dict[str, Any] = {}
    left_out: set[str] = set()
    for part in parts:
        entries.update(part["files"])
        left_out.update(part["left_out"])
    entries = {name: entries[name] for name in DATA_FILES}
    rows = {name: int(entry["rows"]) for name, entry in entries.items()}
    stored = read_manifest(s3, bucket, prefix)
    if stored is not None and stored[0].get("files") == entries:
        logger.info("export unchanged", extra={"date": day.isoformat()})
        result = ExportResult(
            date=day.isoformat(),
            changed=False,
            rows=rows,
            excluded_users=int(stored[0].get("excluded_users", 0)),
            manifest_key=prefix + MANIFEST_FILE,
            manifest_sha256=hashlib.sha256(stored[1]).hexdigest(),
        )
    else:
        manifest = {
            "date": day.isoformat(),
            "created_at": iso(now or utcnow()),
            "pseudonym": PSEUDONYM_SCHEME,
            "files": entries,
            "excluded_users": len(left_out),
        }
        body = manifest_bytes(manifest)
        _put(s3, bucket, prefix + MANIFEST_FILE, body, "application/json")
        logger.info("exported day", extra={"date": day.isoformat(), "rows": rows})
        result = ExportResult(
            date=day.isoformat(),
            changed=True,
            rows=rows,
            excluded_users=len(left_out),
            manifest_key=prefix + MANIFEST_FILE,
            manifest_sha256=hashlib.sha256(body).hexdigest(),
        )
    return _without_late_exclusions(tables, s3, prefix, None, excluded, result)


def _pseudonymized(
    records: Iterable[Any], *, secret: str, excluded: set[str], left_out: set[str]
) -> list[tuple[str, dict[str, Any]]]:
    """``(pseudonym, record)`` of each record whose user is not ``excluded``; the excluded
    users met are added to ``left_out``."""
    kept = []
    for item in records:
        record = as_record(item)
        pseudonym = pseudonymize(record["user_id"], secret)
        if pseudonym in excluded:
            left_out.add(pseudonym)
        else:
            kept.append((pseudonym, record))
    return kept


def _insight_rows(
    tables: Tables,
    day: date,
    keep: Callable[[Iterable[Any]], list[tuple[str, dict[str, Any]]]],
    excluded: set[str],
    left_out: set[str],
) -> list[dict[str, Any]]:
    """The day's insights and verdicts; a verdict on an excluded user's insight is left out."""
    settings = tables.settings
    items = keep(query_day(tables.insights, day, shards=settings.day_shards))
    owners = {r["insight_id"]: p for p, r in items if r["record"] == INSIGHT_RECORD}
    missing = sorted(
        {r["insight_id"] for _, r in items if r["record"] != INSIGHT_RECORD} - set(owners)
    )
    for found in batch_get(
        tables.insights,
        [(insight_id, INSIGHT_RECORD) for insight_id in missing],
        attributes_to_get=["insight_id", "record", "user_id"],
    ):
        if found.user_id:
            owners[found.insight_id] = pseudonymize(found.user_id, settings.pseudonym_secret)
    rows = []
    for pseudonym, record in items:
        if record["record"] == INSIGHT_RECORD:
            rows.append(insight_row(record, pseudonym))
            continue
        owner = owners.get(record["insight_id"])
        if owner in excluded:
            left_out.add(owner)
            continue
        rows.append(feedback_row(record, pseudonym, owner))
    return sorted(
        rows,
        key=lambda r: (r["kind"], r["insight_id"], r["user"], r.get("updated_at") or ""),
    )


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

    s3 = s3 or s3_client(tables.settings)
    excluded = excluded_pseudonyms(tables)
    parts = [step() for _, step in export_file_steps(tables, day, s3=s3, excluded=excluded)]
    return write_manifest(tables, day, parts, s3=s3, excluded=excluded, now=now)


def _without_late_exclusions(
    tables: Tables,
    s3: Any,
    prefix: str,
    files: Mapping[str, bytes] | None,
    excluded: set[str],
    result: ExportResult,
) -> ExportResult:
    """Purge the users excluded while the day was being written from what was just written.

    A deletion that lands between this export's read of the exclusions and its writes would
    otherwise be undone: its queue lists the days that existed, and this write came after.
    Read again once everything is written, the exclusions catch every such deletion (a later
    one finds this day stored and queues it).
    """
    late = excluded_pseudonyms(tables) - excluded
    if files is not None:
        late = {p for p in late if any(p.encode("ascii") in data for data in files.values())}
    if not late:
        return result
    # Streamed files are not in memory: the purge reads them and writes only where found.
    removed = purge_export(s3, tables.settings.bucket, prefix, late)
    if not removed:
        return result
    logger.info("export: purged users excluded meanwhile", extra={"users": len(removed)})
    stored = read_manifest(s3, tables.settings.bucket, prefix)
    if stored is None:
        return result
    return ExportResult(
        date=result.date,
        changed=True,
        rows={name: int(entry["rows"]) for name, entry in stored[0]["files"].items()},
        excluded_users=int(stored[0].get("excluded_users", 0)),
        manifest_key=result.manifest_key,
        manifest_sha256=hashlib.sha256(stored[1]).hexdigest(),
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


class ExportConflictError(StoreError):
    """A stored export kept changing under a rewrite (another writer won every retry)."""

    code = "export_conflict"


#: Rounds of read-and-rewrite of one prefix before a conflicting writer is reported.
REWRITE_ATTEMPTS = 5


def purge_export(
    s3: Any, bucket: str, prefix: str, pseudonyms: Collection[str]
) -> dict[str, dict[str, int]]:
    """Rewrite the export under ``prefix`` once without the rows of any of ``pseudonyms``.

    Each data file is read once and, when it names one of them, written once; the manifest is
    then rewritten with every file's rows, sha256 and size (and ``excluded_users`` up by the
    pseudonyms found). ``items.jsonl`` also loses the items no remaining reaction refers to.
    Every write is conditional on the ETag that was read (S3 ``If-Match``), so a concurrent
    rewrite (another deletion, a second job run) makes this one re-read rather than put back
    rows the other removed. Running it again finds nothing and writes nothing.

    Returns
    -------
    dict
        ``{pseudonym: {file: rows removed}}`` for the pseudonyms found under ``prefix``.

    Raises
    ------
    ExportConflictError
        When the files changed under every one of :data:`REWRITE_ATTEMPTS` rounds.

    Examples
    --------
    >>> purge_export(s3, "bucket", "exports/2026-11-20/", {p1, p2})  # doctest: +SKIP
    {p1: {'reactions.jsonl': 2, 'items.jsonl': 1}, p2: {'events.jsonl': 3}}
    """
    needles = {pseudonym: pseudonym.encode("ascii") for pseudonym in sorted(set(pseudonyms))}
    removed: dict[str, dict[str, int]] = {}
    for _ in range(REWRITE_ATTEMPTS):
        try:
            _purge_once(s3, bucket, prefix, needles, removed)
        except _Conflict:
            continue  # re-read: rows already removed stay counted in ``removed``
        return removed
    raise ExportConflictError(f"{prefix} kept changing under {REWRITE_ATTEMPTS} rewrites")


class _Conflict(ExportConflictError):
    """One conditional write lost to another writer; :func:`purge_export` re-reads."""


def _purge_once(
    s3: Any,
    bucket: str,
    prefix: str,
    needles: Mapping[str, bytes],
    removed: dict[str, dict[str, int]],
) -> None:
    """One read-and-rewrite round; adds to ``removed`` as each file is written."""
    originals = {name: _get_tagged(s3, bucket, prefix + name) for name in DATA_FILES}
    present = {
        pseudonym: needle
        for pseudonym, needle in needles.items()
        if any(got is not None and needle in got[0] for got in originals.values())
    }
    if not present and not removed:
        return
    current = {name: got[0] for name, got in originals.items() if got is not None}
    counts: dict[str, dict[str, int]] = {}
    item_owners: dict[str, set[str]] = {}
    rewritten: dict[str, bytes] = {}
    for name, data in current.items():
        kept = []
        for line in data.splitlines(keepends=True):
            hits = [p for p, needle in present.items() if needle in line]
            if not hits:
                kept.append(line)
                continue
            for pseudonym in hits:
                counts.setdefault(pseudonym, {}).setdefault(name, 0)
                counts[pseudonym][name] += 1
            if name == REACTIONS_FILE:
                item_owners.setdefault(json.loads(line)["item_key"], set()).update(hits)
        if counts and any(name in c for c in counts.values()):
            rewritten[name] = b"".join(kept)
    if REACTIONS_FILE in rewritten and ITEMS_FILE in current:
        referenced = {
            json.loads(line)["item_key"] for line in rewritten[REACTIONS_FILE].splitlines()
        }
        items = rewritten.get(ITEMS_FILE, current[ITEMS_FILE])
        kept = []
        for line in items.splitlines(keepends=True):
            item_key = json.loads(line)["item_key"]
            if item_key in referenced:
                kept.append(line)
                continue
            # An item goes with the reactions that referred to it (else with every user found).
            for pseudonym in item_owners.get(item_key) or set(counts):
                counts.setdefault(pseudonym, {}).setdefault(ITEMS_FILE, 0)
                counts[pseudonym][ITEMS_FILE] += 1
        if len(kept) != len(items.splitlines()):
            rewritten[ITEMS_FILE] = b"".join(kept)
    for name, data in rewritten.items():
        got = originals[name]
        _put(s3, bucket, prefix + name, data, JSONL_CONTENT_TYPE, if_match=got[1] if got else None)
        current[name] = data
        for pseudonym, files in counts.items():
            if name in files:
                mine = removed.setdefault(pseudonym, {})
                mine[name] = mine.get(name, 0) + files[name]
    stored = _get_tagged(s3, bucket, prefix + MANIFEST_FILE)
    if stored is None:
        return
    manifest = json.loads(stored[0])
    entries: dict[str, Any] = dict(manifest.get("files", {}))
    # Every entry from the bytes just read: also repairs a manifest an earlier, interrupted
    # rewrite left behind its files.
    entries.update({name: file_entry(data) for name, data in current.items()})
    manifest["files"] = entries
    manifest["excluded_users"] = int(manifest.get("excluded_users", 0)) + len(removed)
    body = manifest_bytes(manifest)
    if body != stored[0]:
        _put(s3, bucket, prefix + MANIFEST_FILE, body, "application/json", if_match=stored[1])
    logger.info(
        "rewrote an export without deleted users",
        extra={"prefix": prefix, "users": len(removed)},
    )


def purge_exports(
    s3: Any,
    bucket: str,
    work: Mapping[str, Collection[str]],
    *,
    out_of_time: Callable[[], bool] = lambda: False,
    workers: int = 8,
) -> tuple[dict[str, dict[str, dict[str, int]]], list[str]]:
    """:func:`purge_export` over ``work`` (``{prefix: pseudonyms}``), in its order, in rounds of
    ``workers`` prefixes at once, until ``out_of_time()`` says stop (checked before each round).

    Returns
    -------
    tuple
        ``({prefix: {pseudonym: {file: rows removed}}}`` for every prefix done, even when
        nothing was found there, ``[prefixes not reached]``).

    Examples
    --------
    >>> purge_exports(s3, "bucket", {"exports/2026-11-20/": {p1}})  # doctest: +SKIP
    ({'exports/2026-11-20/': {p1: {'reactions.jsonl': 2}}}, [])
    """
    prefixes = list(work)
    done: dict[str, dict[str, dict[str, int]]] = {}
    width = max(1, workers)
    with ThreadPoolExecutor(max_workers=width) as pool:
        for start in range(0, len(prefixes), width):
            if out_of_time():
                return done, prefixes[start:]
            wave = prefixes[start : start + width]
            results = pool.map(lambda prefix: purge_export(s3, bucket, prefix, work[prefix]), wave)
            done.update(zip(wave, results, strict=True))
    return done, []


def _get(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise StoreError(f"could not read s3://{bucket}/{key}: {exc}") from exc
    return body


def _get_tagged(s3: Any, bucket: str, key: str) -> tuple[bytes, str] | None:
    """The object's bytes and ETag (what a conditional rewrite names), or ``None``."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body: bytes = response["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise StoreError(f"could not read s3://{bucket}/{key}: {exc}") from exc
    return body, str(response["ETag"])


#: What S3 answers a conditional write that lost (412), or one racing another (409).
_CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def _put(
    s3: Any,
    bucket: str,
    key: str,
    data: bytes,
    content_type: str,
    *,
    if_match: str | None = None,
) -> None:
    extra = {"IfMatch": if_match} if if_match else {}
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, **extra)
    except ClientError as exc:
        if if_match and exc.response.get("Error", {}).get("Code") in _CONFLICT_CODES:
            raise _Conflict(key) from exc
        raise StoreError(f"could not write s3://{bucket}/{key}: {exc}") from exc


__all__ = [
    "DATA_FILES",
    "EXPORTS_PREFIX",
    "MANIFEST_FILE",
    "ExportConflictError",
    "ExportResult",
    "StreamedObject",
    "build_day_files",
    "day_to_export",
    "export_day",
    "export_file_steps",
    "export_prefix",
    "export_prefixes",
    "export_training_data",
    "file_entry",
    "purge_export",
    "purge_exports",
    "read_manifest",
    "write_manifest",
]

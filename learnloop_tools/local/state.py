"""Keep the embedded emulator's data across restarts: snapshot to ``.learnloop/state/``, restore.

Moto keeps everything in memory, so the runner saves what a stage holds and loads it back on
the next start. ``bench/local_state.py`` measured the options with 20,000 events seeded through
:func:`learnloop.ingest.ingest_events` (moto 5.2 in-process, a busy 2-core machine):

=====================================  ==========  ==========  =========
approach                               save        load        on disk
=====================================  ==========  ==========  =========
snapshot via moto's backend (chosen)   1.5 s       3.2 s       8.9 MB
snapshot via Scan + BatchWriteItem     25.8 s      11.0 s      8.9 MB
moto recorder, replayed                inline      8.8 s       16.6 MB
=====================================  ==========  ==========  =========

**Chosen: snapshots**, read and written straight on the in-process moto backend
(:class:`learnloop_tools.local.moto_server.MotoBackendAccess`) and falling back to Scan and
BatchWriteItem when that is unavailable: moto's Scan deep-copies every item and re-sorts the
table for each 1 MB page, which is what makes the portable path slow. The recorder
(``MOTO_ENABLE_RECORDING`` + ``/moto-api/recorder/*``) logs every request, reads included
(1,047 requests here), to a file that only grows: its replay time and size follow the
stage's whole history (every overwrite, every delete, every read) rather than what is stored
now; it must be configured before moto is imported and records every tenant of the process.
A snapshot is proportional to the live data and is plain JSON anyone can inspect.

What is saved: every table whose name starts with the stage's ``table_prefix`` (schema, TTL
setting and items, as DynamoDB JSON via the low-level client: lossless for every type,
binary included) and every object of the stage's bucket (body, content type, user metadata).
Not saved: versions, tags, ACLs, streams; moto's other services.

Layout (every file is written to a temporary name and moved into place with ``os.replace``;
a snapshot becomes current only when ``CURRENT`` is replaced, so a crash mid-way leaves the
previous snapshot intact)::

    state/
      CURRENT                       name of the current snapshot directory
      snapshots/<id>/manifest.json  tables (schema, TTL, item count) and summary
      snapshots/<id>/tables/<name>.jsonl   one item per line, DynamoDB JSON (B/BS as base64)
      snapshots/<id>/s3.jsonl       one object per line: key, sha256, size, etag, content type
      blobs/<sha256[:2]>/<sha256>   object bodies, stored once by content, kept while referenced

Examples
--------
>>> store = StateStore(Path(".learnloop/state"))  # doctest: +SKIP
>>> store.snapshot(settings).items  # doctest: +SKIP
20007
>>> store.restore(settings).items  # doctest: +SKIP
20007
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from learnloop.settings import Settings
from learnloop.store.clients import dynamodb_client, s3_client
from learnloop_tools.local.exceptions import SnapshotError

FORMAT_VERSION = 1
_BATCH_WRITE_LIMIT = 25
_COPY_INDEX_KEYS = ("IndexName", "KeySchema", "Projection")


class DirectTableAccess(Protocol):
    """Whole-table access that bypasses the API (an in-process emulator's own storage)."""

    def read_items(self, table: str, region: str) -> list[dict[str, Any]] | None:
        """Every item as JSON-safe DynamoDB JSON, or ``None`` to make the caller Scan."""

    def write_items(self, table: str, region: str, items: list[dict[str, Any]]) -> bool:
        """Put ``items``; ``False`` to make the caller use BatchWriteItem."""


@dataclass(frozen=True)
class SnapshotReport:
    """What one snapshot or restore covered."""

    snapshot_id: str
    tables: int
    items: int
    objects: int
    bytes_on_disk: int
    seconds: float


class StateStore:
    """Snapshots of one stage's tables and bucket under ``root`` (``.learnloop/state``).

    Parameters
    ----------
    root
        The state directory; created on first snapshot.
    dynamodb, s3
        Injected low-level clients (default: built from the settings given to each call).
    direct
        A faster way to read and write whole tables (the runner passes
        :class:`learnloop_tools.local.moto_server.MotoBackendAccess`); whenever it declines, the
        store falls back to Scan and BatchWriteItem.
    """

    def __init__(
        self,
        root: Path,
        *,
        dynamodb: Any | None = None,
        s3: Any | None = None,
        direct: DirectTableAccess | None = None,
    ) -> None:
        self.root = Path(root)
        self._dynamodb = dynamodb
        self._s3 = s3
        self._direct = direct

    # --- layout ------------------------------------------------------------------------------

    @property
    def blobs_dir(self) -> Path:
        return self.root / "blobs"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    def current(self) -> Path | None:
        """The current snapshot's directory, or ``None`` when there is none."""
        pointer = self.root / "CURRENT"
        if not pointer.is_file():
            return None
        path = self.snapshots_dir / pointer.read_text(encoding="utf-8").strip()
        return path if (path / "manifest.json").is_file() else None

    def size_on_disk(self) -> int:
        """Bytes used by the current snapshot and its blobs."""
        current = self.current()
        if current is None:
            return 0
        total = sum(p.stat().st_size for p in current.rglob("*") if p.is_file())
        for line in _read_lines(current / "s3.jsonl"):
            blob = self._blob_path(json.loads(line)["sha256"])
            total += blob.stat().st_size if blob.exists() else 0
        return total

    # --- snapshot ----------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any] | None:
        """The current snapshot's manifest, or ``None`` when there is none."""
        current = self.current()
        if current is None:
            return None
        loaded: dict[str, Any] = json.loads((current / "manifest.json").read_text("utf-8"))
        return loaded

    def snapshot(self, settings: Settings, *, meta: dict[str, Any] | None = None) -> SnapshotReport:
        """Write the stage's tables and bucket as a new current snapshot.

        ``meta`` goes into the manifest as is (the runner records which journal segment the
        snapshot is followed by).

        Scans every table of the stage: fine here (a local runner, not a request path).

        Raises
        ------
        SnapshotError
            When the emulator cannot be read or the files cannot be written.
        """
        started = time.perf_counter()
        dynamodb, s3 = self._clients(settings)
        snapshot_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        tmp = self.snapshots_dir / f".tmp-{snapshot_id}"
        tmp.mkdir(parents=True, exist_ok=False)
        try:
            tables, items = self._snapshot_tables(dynamodb, settings, tmp / "tables")
            objects = self._snapshot_bucket(s3, settings, tmp / "s3.jsonl")
            manifest = {
                "format": FORMAT_VERSION,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "stage": settings.stage,
                "table_prefix": settings.table_prefix,
                "bucket": settings.bucket,
                "tables": tables,
                "items": items,
                "objects": objects,
                **(meta or {}),
            }
            _write_atomic(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
            final = self.snapshots_dir / snapshot_id
            os.replace(tmp, final)
            _write_atomic(self.root / "CURRENT", snapshot_id.encode("utf-8"))
        except (ClientError, OSError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise SnapshotError(f"could not snapshot the local state: {exc}") from exc
        self._collect_garbage(keep=final)
        return SnapshotReport(
            snapshot_id=snapshot_id,
            tables=len(tables),
            items=items,
            objects=objects,
            bytes_on_disk=self.size_on_disk(),
            seconds=time.perf_counter() - started,
        )

    def _snapshot_tables(
        self, dynamodb: Any, settings: Settings, folder: Path
    ) -> tuple[list[dict[str, Any]], int]:
        folder.mkdir(parents=True)
        tables: list[dict[str, Any]] = []
        total = 0
        for name in _table_names(dynamodb, settings.table_prefix):
            description = dynamodb.describe_table(TableName=name)["Table"]
            ttl = dynamodb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
            count = 0
            with _atomic_file(folder / f"{name}.jsonl") as out:
                for item in self._items(dynamodb, name, settings.region):
                    out.write(json.dumps(item, separators=(",", ":")).encode())
                    out.write(b"\n")
                    count += 1
            tables.append(
                {
                    "name": name,
                    "schema": _table_schema(description),
                    "ttl": _ttl_spec(ttl),
                    "items": count,
                }
            )
            total += count
        return tables, total

    def _items(self, dynamodb: Any, table: str, region: str) -> Iterator[dict[str, Any]]:
        """Every item of ``table`` as JSON-safe DynamoDB JSON (binary values base64)."""
        fast = self._direct.read_items(table, region) if self._direct is not None else None
        if fast is not None:
            yield from fast
            return
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page.get("Items", []):
                yield _encode_item(item)

    def _snapshot_bucket(self, s3: Any, settings: Settings, path: Path) -> int:
        previous = self._previous_objects()
        count = 0
        try:
            pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchBucket":
                raise
            pages = []
        with _atomic_file(path) as out:
            for page in pages:
                for listed in page.get("Contents", []):
                    entry = self._snapshot_object(s3, settings.bucket, listed, previous)
                    out.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
                    count += 1
        return count

    def _snapshot_object(
        self, s3: Any, bucket: str, listed: dict[str, Any], previous: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        key = listed["Key"]
        modified = listed["LastModified"].isoformat()
        known = previous.get(key)
        # An unchanged object (same ETag and time) is not downloaded again.
        if (
            known is not None
            and known.get("etag") == listed.get("ETag")
            and known.get("last_modified") == modified
            and self._blob_path(known["sha256"]).exists()
        ):
            return known
        response = s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
        digest = hashlib.sha256(body).hexdigest()
        blob = self._blob_path(digest)
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(blob, body)
        return {
            "key": key,
            "sha256": digest,
            "size": len(body),
            "etag": listed.get("ETag"),
            "last_modified": modified,
            "content_type": response.get("ContentType"),
            "metadata": response.get("Metadata") or {},
        }

    def _previous_objects(self) -> dict[str, dict[str, Any]]:
        current = self.current()
        if current is None:
            return {}
        entries = (json.loads(line) for line in _read_lines(current / "s3.jsonl"))
        return {entry["key"]: entry for entry in entries}

    def _collect_garbage(self, keep: Path) -> None:
        for path in self.snapshots_dir.iterdir():
            if path != keep:
                shutil.rmtree(path, ignore_errors=True)
        referenced = {json.loads(line)["sha256"] for line in _read_lines(keep / "s3.jsonl")}
        if self.blobs_dir.is_dir():
            for blob in self.blobs_dir.glob("*/*"):
                if blob.name not in referenced:
                    blob.unlink(missing_ok=True)

    # --- restore -----------------------------------------------------------------------------

    def restore(self, settings: Settings) -> SnapshotReport | None:
        """Load the current snapshot into the (bootstrapped) stage; ``None`` when there is none.

        Tables missing from the emulator are created from the saved schema first; items and
        objects are written over whatever is there (the same keys end up with the saved values).

        Raises
        ------
        SnapshotError
            When the snapshot is unreadable or the emulator refuses a write.
        """
        current = self.current()
        if current is None:
            return None
        started = time.perf_counter()
        dynamodb, s3 = self._clients(settings)
        try:
            manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                raise SnapshotError(
                    f"{current}: unsupported snapshot format {manifest.get('format')}"
                )
            existing = set(_table_names(dynamodb, ""))
            items = 0
            for table in manifest["tables"]:
                if table["name"] not in existing:
                    _create_table(dynamodb, table)
                items += self._restore_items(
                    dynamodb, table["name"], settings.region, current / "tables"
                )
            objects = self._restore_objects(s3, settings, current / "s3.jsonl")
        except (ClientError, OSError, ValueError, KeyError) as exc:
            raise SnapshotError(f"could not restore {current}: {exc}") from exc
        return SnapshotReport(
            snapshot_id=current.name,
            tables=len(manifest["tables"]),
            items=items,
            objects=objects,
            bytes_on_disk=self.size_on_disk(),
            seconds=time.perf_counter() - started,
        )

    def _restore_items(self, dynamodb: Any, table: str, region: str, folder: Path) -> int:
        if self._direct is not None:
            items = [json.loads(line) for line in _read_lines(folder / f"{table}.jsonl")]
            if self._direct.write_items(table, region, items):
                return len(items)
        count = 0
        batch: list[dict[str, Any]] = []
        for line in _read_lines(folder / f"{table}.jsonl"):
            batch.append({"PutRequest": {"Item": _decode_item(json.loads(line))}})
            if len(batch) == _BATCH_WRITE_LIMIT:
                _batch_write(dynamodb, table, batch)
                count += len(batch)
                batch = []
        if batch:
            _batch_write(dynamodb, table, batch)
            count += len(batch)
        return count

    def _restore_objects(self, s3: Any, settings: Settings, path: Path) -> int:
        count = 0
        for line in _read_lines(path):
            entry = json.loads(line)
            kwargs: dict[str, Any] = {
                "Bucket": settings.bucket,
                "Key": entry["key"],
                "Body": self._blob_path(entry["sha256"]).read_bytes(),
                "Metadata": entry.get("metadata") or {},
            }
            if entry.get("content_type"):
                kwargs["ContentType"] = entry["content_type"]
            s3.put_object(**kwargs)
            count += 1
        return count

    # --- helpers -----------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        return self.blobs_dir / digest[:2] / digest

    def _clients(self, settings: Settings) -> tuple[Any, Any]:
        return (
            self._dynamodb or dynamodb_client(settings),
            self._s3 or s3_client(settings),
        )


def _table_names(dynamodb: Any, prefix: str) -> list[str]:
    names: list[str] = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        names.extend(n for n in page.get("TableNames", []) if n.startswith(prefix))
    return names


def _table_schema(description: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "KeySchema": description["KeySchema"],
        "AttributeDefinitions": description["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if description.get(kind):
            schema[kind] = [{k: index[k] for k in _COPY_INDEX_KEYS} for index in description[kind]]
    return schema


def _ttl_spec(ttl: dict[str, Any]) -> dict[str, Any] | None:
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
        return {"Enabled": True, "AttributeName": ttl["AttributeName"]}
    return None


def _create_table(dynamodb: Any, table: dict[str, Any]) -> None:
    dynamodb.create_table(TableName=table["name"], **table["schema"])
    dynamodb.get_waiter("table_exists").wait(
        TableName=table["name"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    if table.get("ttl"):
        dynamodb.update_time_to_live(TableName=table["name"], TimeToLiveSpecification=table["ttl"])


def _batch_write(dynamodb: Any, table: str, requests: list[dict[str, Any]]) -> None:
    pending = {table: requests}
    for attempt in range(10):
        unprocessed = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        if not unprocessed:
            return
        pending = unprocessed
        time.sleep(min(0.05 * 2**attempt, 2.0))
    raise SnapshotError(f"{table}: items still unprocessed after 10 batch writes")


def _encode_item(value: Any) -> Any:
    """DynamoDB JSON from the low-level client → plain JSON (binary as base64)."""
    if isinstance(value, dict):
        if len(value) == 1:
            kind, inner = next(iter(value.items()))
            if kind == "B":
                return {"B": base64.b64encode(bytes(inner)).decode("ascii")}
            if kind == "BS":
                return {"BS": [base64.b64encode(bytes(b)).decode("ascii") for b in inner]}
        return {k: _encode_item(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode_item(v) for v in value]
    return value


def _decode_item(value: Any) -> Any:
    """The inverse of :func:`_encode_item`.

    Examples
    --------
    >>> item = {"k": {"S": "a"}, "b": {"B": b"\\x00\\xff"}, "m": {"M": {"s": {"BS": [b"x"]}}}}
    >>> _decode_item(json.loads(json.dumps(_encode_item(item)))) == item
    True
    """
    if isinstance(value, dict):
        if len(value) == 1:
            kind, inner = next(iter(value.items()))
            if kind == "B":
                return {"B": base64.b64decode(inner)}
            if kind == "BS":
                return {"BS": [base64.b64decode(b) for b in inner]}
        return {k: _decode_item(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_item(v) for v in value]
    return value


def _read_lines(path: Path) -> Iterator[bytes]:
    if not path.exists():
        return
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield line


class _atomic_file:
    """Write to ``<path>.tmp-<rand>`` and ``os.replace`` it onto ``path`` on success."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.handle: Any = None

    def __enter__(self) -> Any:
        self.handle = self.tmp.open("wb", buffering=1024 * 1024)
        return self.handle

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        self.handle.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    with _atomic_file(path) as out:
        out.write(data)


__all__ = ["FORMAT_VERSION", "SnapshotReport", "StateStore"]

"""Count the DynamoDB capacity units and S3 requests the code's own calls consume.

Every boto3 and PynamoDB call goes through botocore's ``BaseClient._make_api_call``;
:func:`counting` wraps it for the duration of a ``with`` block, so the stack under measurement
runs unchanged. moto's ``ReturnConsumedCapacity`` is a constant (0.5, 1 or 2 whatever the item),
so the units are computed here by DynamoDB's published rules
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
and the read/write unit definitions on the DynamoDB pricing page):

- **item size**: attribute names plus values; a string is its UTF-8 bytes, a number about one
  byte per two significant digits plus one, binary its raw bytes, null/boolean one byte; a list or
  map 3 bytes plus one byte per element plus the elements (a map element includes its key).
- **writes** (PutItem, UpdateItem, DeleteItem, each BatchWriteItem request): one write unit per
  started KB of the larger of the item before and after; transactional items count twice. A
  failed condition still consumes the units of the existing item (at least one).
- **global secondary indexes**: a write that puts an item into an index, changes a projected
  attribute or removes it costs a write in the index (two when it moves the item to a new index
  key), sized by the projected attributes.
- **reads**: GetItem and each BatchGetItem key is one unit per started 4 KB of the whole item
  (a projection does not reduce it), halved when eventually consistent; a Query or Scan page
  is the sum of the sizes of every item it evaluated (before its filter, whole items, or the
  index entries on an index) rounded up to 4 KB, halved when eventually consistent.

What the response cannot tell (the item before a write, the whole item behind a projection, the
items a filter dropped) is read with the same client *outside* the count: ``GetItem`` of the
key, or the same Query page without its projection and filter.

Examples
--------
``pk`` is 2 + 6 bytes, ``n`` 1 + 4 (five digits: three pairs, plus one), ``tags`` 4 + 3 + 1 + 1:

>>> item_size({"pk": {"S": "user#1"}, "n": {"N": "12345"}, "tags": {"L": [{"S": "a"}]}})
22
>>> write_units(1025), read_units(4096, consistent=False), read_units(4097, consistent=True)
(2, 0.5, 2.0)
"""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024
READ_BLOCK = 4 * KB

#: S3 request classes as S3's price list groups them.
S3_TIER1 = frozenset(
    {
        "PutObject",
        "CopyObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "ListObjects",
        "ListObjectsV2",
        "ListObjectVersions",
        "ListMultipartUploads",
        "PostObject",
    }
)
S3_TIER2 = frozenset({"GetObject", "HeadObject", "SelectObjectContent", "GetObjectTagging"})


def number_size(text: str) -> int:
    """Bytes of a DynamoDB number: one per two significant digits, plus one.

    >>> number_size("0.000120"), number_size("-1500"), number_size("0")
    (2, 2, 2)
    """
    digits = format(Decimal(text).normalize(), "f").lstrip("-").replace(".", "")
    significant = digits.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one AttributeValue (``{"S": ...}``, ``{"M": {...}}``, ...), name excluded."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return len(inner if isinstance(inner, bytes | bytearray) else str(inner).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes of an item in DynamoDB JSON: each attribute's name plus its value (0 for None)."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def write_units(size: int, *, transactional: bool = False) -> int:
    """Write units of one item write: one per started KB, at least one; doubled in a transaction."""
    units = max(1, math.ceil(size / KB))
    return 2 * units if transactional else units


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """Read units of ``size`` bytes read in one go: one per started 4 KB (at least one), half
    when eventually consistent, double in a transaction."""
    units = max(1, math.ceil(size / READ_BLOCK))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


@dataclass
class Usage:
    """What the calls inside a :func:`counting` block consumed.

    Attributes
    ----------
    rcu, wcu : float
        DynamoDB read and write units (on-demand: read and write request units), tables and
        indexes together; ``by_table`` splits them per table (``table`` or ``table/index``).
    dynamodb_calls : Counter
        Requests per DynamoDB operation.
    s3_tier1, s3_tier2 : int
        S3 PUT/COPY/POST/LIST and GET/HEAD requests.
    s3_bytes_in, s3_bytes_out : int
        Bytes written to and read from S3.
    other_calls : Counter
        Requests to any other service (``service:Operation``).
    """

    rcu: float = 0.0
    wcu: float = 0.0
    by_table: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: {"rcu": 0.0, "wcu": 0.0})
    )
    dynamodb_calls: Counter[str] = field(default_factory=Counter)
    s3_tier1: int = 0
    s3_tier2: int = 0
    s3_bytes_in: int = 0
    s3_bytes_out: int = 0
    other_calls: Counter[str] = field(default_factory=Counter)

    def read(self, table: str, units: float) -> None:
        self.rcu += units
        self.by_table[table]["rcu"] += units

    def write(self, table: str, units: float) -> None:
        self.wcu += units
        self.by_table[table]["wcu"] += units

    def as_dict(self) -> dict[str, Any]:
        """Plain figures (JSON-ready)."""
        return {
            "rcu": self.rcu,
            "wcu": self.wcu,
            "dynamodb_requests": sum(self.dynamodb_calls.values()),
            "s3_tier1_requests": self.s3_tier1,
            "s3_tier2_requests": self.s3_tier2,
            "s3_bytes_in": self.s3_bytes_in,
            "s3_bytes_out": self.s3_bytes_out,
            "by_table": {k: dict(v) for k, v in sorted(self.by_table.items())},
            "dynamodb_calls": dict(sorted(self.dynamodb_calls.items())),
            "other_calls": dict(sorted(self.other_calls.items())),
        }


@dataclass(frozen=True)
class _Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...]


@dataclass(frozen=True)
class _Table:
    keys: tuple[str, ...]
    indexes: tuple[_Index, ...]


class UnitCounter:
    """Counts into :attr:`usage`; install with :func:`counting`.

    ``call`` is botocore's original ``_make_api_call``, used for the reads the rules need that
    must not themselves be counted.
    """

    def __init__(self) -> None:
        self.usage = Usage()
        self._tables: dict[str, _Table] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    # --- botocore entry ------------------------------------------------------------------

    def around(self, call: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        """Make the call and count what it consumed."""
        if getattr(self._local, "inside", False):
            return call(client, operation, params)
        service = client.meta.service_model.service_name
        self._local.inside = True
        try:
            if service == "dynamodb":
                return self._dynamodb(call, client, operation, params)
            if service == "s3":
                # botocore wraps and reads the body during the call: measure it first
                sent = _length(params["Body"]) if params.get("Body") is not None else 0
                response = call(client, operation, params)
                self._s3(operation, sent, response)
                return response
            with self._lock:
                self.usage.other_calls[f"{service}:{operation}"] += 1
            return call(client, operation, params)
        finally:
            self._local.inside = False

    # --- S3 ------------------------------------------------------------------------------

    def _s3(self, operation: str, sent: int, response: Mapping[str, Any]) -> None:
        with self._lock:
            if operation in S3_TIER1:
                self.usage.s3_tier1 += 1
            elif operation in S3_TIER2:
                self.usage.s3_tier2 += 1
            else:
                self.usage.other_calls[f"s3:{operation}"] += 1
            self.usage.s3_bytes_in += sent
            if operation == "GetObject":
                self.usage.s3_bytes_out += int(response.get("ContentLength") or 0)

    # --- DynamoDB ------------------------------------------------------------------------

    def _table(self, call: Any, client: Any, name: str) -> _Table:
        if name not in self._tables:
            described = call(client, "DescribeTable", {"TableName": name})["Table"]
            indexes = tuple(
                _Index(
                    name=g["IndexName"],
                    keys=tuple(k["AttributeName"] for k in g["KeySchema"]),
                    projection=g.get("Projection", {}).get("ProjectionType", "ALL"),
                    included=tuple(g.get("Projection", {}).get("NonKeyAttributes", ())),
                )
                for g in described.get("GlobalSecondaryIndexes", [])
            )
            keys = tuple(k["AttributeName"] for k in described["KeySchema"])
            self._tables[name] = _Table(keys=keys, indexes=indexes)
        return self._tables[name]

    def _get(self, call: Any, client: Any, table: str, key: Mapping[str, Any]) -> dict[str, Any]:
        reply = call(client, "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True})
        return dict(reply.get("Item") or {})

    def _key(self, meta: _Table, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in meta.keys if k in item}

    def _count_write(
        self,
        table: str,
        meta: _Table,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        *,
        transactional: bool = False,
    ) -> None:
        size = max(item_size(before), item_size(after))
        self.usage.write(table, write_units(size, transactional=transactional))
        for index in meta.indexes:
            old = _projected(index, meta, before)
            new = _projected(index, meta, after)
            if old is None and new is None:
                continue
            pieces: list[dict[str, Any] | None]
            if old is not None and new is not None:
                moved = any(before.get(k) != after.get(k) for k in index.keys)
                if not moved and old == new:
                    continue  # nothing the index holds changed
                pieces = [old, new] if moved else [new]
            else:
                pieces = [old if new is None else new]
            for piece in pieces:
                self.usage.write(f"{table}/{index.name}", write_units(item_size(piece)))

    def _dynamodb(self, call: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        with self._lock:
            self.usage.dynamodb_calls[operation] += 1
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            meta = self._table(call, client, table)
            key = params["Key"] if "Key" in params else self._key(meta, params["Item"])
            before = self._get(call, client, table, key)
            try:
                response = call(client, operation, params)
            except Exception as exc:
                if _condition_failed(exc):
                    with self._lock:
                        self.usage.write(table, write_units(item_size(before)))
                raise
            if operation == "PutItem":
                after: dict[str, Any] = dict(params["Item"])
            elif operation == "UpdateItem":
                after = self._get(call, client, table, key)
            else:
                after = {}
            with self._lock:
                self._count_write(table, meta, before, after)
            return response
        if operation == "BatchWriteItem":
            olds: list[tuple[str, _Table, dict[str, Any], dict[str, Any]]] = []
            for table, requests in params["RequestItems"].items():
                meta = self._table(call, client, table)
                for request in requests:
                    if "PutRequest" in request:
                        new = dict(request["PutRequest"]["Item"])
                        key = self._key(meta, new)
                    else:
                        new, key = {}, request["DeleteRequest"]["Key"]
                    olds.append((table, meta, self._get(call, client, table, key), new))
            response = call(client, operation, params)
            unprocessed = response.get("UnprocessedItems") or {}
            with self._lock:
                for table, meta, before, after in olds:
                    if not _unprocessed(unprocessed.get(table, []), after or before, meta):
                        self._count_write(table, meta, before, after)
            return response
        if operation == "TransactWriteItems":
            pending = []
            for entry in params["TransactItems"]:
                (kind, spec), *_ = entry.items()
                table = spec["TableName"]
                meta = self._table(call, client, table)
                key = spec.get("Key") or self._key(meta, spec.get("Item", {}))
                pending.append((kind, spec, table, meta, key, self._get(call, client, table, key)))
            response = call(client, operation, params)
            with self._lock:
                for kind, spec, table, meta, key, before in pending:
                    if kind == "ConditionCheck":
                        self.usage.write(table, write_units(item_size(before), transactional=True))
                        continue
                    after = (
                        dict(spec["Item"])
                        if kind == "Put"
                        else {}
                        if kind == "Delete"
                        else self._get(call, client, table, key)
                    )
                    self._count_write(table, meta, before, after, transactional=True)
            return response
        if operation == "GetItem":
            response = call(client, operation, params)
            table = params["TableName"]
            projected = "ProjectionExpression" in params or "AttributesToGet" in params
            whole = (
                self._get(call, client, table, params["Key"])
                if projected and response.get("Item")
                else response.get("Item")
            )
            with self._lock:
                self.usage.read(
                    table,
                    read_units(item_size(whole), consistent=bool(params.get("ConsistentRead"))),
                )
            return response
        if operation == "BatchGetItem":
            response = call(client, operation, params)
            for table, request in params["RequestItems"].items():
                consistent = bool(request.get("ConsistentRead"))
                found = response.get("Responses", {}).get(table, [])
                projected = "ProjectionExpression" in request or "AttributesToGet" in request
                meta = self._table(call, client, table)
                held = {_frozen(self._key(meta, item)): item for item in found}
                units = 0.0
                for key in request["Keys"]:
                    item = held.get(_frozen(key))
                    if item is not None and projected:
                        item = self._get(call, client, table, key)
                    units += read_units(item_size(item), consistent=consistent)
                with self._lock:
                    self.usage.read(table, units)
            return response
        if operation in ("Query", "Scan"):
            response = call(client, operation, params)
            bare = {
                k: v
                for k, v in params.items()
                if k
                not in (
                    "ProjectionExpression",
                    "AttributesToGet",
                    "FilterExpression",
                    "QueryFilter",
                    "ScanFilter",
                    "Select",
                    "ReturnConsumedCapacity",
                )
            }
            if "ExpressionAttributeNames" in bare or "ExpressionAttributeValues" in bare:
                bare = _prune_expression_attributes(bare)
            evaluated = call(client, operation, bare)["Items"]
            name = params["TableName"] + (
                f"/{params['IndexName']}" if "IndexName" in params else ""
            )
            size = sum(item_size(item) for item in evaluated)
            consistent = bool(params.get("ConsistentRead"))
            with self._lock:
                self.usage.read(name, read_units(size, consistent=consistent))
            return response
        if operation == "TransactGetItems":
            response = call(client, operation, params)
            for entry in params["TransactItems"]:
                spec = entry["Get"]
                item = self._get(call, client, spec["TableName"], spec["Key"])
                with self._lock:
                    self.usage.read(
                        spec["TableName"],
                        read_units(item_size(item), consistent=True, transactional=True),
                    )
            return response
        return call(client, operation, params)


def _projected(index: _Index, table: _Table, item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The index entry of ``item`` (None when the item lacks an index key: not in the index)."""
    if not item or any(k not in item for k in index.keys):
        return None
    if index.projection == "ALL":
        return dict(item)
    wanted = set(index.keys) | set(table.keys)
    if index.projection == "INCLUDE":
        wanted |= set(index.included)
    return {k: v for k, v in item.items() if k in wanted}


def _frozen(key: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in key.items()))


def _unprocessed(requests: list[dict[str, Any]], item: Mapping[str, Any], meta: _Table) -> bool:
    want = _frozen({k: item[k] for k in meta.keys if k in item})
    for request in requests:
        body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get(
            "Key", {}
        )
        if _frozen({k: body[k] for k in meta.keys if k in body}) == want:
            return True
    return False


def _prune_expression_attributes(params: dict[str, Any]) -> dict[str, Any]:
    """Drop the placeholders only the removed projection or filter used (DynamoDB rejects
    unused ones)."""
    used = " ".join(str(params.get(k, "")) for k in ("KeyConditionExpression",))
    out = dict(params)
    for field_name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        if field_name in out:
            kept = {k: v for k, v in out[field_name].items() if k in used}
            if kept:
                out[field_name] = kept
            else:
                del out[field_name]
    return out


def _condition_failed(exc: Exception) -> bool:
    error = getattr(exc, "response", {}).get("Error", {})
    return error.get("Code") == "ConditionalCheckFailedException"


def _length(body: Any) -> int:
    if isinstance(body, bytes | bytearray):
        return len(body)
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if hasattr(body, "seek") and hasattr(body, "tell"):
        position = body.tell()
        body.seek(0, 2)
        end = body.tell()
        body.seek(position)
        return end - position
    return 0


@contextmanager
def counting(counter: UnitCounter | None = None) -> Iterator[UnitCounter]:
    """Count every botocore call made in this process (any thread) inside the block.

    Examples
    --------
    >>> with counting() as counter:  # doctest: +SKIP
    ...     tables.events.get("e1")
    >>> counter.usage.rcu  # doctest: +SKIP
    0.5
    """
    from botocore.client import BaseClient

    counter = counter or UnitCounter()
    original = BaseClient._make_api_call

    def wrapped(client: Any, operation: str, params: dict[str, Any]) -> Any:
        return counter.around(original, client, operation, params)

    BaseClient._make_api_call = wrapped
    try:
        yield counter
    finally:
        BaseClient._make_api_call = original


__all__ = [
    "UnitCounter",
    "Usage",
    "counting",
    "item_size",
    "number_size",
    "read_units",
    "value_size",
    "write_units",
]

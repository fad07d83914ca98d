"""``GET /v1/admin/export``: pseudonymized reactions, events, outcomes or decisions of a range.

``kind=reactions|events|outcomes|decisions``, ``format=csv|jsonl`` (default ``jsonl``), ``from`` and
``to`` (``yyyy-mm-dd``, inclusive; ``to`` defaults to ``from``). Rows are those of the training
export (:mod:`learnloop.privacy.rows`): the user is a pseudonym, opted-out and deleted users are
left out, free text is dropped; a decision is its row of the daily ``decisions.jsonl`` (with
its joined feedback). Days are read through the ``by_day`` partitions, never a Scan.
Up to ``admin_export_inline_bytes`` the rows come back in the response with their content type;
larger exports are written to ``s3://{bucket}/admin-exports/...`` and answered with a presigned
URL valid for ``admin_export_url_seconds``.

Examples
--------
>>> parse_export_query({"kind": "events", "from": "2026-11-20"}, max_days=31).days
1
>>> parse_export_query({"kind": "bikes", "from": "2026-11-20"}, max_days=31)
Traceback (most recent call last):
learnloop.exceptions.ValidationError: invalid fields: kind
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import pydantic

from learnloop.clock import utcnow
from learnloop.decisions.log import read_decisions
from learnloop.privacy.rows import (
    OUTCOME_COLUMNS,
    decision_row,
    dumps_row,
    event_row,
    outcome_row,
    reaction_row,
)
from learnloop.store.clients import s3_client
from learnloop.store.queries import as_record, days_between, query_days
from learnloop.store.tables import Tables
from learnloop.users.consent import excluded_pseudonyms
from learnloop.users.pseudonym import pseudonymize
from learnloop.validation import invalid, validate

ADMIN_EXPORTS_PREFIX = "admin-exports/"
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
#: CSV columns per kind, in order; nested values (event properties) are JSON in their cell.
COLUMNS: dict[str, tuple[str, ...]] = {
    "reactions": (
        "user",
        "item_key",
        "content_type",
        "external_id",
        "reaction",
        "created_at",
        "updated_at",
    ),
    "events": ("user", "event_id", "type", "occurred_at", "item_key", "properties"),
    "outcomes": OUTCOME_COLUMNS,
    "decisions": (
        "decision_id",
        "created_at",
        "user",
        "surface",
        "scope",
        "policy",
        "policy_version",
        "variant",
        "context",
        "shown",
        "chosen",
        "propensity_draws",
        "feedback",
        "clicks",
        "reward",
    ),
}


class ExportQuery(pydantic.BaseModel):
    """The query string of ``GET /v1/admin/export``."""

    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["reactions", "events", "outcomes", "decisions"]
    format: Literal["csv", "jsonl"] = "jsonl"
    from_: date = pydantic.Field(alias="from")
    to: date | None = None

    @property
    def last(self) -> date:
        return self.to or self.from_

    @property
    def days(self) -> int:
        return (self.last - self.from_).days + 1


def parse_export_query(query: Mapping[str, str], *, max_days: int) -> ExportQuery:
    """Validate the query string; 422 naming the field for a bad kind, format or date.

    Raises
    ------
    ValidationError
        Unknown kind or format, a date that is not ``yyyy-mm-dd``, ``from`` after ``to``, or a
        range longer than ``max_days``.
    """
    parsed = validate(ExportQuery, dict(query))
    if parsed.last < parsed.from_:
        raise invalid([{"field": "to", "message": "must not be before from", "type": "range"}])
    if parsed.days > max_days:
        raise invalid(
            [
                {
                    "field": "to",
                    "message": f"the range spans {parsed.days} days; at most {max_days}",
                    "type": "range_too_long",
                }
            ]
        )
    return parsed


@dataclass(frozen=True)
class AdminExport:
    """The answer: the rows themselves (``body``) or a presigned ``url`` (JSON body)."""

    status: int
    content_type: str
    body: str


def export_rows(tables: Tables, query: ExportQuery) -> list[dict[str, Any]]:
    """The pseudonymized rows of ``query``'s kind and days, in a stable order."""
    settings = tables.settings
    days = days_between(query.from_, query.last)
    if query.kind == "decisions":
        # Already pseudonymized when logged; opted-out and deleted users are left out, as in
        # the daily export (a decision logged without a user stays: it holds no one's data).
        excluded = excluded_pseudonyms(tables)
        return [
            decision_row(d)
            for d in read_decisions(tables, query.from_, query.last)
            if d["user_id"] is None or d["user_id"] not in excluded
        ]
    model = {"reactions": tables.reactions, "events": tables.events, "outcomes": tables.outcomes}
    records = [
        as_record(r) for r in query_days(model[query.kind], days, shards=settings.day_shards)
    ]
    if query.kind == "outcomes":
        rows = [outcome_row(r) for r in records]
        return sorted(rows, key=lambda row: (row["collected_at"], row["decision_id"]))
    excluded = excluded_pseudonyms(tables)
    secret = settings.pseudonym_secret
    pairs = [(pseudonymize(r["user_id"], secret), r) for r in records]
    pairs = [(p, r) for p, r in pairs if p not in excluded]
    if query.kind == "reactions":
        rows = [reaction_row(r, p) for p, r in pairs]
        return sorted(rows, key=lambda row: (row["updated_at"], row["user"], row["item_key"]))
    rows = [event_row(r, p, content_types=settings.content_types) for p, r in pairs]
    return sorted(rows, key=lambda row: (row["occurred_at"], row["event_id"], row["user"]))


def render(rows: Iterable[Mapping[str, Any]], *, kind: str, fmt: str) -> str:
    """``rows`` as JSON Lines or CSV (header first; nested values as JSON).

    Examples
    --------
    >>> print(render([{"decision_id": "d1", "likes": 2}], kind="outcomes", fmt="csv"), end="")
    decision_id,collected_at,impressions,likes,retweets,replies,bookmarks,followers_gained,viral_score,engagement_rate
    d1,,,2,,,,,,
    """
    if fmt == "jsonl":
        return "".join(dumps_row(row) + "\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = COLUMNS[kind]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "" if value is None else value


def admin_export(
    tables: Tables,
    query: Mapping[str, str],
    *,
    s3: Any | None = None,
    now: datetime | None = None,
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> AdminExport:
    """Answer ``GET /v1/admin/export`` for ``query`` (the query string).

    Examples
    --------
    >>> reply = admin_export(tables, {"kind": "reactions", "from": "2026-11-20"})  # doctest: +SKIP
    >>> reply.content_type, reply.body.splitlines()[0][:9]  # doctest: +SKIP
    ('application/x-ndjson', '{"content')
    """
    settings = tables.settings
    parsed = parse_export_query(query, max_days=settings.admin_export_max_days)
    rows = export_rows(tables, parsed)
    text = render(rows, kind=parsed.kind, fmt=parsed.format)
    data = text.encode("utf-8")
    content_type = CONTENT_TYPES[parsed.format]
    if len(data) <= settings.admin_export_inline_bytes:
        return AdminExport(status=200, content_type=content_type, body=text)

    s3 = s3 or s3_client(settings)
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%SZ")
    key = (
        f"{ADMIN_EXPORTS_PREFIX}{parsed.kind}/{parsed.from_.isoformat()}_{parsed.last.isoformat()}"
        f"/{stamp}-{new_id()}.{parsed.format}"
    )
    s3.put_object(Bucket=settings.bucket, Key=key, Body=data, ContentType=content_type)
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.bucket, "Key": key},
        ExpiresIn=settings.admin_export_url_seconds,
    )
    body = {
        "url": url,
        "bucket": settings.bucket,
        "key": key,
        "bytes": len(data),
        "rows": len(rows),
        "content_type": content_type,
        "expires_in": settings.admin_export_url_seconds,
    }
    return AdminExport(status=200, content_type="application/json", body=json.dumps(body))


def purge_admin_exports(s3: Any, bucket: str, pseudonym: str) -> dict[str, int]:
    """Rewrite every ``admin-exports/`` object without the rows of ``pseudonym``.

    A user's deletion calls this: an admin export is a copy of rows made for one download,
    and the bucket's lifecycle rule expires them a day later on AWS, but until then (and on
    the local stack, which runs no lifecycle) the user's pseudonym must not stay in them.
    An object left with no rows is deleted.

    Returns
    -------
    dict
        ``{key: rows removed}`` for each object that held the pseudonym.

    Examples
    --------
    >>> purge_admin_exports(s3, "learnloop-dev", "p_3f2a...")  # doctest: +SKIP
    {'admin-exports/events/2026-11-01_2026-11-30/20261201T090000Z-ab12.csv': 14}
    """
    removed: dict[str, int] = {}
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=ADMIN_EXPORTS_PREFIX):
        for summary in page.get("Contents", []):
            key = summary["Key"]
            stored = s3.get_object(Bucket=bucket, Key=key)
            text = stored["Body"].read().decode("utf-8")
            kept, dropped = _without_user(text, pseudonym, csv_format=key.endswith(".csv"))
            if not dropped:
                continue
            removed[key] = dropped
            if kept is None:
                s3.delete_object(Bucket=bucket, Key=key)
            else:
                s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=kept.encode("utf-8"),
                    ContentType=stored.get("ContentType", "application/octet-stream"),
                )
    return removed


def _without_user(text: str, pseudonym: str, *, csv_format: bool) -> tuple[str | None, int]:
    """``text`` without the rows whose ``user`` is ``pseudonym`` (``None``: no rows left)."""
    if csv_format:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or "user" not in rows[0]:
            return text, 0
        column = rows[0].index("user")
        kept_rows = [row for row in rows[1:] if len(row) <= column or row[column] != pseudonym]
        dropped = len(rows) - 1 - len(kept_rows)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([rows[0], *kept_rows])
        return (buffer.getvalue() if kept_rows else None), dropped
    lines = [line for line in text.splitlines() if line.strip()]
    kept_lines = [line for line in lines if json.loads(line).get("user") != pseudonym]
    dropped = len(lines) - len(kept_lines)
    return ("".join(line + "\n" for line in kept_lines) if kept_lines else None), dropped


__all__ = [
    "ADMIN_EXPORTS_PREFIX",
    "AdminExport",
    "ExportQuery",
    "admin_export",
    "export_rows",
    "parse_export_query",
    "purge_admin_exports",
    "render",
]

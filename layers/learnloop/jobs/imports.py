"""Bulk import of reactions, events, content, outcomes and insights: a JSON Lines or CSV file
checked row by row with the routes' own validators, the good rows stored with the routes'
writers, the bad ones reported by line and field.

Two ways in, one code path: ``learnloop import KIND FILE|s3://...`` on a workstation, and in
production the ``on_import`` function, which an S3 "Object Created" event of a key under
``imports/{kind}/`` starts (:func:`import_object`); its report lands under
``import-reports/`` beside the object's name.

Idempotent on re-run: reactions and content rows already stored as sent are counted as
``duplicates`` and not written; events are keyed by ``event_id`` (derived from the content
when absent); outcomes are rewritten in place, keyed by ``(decision_id, collected_at)``;
insights by ``insight_id`` (the first ``created_at`` kept). Rows whose key or order would
take the time of the run (a reaction without ``occurred_at``, an outcome without
``collected_at``) are refused in an import: a re-run would store them again.

Reactions' data-quality flags (:mod:`learnloop.quality`) are decided over the whole file in
memory, with the live path's rule and thresholds (a burst inside the file is seen whole);
a burst split between a file and live traffic is judged on each side separately.

Examples
--------
>>> rows, errors = parse_lines(b'{"a": 1}\\n\\nnot json\\n', "x.jsonl")
>>> rows, [(e["line"], e["field"]) for e in errors]
([(1, {'a': 1})], [(3, 'line')])
>>> rows, errors = parse_lines(b"user_id,content\\nu1,\\nu2,\\"{\\"\\"s\\"\\": 1}\\"\\n", "r.csv")
>>> rows
[(2, {'user_id': 'u1'}), (3, {'user_id': 'u2', 'content': {'s': 1}})]
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from learnloop.clock import utcnow
from learnloop.exceptions import BadRequestError, ValidationError
from learnloop.ingest import ingest_outcomes, put_insight, write_content, write_reactions
from learnloop.ingest.batches import validate_rows
from learnloop.ingest.events import validate_event
from learnloop.ingest.reactions import reaction_context
from learnloop.ingest.schemas import ContentItemIn, InsightIn, OutcomeIn, ReactionIn
from learnloop.journal.events import ingest_journal_events
from learnloop.observability import logger
from learnloop.quality import Limits, judge_rows, reaction_row
from learnloop.store.keys import item_key
from learnloop.store.tables import Tables
from learnloop.validation import loads_storable

KINDS = ("reactions", "events", "content", "outcomes", "insights")
#: Objects under ``imports/{kind}/`` are imported when they land (the ``on_import`` function).
IMPORT_PREFIX = "imports/"
#: Where the job writes each object's report (outside ``imports/``: no event of its own).
REPORT_PREFIX = "import-reports/"
#: A report lists at most this many bad rows (it counts them all).
MAX_LISTED_ERRORS = 1000
#: Cells of a CSV row that hold JSON objects.
_JSON_COLUMNS = ("content", "properties")
#: Rows per write call: a progress step (events and outcomes go 500 at a time, as their routes).
_CHUNK = {"reactions": 5000, "content": 5000, "events": 500, "outcomes": 500, "insights": 100}
#: The time a row must carry in an import (else it would be "now", another on each re-run).
_REQUIRED_TIME = {"reactions": "occurred_at", "outcomes": "collected_at"}

Progress = Callable[[int], None]


class ImportFileError(BadRequestError):
    """The object or file cannot be imported at all (unknown kind, unreadable)."""


def parse_lines(data: bytes, name: str) -> tuple[list[tuple[int, Any]], list[dict[str, Any]]]:
    """The rows of a JSON Lines or CSV (by ``name``'s extension) file with their line numbers,
    and an error for each line that is not a JSON object (or not UTF-8).

    CSV: one column per field, empty cells are absent fields, ``content`` and ``properties``
    cells hold JSON objects. Numbers go through the API's parser (no NaN, no 1e400).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{name} is not UTF-8: {exc}") from None
    rows: list[tuple[int, Any]] = []
    errors: list[dict[str, Any]] = []
    if name.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for row in reader:
            line = reader.line_num
            if None in row:
                errors.append(_error(line, "line", "more cells than columns"))
                continue
            parsed: dict[str, Any] = {}
            try:
                for column, cell in row.items():
                    if cell is None or cell == "":
                        continue
                    parsed[column] = (
                        loads_storable(cell) if column in _JSON_COLUMNS else cell.strip()
                    )
            except (json.JSONDecodeError, ValidationError) as exc:
                errors.append(_error(line, column, f"not a JSON object: {exc}"))
                continue
            rows.append((line, parsed))
        return rows, errors
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = loads_storable(raw)
        except json.JSONDecodeError as exc:
            errors.append(_error(line, "line", f"not valid JSON: {exc.msg}"))
            continue
        except ValidationError as exc:
            errors.extend(_error(line, d["field"], d["message"]) for d in exc.details)
            continue
        if not isinstance(value, dict):
            errors.append(_error(line, "line", "must be a JSON object"))
            continue
        rows.append((line, value))
    return rows, errors


def _error(line: int, field: str, message: str) -> dict[str, Any]:
    return {"line": line, "field": field, "message": message}


def validate_import(
    tables: Tables, kind: str, rows: Sequence[tuple[int, Any]], *, now: datetime
) -> tuple[list[tuple[Any, Any]], list[dict[str, Any]]]:
    """``(raw, parsed)`` of each good row and ``{"line", "field", "message"}`` of each bad
    field, with the validator the kind's route uses."""
    raws = [raw for _, raw in rows]
    settings = tables.settings
    context: dict[str, Any] = {"now": now, "max_age_days": settings.max_event_age_days}
    good: list[tuple[int, Any]] = []
    details: list[dict[str, Any]] = []
    if kind == "events":
        for index, raw in enumerate(raws):
            event, problems = validate_event(raw, index, context=context)
            details.extend(problems)
            if event is not None:
                good.append((index, event))
    else:
        model: Any = {
            "reactions": ReactionIn,
            "content": ContentItemIn,
            "outcomes": OutcomeIn,
            "insights": InsightIn,
        }[kind]
        if kind == "reactions":
            context = reaction_context(tables, now)
        good, details = validate_rows(raws, model, field=kind, context=context)
    errors = [
        _error(rows[d["index"]][0], d["field"].partition("].")[2] or "line", d["message"])
        for d in details
    ]
    required = _REQUIRED_TIME.get(kind)
    kept = []
    for index, parsed in good:
        if required and getattr(parsed, required) is None:
            errors.append(
                _error(
                    rows[index][0],
                    required,
                    "required in an import (a re-run must store the same row)",
                )
            )
            continue
        kept.append((raws[index], parsed))
    errors.sort(key=lambda e: e["line"])
    return kept, errors


def import_rows(
    tables: Tables,
    kind: str,
    data: bytes,
    name: str,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    on_parsed: Progress | None = None,
) -> dict[str, Any]:
    """Import the rows of one file's bytes: bad rows reported, good rows stored.

    Parameters
    ----------
    kind
        One of :data:`KINDS`.
    data, name
        The file's bytes and name (``.csv``: CSV, else JSON Lines).
    progress, on_parsed
        Told each written chunk's size, and the number of good rows about to be written.

    Returns
    -------
    dict
        ``{"kind", "name", "lines", "rows", "bad_rows", "errors": [{"line", "field",
        "message"}], "errors_listed", "stored": {"accepted", "duplicates", ...}}``.

    Examples
    --------
    >>> import_rows(tables, "reactions", b'{"user_id": "u1", ...}', "r.jsonl")  # doctest: +SKIP
    {'kind': 'reactions', 'lines': 1, 'rows': 1, 'bad_rows': 0, 'stored': {'accepted': 1, ...}}
    """
    if kind not in KINDS:
        raise ImportFileError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    now = now or utcnow()
    rows, errors = parse_lines(data, name)
    good, bad = validate_import(tables, kind, rows, now=now)
    errors = sorted([*errors, *bad], key=lambda e: e["line"])
    if on_parsed is not None:
        on_parsed(len(good))
    stored = _write(tables, kind, good, now=now, progress=progress)
    report = {
        "kind": kind,
        "name": name,
        "lines": len(rows) + len({e["line"] for e in errors if e["field"] == "line"}),
        "rows": len(good),
        "bad_rows": len({e["line"] for e in errors}),
        "errors": errors[:MAX_LISTED_ERRORS],
        "errors_listed": min(len(errors), MAX_LISTED_ERRORS),
        "stored": stored,
    }
    logger.info(
        "import done",
        extra={
            "kind": kind,
            "file": name,
            "rows": report["rows"],
            "bad_rows": report["bad_rows"],
            "stored": report["stored"],
        },
    )
    return report


def _write(
    tables: Tables,
    kind: str,
    good: Sequence[tuple[Any, Any]],
    *,
    now: datetime,
    progress: Progress | None,
) -> dict[str, int]:
    totals: dict[str, int] = {}

    def add(counts: dict[str, Any]) -> None:
        for name, value in counts.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[name] = totals.get(name, 0) + value

    flags = None
    if kind == "reactions":
        flags = judge_rows(
            [
                reaction_row(
                    r.user_id, item_key(r.content_type, r.external_id), r.occurred_at or now
                )
                for _, r in good
            ],
            Limits.of("reactions", tables.settings),
        )
    size = _CHUNK[kind]
    for start in range(0, len(good), size):
        chunk = good[start : start + size]
        parsed = [p for _, p in chunk]
        raw = [r for r, _ in chunk]
        if kind == "reactions":
            add(write_reactions(tables, parsed, now=now, flags=flags).to_body())
        elif kind == "content":
            add(write_content(tables, parsed, now=now))
        elif kind == "events":
            add(ingest_journal_events(tables, {"events": raw}, now=now).to_body())
        elif kind == "outcomes":
            add({"accepted": ingest_outcomes(tables, {"outcomes": raw}, now=now)["accepted"]})
        else:
            for row in raw:
                result = put_insight(tables, row, now=now)
                add({"dropped": 1} if result.get("dropped") else {"accepted": 1})
        if progress is not None:
            progress(len(chunk))
    return totals


def kind_of_key(key: str) -> str | None:
    """The kind an ``imports/{kind}/...`` key is imported as, or ``None`` (not an import).

    Examples
    --------
    >>> kind_of_key("imports/reactions/2026/legacy.csv"), kind_of_key("imports/x/a.csv")
    ('reactions', None)
    """
    kind, _, rest = key.removeprefix(IMPORT_PREFIX).partition("/")
    return kind if key.startswith(IMPORT_PREFIX) and kind in KINDS and rest else None


def import_object(
    tables: Tables, bucket: str, key: str, *, s3: Any, now: datetime | None = None
) -> dict[str, Any]:
    """Import one S3 object under ``imports/{kind}/`` and write its report to
    ``import-reports/{kind}/...json``. A redelivered event imports it again: nothing is
    stored twice (see the module's notes) and the report is rewritten."""
    kind = kind_of_key(key)
    if kind is None:
        return {"key": key, "skipped": "not under imports/{kind}/"}
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    report = {"bucket": bucket, "key": key, **import_rows(tables, kind, data, key, now=now)}
    report_key = f"{REPORT_PREFIX}{key.removeprefix(IMPORT_PREFIX)}.json"
    s3.put_object(
        Bucket=bucket,
        Key=report_key,
        Body=json.dumps(report, indent=2).encode("utf-8"),
        ContentType="application/json",
    )
    summary = {k: v for k, v in report.items() if k != "errors"}
    return {**summary, "report": report_key}


def on_import_created(event: dict[str, Any], tables: Tables) -> dict[str, Any]:
    """The ``on_import`` function: import the object an S3 "Object Created" event names."""
    from learnloop.store.clients import s3_client

    detail = event.get("detail") or {}
    bucket = str((detail.get("bucket") or {}).get("name") or tables.settings.bucket)
    key = str((detail.get("object") or {}).get("key") or "")
    return import_object(tables, bucket, key, s3=s3_client(tables.settings))


#: The EventBridge pattern of an object to import.
IMPORT_CREATED_PATTERN: dict[str, Any] = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"object": {"key": [{"prefix": IMPORT_PREFIX}]}},
}


__all__ = [
    "IMPORT_CREATED_PATTERN",
    "KINDS",
    "ImportFileError",
    "import_object",
    "import_rows",
    "kind_of_key",
    "on_import_created",
    "parse_lines",
    "validate_import",
]

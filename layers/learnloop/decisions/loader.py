"""Decision lines → the ``decisions`` table, in batches: the other half of a line sink.

* :func:`load_log_event` is ``on_decision_logs``, the function a CloudWatch Logs subscription
  filter (``{ $.learnloop_decision = 1 }`` on the API functions' log groups) invokes with a
  gzipped, base64-encoded batch of log events. It raises when a write fails, so Lambda's
  asynchronous retries (and then the on-failure queue) keep the batch.
* :func:`load_spool` drains a spool directory (the local stack's ``load_decisions`` schedule):
  it claims a file by renaming it, waits for any write in progress (``flock``), loads it and
  only then removes it, so a crash at any point leaves the lines to the next run.

Loading is idempotent (a decision item is put whole under its own key, so a batch delivered
twice writes the same items again), which is what makes "retry until written" safe. A decision
of a user deleted after the answer but before the load is stored without its pseudonym: the
deletion could not have found it.

Examples
--------
>>> load_lines(tables, ['{"learnloop_decision":1,"decision":{...}}'])  # doctest: +SKIP
{'lines': 1, 'loaded': 1, 'skipped': 0, 'anonymized': 0}
"""

from __future__ import annotations

import base64
import fcntl
import gzip
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from learnloop.decisions.log import decision_item
from learnloop.decisions.sink import LINE_MARKER, SPOOL_PREFIX
from learnloop.observability import logger
from learnloop.store.queries import batch_get
from learnloop.store.tables import Tables
from learnloop.users.tombstones import tombstone_key

__all__ = ["decode_log_event", "load_lines", "load_log_event", "load_spool", "parse_line"]

#: A file the loader has claimed (renamed) but not finished: the next run takes it again.
CLAIMED_PREFIX = "loading-"


def parse_line(line: str) -> dict[str, Any] | None:
    """The decision of one log line, or ``None`` for any other line.

    Lambda may prefix a line (timestamp, request id) in text log format: the JSON object is
    taken from the first ``{``.

    Examples
    --------
    >>> parse_line('09:30:00Z abc {"learnloop_decision":1,"decision":{"decision_id":"d"}}')
    {'decision_id': 'd'}
    >>> parse_line('{"level": "INFO", "message": "hello"}') is None
    True
    """
    start = line.find("{")
    if start < 0:
        return None
    try:
        body = json.loads(line[start:])
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get(LINE_MARKER) != 1:
        return None
    decision = body.get("decision")
    if not isinstance(decision, dict) or not decision.get("decision_id"):
        return None
    return decision


def load_lines(tables: Tables, lines: Iterable[str]) -> dict[str, int]:
    """Write the decisions among ``lines`` to the table (BatchWriteItem, 25 per request).

    Raises
    ------
    PynamoDBException
        When a batch cannot be written (the caller's retry keeps the lines).

    Returns
    -------
    dict
        ``{"lines", "loaded", "skipped" (not decision lines), "anonymized"}``.
    """
    counts = {"lines": 0, "loaded": 0, "skipped": 0, "anonymized": 0}
    decisions: dict[str, dict[str, Any]] = {}
    for line in lines:
        counts["lines"] += 1
        decision = parse_line(line)
        if decision is None:
            counts["skipped"] += 1
            continue
        decisions[str(decision["decision_id"])] = decision  # a line delivered twice: once
    deleted = _deleted_pseudonyms(tables, {d.get("user_id") for d in decisions.values()})
    model = tables.decisions
    with model.batch_write() as batch:
        for decision in decisions.values():
            if decision.get("user_id") in deleted:
                decision = {**decision, "user_id": None}
                counts["anonymized"] += 1
            batch.save(decision_item(tables, decision))
            counts["loaded"] += 1
    return counts


def _deleted_pseudonyms(tables: Tables, pseudonyms: Iterable[str | None]) -> set[str]:
    """The pseudonyms among ``pseudonyms`` whose user was deleted (a tombstone exists).

    One consistent BatchGetItem per 100 distinct pseudonyms (PynamoDB asks again for
    unprocessed keys): a delivery names hundreds of users, a GetItem each was a round trip each.
    """
    owner = {tombstone_key(p): p for p in pseudonyms if p}
    found = batch_get(
        tables.users, sorted(owner), consistent_read=True, attributes_to_get=["user_id"]
    )
    return {owner[item.user_id] for item in found}


def decode_log_event(event: Mapping[str, Any]) -> list[str]:
    """The messages of a CloudWatch Logs subscription event (``{"awslogs": {"data": ...}}``).

    Examples
    --------
    >>> import base64, gzip, json
    >>> payload = {"messageType": "DATA_MESSAGE", "logEvents": [{"message": "a"}]}
    >>> data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    >>> decode_log_event({"awslogs": {"data": data}})
    ['a']
    """
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    if data.get("messageType") != "DATA_MESSAGE":  # CONTROL_MESSAGE: the filter's own check
        return []
    return [str(e.get("message", "")) for e in data.get("logEvents", [])]


def load_log_event(tables: Tables, event: Mapping[str, Any]) -> dict[str, int]:
    """``on_decision_logs``: load one CloudWatch Logs subscription delivery."""
    return load_lines(tables, decode_log_event(event))


def load_spool(tables: Tables, directory: str | Path) -> dict[str, int]:
    """Load and remove every spool file of ``directory`` (the local ``load_decisions`` job).

    Returns
    -------
    dict
        ``{"files", "lines", "loaded", "skipped", "anonymized"}``.
    """
    counts = {"files": 0, "lines": 0, "loaded": 0, "skipped": 0, "anonymized": 0}
    for path in claim_spool(directory):
        got = load_file(tables, path)
        if got is None:
            continue
        counts["files"] += 1
        for key, value in got.items():
            counts[key] += value
    if counts["loaded"]:
        logger.info("decisions loaded from the spool", extra=counts)
    return counts


def claim_spool(directory: str | Path) -> list[Path]:
    """Claim (rename) the writers' spool files of ``directory``; returns every claimed file,
    those a run that failed claimed first, oldest name first."""
    root = Path(directory)
    if not root.is_dir():
        return []
    claimed = sorted(root.glob(f"{CLAIMED_PREFIX}*.jsonl"))
    for path in sorted(root.glob(f"{SPOOL_PREFIX}*.jsonl")):
        target = path.with_name(CLAIMED_PREFIX + path.name)
        try:
            path.rename(target)
        except FileNotFoundError:  # another loader took it
            continue
        claimed.append(target)
    return claimed


def load_file(tables: Tables, path: Path) -> dict[str, int] | None:
    """Load one claimed spool file and remove it (None: it is gone already)."""
    lines = _read_claimed(path)
    if lines is None:
        return None
    got = load_lines(tables, lines)
    path.unlink(missing_ok=True)
    return got


def _read_claimed(path: Path) -> list[str] | None:
    """A claimed file's lines, once no writer is still appending to it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        # A writer holds the shared lock while it appends; after the rename none starts again.
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), encoding="utf-8") as handle:
            return [line for line in handle.read().splitlines() if line.strip()]
    finally:
        os.close(fd)

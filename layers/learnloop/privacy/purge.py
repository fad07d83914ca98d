"""``privacy_purge``: the export rewrites a deletion could not finish within its request.

``DELETE /v1/users/{user_id}`` rewrites stored exports newest first for at most
``deletion_sync_seconds``. Before it starts, it queues every ``exports/{date}/`` prefix in the
ledger item ``privacy_purge#{pseudonym}`` (``pending_prefixes``, a string set; ``pending_job``
and ``chunk`` put it in the sparse ``by_pending`` index), and when it stops it takes the
prefixes it finished out again. The item holds the pseudonym only, never the raw id (so it
carries no ``user_id``: it outlives the user it is about, by design).

The scheduled job reads the pending items (one Query of ``by_pending``), groups them by
prefix and rewrites each prefix once without every pending pseudonym (one read and at most one
write per file, however many deletions wait), within ``privacy_purge_seconds``; then it takes
the finished prefixes out of each item, and for every item left empty marks the tombstone's
receipt ``complete`` and deletes the item, in one transaction.

Why it is safe to run twice, concurrently, or after a crash: S3 writes are conditional on the
ETag read (a racing rewrite re-reads instead of restoring rows), set ADD/DELETE commute, an
item is removed only once its set is empty, and a prefix leaves the set only after its files
were rewritten. A crash leaves prefixes in the set; the next run finds those files clean or
finishes them.

Examples
--------
>>> purge_key("ab" * 32)[:16]
'privacy_purge#ab'
>>> privacy_purge(tables, now).to_dict()["completed_users"]  # doctest: +SKIP
2
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from learnloop.clock import iso
from learnloop.exceptions import StoreError
from learnloop.observability import logger
from learnloop.privacy.exports import purge_exports
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables
from learnloop.users.tombstones import get_tombstone, tombstone_actions, tombstone_key

PURGE_JOB = "privacy_purge"
#: ``exports.status`` of a receipt.
COMPLETE = "complete"
PENDING = "pending"
#: Prefixes per UpdateItem (an item stays far below 400 KB; one request stays small).
_PREFIXES_PER_UPDATE = 500
_TRANSACTION_ATTEMPTS = 3


def purge_key(pseudonym: str) -> str:
    """The ledger key of the pending export purge of ``pseudonym``."""
    return f"{PURGE_JOB}#{pseudonym}"


def queue_purge(
    tables: Tables, pseudonym: str, prefixes: Collection[str], *, now: datetime
) -> None:
    """Add ``prefixes`` to the pending purge of ``pseudonym`` (creating it).

    A set union, so queueing the same prefixes again (a repeated deletion) changes nothing and
    never makes a second item.
    """
    ledger = tables.ledger
    entry = ledger(purge_key(pseudonym))
    ordered = sorted(prefixes)
    for start in range(0, max(len(ordered), 1), _PREFIXES_PER_UPDATE):
        chunk = set(ordered[start : start + _PREFIXES_PER_UPDATE])
        actions: list[Any] = [
            ledger.pending_job.set(PURGE_JOB),
            ledger.chunk.set(pseudonym),
            ledger.created_at.set(ledger.created_at | iso(now)),
        ]
        if chunk:
            actions.append(ledger.pending_prefixes.add(chunk))
        entry.update(actions=actions)


def finish_prefixes(tables: Tables, pseudonym: str, prefixes: Collection[str]) -> bool:
    """Take ``prefixes`` (rewritten) out of the pending purge of ``pseudonym``.

    Returns ``False`` when there is no such item (another run completed it); never creates one.
    """
    ledger = tables.ledger
    entry = ledger(purge_key(pseudonym))
    ordered = sorted(prefixes)
    for start in range(0, len(ordered), _PREFIXES_PER_UPDATE):
        chunk = set(ordered[start : start + _PREFIXES_PER_UPDATE])
        try:
            entry.update(
                actions=[ledger.pending_prefixes.delete(chunk)], condition=ledger.key.exists()
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"could not update a pending purge: {exc}") from exc
    return True


def settle_request(
    tables: Tables,
    pseudonym: str,
    *,
    done: Collection[str],
    pending: Collection[str],
    receipt: Callable[[str], dict[str, Any]],
    now: datetime,
) -> str:
    """Record what a deletion request rewrote and store its receipt; returns its status.

    ``receipt(status)`` builds the tombstone's receipt. With prefixes left, the item keeps them
    and the tombstone says ``pending`` in one transaction; when the item is already gone (a job
    finished them meanwhile) the deletion is ``complete`` after all.
    """
    ledger = tables.ledger
    if pending:
        actions: list[Any] = [ledger.pending_job.set(PURGE_JOB)]
        if done:
            actions.append(ledger.pending_prefixes.delete(set(done)))
        for _ in range(_TRANSACTION_ATTEMPTS):
            try:
                with TransactWrite(connection=_connection(tables)) as transaction:
                    transaction.update(
                        ledger(purge_key(pseudonym)),
                        actions=actions,
                        condition=ledger.pending_prefixes.exists(),
                    )
                    transaction.update(
                        tables.users(tombstone_key(pseudonym)),
                        actions=tombstone_actions(
                            tables, pseudonym, now=now, receipt=receipt(PENDING)
                        ),
                    )
                return PENDING
            except TransactWriteError as exc:
                reasons = _reasons(exc)
                if "ConditionalCheckFailed" in reasons:
                    # A purge run finished the prefixes this request left: complete after all.
                    break
                if "TransactionConflict" not in reasons:
                    raise StoreError(f"could not record a pending deletion: {exc}") from exc
        else:
            raise StoreError("a pending deletion kept conflicting with a purge run; retry")
    else:
        finish_prefixes(tables, pseudonym, done)
        _delete_if_empty(tables, pseudonym)
    record = tables.users(tombstone_key(pseudonym))
    record.update(actions=tombstone_actions(tables, pseudonym, now=now, receipt=receipt(COMPLETE)))
    return COMPLETE


@dataclass(frozen=True)
class PurgeResult:
    """What one ``privacy_purge`` run did."""

    pending_users: int
    completed_users: int
    prefixes_done: int
    prefixes_left: int
    prefixes_rewritten: int
    rows_removed: int

    def to_dict(self) -> dict[str, Any]:
        return {"job": PURGE_JOB, **self.__dict__}


def privacy_purge(
    tables: Tables,
    now: datetime,
    *,
    s3: Any | None = None,
    budget_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    workers: int = 8,
    max_prefixes: int | None = None,
) -> PurgeResult:
    """The scheduled job: finish every pending export purge, within a time budget.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    now : datetime
        The run's time (``completed_at`` of the receipts it completes).
    s3 : boto3 S3 client, optional
        Default: built from the settings.
    budget_seconds : float, optional
        No new round of rewrites starts after this long (default ``privacy_purge_seconds``);
        the rest waits for the next run.
    clock : callable
        Monotonic seconds (tests pass a fake).
    workers : int
        Prefixes rewritten at once.
    max_prefixes : int, optional
        Rewrite at most this many prefixes (a resumable run's unit); the rest are left.

    Returns
    -------
    PurgeResult
        Users pending and completed, prefixes done / left / rewritten, rows removed.

    Examples
    --------
    >>> privacy_purge(tables, now).to_dict()  # doctest: +SKIP
    {'job': 'privacy_purge', 'pending_users': 2, 'completed_users': 2, 'prefixes_done': 30,
     'prefixes_left': 0, 'prefixes_rewritten': 4, 'rows_removed': 9}
    """

    started = clock()
    settings = tables.settings
    budget = settings.privacy_purge_seconds if budget_seconds is None else budget_seconds
    entries = list(tables.ledger.by_pending.query(PURGE_JOB))
    if not entries:
        # The usual hourly run: one Query, and no S3 client built for nothing.
        return PurgeResult(0, 0, 0, 0, 0, 0)
    s3 = s3 or s3_client(settings)
    users = sorted({entry.chunk for entry in entries if entry.chunk})
    work: dict[str, set[str]] = {}
    for entry in entries:
        for prefix in entry.pending_prefixes or ():
            work.setdefault(prefix, set()).add(entry.chunk)
    # Newest first, as the request does: recent exports are the ones training reads next.
    ordered = {prefix: work[prefix] for prefix in sorted(work, reverse=True)}
    beyond = list(ordered)[max_prefixes:] if max_prefixes is not None else []
    for prefix in beyond:
        del ordered[prefix]
    done, left = purge_exports(
        s3,
        settings.bucket,
        ordered,
        out_of_time=lambda: clock() - started >= budget,
        workers=workers,
    )
    left = left + beyond
    finished: dict[str, set[str]] = {}
    for prefix in done:
        for pseudonym in work[prefix]:
            finished.setdefault(pseudonym, set()).add(prefix)
    for pseudonym, prefixes in finished.items():
        finish_prefixes(tables, pseudonym, prefixes)
    waiting = {pseudonym for prefix in left for pseudonym in work[prefix]}
    completed = [u for u in users if u not in waiting and _complete(tables, u, now)]
    rows = sum(n for found in done.values() for files in found.values() for n in files.values())
    result = PurgeResult(
        pending_users=len(users),
        completed_users=len(completed),
        prefixes_done=len(done),
        prefixes_left=len(left),
        prefixes_rewritten=sum(1 for found in done.values() if found),
        rows_removed=rows,
    )
    logger.info("privacy purge", extra=result.to_dict())
    return result


def _complete(tables: Tables, pseudonym: str, now: datetime) -> bool:
    """Mark the receipt complete and delete the item, together, once its set is empty."""
    ledger, users = tables.ledger, tables.users
    tombstone = get_tombstone(tables, pseudonym)
    try:
        with TransactWrite(connection=_connection(tables)) as transaction:
            transaction.delete(
                ledger(purge_key(pseudonym)),
                condition=ledger.key.exists() & ledger.pending_prefixes.does_not_exist(),
            )
            if tombstone is not None:
                receipt = dict(tombstone.receipt or {})
                exports = dict(receipt.get("exports") or {})
                days = int(exports.get("days_done", 0)) + int(exports.get("days_pending", 0))
                exports.update(
                    status=COMPLETE, days_done=days, days_pending=0, completed_at=iso(now)
                )
                receipt["exports"] = exports
                # Conditional on the tombstone not having moved since it was read: a deletion
                # repeated meanwhile wrote its own receipt, and the next run completes that one.
                transaction.update(
                    users(tombstone_key(pseudonym)),
                    actions=[users.receipt.set(receipt), users.updated_at.set(iso(now))],
                    condition=users.updated_at == tombstone.updated_at,
                )
    except TransactWriteError as exc:
        if _reasons(exc) & {"ConditionalCheckFailed", "TransactionConflict"}:
            return False  # queued again, completed by another run, or racing one: next run
        raise StoreError(f"could not complete a pending purge: {exc}") from exc
    return True


def _delete_if_empty(tables: Tables, pseudonym: str) -> None:
    ledger = tables.ledger
    try:
        ledger(purge_key(pseudonym)).delete(condition=ledger.pending_prefixes.does_not_exist())
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise StoreError(f"could not delete a finished purge: {exc}") from exc
        # Prefixes were queued again meanwhile (a repeated deletion): the job finishes them.


def _reasons(exc: TransactWriteError) -> set[str]:
    return {str(getattr(r, "code", None)) for r in exc.cancellation_reasons or [] if r}


def _connection(tables: Tables) -> Any:
    return tables.ledger._get_connection().connection


def pending_purges(tables: Tables) -> Iterable[str]:
    """The pseudonyms whose export purge is pending (one Query of ``by_pending``)."""
    return sorted(e.chunk for e in tables.ledger.by_pending.query(PURGE_JOB) if e.chunk)


__all__ = [
    "COMPLETE",
    "PENDING",
    "PURGE_JOB",
    "PurgeResult",
    "finish_prefixes",
    "pending_purges",
    "privacy_purge",
    "purge_key",
    "queue_purge",
    "settle_request",
]

"""Deleting a user: every table, every stored export, a tombstone, and a receipt.

:func:`delete_user` first writes the tombstone (so ingest drops whatever still arrives and
exports leave the pseudonym out), then removes the user's rows, each found by key or index,
never by a Scan:

==========  =========================================================================
reactions   Query on the hash key ``user_id``
events      Query on the hash key ``user_id``
insights    the sparse ``by_user`` index: insights the user owns (the whole partition,
            with everyone's feedback on them, goes) and the user's feedback on others'
            (verdicts and free-text feedback from both channels: route and events)
pattern_    Query on the hash key ``user_id``: the trading journal's pattern occurrences
occurrences
ledger      the sparse ``by_user`` index: entries that name a user carry ``user_id``
decisions   the sparse ``by_user`` index (the pseudonym): logged decisions and their feedback
texts       the sparse ``by_user`` index: the texts the user wrote, each with its per-symbol
            items (per-user, per-page and per-symbol sentiment is aggregated on read, so
            nothing else holds the user's texts or their scores)
users       GetItem/DeleteItem of the user's consent item
==========  =========================================================================

(``experiments`` holds no per-user rows: assignment is a hash and results are computed from
the events, so removing the user's events removes them from every experiment's results.
Nor does a resumable ``learn`` run's spool, ``checkpoints/learn/{run}/``: it holds content
and outcomes, rows about decisions that name no user, as those tables do.)

then checks the ``daily_stats`` items of the user's days (counts, and the journal section's
rows keyed by pseudonym; a day whose item mentions the id or pseudonym is recomputed),
lists the ``two_tower`` versions whose ``users.json`` still holds the pseudonym (they keep it
until the next training run replaces them), and last rewrites the stored ``exports/{date}/``
files, newest day first, for at most ``deletion_sync_seconds`` from the start of the call.
Every day is queued in the ledger (``privacy_purge#{pseudonym}``, see
:mod:`learnloop.privacy.purge`) before the first rewrite, and the days done are taken out
after, so whatever the request does not reach (or a crash interrupts) the hourly
``privacy_purge`` job finishes. The receipt's ``exports.status`` is
``complete`` (200) or ``pending`` (202) and the tombstone's stored receipt says the same until
the job marks it complete.

Deleting again is harmless: it answers 200 (202 while days are still pending) with
``already_deleted: true``, removes whatever arrived meanwhile (usually nothing, so the counts
are 0) and queues into the same ledger item, never a second one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from learnloop.clock import iso, utcnow
from learnloop.journal.rollup import KEY_CHARS, ROLLUP_SECTIONS
from learnloop.observability import logger
from learnloop.privacy.admin_export import purge_admin_exports
from learnloop.privacy.exports import export_prefixes, purge_exports
from learnloop.privacy.purge import COMPLETE, PENDING, queue_purge, settle_request
from learnloop.rollups.job import rollup_day
from learnloop.store.batch import BATCH_WRITE_LIMIT
from learnloop.store.clients import s3_client
from learnloop.store.queries import batch_get
from learnloop.store.records import DECISION_RECORD, INSIGHT_RECORD, BaseModel
from learnloop.store.tables import Tables
from learnloop.users.consent import UserKeyIn
from learnloop.users.pseudonym import pseudonymize
from learnloop.users.tombstones import get_tombstone, tombstone_key, write_tombstone
from learnloop.validation import validate

#: Models whose ``users.json`` lists the pseudonyms they hold an embedding for (contract C).
EMBEDDING_MODELS: tuple[str, ...] = ("two_tower",)


def delete_user(
    tables: Tables,
    user_id: str,
    *,
    s3: Any | None = None,
    now: datetime | None = None,
    clock: Callable[[], float] = time.monotonic,
    sync_seconds: float | None = None,
) -> dict[str, Any]:
    """Remove ``user_id`` from every table and, within a time budget, every stored export.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    user_id : str
        The app's user id.
    s3 : boto3 S3 client, optional
        Default: built from the settings.
    now : datetime, optional
        The deletion time (the tombstone's ``deleted_at`` on a first deletion).
    clock : callable
        Monotonic seconds; read once at the start and before each round of export rewrites.
    sync_seconds : float, optional
        No new round of export rewrites starts this long after the start of the call
        (default ``deletion_sync_seconds``); the days left go to ``privacy_purge``.

    Returns
    -------
    dict
        ``user_id``, ``pseudonym``, ``deleted_at``, ``already_deleted``, ``tables`` (rows
        removed per table), ``insights`` (the rows removed from insights: the user's own
        insights, others' feedback on them, the user's feedback), ``exports`` (``status``
        ``complete`` | ``pending``, ``days_done``, ``days_pending`` and ``removed``: rows removed
        per ``exports/{date}/`` prefix and file by this call), ``daily_stats`` (days checked,
        days recomputed), ``journal`` (the trading journal's rows removed: ``occurrences``,
        ``insights`` owned, ``feedback`` given and received), ``models`` (versions that still
        hold the user's embedding) and
        ``tombstone`` (its key).

    Raises
    ------
    ValidationError
        When ``user_id`` is not a valid id (422).

    Examples
    --------
    >>> delete_user(tables, "u1")["tables"]  # doctest: +SKIP
    {'reactions': 2, 'events': 3, 'insights': 2, 'ledger': 1, 'decisions': 4, 'texts': 2,
     'users': 1}
    >>> delete_user(tables, "u1", sync_seconds=0)["exports"]["status"]  # doctest: +SKIP
    'pending'
    """

    started = clock()
    now = now or utcnow()
    key = validate(UserKeyIn, {"user_id": user_id})
    user_id = key.user_id
    settings = tables.settings
    budget = settings.deletion_sync_seconds if sync_seconds is None else sync_seconds
    s3 = s3 or s3_client(settings)
    pseudonym = pseudonymize(user_id, settings.pseudonym_secret)
    previous = get_tombstone(tables, pseudonym)
    tombstone = write_tombstone(tables, pseudonym, now=now)

    reactions = list(tables.reactions.query(user_id))
    events = list(tables.events.query(user_id))
    occurrences = list(tables.pattern_occurrences.query(user_id))
    days = sorted(
        set(_days_of(reactions, events))
        | {date.fromisoformat(o.detected_at[:10]) for o in occurrences}
    )
    counts = {
        "reactions": _delete_all(tables.reactions, reactions),
        "events": _delete_all(tables.events, events),
        # Event-id marks and reaction tombstones: keyed by the user id, so they go too.
        "ingest_marks": _delete_all(tables.ingest_marks, list(tables.ingest_marks.query(user_id))),
    }
    insights = _delete_insights(tables, user_id)
    counts["insights"] = sum(insights.values())
    counts["pattern_occurrences"] = _delete_all(tables.pattern_occurrences, occurrences)
    ledger = [tables.ledger(item.key) for item in tables.ledger.by_user.query(user_id)]
    counts["ledger"] = _delete_all(tables.ledger, ledger)
    owned = {(item.decision_id, item.record) for item in tables.decisions.by_user.query(pseudonym)}
    # Feedback given before its decision was loaded carries no user: found by the decision.
    for decision_id in {d for d, record in owned if record == DECISION_RECORD}:
        owned.update((decision_id, item.record) for item in tables.decisions.query(decision_id))
    decisions = [tables.decisions(d, record) for d, record in sorted(owned)]
    counts["decisions"] = _delete_all(tables.decisions, decisions)
    counts["texts"] = _delete_texts(tables, user_id)
    counts["users"] = _delete_consent_item(tables, user_id)
    logger.info("deleted a user's rows", extra={"pseudonym": pseudonym, "counts": counts})
    # the journal section keys users by their pseudonym's start (learnloop.journal.rollup)
    needles = (user_id, pseudonym, pseudonym[:KEY_CHARS])
    daily_stats = _check_daily_stats(tables, days, needles)
    models = models_holding(tables, s3, pseudonym)

    # Newest first: recent exports are what the next training run reads. Queued before the
    # first rewrite, so a crash or a timeout mid-way leaves the job every day not taken out.
    prefixes = sorted(export_prefixes(s3, settings.bucket), reverse=True)
    if prefixes:
        queue_purge(tables, pseudonym, prefixes, now=now)
    done, left = purge_exports(
        s3,
        settings.bucket,
        {prefix: (pseudonym,) for prefix in prefixes},
        out_of_time=lambda: clock() - started >= budget,
    )
    removed = {prefix: found[pseudonym] for prefix, found in done.items() if pseudonym in found}
    # Admin exports are one-download copies; rewritten now rather than left to their expiry.
    admin_exports = purge_admin_exports(s3, settings.bucket, pseudonym)

    def summary(status: str) -> dict[str, Any]:
        exports = {
            "status": status,
            "days_done": len(done) if status == PENDING else len(prefixes),
            "days_pending": len(left) if status == PENDING else 0,
            "removed": removed,
        }
        return {
            "tables": counts,
            "insights": insights,
            # The trading journal's records, as the receipt's reader looks for them.
            "journal": {
                "occurrences": counts["pattern_occurrences"],
                "insights": insights["owned"],
                "feedback": insights["feedback_given"] + insights["feedback_on_owned"],
            },
            "exports": exports,
            "daily_stats": daily_stats,
            "models": models,
            "admin_exports": admin_exports,
        }

    if prefixes:
        status = settle_request(
            tables,
            pseudonym,
            done=list(done),
            pending=left,
            receipt=lambda s: {"at": iso(now), **summary(s)},
            now=now,
        )
    else:
        status = COMPLETE
        write_tombstone(tables, pseudonym, now=now, receipt={"at": iso(now), **summary(status)})
    if status == PENDING:
        logger.info(
            "deletion left export days to privacy_purge",
            extra={"pseudonym": pseudonym, "days_pending": len(left)},
        )
    return {
        "user_id": user_id,
        "pseudonym": pseudonym,
        "deleted_at": tombstone.deleted_at,
        "already_deleted": previous is not None,
        **summary(status),
        "tombstone": tombstone_key(pseudonym),
    }


def receipt_status(receipt: dict[str, Any]) -> int:
    """The HTTP status of a deletion receipt: 200 when complete, 202 while exports are pending.

    Examples
    --------
    >>> receipt_status({"exports": {"status": "pending"}}), receipt_status({"exports": {}})
    (202, 200)
    """
    return 202 if receipt.get("exports", {}).get("status") == PENDING else 200


def models_holding(tables: Tables, s3: Any, pseudonym: str) -> dict[str, list[dict[str, str]]]:
    """The versions of every embedding model whose ``users.json`` lists ``pseudonym``.

    Returns
    -------
    dict
        ``{model name: [{"version", "status"}, ...]}``, oldest first (names without any
        such version are left out).
    """
    holding: dict[str, list[dict[str, str]]] = {}
    models = tables.models
    for name in EMBEDDING_MODELS:
        for record in models.query(name, range_key_condition=models.version < "@"):
            if not record.s3_prefix:
                continue
            try:
                body = s3.get_object(
                    Bucket=tables.settings.bucket, Key=f"{record.s3_prefix}users.json"
                )["Body"].read()
                users = json.loads(body).get("users", [])
            except (ClientError, ValueError, AttributeError):
                continue  # a version without a readable users.json holds no known embedding
            if pseudonym in users:
                holding.setdefault(name, []).append(
                    {"version": record.version, "status": record.status}
                )
    return holding


def _days_of(reactions: Iterable[Any], events: Iterable[Any]) -> list[date]:
    days: set[date] = set()
    for reaction in reactions:
        first = date.fromisoformat(reaction.created_at[:10])
        last = date.fromisoformat(reaction.updated_at[:10])
        # A reaction changed on any day between its first and latest write.
        days.update(date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1))
    days.update(date.fromisoformat(event.occurred_at[:10]) for event in events)
    return sorted(days)


def _delete_all(model: type[BaseModel], items: list[Any], *, workers: int = 4) -> int:
    """Delete ``items`` in 25-item BatchWriteItem requests, a few at a time."""
    chunks = [items[i : i + BATCH_WRITE_LIMIT] for i in range(0, len(items), BATCH_WRITE_LIMIT)]

    def delete(chunk: list[Any]) -> None:
        with model.batch_write() as batch:
            for item in chunk:
                batch.delete(item)

    if len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
            list(pool.map(delete, chunks))
    else:
        for chunk in chunks:
            delete(chunk)
    return len(items)


def _delete_insights(tables: Tables, user_id: str) -> dict[str, int]:
    insights = tables.insights
    owned: set[str] = set()
    feedback: set[tuple[str, str]] = set()
    for item in insights.by_user.query(user_id):
        if item.record == INSIGHT_RECORD:
            owned.add(item.insight_id)
        else:
            feedback.add((item.insight_id, item.record))
    rows: set[tuple[str, str]] = set()
    for insight_id in owned:
        rows.update(
            (row.insight_id, row.record)
            for row in insights.query(insight_id, attributes_to_get=["insight_id", "record"])
        )
    feedback -= rows
    _delete_all(insights, [insights(h, r) for h, r in sorted(rows | feedback)])
    return {
        "owned": len(owned),
        "feedback_on_owned": len(rows) - len(owned),
        "feedback_given": len(feedback),
    }


def _delete_texts(tables: Tables, user_id: str) -> int:
    """Delete the texts ``user_id`` wrote, with their per-symbol items; the texts' count."""
    texts = tables.texts
    ids = {item.text_id for item in texts.by_user.query(user_id, attributes_to_get=["text_id"])}
    rows = [
        texts(row.text_id, row.record)
        for text_id in sorted(ids)
        for row in texts.query(text_id, attributes_to_get=["text_id", "record"])
    ]
    _delete_all(texts, rows)
    return len(ids)


def _delete_consent_item(tables: Tables, user_id: str) -> int:
    users = tables.users
    try:
        record = users.get(user_id, consistent_read=True)
    except users.DoesNotExist:
        return 0
    record.delete()
    return 1


def _check_daily_stats(
    tables: Tables, days: list[date], needles: tuple[str, ...]
) -> dict[str, Any]:
    """Daily stats hold counts only; recompute any day whose item mentions the user anyway."""

    found = batch_get(tables.daily_stats, [d.isoformat() for d in days])
    recomputed = []
    for item in found:
        text = json.dumps(item.stats, default=str)
        if any(needle in text for needle in needles):
            rollup_day(tables, date.fromisoformat(item.date), sections=ROLLUP_SECTIONS)
            recomputed.append(item.date)
    return {"checked": len(found), "recomputed": sorted(recomputed)}


__all__ = ["EMBEDDING_MODELS", "delete_user", "models_holding", "receipt_status"]

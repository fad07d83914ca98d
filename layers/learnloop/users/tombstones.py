"""Deletion tombstones: the pseudonym and time of a deleted user, and no raw id.

A tombstone is an item of the users table keyed ``tombstone#{pseudonym}``. It makes ingest drop
whatever still arrives for the user (a retried delivery, a client that did not hear of the
deletion) and puts the pseudonym in the ``by_exclusion`` index that exports and training read.

Examples
--------
>>> tombstone_key("ab" * 32)[:12]
'tombstone#ab'
>>> is_tombstone_key("tombstone#x"), is_tombstone_key("u1")
(True, False)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from learnloop.clock import iso
from learnloop.store.records import User
from learnloop.store.tables import Tables

TOMBSTONE_PREFIX = "tombstone#"
#: ``excluded`` values: the two partitions of the users table's ``by_exclusion`` index.
OPTED_OUT = "opted_out"
DELETED = "deleted"


def tombstone_key(pseudonym: str) -> str:
    """The users-table key of the tombstone of ``pseudonym``."""
    return f"{TOMBSTONE_PREFIX}{pseudonym}"


def is_tombstone_key(user_id: str) -> bool:
    """Whether a users-table key is a tombstone's (user ids never contain ``#``)."""
    return user_id.startswith(TOMBSTONE_PREFIX)


def get_tombstone(tables: Tables, pseudonym: str) -> User | None:
    """The tombstone of ``pseudonym``, or ``None`` when the user was never deleted."""
    try:
        return tables.users.get(tombstone_key(pseudonym), consistent_read=True)
    except tables.users.DoesNotExist:
        return None


def write_tombstone(
    tables: Tables, pseudonym: str, *, now: datetime, receipt: dict[str, Any] | None = None
) -> User:
    """Create (or, on a repeated deletion, refresh) the tombstone of ``pseudonym``.

    The first ``deleted_at`` is kept; ``updated_at`` and ``receipt`` move.

    Examples
    --------
    >>> write_tombstone(tables, pseudonym, now=now).deleted_at  # doctest: +SKIP
    '2026-11-21T10:00:00.000000Z'
    """
    record = tables.users(tombstone_key(pseudonym))
    record.update(actions=tombstone_actions(tables, pseudonym, now=now, receipt=receipt))
    return record


def tombstone_actions(
    tables: Tables, pseudonym: str, *, now: datetime, receipt: dict[str, Any] | None = None
) -> list[Any]:
    """The UpdateItem actions of :func:`write_tombstone` (for a transaction that needs them)."""
    model = tables.users
    actions: list[Any] = [
        model.consent.set(DELETED),
        model.pseudonym.set(pseudonym),
        model.excluded.set(DELETED),
        model.deleted_at.set(model.deleted_at | iso(now)),
        model.updated_at.set(iso(now)),
    ]
    if receipt is not None:
        actions.append(model.receipt.set(receipt))
    return actions


__all__ = [
    "DELETED",
    "OPTED_OUT",
    "TOMBSTONE_PREFIX",
    "get_tombstone",
    "is_tombstone_key",
    "tombstone_actions",
    "tombstone_key",
    "write_tombstone",
]

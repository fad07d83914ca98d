"""``POST /v1/events`` with the journal's records: events, then what derives from them.

Examples
--------
>>> ingest_journal_events(tables, body).to_body()  # doctest: +SKIP
{'accepted': 2, 'duplicates': 0, 'dropped': 0}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from learnloop.ingest.events import IngestResult, ingest_events
from learnloop.journal.insights import feedback_from_events
from learnloop.journal.occurrences import occurrences_from_events
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache


def ingest_journal_events(
    tables: Tables,
    body: Any,
    *,
    now: datetime | None = None,
    consent: ConsentCache | None = None,
) -> IngestResult:
    """Store a batch of events (:func:`~learnloop.ingest.events.ingest_events`), then write
    the occurrences of its ``pattern_detected`` events and the verdicts of its
    ``insight_helpful`` / ``insight_not_helpful`` events.

    Derived records are written for every stored event of the batch, duplicates included:
    they are idempotent, and a redelivery repairs what a crash between the two steps left out.
    Dropped events (opt-out, deletion) derive nothing.
    """
    result = ingest_events(tables, body, now=now, consent=consent)
    if result.stored:
        occurrences_from_events(tables, result.stored, now=now)
        feedback_from_events(tables, result.stored)
    return result


__all__ = ["ingest_journal_events"]

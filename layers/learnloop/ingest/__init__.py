"""Validate and store what apps send: reactions, events, content, outcomes, insights.

Nothing here imports numpy or onnxruntime: ingest Lambdas stay small and start fast.
"""

from __future__ import annotations

from learnloop.ingest.content import ingest_content, put_content, write_content
from learnloop.ingest.engagement import engagement_rate
from learnloop.ingest.events import IngestResult, derive_event_id, ingest_events
from learnloop.ingest.insights import put_feedback, put_insight
from learnloop.ingest.outcomes import ingest_outcomes
from learnloop.ingest.reactions import (
    BatchResult,
    delete_reaction,
    ingest_reactions,
    put_reaction,
    write_reactions,
)

__all__ = [
    "BatchResult",
    "IngestResult",
    "delete_reaction",
    "derive_event_id",
    "engagement_rate",
    "ingest_content",
    "ingest_events",
    "ingest_outcomes",
    "ingest_reactions",
    "put_content",
    "put_feedback",
    "put_insight",
    "put_reaction",
    "write_content",
    "write_reactions",
]

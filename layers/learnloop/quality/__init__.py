"""Data quality and bot defence: flag bursts, identical-instant floods and duplicate content
(see :mod:`learnloop.quality.checks`); flagged rows are stored but count nowhere."""

from learnloop.quality.checks import (
    Limits,
    Row,
    content_digest,
    event_row,
    judge,
    judge_rows,
    quality_summary,
    reaction_row,
    record_rows,
    usable,
)

__all__ = [
    "Limits",
    "Row",
    "content_digest",
    "event_row",
    "judge",
    "judge_rows",
    "quality_summary",
    "reaction_row",
    "record_rows",
    "usable",
]

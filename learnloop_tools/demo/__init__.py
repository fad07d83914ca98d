"""The simulated world and report of ``learnloop demo``.

:mod:`.world` (numpy) holds the population and its hidden truth (and the regime it shifts
to); :mod:`.report` writes the markdown, plots and JSON of a run (matplotlib is imported
only when a report is written).
"""

from __future__ import annotations

from learnloop_tools.demo.report import DayRecord, recovery, summarize, write_report
from learnloop_tools.demo.world import (
    SUCCESS_THRESHOLD,
    EngagementTruth,
    FollowThroughTruth,
    SimItem,
    SimulatedPost,
    SimUser,
    World,
    length_bucket,
)

__all__ = [
    "SUCCESS_THRESHOLD",
    "DayRecord",
    "EngagementTruth",
    "FollowThroughTruth",
    "SimItem",
    "SimUser",
    "SimulatedPost",
    "World",
    "length_bucket",
    "recovery",
    "summarize",
    "write_report",
]

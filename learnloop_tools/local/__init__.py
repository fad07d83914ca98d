"""The local runner: the whole stack on 127.0.0.1 with no AWS account (``learnloop up``).

An embedded moto server stands in for AWS, Chalice's local server serves ``functions/app.py``,
a scheduler fires the app's schedules (moto's EventBridge does not), and snapshots under
``.learnloop/state/`` keep the data across restarts.

Examples
--------
>>> from learnloop_tools.local import Runner
>>> with Runner(port=0, state_dir=tmp_path) as runner:  # doctest: +SKIP
...     print(runner.api_url, sorted(runner.keys))
http://127.0.0.1:53001 ['admin', 'ingest', 'read']
"""

from __future__ import annotations

from learnloop_tools.local.api_server import LocalApiServer, find_app_path, load_app_module
from learnloop_tools.local.exceptions import RunnerError, ScheduleExpressionError, SnapshotError
from learnloop_tools.local.moto_server import EmbeddedMotoServer, ensure_local_credentials
from learnloop_tools.local.runner import Runner, reuse_or_create_keys
from learnloop_tools.local.schedule import Schedule, ScheduleExpression, Scheduler, parse_schedule
from learnloop_tools.local.state import SnapshotReport, StateStore

__all__ = [
    "EmbeddedMotoServer",
    "LocalApiServer",
    "Runner",
    "RunnerError",
    "Schedule",
    "ScheduleExpression",
    "ScheduleExpressionError",
    "Scheduler",
    "SnapshotError",
    "SnapshotReport",
    "StateStore",
    "ensure_local_credentials",
    "find_app_path",
    "load_app_module",
    "parse_schedule",
    "reuse_or_create_keys",
]

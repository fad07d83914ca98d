"""Errors of the local runner; all subclass :class:`learnloop.exceptions.LearnloopError`."""

from __future__ import annotations

from learnloop.exceptions import ConfigurationError, LearnloopError


class RunnerError(LearnloopError):
    """The local stack could not start, serve or stop (a port in use, no app to serve)."""

    code = "runner_error"


class ScheduleExpressionError(ConfigurationError):
    """A ``rate(...)`` or ``cron(...)`` expression is malformed or uses unsupported syntax."""

    code = "schedule_expression_error"


class SnapshotError(RunnerError):
    """A state snapshot could not be written or read back."""

    code = "snapshot_error"


__all__ = ["RunnerError", "ScheduleExpressionError", "SnapshotError"]

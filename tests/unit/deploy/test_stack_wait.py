"""Waiting for a stack: progress lines, and a rollback reported with the failed resources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from learnloop_tools.deploy.exceptions import StackError
from learnloop_tools.deploy.stack import wait_for_stack


class FakeCloudFormation:
    """Answers describe_stacks / describe_stack_events from a script of states."""

    def __init__(self, states: list[tuple[str, list[dict[str, Any]]]]) -> None:
        self.states = states
        self.calls = 0

    def _state(self) -> tuple[str, list[dict[str, Any]]]:
        return self.states[min(self.calls, len(self.states) - 1)]

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        return {"StackEvents": self._state()[1]}

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        status = self._state()[0]
        self.calls += 1
        return {"Stacks": [{"StackStatus": status}]}


def _event(n: int, resource: str, status: str, reason: str = "") -> dict[str, Any]:
    event = {
        "EventId": str(n),
        "LogicalResourceId": resource,
        "ResourceStatus": status,
        "Timestamp": datetime(2026, 12, 1, 12, 0, n, tzinfo=UTC),
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


SINCE = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def test_each_event_is_printed_once_until_the_stack_completes() -> None:
    first = [_event(1, "EventsTable", "CREATE_IN_PROGRESS")]
    second = [_event(2, "EventsTable", "CREATE_COMPLETE"), *first]
    cfn = FakeCloudFormation([("CREATE_IN_PROGRESS", first), ("CREATE_COMPLETE", second)])
    lines: list[str] = []
    status = wait_for_stack(cfn, "s", since=SINCE, echo=lines.append, sleep=lambda s: None)
    assert status == "CREATE_COMPLETE"
    assert lines == ["  EventsTable: CREATE_IN_PROGRESS", "  EventsTable: CREATE_COMPLETE"]


def test_a_rollback_raises_with_the_failed_resources_reasons() -> None:
    events = [
        _event(3, "s", "ROLLBACK_COMPLETE"),
        _event(2, "Bucket", "CREATE_FAILED", "learnloop-dev already exists"),
        _event(1, "Bucket", "CREATE_IN_PROGRESS"),
    ]
    cfn = FakeCloudFormation([("ROLLBACK_COMPLETE", events)])
    with pytest.raises(StackError, match="ROLLBACK_COMPLETE: Bucket: learnloop-dev already exists"):
        wait_for_stack(cfn, "s", since=SINCE, echo=lambda m: None, sleep=lambda s: None)


def test_old_events_of_an_earlier_deployment_are_not_repeated() -> None:
    old = _event(0, "Bucket", "CREATE_COMPLETE")
    old["Timestamp"] = datetime(2026, 11, 1, tzinfo=UTC)
    cfn = FakeCloudFormation([("UPDATE_COMPLETE", [_event(5, "s", "UPDATE_COMPLETE"), old])])
    lines: list[str] = []
    wait_for_stack(cfn, "s", since=SINCE, echo=lines.append, sleep=lambda s: None)
    assert lines == ["  s: UPDATE_COMPLETE"]

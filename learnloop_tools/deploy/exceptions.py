"""Errors of packaging and deployment; every one is a :class:`LearnloopError`."""

from __future__ import annotations

from learnloop.exceptions import LearnloopError


class DeployError(LearnloopError):
    """Base of the deploy package's errors."""

    code = "deploy_error"


class PackagingError(DeployError):
    """pip could not build a layer for the chosen runtime, or the layers disagree on a version."""

    code = "packaging_error"


class BudgetExceededError(PackagingError):
    """A function and its layers unzip to more than Lambda's 250 MB."""

    code = "budget_exceeded"


class StackError(DeployError):
    """CloudFormation refused or rolled back a stack, or the stack is not there."""

    code = "stack_error"


class TrainingTargetError(DeployError):
    """A training job cannot be started on the chosen target (unknown job, no stack outputs)."""

    code = "training_target_error"

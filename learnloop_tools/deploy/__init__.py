"""Deploy learnloop to AWS (CloudFormation) and LocalStack, from the code's own inventory.

One concern per module: :mod:`~learnloop_tools.deploy.inventory` (what the code declares),
:mod:`~learnloop_tools.deploy.runtimes` and :mod:`~learnloop_tools.deploy.layers` (artifacts for
a Lambda runtime), :mod:`~learnloop_tools.deploy.profiles` and :mod:`~learnloop_tools.deploy.iam`
(least privilege), :mod:`~learnloop_tools.deploy.template` (CloudFormation),
:mod:`~learnloop_tools.deploy.build` (a stage's build directory),
:mod:`~learnloop_tools.deploy.stack` (create, update, delete),
:mod:`~learnloop_tools.deploy.training` (ECS RunTask and local runs), and
:mod:`~learnloop_tools.deploy.localstack` (the LocalStack init hook).
"""

from __future__ import annotations

from learnloop_tools.deploy.exceptions import (
    BudgetExceededError,
    DeployError,
    PackagingError,
    StackError,
    TrainingTargetError,
)

__all__ = [
    "BudgetExceededError",
    "DeployError",
    "PackagingError",
    "StackError",
    "TrainingTargetError",
]

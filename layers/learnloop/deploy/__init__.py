"""Deploy learnloop to AWS (CloudFormation) and LocalStack, from the code's own inventory.

One concern per module: :mod:`~learnloop.deploy.inventory` (what the code declares),
:mod:`~learnloop.deploy.runtimes` and :mod:`~learnloop.deploy.layers` (artifacts for a Lambda
runtime), :mod:`~learnloop.deploy.profiles` and :mod:`~learnloop.deploy.iam` (least
privilege), :mod:`~learnloop.deploy.template` (CloudFormation), :mod:`~learnloop.deploy.build`
(a stage's build directory), :mod:`~learnloop.deploy.stack` (create, update, delete),
:mod:`~learnloop.deploy.training` (ECS RunTask and local runs), and
:mod:`~learnloop.deploy.localstack` (the LocalStack init hook).
"""

from __future__ import annotations

from learnloop.deploy.exceptions import (
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

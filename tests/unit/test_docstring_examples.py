"""The Examples in the algorithm and artifact modules' docstrings exist, run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "learnloop.bandits.policies",
    "learnloop.bandits.base",
    "learnloop.bandits.thompson",
    "learnloop.bandits.ucb",
    "learnloop.decisions.ope",
    "learnloop.decisions.replay",
    "learnloop.drift.statistics",
    "learnloop.drift.ledger",
    "learnloop.drift.served",
    "learnloop.drift.actions",
    "learnloop_tools.local.retrain",
    "learnloop_tools.scale.units",
    "learnloop_tools.scale.cost",
    "learnloop.predictors.features",
    "learnloop.predictors.estimators",
    "learnloop.predictors.streaming",
    "learnloop.models.artifacts",
    "learnloop.models.conversion",
    "learnloop.models.evaluation",
    "learnloop.models.promotion",
    "learnloop.market.forecast.features",
    "learnloop.market.forecast.evaluation",
    "learnloop.market.forecast.ensemble",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0

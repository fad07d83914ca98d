"""The Examples in the learning and artifact modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "learnloop.learning.bandits",
    "learnloop.learning.bandits.base",
    "learnloop.learning.bandits.thompson",
    "learnloop.learning.bandits.ucb",
    "learnloop.learning.drift",
    "learnloop.learning.regression",
    "learnloop.learning.regression.features",
    "learnloop.learning.regression.predictors",
    "learnloop.models.artifacts",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0

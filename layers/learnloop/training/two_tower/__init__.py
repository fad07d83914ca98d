"""The two-tower recommender job (contract D): data, model, estimator, ONNX export, entry point.

Importing this package loads neither torch nor sentence-transformers; they load when a model
is fitted or exported. ``main`` is the job's entry point (``python -m
learnloop.training.two_tower``).
"""

from __future__ import annotations

from learnloop.training.two_tower.data import (
    ExportRef,
    Interaction,
    Item,
    TrainingData,
    chronological_split,
    read_exports,
)
from learnloop.training.two_tower.job import main, train_two_tower
from learnloop.training.two_tower.recommender import ItemCatalog, TwoTowerRecommender

__all__ = [
    "ExportRef",
    "Interaction",
    "Item",
    "ItemCatalog",
    "TrainingData",
    "TwoTowerRecommender",
    "chronological_split",
    "main",
    "read_exports",
    "train_two_tower",
]

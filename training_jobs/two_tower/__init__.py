"""The two-tower recommender job (contract D): data, model, estimator, ONNX export, entry point.

Importing this package loads neither torch nor sentence-transformers; they load when a model
is fitted or exported. ``main`` is the job's entry point (``python -m
training_jobs.two_tower``).
"""

from __future__ import annotations

from training_jobs.two_tower.data import (
    ExportRef,
    Interaction,
    Item,
    TrainingData,
    chronological_split,
    read_exports,
)
from training_jobs.two_tower.estimator import ItemCatalog, TwoTowerRecommender
from training_jobs.two_tower.job import main, train_two_tower

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

"""A/B experiments: variants and weights, stateless assignment, results from analytics events.

Importing this package loads no numpy (the assignment route is on the serving path); the
statistics import numpy when results are computed.

Examples
--------
>>> variants = [{"name": "control", "weight": 0.5}, {"name": "b", "weight": 0.5}]
>>> variant_for("checkout", "u1", variants) in ("control", "b")
True
"""

from __future__ import annotations

from learnloop.experiments.assignment import assign, bucket_point, variant_for
from learnloop.experiments.definitions import (
    experiment_with_results,
    list_experiments,
    put_experiment,
    stop_experiment,
)
from learnloop.experiments.schemas import EXPOSURE_EVENT_TYPE

__all__ = [
    "EXPOSURE_EVENT_TYPE",
    "assign",
    "bucket_point",
    "experiment_with_results",
    "list_experiments",
    "put_experiment",
    "stop_experiment",
    "variant_for",
]

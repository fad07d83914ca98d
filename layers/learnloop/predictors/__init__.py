"""Predictors: ridge regression of engagement rate, logistic regression of follow-through.

- ``features``: the feature rows both training and serving build (numpy only).
- ``estimators``: the scikit-learn trainers and their held-out metrics (training only).
- ``training``: the ``learn`` job's predictor step: join content and outcomes, fit, publish ONNX.
- ``predict``: ``POST /v1/predict/engagement`` and ``/v1/predict/follow-through`` from ONNX.

Importing the package loads nothing; numpy and scikit-learn come with their modules.
"""

from __future__ import annotations

__all__: list[str] = []

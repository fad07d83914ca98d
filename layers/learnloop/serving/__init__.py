"""Answers from what was learned: bandit selection (and, later, ONNX predictors).

Serving code imports numpy (and onnxruntime) only: no scikit-learn, torch or
sentence-transformers.
"""

from __future__ import annotations

__all__: list[str] = []

"""Answers from what was learned: bandit selection, ONNX predictors, recommendations.

Serving code imports numpy and onnxruntime (and tokenizers, for text) only: no scikit-learn,
torch or sentence-transformers.
"""

from __future__ import annotations

__all__: list[str] = []

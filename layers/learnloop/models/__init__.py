"""Models: the artifacts training publishes, the registry, and what serving loads.

- ``artifacts``: the S3 layout, manifest and hashes (contract C); ``conversion``: fitted
  scikit-learn estimators as ONNX (training side only).
- ``kinds``: the checks per model kind (predictor, two_tower, text_encoder, sentiment).
- ``registry``: versions, the production alias, promotion and rollback history.
- ``registration``: a dropped manifest verified, smoke-tested, gated and promoted.
- ``cache``: the production ONNX models, loaded and cached per container.
- ``operations``: ``GET /v1/models``, promote, rollback, and the S3 trigger.

Import the submodule you need; the package itself loads nothing.
"""

from __future__ import annotations

__all__: list[str] = []

"""Text sentiment: a classification head over the pinned text encoder, served from ONNX.

- ``classify``: ``POST /v1/sentiment`` and loading a ``sentiment`` version with its encoder.

The head is trained by ``training_jobs/sentiment``; coin sentiment from users' reactions is a
market figure (:mod:`learnloop.market`).
"""

from __future__ import annotations

__all__: list[str] = []

"""Recommendations from the two-tower model the ``two_tower`` training job publishes.

- ``index``: one loaded version (item and user matrices, the item tower) and exact top-k.
- ``recommend``: ``GET /v1/recommendations``, ``/v1/users/{id}/similar`` and
  ``/v1/items/{type}/{id}/similar``, with their fallbacks (history, popularity, text).

Serving imports numpy and onnxruntime only; the training code is in ``training_jobs/two_tower``.
"""

from __future__ import annotations

__all__: list[str] = []

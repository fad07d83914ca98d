"""Text sentiment: a classification head over the pinned text encoder, served from ONNX.

- ``classify``: ``POST /v1/sentiment`` and loading a ``sentiment`` version with its encoder.
- ``texts``: ``POST /v1/texts``, posts, news and comments scored at ingest and stored.
- ``aggregate``: the source-weighted score, volume and trend of texts per window (pure).
- ``summaries``: ``GET /v1/sentiment/{symbols,pages,users}/{id}`` and ``/v1/sentiment/funnel``.

The head is trained by ``training_jobs/sentiment``; coin sentiment from users' reactions is a
market figure (:mod:`learnloop.market`).
"""

from __future__ import annotations

__all__: list[str] = []

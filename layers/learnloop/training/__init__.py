"""Container training jobs (torch lives only here): ``python -m learnloop.training.{name}``.

Each job module has a ``main(argv) -> int`` and publishes a model artifact (contract C) under
``models/{name}/{version}/``, manifest last, so registration picks it up.
"""

from __future__ import annotations

#: Job name → the module ``python -m`` runs.
JOBS: dict[str, str] = {
    "two_tower": "learnloop.training.two_tower",
    "text_encoder": "learnloop.training.text_encoder",
}

__all__ = ["JOBS"]

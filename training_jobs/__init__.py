"""Container training jobs (contract D): each is a package with a ``main(argv) -> int`` entry
point, run as ``python -m training_jobs.{name}``.

Importing this package is cheap: torch and sentence-transformers load only inside a job.

Examples
--------
>>> JOBS["two_tower"]
'training_jobs.two_tower'
>>> sorted(JOBS)
['price_forecast', 'sentiment', 'text_encoder', 'two_tower']
"""

from __future__ import annotations

import os

# torch's OpenMP threads spin while they wait; on a shared 2-core machine (CI, a laptop running
# the local stack) spinning threads starve each other and a small fit runs ~50x slower. Set
# before torch loads (it reads the variable once), never over a value the caller chose.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: Job name → the module ``python -m`` runs.
JOBS: dict[str, str] = {
    "two_tower": "training_jobs.two_tower",
    "text_encoder": "training_jobs.text_encoder",
    "sentiment": "training_jobs.sentiment",
    "price_forecast": "training_jobs.price_forecast",
}

#: The package extra a job's image installs when it is not ``train``: the sentiment head embeds
#: with the published ONNX encoder and fits scikit-learn, so its image carries no torch.
IMAGE_EXTRAS: dict[str, str] = {"sentiment": "learn"}

__all__ = ["IMAGE_EXTRAS", "JOBS"]

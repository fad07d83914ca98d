"""``python -m training_jobs.text_encoder``: export MiniLM to ONNX and publish it."""

from __future__ import annotations

import sys

from training_jobs.text_encoder.job import main

if __name__ == "__main__":
    sys.exit(main())

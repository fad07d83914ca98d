"""``python -m training_jobs.sentiment``: train the sentiment head and publish it."""

from __future__ import annotations

import sys

from training_jobs.sentiment.job import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m training_jobs.two_tower``: the two-tower job's entry point."""

from __future__ import annotations

import sys

from training_jobs.two_tower.job import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m training_jobs.price_forecast``: train each symbol's forecast and publish it."""

from __future__ import annotations

import sys

from training_jobs.price_forecast.job import main

if __name__ == "__main__":
    sys.exit(main())

"""The process-wide Powertools Logger and Metrics (built once, as Powertools intends).

Metrics go out as CloudWatch EMF on stdout when a handler flushes them; set
``POWERTOOLS_METRICS_DISABLED=true`` to silence them locally. Tracer is deliberately absent:
importing the X-Ray SDK would cost every ingest cold start.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="learnloop")
metrics = Metrics(namespace="learnloop", service="learnloop")

__all__ = ["logger", "metrics"]

"""The price forecast job: per symbol, gradient-boosted trees (scikit-learn) and a small LSTM
(PyTorch) on causal return / indicator features, combined by weights learned from recent
out-of-sample error, with conformal prediction intervals; both members exported to ONNX and
published as a ``price_forecast`` artifact.

:mod:`~training_jobs.price_forecast.members` holds the two estimators and their ONNX export,
:mod:`~training_jobs.price_forecast.job` the walk-forward and the entry point
(``python -m training_jobs.price_forecast``). Features, evaluation and the combination live in
the runtime library (:mod:`learnloop.market`), so serving builds the same features.
"""

from __future__ import annotations

__all__: list[str] = []

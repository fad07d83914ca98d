"""The sentiment job: a negative / neutral / positive classifier head over the sentence
embeddings of a text encoder artifact (contract C), published as a ``sentiment`` artifact.

:mod:`~training_jobs.sentiment.data` reads the labelled texts (contract D: JSON Lines or
CSV of ``text`` and ``label``), :mod:`~training_jobs.sentiment.model` is the estimator
(scikit-learn's multinomial logistic regression, ``C`` chosen by cross-validation), and
:mod:`~training_jobs.sentiment.job` is the entry point
(``python -m training_jobs.sentiment``). Texts are embedded with
:class:`learnloop.text.encoder.TextEncoder` (onnxruntime + tokenizers): no torch.
"""

from __future__ import annotations

__all__: list[str] = []

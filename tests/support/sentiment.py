"""Synthetic labelled texts the tiny test encoder can tell apart, and sentiment drops.

Each text is a few filler words of :data:`support.text_encoders.WORDS` plus one class token:
``up`` (positive), ``down`` (negative), ``news`` (neutral); the tiny encoder's mean embedding
moves with that token, so a linear head separates the classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from support.model_drops import T0
from support.text_encoders import tiny_encoder_onnx, tiny_tokenizer_json

from learnloop.models.artifacts import build_manifest, new_version, write_artifact
from learnloop.models.registration import register_model
from learnloop.text.encoder import TextEncoder

FILLER = ["the", "cat", "dog", "coin", "market", "meme"]
CLASS_TOKEN = {"negative": "down", "neutral": "news", "positive": "up"}


def labelled_texts(per_class: int = 30, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``per_class`` texts of each label, in a seeded random order."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, token in CLASS_TOKEN.items():
        for _ in range(per_class):
            words = [str(w) for w in rng.choice(FILLER, size=int(rng.integers(2, 6)))]
            words.insert(int(rng.integers(0, len(words) + 1)), token)
            rows.append((" ".join(words), label))
    order = rng.permutation(len(rows))
    return [rows[i][0] for i in order], [rows[i][1] for i in order]


def tiny_encoder() -> TextEncoder:
    return TextEncoder(tiny_encoder_onnx(), tiny_tokenizer_json())


def drop_text_encoder(
    tables: Any, s3: Any, *, minute: int = 0, seed: int | None = None
) -> tuple[str, str]:
    """Write a tiny text_encoder version (``seed``: other weights); ``(manifest key, version)``."""
    from datetime import timedelta

    version = new_version(T0 + timedelta(minutes=minute))
    weights = tiny_encoder_onnx() if seed is None else tiny_encoder_onnx(seed=seed)
    files = {"model.onnx": weights, "tokenizer.json": tiny_tokenizer_json()}
    manifest = build_manifest(
        "text_encoder",
        version,
        files,
        ["input_ids", "attention_mask"],
        {"cosine_min": 1.0},
        (T0, T0),
        1,
        extra={"kind": "text_encoder"},
        now=T0,
    )
    key = write_artifact(s3, tables.settings.bucket, "text_encoder", version, files, manifest)
    return key[-1], version


def register(tables: Any, s3: Any, key: str) -> Any:
    return register_model(tables, s3, bucket=tables.settings.bucket, key=key, now=T0)

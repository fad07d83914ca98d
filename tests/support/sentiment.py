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


def domain_texts(
    per_class: int = 30, *, seed: int = 1, noise: float = 0.15
) -> tuple[list[str], list[str]]:
    """Texts of another domain: ``up`` and ``down`` mean the opposite there, and a ``noise``
    share of the labels is wrong (a harder set: lower held-out scores)."""
    texts, labels = labelled_texts(per_class, seed=seed)
    swap = {"negative": "positive", "positive": "negative", "neutral": "neutral"}
    rng = np.random.default_rng(seed)
    swapped = [swap[label] for label in labels]
    for i in np.flatnonzero(rng.uniform(size=len(swapped)) < noise):
        swapped[i] = str(rng.choice([x for x in CLASS_TOKEN if x != swapped[i]]))
    return texts, swapped


def drop_sentiment(
    tables: Any,
    s3: Any,
    texts: list[str],
    labels: list[str],
    *,
    minute: int,
    source: str,
    encoder_version: str,
    encoder: TextEncoder | None = None,
) -> str:
    """Train a head on ``texts`` as the sentiment job does, write its hold-out as an
    evaluation set of ``source`` and publish it at ``T0 + minute``; the manifest key."""
    from datetime import timedelta

    from training_jobs.sentiment.job import build_artifact, train_sentiment, write_evaluation_set

    training = train_sentiment(texts, labels, encoder or tiny_encoder(), Cs=(1.0,), cv=3)
    ref = {"name": "text_encoder", "version": encoder_version}
    bucket = tables.settings.bucket
    evaluation = write_evaluation_set(s3, bucket, "sentiment", training, ref, source=source)
    version = new_version(T0 + timedelta(minutes=minute))
    files, manifest = build_artifact(training, ref, version=version, evaluation=evaluation)
    return write_artifact(s3, bucket, "sentiment", version, files, manifest)[-1]


def tiny_base_model(folder: Any) -> Any:
    """A one-layer, 16-wide BERT with random weights and all-MiniLM-L6-v2's tokenizer, saved
    as a transformers folder: what ``--base-model`` takes, fine-tuned in seconds."""
    import shutil
    from pathlib import Path

    from transformers import BertConfig, BertModel

    from training_jobs.sentiment.fine_tune import base_model_path

    target = Path(folder)
    if not (target / "tokenizer.json").exists():
        config = BertConfig(
            vocab_size=30522,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=128,
        )
        BertModel(config).save_pretrained(target)
        shutil.copy(base_model_path() / "tokenizer.json", target / "tokenizer.json")
    return target

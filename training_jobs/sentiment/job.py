"""The sentiment job's entry point: embed, split, fit, check the ONNX, publish.

``python -m training_jobs.sentiment`` reads labelled texts (contract D; ``--data`` a
local path or ``s3://bucket/key``, default ``s3://{stage bucket}/exports/labelled/
sentiment.jsonl``), embeds them with the production ``text_encoder`` (or ``--encoder-dir``, a
folder ``python -m training_jobs.text_encoder --out DIR`` wrote), holds out a stratified
20 %, fits :class:`~training_jobs.sentiment.model.SentimentClassifier` on the rest, scores
the held-out part beside a majority-class baseline, converts the head to ONNX and — when the
ONNX probabilities equal scikit-learn's to ``--max-onnx-diff`` (1e-5) — writes ``model.onnx``
and ``manifest.json`` (last) to ``models/{name}/{version}/``, which triggers registration.
``--out DIR`` writes the two files to a folder instead.

The held-out texts, their labels and their embeddings go to the bucket as the version's
evaluation set (:mod:`learnloop.models.evaluation`, named by the manifest's ``evaluation``):
``source`` ``domain`` when ``--data`` names the user's own labelled texts, ``reference`` for
the stage's default labelled file (``--evaluation-source`` overrides). Registration scores
the head and production's on the name's registered set: a ``domain`` set becomes it.

The manifest pins the text encoder version the head was trained on (``extra.text_encoder``):
serving embeds with exactly that version, whatever the encoder's production alias says later.

``--fine-tune`` trains the other format instead: the whole MiniLM encoder with a
classification head (:mod:`~training_jobs.sentiment.tuned`; torch, CPU), exported whole to
ONNX with its tokenizer (``extra.format = "fine_tuned"``). It needs no production
``text_encoder``; the frozen-encoder head (the default) needs one (or ``--encoder-dir``) and
trains in a minute where fine-tuning takes ten or more.

``--format`` (``jsonl``, ``csv``, ``phrasebank``; default by suffix), ``--labels``
(``0=negative,1=positive,2=neutral``) and ``--encoding`` read files as published.

Exit codes: 0 published, 1 unusable data or encoder (the reason on stderr), 2 the ONNX
disagrees with scikit-learn or torch (nothing published).

Examples
--------
>>> main(["--data", "labelled.jsonl", "--encoder-dir", "text-encoder/", "--out", "sent/"])
... # doctest: +SKIP
[1/5] reading labelled.jsonl
...
0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnloop.exceptions import LearnloopError, NoProductionModelError
from learnloop.models.artifacts import (
    MODEL_FILE,
    build_manifest,
    new_version,
    sha256_hex,
    write_artifact,
    write_artifact_dir,
)
from learnloop.models.cache import S3ArtifactLoader
from learnloop.models.conversion import onnx_predict
from learnloop.settings import Settings
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables
from learnloop.text.encoder import TOKENIZER_FILE, TextEncoder
from training_jobs.exceptions import TrainingDataError
from training_jobs.sentiment.data import DEFAULT_DATA_KEY, FORMATS, LABELS, load_labelled
from training_jobs.sentiment.fine_tune import (
    DEFAULT_EPOCHS,
    DEFAULT_HEAD_LEARNING_RATE,
    DEFAULT_LEARNING_RATE,
    DEFAULT_MAX_LENGTH,
)
from training_jobs.sentiment.model import (
    DEFAULT_CS,
    MIN_PER_CLASS,
    NotEnoughLabelledDataError,
    SentimentClassifier,
)

if TYPE_CHECKING:
    import numpy as np

    from learnloop.text.encoder import TextEncoder

__all__ = [
    "DEFAULT_NAME",
    "MAX_ONNX_DIFF",
    "SentimentTraining",
    "build_artifact",
    "main",
    "train_sentiment",
]

DEFAULT_NAME = "sentiment"
TEXT_ENCODER_MODEL = "text_encoder"
#: The exported head must reproduce scikit-learn's probabilities at least this closely.
MAX_ONNX_DIFF = 1e-5
#: Texts embedded between two progress lines.
_EMBED_CHUNK = 256


@dataclass
class SentimentTraining:
    """What :func:`train_sentiment` produced.

    Attributes
    ----------
    classifier : SentimentClassifier
        Fitted on the training part (80 %); the published head.
    onnx : bytes
        ``classifier.to_onnx()``.
    metrics : dict
        Held-out ``accuracy``, ``macro_f1``, ``f1_{label}``, the majority-class baseline's
        ``majority_accuracy`` and ``majority_macro_f1``, ``cv_macro_f1`` (of the chosen C),
        ``C``, ``onnx_max_abs_diff``.
    rows, train_rows, test_rows : int
    label_counts : dict of str to int
    embed_seconds, fit_seconds : float
        Wall time of embedding every text, and of the CV + fit.
    """

    classifier: SentimentClassifier
    onnx: bytes
    metrics: dict[str, float]
    rows: int
    train_rows: int
    test_rows: int
    label_counts: dict[str, int]
    embed_seconds: float
    fit_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    #: The held-out ``texts``, ``labels`` and ``embeddings`` (the evaluation set's rows).
    holdout: dict[str, Any] = field(default_factory=dict)


def train_sentiment(
    texts: Sequence[str],
    labels: Sequence[str],
    encoder: TextEncoder | Callable[[Sequence[str]], np.ndarray],
    *,
    test_size: float = 0.2,
    random_state: int = 0,
    Cs: Sequence[float] = DEFAULT_CS,
    cv: int = 5,
    min_per_class: int = MIN_PER_CLASS,
    embeddings: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> SentimentTraining:
    """Embed ``texts``, hold out a stratified ``test_size``, fit, score and export the head.

    Parameters
    ----------
    texts, labels : sequence of str
        Row-aligned; labels from :data:`~training_jobs.sentiment.data.LABELS`.
    encoder : TextEncoder or callable
        ``encoder.encode(texts)`` (or ``encoder(texts)``) → L2-normalised rows.
    test_size : float, default 0.2
        The held-out share, stratified by label.
    random_state : int, default 0
        Seeds the split and the CV folds.
    Cs, cv
        The classifier's ``C`` grid and folds.
    min_per_class : int, default 10
        Each of the three labels needs at least this many texts.
    embeddings : numpy.ndarray, optional
        Precomputed embeddings of ``texts`` (``embed_seconds`` is then 0).
    progress : callable, optional
        Called with a line of text every 256 texts embedded and for each ``C`` tried.

    Raises
    ------
    NotEnoughLabelledDataError
        A label with fewer than ``min_per_class`` texts (every label is named with its count).

    Examples
    --------
    >>> result = train_sentiment(texts, labels, encoder)  # doctest: +SKIP
    >>> result.metrics["macro_f1"] > result.metrics["majority_macro_f1"]  # doctest: +SKIP
    True
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts for {len(labels)} labels")
    say = progress or (lambda line: None)
    counts = Counter(labels)
    _check_counts(labels, min_per_class)
    unknown = sorted(set(counts) - set(LABELS))
    if unknown:
        raise NotEnoughLabelledDataError(f"labels outside {list(LABELS)}: {unknown}")
    started = time.perf_counter()
    if embeddings is None:
        encode = encoder.encode if hasattr(encoder, "encode") else encoder
        parts = []
        for start in range(0, len(texts), _EMBED_CHUNK):
            parts.append(np.asarray(encode(texts[start : start + _EMBED_CHUNK]), np.float32))
            done = min(start + _EMBED_CHUNK, len(texts))
            say(f"      embedded {done}/{len(texts)} texts ({time.perf_counter() - started:.0f} s)")
        X = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)
        embed_seconds = time.perf_counter() - started
    else:
        X = np.asarray(embeddings, dtype=np.float32)
        embed_seconds = 0.0
    y = np.asarray(labels)
    X_train, X_test, y_train, y_test, _, test_rows = train_test_split(
        X, y, np.arange(len(y)), test_size=test_size, stratify=y, random_state=random_state
    )
    started = time.perf_counter()
    say(f"      fitting: C from {list(Cs)} by {cv}-fold cross-validation")
    classifier = SentimentClassifier(Cs=Cs, cv=cv, random_state=random_state).fit(
        X_train, list(y_train)
    )
    fit_seconds = time.perf_counter() - started
    for c, score in classifier.cv_scores_.items():
        say(f"      C {c:g}: cross-validated macro-F1 {score:.4f}")
    predicted = classifier.predict(X_test)
    majority = Counter(y_train.tolist()).most_common(1)[0][0]
    baseline = [majority] * len(y_test)
    per_class = f1_score(y_test, predicted, labels=list(LABELS), average=None, zero_division=0)
    onnx_bytes = classifier.to_onnx()
    diff = float(np.abs(onnx_predict(onnx_bytes, X_test) - classifier.predict_proba(X_test)).max())
    metrics: dict[str, float] = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "macro_f1": float(f1_score(y_test, predicted, average="macro", zero_division=0)),
        **{f"f1_{label}": float(f) for label, f in zip(LABELS, per_class, strict=True)},
        "majority_accuracy": float(accuracy_score(y_test, baseline)),
        "majority_macro_f1": float(f1_score(y_test, baseline, average="macro", zero_division=0)),
        "cv_macro_f1": classifier.cv_scores_[classifier.C_],
        "C": classifier.C_,
        "onnx_max_abs_diff": diff,
    }
    return SentimentTraining(
        classifier=classifier,
        onnx=onnx_bytes,
        metrics=metrics,
        rows=len(texts),
        train_rows=len(y_train),
        test_rows=len(y_test),
        label_counts={label: counts[label] for label in LABELS},
        embed_seconds=embed_seconds,
        fit_seconds=fit_seconds,
        extra={"majority_label": str(majority)},
        holdout={
            "texts": [texts[i] for i in test_rows],
            "labels": [str(label) for label in y_test],
            "embeddings": X_test,
        },
    )


def write_evaluation_set(
    s3: Any,
    bucket: str,
    name: str,
    training: SentimentTraining,
    text_encoder: Mapping[str, Any],
    *,
    source: str,
) -> dict[str, Any]:
    """Upload the held-out texts, labels and their embeddings (made by ``text_encoder``) as
    the version's evaluation set; the manifest's ``evaluation`` entry.

    Examples
    --------
    >>> ref = write_evaluation_set(s3, "b", "sentiment", result,  # doctest: +SKIP
    ...                            {"name": "text_encoder", "version": "20261120T093000Z"},
    ...                            source="domain")
    >>> ref["source"], ref["rows"] == result.test_rows  # doctest: +SKIP
    ('domain', True)
    """
    from learnloop.models.evaluation import write_set

    holdout = training.holdout
    arrays = {
        "texts": holdout["texts"],
        "labels": holdout["labels"],
        "embeddings": holdout["embeddings"],
        "encoder_name": str(text_encoder["name"]),
        "encoder_version": str(text_encoder["version"]),
    }
    return write_set(s3, bucket, name, arrays, source=source, rows=len(holdout["labels"]))


def build_artifact(
    training: SentimentTraining,
    text_encoder: Mapping[str, Any],
    *,
    name: str = DEFAULT_NAME,
    version: str | None = None,
    data_source: str | None = None,
    now: datetime | None = None,
    evaluation: Mapping[str, Any] | None = None,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """``(files, manifest)`` of one sentiment version (contract C, ``extra.kind`` sentiment).

    Parameters
    ----------
    training : SentimentTraining
        From :func:`train_sentiment`.
    text_encoder : mapping
        The encoder the head was trained on: ``name``, ``version`` and (optionally) the
        ``sha256`` of its ``model.onnx``; recorded as ``extra.text_encoder``.
    evaluation : mapping, optional
        The manifest's ``evaluation`` entry (from :func:`write_evaluation_set`).

    Examples
    --------
    >>> files, manifest = build_artifact(result, {"name": "text_encoder",  # doctest: +SKIP
    ...                                           "version": "20261120T093000Z"})
    >>> manifest["extra"]["labels"]  # doctest: +SKIP
    ['negative', 'neutral', 'positive']
    """
    now = now or datetime.now(UTC)
    version = version or new_version(now)
    classifier = training.classifier
    files = {MODEL_FILE: training.onnx}
    encoder_ref = {
        "name": str(text_encoder["name"]),
        "version": str(text_encoder["version"]),
        **({"sha256": str(text_encoder["sha256"])} if text_encoder.get("sha256") else {}),
    }
    manifest = build_manifest(
        name,
        version,
        files,
        ["text"],
        training.metrics,
        (now, now),
        training.train_rows,
        extra={
            "kind": "sentiment",
            "labels": list(classifier.classes_),
            "text_encoder": encoder_ref,
            "embedding_dim": classifier.n_features_in_,
            "input": {"name": "features", "dtype": "float32", "shape": ["batch", "dim"]},
            "output": "probabilities",
            "estimator": "LogisticRegression(multinomial, class_weight=balanced)",
            "C": classifier.C_,
            "cv_macro_f1": {str(c): s for c, s in classifier.cv_scores_.items()},
            "rows": training.rows,
            "test_rows": training.test_rows,
            "label_counts": training.label_counts,
            # The mix the drift check compares the head's predicted mix on recent texts with.
            "label_mix": {
                label: round(n / max(1, sum(training.label_counts.values())), 6)
                for label, n in training.label_counts.items()
            },
            "majority_label": training.extra.get("majority_label"),
            "data": data_source,
        },
        now=now,
    )
    if evaluation is not None:
        manifest["evaluation"] = dict(evaluation)
    return files, manifest


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    s3: Any = None,
    tables: Any = None,
) -> int:
    """Run the job; 0 when published, 1 on unusable data, 2 when the ONNX disagrees.

    Parameters
    ----------
    argv : sequence of str, optional
        ``[--data PATH|s3://B/K] [--format F] [--labels MAP] [--encoding E] [--fine-tune]
        [--encoder-dir DIR] [--name N] [--version V] [--out DIR] [--test-size F] [--seed N]
        [--cv K] [--min-per-class N] [--max-onnx-diff D]`` and the fine-tuning options
        (``--epochs``, ``--max-length``, ``--learning-rate``, ``--head-learning-rate``,
        ``--batch-size``, ``--patience``, ``--max-steps``, ``--validation-size``,
        ``--precision``, ``--base-model``, ``--extra-data``).
    settings, s3, tables
        Where to read and publish (default: from the environment).
    """
    parser = argparse.ArgumentParser(
        prog="python -m training_jobs.sentiment",
        description="Train the sentiment model (a head over the text encoder's embeddings, or "
        "with --fine-tune the whole encoder) and publish it.",
    )
    parser.add_argument(
        "--data",
        default=None,
        help=f"labelled JSONL/CSV/PhraseBank .txt: a path or s3://bucket/key (default "
        f"s3://BUCKET/{DEFAULT_DATA_KEY})",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default=None, help="the file's format (default: by suffix)"
    )
    parser.add_argument(
        "--labels",
        default=None,
        help="label map, e.g. 0=negative,1=positive,2=neutral (numbers are -1/0/1 otherwise)",
    )
    parser.add_argument(
        "--encoding", default=None, help="the file's encoding (default UTF-8, else latin-1)"
    )
    parser.add_argument(
        "--fine-tune",
        action="store_true",
        help="fine-tune the MiniLM encoder with the head (torch; no text_encoder needed)",
    )
    parser.add_argument(
        "--encoder-dir",
        type=Path,
        default=None,
        help="a text encoder folder (model.onnx, tokenizer.json, manifest.json) instead of "
        "the production text_encoder",
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help="model name (default sentiment)")
    parser.add_argument("--version", default=None, help="version (default: now, UTC)")
    parser.add_argument("--out", type=Path, default=None, help="write to this folder, not S3")
    parser.add_argument("--test-size", type=float, default=0.2, help="held-out share (0.2)")
    parser.add_argument("--seed", type=int, default=0, help="split and CV seed (0)")
    parser.add_argument("--cv", type=int, default=5, help="CV folds for C (5)")
    parser.add_argument(
        "--min-per-class", type=int, default=MIN_PER_CLASS, help="texts per label at least"
    )
    parser.add_argument(
        "--max-onnx-diff", type=float, default=None, help="ONNX vs sklearn/torch tolerance"
    )
    parser.add_argument(
        "--evaluation-source",
        choices=("domain", "reference"),
        default=None,
        help="what the held-out set is: domain (the user's own texts; the default with "
        "--data) or reference (the default without --data)",
    )
    tuning = parser.add_argument_group("fine-tuning (--fine-tune)")
    tuning.add_argument(
        "--epochs", type=int, default=DEFAULT_EPOCHS, help=f"at most this many ({DEFAULT_EPOCHS})"
    )
    tuning.add_argument(
        "--max-length",
        type=int,
        default=DEFAULT_MAX_LENGTH,
        help=f"word pieces per text ({DEFAULT_MAX_LENGTH})",
    )
    tuning.add_argument(
        "--learning-rate",
        type=float,
        default=DEFAULT_LEARNING_RATE,
        help=f"encoder rate ({DEFAULT_LEARNING_RATE:g})",
    )
    tuning.add_argument(
        "--head-learning-rate",
        type=float,
        default=DEFAULT_HEAD_LEARNING_RATE,
        help=f"new head's rate ({DEFAULT_HEAD_LEARNING_RATE:g})",
    )
    tuning.add_argument("--batch-size", type=int, default=32, help="texts per step (32)")
    tuning.add_argument("--patience", type=int, default=2, help="epochs without gain (2)")
    tuning.add_argument("--max-steps", type=int, default=None, help="stop after N steps")
    tuning.add_argument(
        "--validation-size", type=float, default=0.1, help="share of the rest (0.1)"
    )
    tuning.add_argument(
        "--precision",
        choices=("auto", "int8", "fp32"),
        default="auto",
        help="auto: int8 when it keeps validation accuracy within 0.5 point",
    )
    tuning.add_argument(
        "--base-model", type=Path, default=None, help="a transformers folder (default MiniLM)"
    )
    tuning.add_argument(
        "--extra-data",
        default=None,
        help="more labelled texts for training only (same --format/--labels), e.g. PhraseBank "
        "AllAgree beside 50Agree; sentences held out or in validation are dropped first",
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    needs_aws = (
        args.out is None or args.data is None or (args.encoder_dir is None and not args.fine_tune)
    )
    if needs_aws:
        settings = settings or Settings.from_env()
        if s3 is None:
            s3 = s3_client(settings)
    steps = 5
    try:
        source = args.data or f"s3://{settings.bucket if settings else ''}/{DEFAULT_DATA_KEY}"
        print(f"[1/{steps}] reading {source}", flush=True)
        texts, labels = load_labelled(
            source, s3=s3, format=args.format, labels=args.labels, encoding=args.encoding
        )
        print(f"      {len(texts)} texts: {dict(sorted(Counter(labels).items()))}", flush=True)
        if args.fine_tune:
            return _fine_tune(args, texts, labels, source, settings, s3)
        if args.extra_data is not None:
            raise TrainingDataError("--extra-data is for --fine-tune only")
        print(f"[2/{steps}] loading the text encoder", flush=True)
        if args.encoder_dir is not None:
            encoder, encoder_ref = _encoder_from_dir(args.encoder_dir)
        else:
            assert settings is not None
            encoder, encoder_ref = _production_encoder(settings, s3, tables)
        print(f"      {encoder_ref['name']} {encoder_ref['version']}", flush=True)
        print(
            f"[3/{steps}] embedding and fitting (held out {args.test_size:.0%}, seed {args.seed})",
            flush=True,
        )
        training = train_sentiment(
            texts,
            labels,
            encoder,
            test_size=args.test_size,
            random_state=args.seed,
            cv=args.cv,
            min_per_class=args.min_per_class,
            progress=lambda line: print(line, flush=True),
        )
    except LearnloopError as exc:
        print(f"sentiment: {exc.message}", file=sys.stderr)
        return 1
    m = training.metrics
    print(
        f"      accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} (majority "
        f"{m['majority_accuracy']:.4f} / {m['majority_macro_f1']:.4f}); C {m['C']:g}; "
        f"embed {training.embed_seconds:.1f} s, fit {training.fit_seconds:.1f} s"
    )
    print(f"[4/5] ONNX vs scikit-learn: max |diff| {m['onnx_max_abs_diff']:.2e}")
    max_diff = MAX_ONNX_DIFF if args.max_onnx_diff is None else args.max_onnx_diff
    if not m["onnx_max_abs_diff"] <= max_diff:
        print(f"ONNX differs by more than {max_diff}: not published", file=sys.stderr)
        return 2
    evaluation = None
    if args.out is None:
        assert settings is not None
        kind = args.evaluation_source or ("domain" if args.data else "reference")
        evaluation = write_evaluation_set(
            s3, settings.bucket, args.name, training, encoder_ref, source=kind
        )
    files, manifest = build_artifact(
        training,
        encoder_ref,
        name=args.name,
        version=args.version,
        data_source=source,
        evaluation=evaluation,
    )
    return _publish(args, files, manifest, settings, s3)


def _fine_tune(
    args: argparse.Namespace,
    texts: list[str],
    labels: list[str],
    source: str,
    settings: Settings | None,
    s3: Any,
) -> int:
    """``--fine-tune``: steps 2-5 of :func:`main` (raises LearnloopError for exit 1)."""
    from training_jobs.sentiment.fine_tune import FineTuneError
    from training_jobs.sentiment.tuned import (
        MAX_ONNX_DIFF as MAX_TORCH_DIFF,
    )
    from training_jobs.sentiment.tuned import (
        build_fine_tuned_artifact,
        train_fine_tuned,
        write_text_evaluation_set,
    )

    _check_counts(labels, args.min_per_class)
    try:
        import torch  # noqa: F401  (the sentiment image holds the learn extra only)
    except ImportError:
        raise TrainingDataError(
            "--fine-tune needs torch: pip install -e '.[train]' (the sentiment container "
            "image holds the learn extra only; run it where the train extra is)"
        ) from None
    print(
        f"[2/5] fine-tuning all-MiniLM-L6-v2 + head (at most {args.epochs} epochs, max length "
        f"{args.max_length}, held out {args.test_size:.0%}, seed {args.seed})",
        flush=True,
    )
    precision = {"auto": None, "int8": True, "fp32": False}[args.precision]
    extra_texts: list[str] = []
    extra_labels: list[str] = []
    if args.extra_data is not None:
        extra_texts, extra_labels = load_labelled(
            args.extra_data, s3=s3, format=args.format, labels=args.labels, encoding=args.encoding
        )
        print(f"      {len(extra_texts)} extra texts from {args.extra_data}", flush=True)
    try:
        training = train_fine_tuned(
            texts,
            labels,
            test_size=args.test_size,
            validation_size=args.validation_size,
            random_state=args.seed,
            max_onnx_diff=MAX_TORCH_DIFF if args.max_onnx_diff is None else args.max_onnx_diff,
            quantized=precision,
            progress=lambda line: print(line, flush=True),
            base_model=args.base_model,
            max_length=args.max_length,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            head_learning_rate=args.head_learning_rate,
            patience=args.patience,
            max_steps=args.max_steps,
            extra_texts=extra_texts,
            extra_labels=extra_labels,
        )
    except FineTuneError as exc:
        if "differs from torch" in exc.message:
            print(f"sentiment: {exc.message}: not published", file=sys.stderr)
            return 2
        raise
    m = training.metrics
    print(
        f"[3/5] held out: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} "
        f"(majority {m['majority_accuracy']:.4f} / {m['majority_macro_f1']:.4f}); "
        f"trained {training.train_seconds:.0f} s, best epoch {training.tuned.best_epoch}",
        flush=True,
    )
    print(
        f"[4/5] ONNX vs torch: max |diff| {m['onnx_max_abs_diff']:.2e}; serving "
        f"{training.precision}",
        flush=True,
    )
    evaluation = None
    if args.out is None:
        assert settings is not None
        kind = args.evaluation_source or ("domain" if args.data else "reference")
        evaluation = write_text_evaluation_set(
            s3, settings.bucket, args.name, training, source=kind
        )
    files, manifest = build_fine_tuned_artifact(
        training,
        name=args.name,
        version=args.version,
        data_source=source,
        evaluation=evaluation,
    )
    return _publish(args, files, manifest, settings, s3)


def _check_counts(labels: Sequence[str], min_per_class: int) -> None:
    counts = Counter(labels)
    short = {label: counts[label] for label in LABELS if counts[label] < min_per_class}
    if short:
        raise NotEnoughLabelledDataError(
            f"need at least {min_per_class} labelled texts of each of {', '.join(LABELS)}; "
            f"got {', '.join(f'{label} {counts.get(label, 0)}' for label in LABELS)}",
            details=[
                {"field": f"label.{label}", "message": f"{n} of at least {min_per_class}"}
                for label, n in short.items()
            ],
        )


def _publish(
    args: argparse.Namespace,
    files: dict[str, bytes],
    manifest: dict[str, Any],
    settings: Settings | None,
    s3: Any,
) -> int:
    if args.out is not None:
        written = write_artifact_dir(args.out, files, manifest)
        print(f"[5/5] wrote {', '.join(written)} to {args.out}")
        return 0
    assert settings is not None
    keys = write_artifact(s3, settings.bucket, args.name, manifest["version"], files, manifest)
    print(f"[5/5] published s3://{settings.bucket}/{keys[-1]}")
    return 0


def _encoder_from_dir(folder: Path) -> tuple[TextEncoder, dict[str, Any]]:
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        # Serving loads the encoder version the manifest names; without one it could not.
        raise TrainingDataError(f"{folder} has no manifest.json naming the encoder's version")
    manifest = json.loads(manifest_path.read_text())
    encoder = TextEncoder.from_directory(folder)
    return encoder, {
        "name": str(manifest.get("name", TEXT_ENCODER_MODEL)),
        "version": str(manifest.get("version", "")),
        "sha256": sha256_hex((folder / MODEL_FILE).read_bytes()),
    }


def _production_encoder(
    settings: Settings, s3: Any, tables: Any
) -> tuple[TextEncoder, dict[str, Any]]:
    loader = S3ArtifactLoader(tables or Tables(settings), s3)
    ref = loader.production(TEXT_ENCODER_MODEL)
    if ref is None:
        raise NoProductionModelError(
            "the frozen-encoder head needs a production text_encoder: run `learnloop train "
            "text_encoder` first (torch, ~1.3 GB of memory) or pass --encoder-dir; or train "
            "with --fine-tune, which needs none"
        )
    manifest, files = loader.read_artifact(ref, only=(MODEL_FILE, TOKENIZER_FILE))
    encoder = TextEncoder.from_files(files, manifest)
    return encoder, {
        "name": ref.name,
        "version": ref.version,
        "sha256": manifest["files"][MODEL_FILE]["sha256"],
    }

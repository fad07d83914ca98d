"""Labelled texts for the sentiment jobs (contract D): JSON Lines, CSV or PhraseBank lines.

The readers live in the runtime library (:mod:`learnloop.sentiment.labelled`, which the
upload route uses too); here they raise :class:`~training_jobs.exceptions.TrainingDataError`
and read from a path or S3.

Examples
--------
>>> parse_label("Positive"), parse_label(-1), parse_label("0")
('positive', 'negative', 'neutral')
>>> parse_label("0", {"0": "negative"})
'negative'
>>> read_labelled(b'{"text": "coin up", "label": "pos"}\\n', "train.jsonl")
(['coin up'], ['positive'])
>>> read_labelled(b"label,text\\nneg,coin down\\n", "train.csv")
(['coin down'], ['negative'])
>>> read_labelled(b"Sales fell\\xa0sharply@negative\\n", "Sentences_50Agree.txt")  # latin-1
(['Sales fell\\xa0sharply'], ['negative'])
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from learnloop.sentiment import labelled
from learnloop.sentiment.labelled import FORMATS, LABELLED_KEY, LABELS, MAX_TEXT_CHARS
from training_jobs.exceptions import TrainingDataError

__all__ = [
    "DEFAULT_DATA_KEY",
    "FORMATS",
    "LABELS",
    "MAX_TEXT_CHARS",
    "load_labelled",
    "parse_label",
    "read_labelled",
]

#: Where the job looks when no ``--data`` is given (``PUT /v1/admin/labelled/sentiment`` and
#: ``learnloop sentiment import`` write there).
DEFAULT_DATA_KEY = LABELLED_KEY
LabelSpec = str | Mapping[str, Any] | None


def parse_label(value: Any, label_map: Mapping[str, str] | None = None) -> str:
    """The canonical label of ``value`` (see :func:`learnloop.sentiment.labelled.parse_label`).

    Raises
    ------
    TrainingDataError
        When ``value`` names no label (booleans and floats included).
    """
    try:
        return labelled.parse_label(value, label_map)
    except labelled.LabelledDataError as exc:
        raise TrainingDataError(exc.message) from None


def read_labelled(
    data: bytes,
    name: str,
    *,
    format: str | None = None,
    labels: LabelSpec = None,
    encoding: str | None = None,
) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from a file's bytes (see
    :func:`learnloop.sentiment.labelled.read_labelled`).

    Raises
    ------
    TrainingDataError
        On an unknown format, a bad line, or an unknown label (the line number is named).
    """
    try:
        return labelled.read_labelled(data, name, format=format, labels=labels, encoding=encoding)
    except labelled.LabelledDataError as exc:
        raise TrainingDataError(exc.message) from None


def load_labelled(
    source: str | Path,
    *,
    s3: Any = None,
    bucket: str | None = None,
    format: str | None = None,
    labels: LabelSpec = None,
    encoding: str | None = None,
) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from a local path, ``s3://bucket/key``, or (``source`` being a
    key and ``bucket`` given) a key of the stage's bucket.

    Raises
    ------
    TrainingDataError
        When the file cannot be read, or :func:`read_labelled` refuses it.

    Examples
    --------
    >>> load_labelled("Sentences_50Agree.txt", format="phrasebank")  # doctest: +SKIP
    (['According to Gran , the company has no plans ...', ...], ['neutral', ...])
    """
    options: dict[str, Any] = {"format": format, "labels": labels, "encoding": encoding}
    text = str(source)
    if text.startswith("s3://"):
        bucket, _, key = text[len("s3://") :].partition("/")
        return read_labelled(_s3_bytes(s3, bucket, key), key, **options)
    path = Path(source)
    if bucket is not None and not path.exists():
        return read_labelled(_s3_bytes(s3, bucket, text), text, **options)
    try:
        return read_labelled(path.read_bytes(), path.name, **options)
    except OSError as exc:
        raise TrainingDataError(f"cannot read {path}: {exc}") from exc


def _s3_bytes(s3: Any, bucket: str, key: str) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    if s3 is None or not bucket or not key:
        raise TrainingDataError(f"cannot read s3://{bucket}/{key}: no S3 client, bucket or key")
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if key == DEFAULT_DATA_KEY and exc.response.get("Error", {}).get("Code") in (
            "NoSuchKey",
            "404",
        ):
            raise TrainingDataError(
                f"no labelled texts at s3://{bucket}/{key} yet: upload some with `learnloop "
                "sentiment import FILE` (or PUT /v1/admin/labelled/sentiment), or pass --data"
            ) from exc
        raise TrainingDataError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise TrainingDataError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    return body

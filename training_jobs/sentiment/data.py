"""Labelled texts for the sentiment job (contract D): JSON Lines or CSV of ``text`` and ``label``.

JSON Lines (``.jsonl``, ``.ndjson``): one object per line, ``{"text": str, "label": ...}``;
blank lines are skipped, other keys ignored. CSV (``.csv``): a header row naming ``text`` and
``label`` columns (any order, others ignored). Either is UTF-8 (a BOM is allowed).

A label is one of :data:`LABELS` in any case, an abbreviation (``neg``, ``neu``, ``pos``) or
the polarity ``-1``, ``0``, ``1`` (an int or its string).

Examples
--------
>>> parse_label("Positive"), parse_label(-1), parse_label("0")
('positive', 'negative', 'neutral')
>>> read_labelled(b'{"text": "coin up", "label": "pos"}\\n', "train.jsonl")
(['coin up'], ['positive'])
>>> read_labelled(b"label,text\\nneg,coin down\\n", "train.csv")
(['coin down'], ['negative'])
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from training_jobs.exceptions import TrainingDataError

__all__ = [
    "DEFAULT_DATA_KEY",
    "LABELS",
    "MAX_TEXT_CHARS",
    "load_labelled",
    "parse_label",
    "read_labelled",
]

#: The classes, in the order the artifact lists them (scikit-learn's sorted class order).
LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
#: Where the scheduled job looks when no ``--data`` is given: the stage's bucket, under the
#: ``exports/`` prefix a training task may read (the two-tower reader skips non-date folders).
DEFAULT_DATA_KEY = "exports/labelled/sentiment.jsonl"
#: The serving route's limit; longer training texts are refused so both sides see alike texts.
MAX_TEXT_CHARS = 2000
_ALIASES = {
    **{label: label for label in LABELS},
    "neg": "negative",
    "neu": "neutral",
    "pos": "positive",
    "-1": "negative",
    "0": "neutral",
    "1": "positive",
    "+1": "positive",
}
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_CSV_SUFFIXES = (".csv",)


def parse_label(value: Any) -> str:
    """The canonical label of ``value`` (see the module docstring for what is accepted).

    Raises
    ------
    TrainingDataError
        When ``value`` names no label (booleans and floats included).

    Examples
    --------
    >>> parse_label(" NEU ")
    'neutral'
    >>> parse_label("meh")
    Traceback (most recent call last):
    training_jobs.exceptions.TrainingDataError: unknown label 'meh'; ...
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TrainingDataError(f"unknown label {value!r}; use one of {', '.join(LABELS)}")
    label = _ALIASES.get(str(value).strip().lower())
    if label is None:
        raise TrainingDataError(
            f"unknown label {value!r}; use one of {', '.join(LABELS)} (or neg/neu/pos, -1/0/1)"
        )
    return label


def read_labelled(data: bytes, name: str) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from a file's bytes; ``name``'s suffix picks JSON Lines or CSV.

    Raises
    ------
    TrainingDataError
        On an unknown suffix, a line that is not an object, a missing or non-string text, a
        text over :data:`MAX_TEXT_CHARS`, or an unknown label (the line number is named).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"{name} is not UTF-8: {exc}") from exc
    suffix = Path(name).suffix.lower()
    if suffix in _JSONL_SUFFIXES:
        rows = _jsonl_rows(text, name)
    elif suffix in _CSV_SUFFIXES:
        rows = _csv_rows(text, name)
    else:
        raise TrainingDataError(
            f"{name}: expected a .jsonl, .ndjson or .csv file of text and label"
        )
    texts: list[str] = []
    labels: list[str] = []
    for line, row in rows:
        where = f"{name} line {line}"
        value = row.get("text")
        if not isinstance(value, str) or not value.strip():
            raise TrainingDataError(f"{where}: text is missing or not a non-empty string")
        if len(value) > MAX_TEXT_CHARS:
            raise TrainingDataError(f"{where}: text is over {MAX_TEXT_CHARS} characters")
        try:
            labels.append(parse_label(row.get("label")))
        except TrainingDataError as exc:
            raise TrainingDataError(f"{where}: {exc.message}") from None
        texts.append(value)
    return texts, labels


def load_labelled(
    source: str | Path, *, s3: Any = None, bucket: str | None = None
) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from a local path, ``s3://bucket/key``, or (``source`` being a
    key and ``bucket`` given) a key of the stage's bucket.

    Raises
    ------
    TrainingDataError
        When the file cannot be read, or :func:`read_labelled` refuses it.

    Examples
    --------
    >>> load_labelled("s3://learnloop-dev/exports/labelled/sentiment.jsonl", s3=s3)
    ... # doctest: +SKIP
    (['Shares rose 5 %', ...], ['positive', ...])
    """
    text = str(source)
    if text.startswith("s3://"):
        bucket, _, key = text[len("s3://") :].partition("/")
        return read_labelled(_s3_bytes(s3, bucket, key), key)
    path = Path(source)
    if bucket is not None and not path.exists():
        return read_labelled(_s3_bytes(s3, bucket, text), text)
    try:
        return read_labelled(path.read_bytes(), path.name)
    except OSError as exc:
        raise TrainingDataError(f"cannot read {path}: {exc}") from exc


def _s3_bytes(s3: Any, bucket: str, key: str) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    if s3 is None or not bucket or not key:
        raise TrainingDataError(f"cannot read s3://{bucket}/{key}: no S3 client, bucket or key")
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except (BotoCoreError, ClientError) as exc:
        raise TrainingDataError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    return body


def _jsonl_rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"{name} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise TrainingDataError(f"{name} line {number}: not a JSON object")
        rows.append((number, row))
    return rows


def _csv_rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = set(reader.fieldnames or [])
    if not {"text", "label"} <= columns:
        raise TrainingDataError(f"{name}: the header must name text and label columns")
    # The header is line 1; DictReader counts physical lines, so quoted newlines stay right.
    return [(reader.line_num, dict(row)) for row in reader]

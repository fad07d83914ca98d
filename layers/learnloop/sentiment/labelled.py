"""Labelled texts for the sentiment jobs (contract D): reading files, label maps, uploading.

Three file formats, picked by ``format`` or by the file's suffix:

``jsonl`` (``.jsonl``, ``.ndjson``)
    One object per line, ``{"text": str, "label": ...}``; blank lines skipped, other keys
    ignored.
``csv`` (``.csv``)
    A header row naming ``text`` and ``label`` columns (any order, others ignored).
``phrasebank`` (``.txt``)
    Financial PhraseBank's ``sentence@label`` lines (the last ``@`` splits).

Files are read as UTF-8 (a BOM allowed) and, when they are not UTF-8, as latin-1 — the
encoding Financial PhraseBank is published in — unless ``encoding`` says otherwise.

A label is one of :data:`LABELS` in any case or an abbreviation (``neg``, ``neu``, ``pos``);
numbers are read through a label map when one is given (``0=negative,1=positive,2=neutral``:
datasets code classes differently) and as the polarity ``-1``, ``0``, ``1`` otherwise.

``PUT /v1/admin/labelled/sentiment`` (:func:`put_labelled`) stores rows at
:data:`LABELLED_KEY`, where ``learnloop train sentiment`` reads by default.

Examples
--------
>>> read_labelled(b"Sales rose@positive\\nSales fell@negative\\n", "s.txt")
(['Sales rose', 'Sales fell'], ['positive', 'negative'])
>>> read_labelled(b"text,label\\ncoin up,2\\n", "t.csv", labels="0=negative,1=neutral,2=positive")
(['coin up'], ['positive'])
>>> parse_label("1"), parse_label("1", {"1": "neutral"})
('positive', 'neutral')
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from learnloop.exceptions import ValidationError
from learnloop.validation import Strict, validate

__all__ = [
    "FORMATS",
    "LABELLED_KEY",
    "LABELS",
    "MAX_ROWS_PER_PUT",
    "MAX_TEXT_CHARS",
    "LabelledDataError",
    "LabelledIn",
    "format_of",
    "parse_label",
    "parse_label_map",
    "put_labelled",
    "read_labelled",
    "to_jsonl",
]

#: The classes, in the order the artifacts list them.
LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
#: Where the sentiment jobs read by default and the upload route writes: the stage's bucket,
#: under the ``exports/`` prefix a training task may read.
LABELLED_KEY = "exports/labelled/sentiment.jsonl"
#: The serving route's limit; longer training texts are refused so both sides see alike texts.
MAX_TEXT_CHARS = 2000
#: Rows one upload request may carry (a bigger file goes in several appends).
MAX_ROWS_PER_PUT = 5000
FORMATS = ("jsonl", "csv", "phrasebank")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "phrasebank"}
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


class LabelledDataError(ValidationError):
    """Labelled data that cannot be read: an unknown label or format, a bad line (422)."""

    code = "labelled_data_error"


def parse_label(value: Any, label_map: Mapping[str, str] | None = None) -> str:
    """The canonical label of ``value``; ``label_map`` (``{"0": "negative", ...}``) first.

    Raises
    ------
    LabelledDataError
        When ``value`` names no label (booleans and floats included).

    Examples
    --------
    >>> parse_label(" NEU ")
    'neutral'
    >>> parse_label("meh")
    Traceback (most recent call last):
    learnloop.sentiment.labelled.LabelledDataError: unknown label 'meh'; ...
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LabelledDataError(f"unknown label {value!r}; use one of {', '.join(LABELS)}")
    key = str(value).strip().lower()
    if label_map and key in label_map:
        return label_map[key]
    label = _ALIASES.get(key)
    if label is None:
        raise LabelledDataError(
            f"unknown label {value!r}; use one of {', '.join(LABELS)} (or neg/neu/pos, -1/0/1, "
            "or give a label map such as 0=negative,1=positive,2=neutral)"
        )
    return label


def parse_label_map(spec: str | Mapping[str, Any] | None) -> dict[str, str]:
    """``"0=negative,1=positive,2=neutral"`` (or a mapping) → ``{"0": "negative", ...}``.

    Raises
    ------
    LabelledDataError
        A pair without ``=``, or a value that is no label.

    Examples
    --------
    >>> parse_label_map("0=negative, 1=positive,2=Neutral")
    {'0': 'negative', '1': 'positive', '2': 'neutral'}
    """
    if not spec:
        return {}
    pairs: list[tuple[Any, Any]]
    if isinstance(spec, Mapping):
        pairs = list(spec.items())
    else:
        pairs = []
        for part in str(spec).split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise LabelledDataError(
                    f"label map entry {part.strip()!r} is not KEY=LABEL",
                    details=[{"field": "labels", "message": f"{part.strip()!r} is not KEY=LABEL"}],
                )
            pairs.append((key, value))
    result = {}
    for key, value in pairs:
        try:
            result[str(key).strip().lower()] = parse_label(value)
        except LabelledDataError:
            raise LabelledDataError(
                f"label map: {value!r} is not one of {', '.join(LABELS)}",
                details=[{"field": f"labels.{key}", "message": f"{value!r} is not a label"}],
            ) from None
    return result


def format_of(name: str, format: str | None = None) -> str:
    """The file format: ``format`` when given, else by ``name``'s suffix.

    Examples
    --------
    >>> format_of("Sentences_50Agree.txt"), format_of("x.data", "csv")
    ('phrasebank', 'csv')
    """
    if format:
        if format not in FORMATS:
            raise LabelledDataError(f"format {format!r} is not one of {', '.join(FORMATS)}")
        return format
    found = _SUFFIXES.get(Path(name).suffix.lower())
    if found is None:
        raise LabelledDataError(
            f"{name}: expected a .jsonl, .ndjson, .csv or .txt (sentence@label) file, or name "
            f"the format ({', '.join(FORMATS)})"
        )
    return found


def read_labelled(
    data: bytes,
    name: str,
    *,
    format: str | None = None,
    labels: str | Mapping[str, Any] | None = None,
    encoding: str | None = None,
) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` from a file's bytes.

    Parameters
    ----------
    data : bytes
    name : str
        The file's name (its suffix picks the format when ``format`` is None; errors name it).
    format : {"jsonl", "csv", "phrasebank"}, optional
    labels : str or mapping, optional
        A label map (see :func:`parse_label_map`).
    encoding : str, optional
        Default: UTF-8, else latin-1.

    Raises
    ------
    LabelledDataError
        On an unknown format, a bad line, a missing or over-long text, or an unknown label
        (the line number is named).
    """
    kind = format_of(name, format)
    label_map = parse_label_map(labels)
    text = _decode(data, name, encoding)
    if kind == "jsonl":
        rows = _jsonl_rows(text, name)
    elif kind == "csv":
        rows = _csv_rows(text, name)
    else:
        rows = _phrasebank_rows(text, name)
    texts: list[str] = []
    out: list[str] = []
    for line, row in rows:
        where = f"{name} line {line}"
        value = row.get("text")
        if not isinstance(value, str) or not value.strip():
            raise LabelledDataError(f"{where}: text is missing or not a non-empty string")
        if len(value) > MAX_TEXT_CHARS:
            raise LabelledDataError(f"{where}: text is over {MAX_TEXT_CHARS} characters")
        try:
            out.append(parse_label(row.get("label"), label_map))
        except LabelledDataError as exc:
            raise LabelledDataError(f"{where}: {exc.message}") from None
        texts.append(value)
    return texts, out


def to_jsonl(texts: list[str], labels: list[str]) -> bytes:
    """The JSON Lines form the jobs read (one ``{"text", "label"}`` per line; non-ASCII as
    ``\\u`` escapes, so even a lone surrogate a JSON body can carry is stored)."""
    return "".join(
        json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels, strict=True)
    ).encode("utf-8")


# --- the upload route ----------------------------------------------------------------------------


class LabelledRow(Strict):
    """One labelled text."""

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    label: str | int


class LabelledIn(Strict):
    """``{"rows": [{"text", "label"}, ...], "labels": {"0": "negative", ...}, "mode"}``:
    1 to 5,000 rows; ``mode`` ``append`` (default: rows already stored are not stored twice)
    or ``replace``."""

    rows: list[LabelledRow] = Field(min_length=1, max_length=MAX_ROWS_PER_PUT)
    labels: dict[str, str] | None = None
    mode: Literal["append", "replace"] = "append"


def put_labelled(s3: Any, bucket: str, body: Any) -> dict[str, Any]:
    """Store labelled rows at :data:`LABELLED_KEY` (``PUT /v1/admin/labelled/sentiment``).

    Appending a row already stored (same text and label) stores nothing, so a retried request
    changes nothing.

    Returns
    -------
    dict
        ``{"key", "rows" (stored now), "added", "label_counts"}``.

    Raises
    ------
    ValidationError
        A bad body (422 naming ``rows[i].label`` for an unknown label).

    Examples
    --------
    >>> put_labelled(s3, "learnloop-dev", {"rows": [{"text": "rekt", "label": "neg"}]})
    ... # doctest: +SKIP
    {'key': 'exports/labelled/sentiment.jsonl', 'rows': 1, 'added': 1,
     'label_counts': {'negative': 1, 'neutral': 0, 'positive': 0}}
    """
    request = validate(LabelledIn, body)
    label_map = parse_label_map(request.labels)
    texts: list[str] = []
    labels: list[str] = []
    bad = []
    for i, row in enumerate(request.rows):
        try:
            labels.append(parse_label(row.label, label_map))
            texts.append(row.text)
        except LabelledDataError as exc:
            bad.append({"field": f"rows[{i}].label", "message": exc.message})
    if bad:
        raise LabelledDataError(f"{len(bad)} rows have an unknown label", details=bad[:20])
    stored: list[tuple[str, str]] = []
    if request.mode == "append":
        current = _stored(s3, bucket)
        if current is not None:
            stored = list(zip(*read_labelled(current, LABELLED_KEY), strict=True))
    seen = set(stored)
    added = 0
    for pair in zip(texts, labels, strict=True):
        if pair not in seen:
            seen.add(pair)
            stored.append(pair)
            added += 1
    all_texts = [t for t, _ in stored]
    all_labels = [y for _, y in stored]
    s3.put_object(
        Bucket=bucket,
        Key=LABELLED_KEY,
        Body=to_jsonl(all_texts, all_labels),
        ContentType="application/x-ndjson",
    )
    counts = Counter(all_labels)
    return {
        "key": LABELLED_KEY,
        "rows": len(stored),
        "added": added,
        "label_counts": {label: counts[label] for label in LABELS},
    }


def _stored(s3: Any, bucket: str) -> bytes | None:
    from botocore.exceptions import ClientError

    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=LABELLED_KEY)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return body


# --- readers -------------------------------------------------------------------------------------


def _decode(data: bytes, name: str, encoding: str | None) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise LabelledDataError(f"{name} is not {encoding}: {exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # every byte is latin-1; Financial PhraseBank is published in it
        return data.decode("latin-1")


def _jsonl_rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelledDataError(f"{name} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise LabelledDataError(f"{name} line {number}: not a JSON object")
        rows.append((number, row))
    return rows


def _csv_rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = set(reader.fieldnames or [])
    if not {"text", "label"} <= columns:
        raise LabelledDataError(f"{name}: the header must name text and label columns")
    # The header is line 1; DictReader counts physical lines, so quoted newlines stay right.
    return [(reader.line_num, dict(row)) for row in reader]


def _phrasebank_rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        sentence, sep, label = line.rpartition("@")
        if not sep:
            raise LabelledDataError(f"{name} line {number}: no '@' before the label")
        rows.append((number, {"text": sentence.strip(), "label": label.strip()}))
    return rows

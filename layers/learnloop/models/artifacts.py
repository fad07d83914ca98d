"""Model artifacts: ONNX export, the manifest, and the S3 layout the registry watches.

A model version lives under ``models/{name}/{version}/``: its files (``model.onnx`` and any
extras) and ``manifest.json``, which records the sha256 of every file, the feature names in
order, metrics, training window, row count and library versions. ``manifest.json`` is written
last: its arrival triggers registration, so every file it names already exists by then.

Nothing here imports numpy, onnxruntime or scikit-learn: converting a fitted estimator to ONNX
is :mod:`learnloop.models.conversion` (training only).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from learnloop.exceptions import ValidationError

MANIFEST_FILE = "manifest.json"
MODEL_FILE = "model.onnx"
#: A predictor's recipe fit on the rows before its hold-out: the model its metrics describe.
VALIDATION_FILE = "validation.onnx"
#: A predictor's training rows as its inputs (``X``) and ``decision_id``s, no pickle: the drift
#: check's reference distribution, read from the artifact rather than the tables again.
REFERENCE_FILE = "reference.npz"
INPUT_NAME = "features"
# onnxruntime 1.16 (the oldest `serve` allows) reads IR <= 9 and default-domain opset <= 19;
# 17 keeps a margin and covers every operator the linear models need.
TARGET_OPSET = 17
ML_OPSET = 3
MAX_IR_VERSION = 9
_LIBRARIES = ("numpy", "scikit-learn", "skl2onnx", "onnx", "onnxruntime")
_VERSION_FORMAT = "%Y%m%dT%H%M%SZ"
_VERSION_RE = re.compile(r"^\d{8}T\d{6}Z$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def new_version(now: datetime | None = None) -> str:
    """A model version: the UTC time as ``YYYYMMDDTHHMMSSZ`` (sorts in time order).

    Parameters
    ----------
    now : datetime, optional
        The time to format (naive is taken as UTC); defaults to the current time.

    Returns
    -------
    str
        E.g. ``"20261120T093000Z"``.

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> new_version(datetime(2026, 11, 20, 9, 30, 0, 123, tzinfo=timezone.utc))
    '20261120T093000Z'
    >>> new_version(datetime(2026, 11, 20, 10, 30, tzinfo=timezone(timedelta(hours=1))))
    '20261120T093000Z'
    """
    now = datetime.now(UTC) if now is None else now
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return now.strftime(_VERSION_FORMAT)


def sha256_hex(data: bytes) -> str:
    """The hex sha256 of ``data``, as the manifest records it.

    Examples
    --------
    >>> sha256_hex(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def build_manifest(
    name: str,
    version: str,
    files: Mapping[str, bytes],
    feature_names: Sequence[str],
    metrics: Mapping[str, float | None],
    window: tuple[datetime | str, datetime | str],
    rows: int,
    extra: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The ``manifest.json`` of a model version, JSON-ready.

    Parameters
    ----------
    name : str
        Model name (lowercase letters, digits, ``-`` and ``_``).
    version : str
        From :func:`new_version`.
    files : mapping of str to bytes
        File name (no directories; not ``manifest.json``) → content.
    feature_names : sequence of str
        The model's input columns, in order.
    metrics : mapping of str to float or None
        Validation metrics.
    window : (datetime or str, datetime or str)
        Earliest and latest timestamp of the training rows.
    rows : int
        Number of training rows.
    extra : mapping, optional
        Anything else worth keeping (hyperparameters, ...), stored under ``"extra"``.
    now : datetime, optional
        ``created_at``; defaults to the current time.

    Returns
    -------
    dict
        ``name``, ``version``, ``created_at``, ``feature_names``, ``metrics``,
        ``window`` (``start``, ``end``), ``rows``, ``files`` (name → ``sha256``, ``size``),
        ``libraries`` (installed versions of numpy, scikit-learn, skl2onnx, onnx, onnxruntime,
        and python) and ``extra``.

    Raises
    ------
    ValidationError
        On a bad name, version or file name.

    Examples
    --------
    >>> m = build_manifest("engagement", "20261120T093000Z", {"model.onnx": b"onnx"},
    ...                    ["quality_score"], {"r2": 0.4}, ("2026-11-01", "2026-11-19"), 120)
    >>> m["files"]["model.onnx"]["sha256"] == sha256_hex(b"onnx"), m["window"]["end"], m["rows"]
    (True, '2026-11-19', 120)
    """
    _check_name_and_version(name, version)
    _check_files(files)
    start, end = window
    return {
        "name": name,
        "version": version,
        "created_at": _iso(datetime.now(UTC) if now is None else now),
        "feature_names": list(feature_names),
        "metrics": dict(metrics),
        "window": {"start": _iso(start), "end": _iso(end)},
        "rows": int(rows),
        "files": {
            file: {"sha256": sha256_hex(content), "size": len(content)}
            for file, content in files.items()
        },
        "libraries": library_versions(),
        "extra": dict(extra or {}),
    }


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model depends on (absent ones are left out).

    Read from package metadata, so nothing heavy is imported.

    Examples
    --------
    >>> "python" in library_versions()
    True
    """
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def artifact_prefix(name: str, version: str) -> str:
    """The S3 key prefix of a model version.

    Examples
    --------
    >>> artifact_prefix("engagement", "20261120T093000Z")
    'models/engagement/20261120T093000Z/'
    """
    _check_name_and_version(name, version)
    return f"models/{name}/{version}/"


def write_artifact(
    s3_client: Any,
    bucket: str,
    name: str,
    version: str,
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
) -> list[str]:
    """Upload a model version's files, then its manifest last.

    Parameters
    ----------
    s3_client : boto3 S3 client
        Anything with ``put_object(Bucket=, Key=, Body=, ContentType=)``.
    bucket : str
        The stage's bucket.
    name, version : str
        Where the artifact goes: ``models/{name}/{version}/``.
    files : mapping of str to bytes
        File name → content; the same files the manifest was built from.
    manifest : mapping
        From :func:`build_manifest` for the same ``name``, ``version`` and ``files``.

    Returns
    -------
    list of str
        The keys written, in order; ``manifest.json`` is the last.

    Raises
    ------
    ValidationError
        When the manifest names another model or version, or its file list or sha256 values
        do not match ``files`` (so a registered manifest never points at missing or other
        bytes).

    Examples
    --------
    >>> class FakeS3:
    ...     def __init__(self): self.keys = []
    ...     def put_object(self, **kw): self.keys.append(kw["Key"])
    >>> files = {"model.onnx": b"onnx"}
    >>> m = build_manifest("engagement", "20261120T093000Z", files, ["q"], {}, ("a", "b"), 1)
    >>> write_artifact(FakeS3(), "bucket", "engagement", "20261120T093000Z", files, m)[-1]
    'models/engagement/20261120T093000Z/manifest.json'
    """
    prefix = artifact_prefix(name, version)
    _check_files(files)
    details: list[dict[str, Any]] = []
    if manifest.get("name") != name or manifest.get("version") != version:
        details.append({"field": "manifest", "message": "names another model or version"})
    recorded = manifest.get("files") or {}
    if set(recorded) != set(files):
        details.append({"field": "manifest.files", "message": "lists other files"})
    for file, content in files.items():
        if file in recorded and recorded[file].get("sha256") != sha256_hex(content):
            details.append({"field": f"manifest.files.{file}", "message": "sha256 differs"})
    if details:
        raise ValidationError("manifest does not match the artifact", details=details)
    written = []
    for file, content in files.items():
        key = prefix + file
        content_type = "application/octet-stream"
        if file.endswith(".json"):
            content_type = "application/json"
        s3_client.put_object(Bucket=bucket, Key=key, Body=content, ContentType=content_type)
        written.append(key)
    key = prefix + MANIFEST_FILE
    body = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
    s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    written.append(key)
    return written


def write_artifact_dir(
    out: Path, files: Mapping[str, bytes], manifest: Mapping[str, Any]
) -> list[str]:
    """Write a model version's files and its manifest (last) into the folder ``out``.

    What a training job's ``--out`` writes instead of publishing: the same bytes
    :func:`write_artifact` would upload. Returns the file names written.

    Examples
    --------
    >>> import tempfile
    >>> files = {"model.onnx": b"onnx"}
    >>> m = build_manifest("engagement", "20261120T093000Z", files, ["q"], {}, ("a", "b"), 1)
    >>> write_artifact_dir(Path(tempfile.mkdtemp()), files, m)
    ['model.onnx', 'manifest.json']
    """
    _check_files(files)
    out.mkdir(parents=True, exist_ok=True)
    for file, content in files.items():
        (out / file).write_bytes(content)
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return [*files, MANIFEST_FILE]


def _check_name_and_version(name: str, version: str) -> None:
    details = []
    if not isinstance(name, str) or not _NAME_RE.match(name):
        details.append({"field": "name", "message": "lowercase letters, digits, - and _"})
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        details.append({"field": "version", "message": "expected YYYYMMDDTHHMMSSZ"})
    if details:
        raise ValidationError(
            f"invalid model name or version: {name!r}, {version!r}", details=details
        )


def _check_files(files: Mapping[str, bytes]) -> None:
    details = []
    if not files:
        details.append({"field": "files", "message": "an artifact needs at least one file"})
    for file, content in files.items():
        if not isinstance(file, str) or not _FILE_RE.match(file) or file == MANIFEST_FILE:
            details.append({"field": f"files.{file}", "message": "not a plain file name"})
        elif not isinstance(content, bytes | bytearray):
            details.append({"field": f"files.{file}", "message": "content must be bytes"})
    if details:
        raise ValidationError("invalid artifact files", details=details)


def _iso(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

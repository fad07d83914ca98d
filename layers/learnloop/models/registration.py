"""Register a dropped model version: verify it, load it, compare it, maybe promote it.

A ``models/{name}/{version}/manifest.json`` arriving in the bucket (S3 → EventBridge "Object
Created") triggers :func:`register_model`, which

1. reads the manifest and checks its required fields;
2. verifies the sha256 of every file it names;
3. runs the checker of the artifact's kind (``extra.kind``, :mod:`learnloop.models.kinds`):
   by default it loads ``model.onnx`` with onnxruntime, checks its input against
   ``feature_names`` (count, and the names the model's metadata carries) and runs a smoke
   prediction on a zero row; ``two_tower`` and ``text_encoder`` artifacts load every file and
   run their towers / encoder on a smoke input;
4. scores the version and production on one common evaluation set and promotes the version
   when the policy allows it (``"not_worse"`` within a tolerance, with a maximum production
   age; ``"always"`` or ``"never"``; default ``settings.promotion_policy``): see
   :mod:`learnloop.models.promotion`. The comparison (set, sha256, both scores, the rule) is
   recorded on the version (``comparison``).

A version failing steps 1 to 3 is recorded as ``rejected``, one that passes but is not promoted as
``candidate``; either way with the reason on its record, and production never moves. Delivery
is at least once: the version item is written with a condition, and a drop whose manifest has
the sha256 already recorded returns the recorded outcome (``duplicate=True``).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError

from learnloop.clock import iso, utcnow
from learnloop.exceptions import ConflictError, NotFoundError, StoreError, ValidationError
from learnloop.models.artifacts import MANIFEST_FILE, sha256_hex
from learnloop.models.kinds import ArtifactRejectedError, ModelKind, kind_of
from learnloop.models.promotion import Decision, LoggedGate, decide, set_registered_set
from learnloop.models.registry import (
    CANDIDATE,
    PRODUCTION,
    REJECTED,
    ModelRegistry,
)
from learnloop.observability import logger
from learnloop.settings import PROMOTION_POLICIES
from learnloop.store.tables import Tables

#: Model name → (key metric, higher is better). Other models may name theirs in the manifest:
#: ``"key_metric": "mae"`` (higher is better) or ``{"name": "mae", "higher_is_better": false}``.
#: Without either, the kind's metric (:class:`learnloop.models.kinds.ModelKind`) decides.
KEY_METRICS: dict[str, tuple[str, bool]] = {
    "engagement": ("r2", True),
    "follow_through": ("auc", True),
    "two_tower": ("ndcg@10", True),
}
POLICIES = PROMOTION_POLICIES
REQUIRED_FIELDS = ("name", "version", "created_at", "feature_names", "metrics", "files")
REGISTRATION_ACTOR = "registration"
#: The reason a version carries between passing its checks and its promotion: a redelivery
#: that finds it finishes the promotion a crash interrupted.
PENDING_PROMOTION = "passed every check; promotion pending"
_MANIFEST_KEY_RE = re.compile(
    r"^models/(?P<name>[a-z0-9][a-z0-9_-]{0,62})/(?P<version>\d{8}T\d{6}Z)/manifest\.json$"
)
_MAX_REASON = 500


@dataclass(frozen=True)
class RegistrationResult:
    """What registering one dropped manifest decided.

    ``status`` is the version's status afterwards (``production``, ``candidate`` or
    ``rejected``); ``reason`` says why; ``duplicate`` is True when this manifest had been
    registered already and nothing was done again.
    """

    name: str
    version: str
    status: str
    reason: str | None
    key: str
    promoted: bool = False
    duplicate: bool = False
    manifest_sha256: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for logs and handler results."""
        return asdict(self)


class _Rejected(ArtifactRejectedError):
    """An integrity check failed (internal: becomes a ``rejected`` record)."""


def parse_manifest_key(key: str) -> tuple[str, str] | None:
    """``(name, version)`` of a ``models/{name}/{version}/manifest.json`` key, else None.

    Examples
    --------
    >>> parse_manifest_key("models/engagement/20261120T093000Z/manifest.json")
    ('engagement', '20261120T093000Z')
    >>> parse_manifest_key("models/engagement/20261120T093000Z/model.onnx") is None
    True
    """
    match = _MANIFEST_KEY_RE.match(key)
    return (match["name"], match["version"]) if match else None


def key_metric(name: str, manifest: Mapping[str, Any]) -> tuple[str, bool] | None:
    """The metric deciding promotion of ``name`` and whether higher is better, if any.

    Examples
    --------
    >>> key_metric("engagement", {})
    ('r2', True)
    >>> key_metric("churn", {"key_metric": {"name": "log_loss", "higher_is_better": False}})
    ('log_loss', False)
    >>> key_metric("churn", {}) is None
    True
    >>> key_metric("minilm", {"extra": {"kind": "text_encoder"}})
    ('cosine_min', True)
    """
    if name in KEY_METRICS:
        return KEY_METRICS[name]
    declared = manifest.get("key_metric")
    if isinstance(declared, str) and declared:
        return declared, True
    if isinstance(declared, Mapping) and isinstance(declared.get("name"), str):
        return declared["name"], bool(declared.get("higher_is_better", True))
    try:
        return kind_of(manifest).key_metric
    except ArtifactRejectedError:
        return None


def register_model(
    tables: Tables,
    s3: Any,
    *,
    bucket: str,
    key: str,
    now: datetime | None = None,
    policy: str | None = None,
    logged_gates: Mapping[str, LoggedGate] | None = None,
) -> RegistrationResult:
    """Register the model version whose manifest was dropped at ``key``.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    s3 : boto3 S3 client
        Reads the manifest and the files it names.
    bucket : str
        The stage's bucket.
    key : str
        ``models/{name}/{version}/manifest.json``.
    now : datetime, optional
        Time of the records written; defaults to UTC now.
    policy : {"not_worse", "always", "never"}, optional
        Promote when the version is not worse than production on the common evaluation set
        (or there is no production), after every check passes, or never (an admin promotes
        by hand). Defaults to ``settings.promotion_policy``.
    logged_gates : mapping of kind to callable, optional
        Valuations on the decision log by kind (``two_tower``: the recommender's off-policy
        gate, :func:`learnloop.recommender.gate.value_on_log`); see
        :mod:`learnloop.models.promotion`.

    Returns
    -------
    RegistrationResult
        The decision; ``duplicate`` when the same manifest had been registered already.

    Raises
    ------
    ValidationError
        ``key`` is not a manifest key, or ``policy`` is unknown.
    NotFoundError
        There is no object at ``key``.

    Examples
    --------
    >>> result = register_model(tables, s3, bucket="b",  # doctest: +SKIP
    ...                         key="models/engagement/20261120T093000Z/manifest.json")
    >>> result.status, result.promoted  # doctest: +SKIP
    ('production', True)
    """
    policy = policy or tables.settings.promotion_policy
    if policy not in POLICIES:
        raise ValidationError(
            f"unknown promotion policy {policy!r}",
            details=[{"field": "policy", "message": f"one of {', '.join(POLICIES)}"}],
        )
    parsed = parse_manifest_key(key)
    if parsed is None:
        raise ValidationError(
            f"{key!r} is not a model manifest",
            details=[{"field": "key", "message": "models/{name}/{version}/manifest.json"}],
        )
    name, version = parsed
    prefix = key[: -len(MANIFEST_FILE)]
    when = now or utcnow()
    moment = iso(when)
    registry = ModelRegistry(tables, clock=(lambda: now) if now else None)
    body = _read(s3, bucket, key)
    if body is None:
        raise NotFoundError(f"no manifest at s3://{bucket}/{key}")
    digest = sha256_hex(body)

    existing = _existing(tables, name, version)
    if existing is not None:
        return _redelivered(registry, existing, key, digest)

    manifest: dict[str, Any] = {}
    decision = Decision(REJECTED, "")
    try:
        manifest = _parse_manifest(body)
        kind = _check_fields(manifest, name, version)
        files = _verify_files(s3, bucket, prefix, manifest["files"])
        kind.check(files, manifest)
        decision = decide(
            tables,
            s3,
            bucket,
            name,
            version,
            manifest,
            files,
            policy=policy,
            metric=key_metric(name, manifest),
            now=when,
            read_files=lambda other, listed: _verify_files(s3, bucket, other, listed),
            logged_gate=(logged_gates or {}).get(kind.name),
        )
    except ArtifactRejectedError as rejected:
        decision = Decision(REJECTED, rejected.reason)
    status, reason, promote_reason = decision.status, decision.reason, decision.promote_reason
    metrics = manifest.get("metrics") if isinstance(manifest.get("metrics"), dict) else None
    record = tables.models(
        name,
        version,
        status=status,
        reason=(PENDING_PROMOTION if promote_reason else reason)[:_MAX_REASON],
        s3_prefix=prefix,
        metrics=metrics,
        manifest=manifest or None,
        manifest_sha256=digest,
        comparison=decision.comparison,
        actor=REGISTRATION_ACTOR,
        created_at=moment,
        updated_at=moment,
    )
    try:
        record.save(condition=tables.models.version.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise StoreError(f"could not record {name} {version}: {exc}") from exc
        # A concurrent delivery of the same drop won the race: report what it decided.
        existing = _existing(tables, name, version)
        if existing is None:  # pragma: no cover - the winner's item is there by definition
            raise StoreError(f"{name} {version} vanished while registering") from exc
        return _redelivered(registry, existing, key, digest)
    registry.remember_name(name)
    if decision.register_set is not None:
        set_registered_set(
            tables, name, decision.register_set, version=version, actor=REGISTRATION_ACTOR, now=when
        )
    result = RegistrationResult(
        name,
        version,
        status,
        reason,
        key,
        manifest_sha256=digest,
        metrics=metrics or {},
        comparison=decision.comparison,
    )
    if promote_reason:
        result = _promote(registry, result, promote_reason)
    logger.info("model registered", extra={"registration": result.to_dict()})
    return result


def on_s3_event(
    event: Mapping[str, Any],
    tables: Tables,
    s3: Any,
    bucket: str,
    *,
    policy: str | None = None,
    logged_gates: Mapping[str, LoggedGate] | None = None,
) -> list[RegistrationResult]:
    """Register the manifest an EventBridge "Object Created" event from S3 announces.

    Keys other than ``models/{name}/{version}/manifest.json`` and other buckets are ignored
    (an empty list).

    Examples
    --------
    >>> on_s3_event({"detail": {"bucket": {"name": "b"}, "object": {"key": "x.txt"}}},
    ...             tables=None, s3=None, bucket="b")
    []
    """
    detail = event.get("detail") or {}
    key = (detail.get("object") or {}).get("key")
    source_bucket = (detail.get("bucket") or {}).get("name", bucket)
    if not isinstance(key, str) or parse_manifest_key(key) is None:
        return []
    if source_bucket != bucket:
        logger.warning("manifest from another bucket ignored", extra={"bucket": source_bucket})
        return []
    return [
        register_model(tables, s3, bucket=bucket, key=key, policy=policy, logged_gates=logged_gates)
    ]


# --- checks --------------------------------------------------------------------------------------


def _read(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # botocore's ClientError; its class lives on the client
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return body


def _parse_manifest(body: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Rejected(f"manifest.json is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise _Rejected("manifest.json is not a JSON object")
    return manifest


def _check_fields(manifest: Mapping[str, Any], name: str, version: str) -> ModelKind:
    """The artifact's kind, once the manifest has every field that kind needs."""
    missing = [f for f in REQUIRED_FIELDS if manifest.get(f) in (None, "")]
    kind = kind_of(manifest)
    files = manifest.get("files")
    if isinstance(files, Mapping):
        missing += [
            f"files.{file}.sha256"
            for file, info in files.items()
            if not isinstance(info, Mapping) or not isinstance(info.get("sha256"), str)
        ]
        missing += [f"files.{file}" for file in kind.required_files if file not in files]
    elif "files" not in missing:
        missing.append("files")
    if missing:
        raise _Rejected(f"manifest is missing fields: {', '.join(missing)}")
    if manifest["name"] != name or manifest["version"] != version:
        raise _Rejected(
            f"manifest names {manifest['name']!r} {manifest['version']!r}, "
            f"but was dropped at {name!r} {version!r}"
        )
    names = manifest["feature_names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _Rejected("manifest feature_names is not a list of strings")
    if kind.needs_features and not names:
        raise _Rejected("manifest feature_names is not a non-empty list of strings")
    if not isinstance(manifest["metrics"], Mapping):
        raise _Rejected("manifest metrics is not an object")
    return kind


def _verify_files(
    s3: Any, bucket: str, prefix: str, files: Mapping[str, Mapping[str, Any]]
) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for file, info in sorted(files.items()):
        if "/" in file or file == MANIFEST_FILE:
            raise _Rejected(f"manifest lists {file!r}, which is not a plain file name")
        body = _read(s3, bucket, prefix + file)
        if body is None:
            raise _Rejected(f"{file} is missing from {prefix}")
        if sha256_hex(body) != info["sha256"]:
            raise _Rejected(f"sha256 mismatch: {file} does not match the manifest")
        contents[file] = body
    return contents


def _promote(
    registry: ModelRegistry, result: RegistrationResult, reason: str
) -> RegistrationResult:
    try:
        registry.promote(result.name, result.version, actor=REGISTRATION_ACTOR, reason=reason)
    except ConflictError as exc:
        # Production moved while we compared; keep the version as a candidate, say why.
        note = f"not promoted: {exc.message}"
        # A concurrent delivery promoting this same version may still be committing (a
        # TransactionConflict): give it a moment before calling this version a candidate.
        for delay in (0.0, 0.05, 0.25):
            time.sleep(delay)
            record = registry.tables.models.get(result.name, result.version, consistent_read=True)
            if record.status == PRODUCTION:
                return _with(result, PRODUCTION, record.reason, promoted=True)
        record.update(actions=[registry.tables.models.reason.set(note[:_MAX_REASON])])
        return _with(result, CANDIDATE, note, promoted=False)
    return _with(result, PRODUCTION, reason, promoted=True)


def _redelivered(registry: ModelRegistry, record: Any, key: str, digest: str) -> RegistrationResult:
    base = RegistrationResult(
        record.name,
        record.version,
        record.status,
        record.reason,
        key,
        duplicate=True,
        manifest_sha256=record.manifest_sha256,
        metrics=dict(record.metrics or {}),
        comparison=record.comparison,
    )
    if record.manifest_sha256 != digest:
        # A version is immutable: another manifest for it is refused, the first one stands.
        return _with(
            base,
            record.status,
            f"{record.version} was registered from another manifest; publish a new version",
            promoted=False,
            duplicate=False,
            rejected=True,
        )
    if record.status == CANDIDATE and record.reason == PENDING_PROMOTION:
        # The first delivery died between recording and promoting: finish its work.
        return _promote(registry, base, "passed every check; promotion resumed")
    return base


def _with(
    result: RegistrationResult,
    status: str,
    reason: str | None,
    *,
    promoted: bool,
    duplicate: bool | None = None,
    rejected: bool = False,
) -> RegistrationResult:
    return RegistrationResult(
        name=result.name,
        version=result.version,
        status=REJECTED if rejected else status,
        reason=reason,
        key=result.key,
        promoted=promoted,
        duplicate=result.duplicate if duplicate is None else duplicate,
        manifest_sha256=result.manifest_sha256,
        metrics=result.metrics,
        comparison=result.comparison,
    )


def _existing(tables: Tables, name: str, version: str) -> Any:
    try:
        return tables.models.get(name, version, consistent_read=True)
    except tables.models.DoesNotExist:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


__all__ = [
    "KEY_METRICS",
    "PENDING_PROMOTION",
    "POLICIES",
    "REQUIRED_FIELDS",
    "RegistrationResult",
    "key_metric",
    "on_s3_event",
    "parse_manifest_key",
    "register_model",
]

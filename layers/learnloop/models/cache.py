"""Production models, loaded once per container and swapped when the alias moves.

:class:`VersionCache` holds the production version of each model, whatever a loaded version
is (an ONNX session, the two-tower matrices, the text encoder); :class:`ModelCache` is the
one for single-matrix ONNX predictors. A cache answers ``get(name)`` from memory. At most
every ``check_seconds`` one request re-reads the model's production alias (one DynamoDB
GetItem); when the alias names a new version, that request loads it and swaps it in with one
reference assignment, so other requests keep answering with the previous version meanwhile
and never see a half-built one. When the new version fails to load (corrupt bytes, an S3
error) the last good version stays and the load is retried at the next check.

This module imports numpy; onnxruntime is imported on the first load. Model bytes are only
ever handed to onnxruntime: nothing is unpickled.

Examples
--------
>>> cache = ModelCache(S3ModelLoader(tables, s3))  # doctest: +SKIP
>>> cache.get("engagement").predict(X)  # doctest: +SKIP
array([0.041, 0.027], dtype=float32)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np

from learnloop.exceptions import LearnloopError, ModelLoadError, NoProductionModelError
from learnloop.models.artifacts import MODEL_FILE, sha256_hex
from learnloop.observability import logger

if TYPE_CHECKING:
    from learnloop.store.tables import Tables

__all__ = [
    "PRODUCTION_ALIAS",
    "LoadedModel",
    "ModelCache",
    "ModelLoader",
    "ProductionRef",
    "S3ArtifactLoader",
    "S3ModelLoader",
    "VersionCache",
    "Versioned",
    "load_model",
]

#: The range key of a model's production alias item in the ``models`` table.
PRODUCTION_ALIAS = "@production"
#: Larger model files are refused rather than read into a Lambda's memory.
MAX_MODEL_BYTES = 256 * 1024 * 1024
#: Non-production versions (A/B variants) a container keeps loaded at once.
MAX_PINNED_VERSIONS = 4
_PROBABILITIES = "probabilities"


@dataclass(frozen=True)
class ProductionRef:
    """Where a model's production version lives: ``{s3_prefix}model.onnx``."""

    name: str
    version: str
    s3_prefix: str


class ModelLoader(Protocol):
    """What :class:`ModelCache` needs from a model store."""

    def production(self, name: str) -> ProductionRef | None:
        """The production version of ``name``, or ``None`` when it has none."""
        ...

    def read(self, ref: ProductionRef) -> bytes:
        """The serialized ONNX of ``ref``."""
        ...


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """One model version, ready to predict; immutable, so it can be shared across threads.

    Attributes
    ----------
    name, version : str
        Which model this is.
    feature_names : tuple of str
        The input columns, in order (from the ONNX metadata; empty when absent).
    session : onnxruntime.InferenceSession
        The loaded graph (its ``run`` is thread-safe).
    """

    name: str
    version: str
    feature_names: tuple[str, ...]
    session: Any = field(repr=False)
    input_name: str = field(repr=False, default="features")
    output_name: str = field(repr=False, default="variable")

    @property
    def is_classifier(self) -> bool:
        """Whether the model outputs class probabilities."""
        return self.output_name == _PROBABILITIES

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Run the model on ``X``.

        Parameters
        ----------
        X : numpy.ndarray
            Shape ``(n, len(feature_names))``; cast to float32.

        Returns
        -------
        numpy.ndarray
            A classifier's probabilities, shape ``(n, n_classes)`` (as ``predict_proba``);
            a regressor's predictions, shape ``(n,)`` (as ``predict``).

        Examples
        --------
        >>> cache.get("engagement").predict(np.zeros((1, 12)))  # doctest: +SKIP
        array([0.031], dtype=float32)
        """
        features = np.ascontiguousarray(X, dtype=np.float32)
        result = self.session.run([self.output_name], {self.input_name: features})[0]
        return result if self.is_classifier else result.reshape(len(result))


def load_model(name: str, version: str, model_bytes: bytes) -> LoadedModel:
    """Build a :class:`LoadedModel` from serialized ONNX.

    Parameters
    ----------
    name, version : str
        Recorded on the result.
    model_bytes : bytes
        An ONNX ``ModelProto`` as :func:`learnloop.models.conversion.to_onnx` writes it.

    Returns
    -------
    LoadedModel

    Raises
    ------
    ModelLoadError
        When onnxruntime cannot load the bytes, or the graph has not one input.

    Examples
    --------
    >>> model = load_model("engagement", "20261120T093000Z", onnx_bytes)  # doctest: +SKIP
    >>> model.feature_names[:1]  # doctest: +SKIP
    ('quality_score',)
    """
    import onnxruntime as ort

    try:
        options = ort.SessionOptions()
        # One request is a handful of rows: thread pools cost more than they save in Lambda.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            bytes(model_bytes), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own (Fail, InvalidGraph, ...) types
        raise ModelLoadError(f"model {name!r} version {version!r} does not load: {exc}") from exc
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelLoadError(f"model {name!r} version {version!r} has {len(inputs)} inputs")
    outputs = [o.name for o in session.get_outputs()]
    output = _PROBABILITIES if _PROBABILITIES in outputs else outputs[0]
    meta = session.get_modelmeta().custom_metadata_map.get("feature_names")
    try:
        names = tuple(str(n) for n in json.loads(meta)) if meta else ()
    except (ValueError, TypeError):
        names = ()
    return LoadedModel(
        name=name,
        version=version,
        feature_names=names,
        session=session,
        input_name=inputs[0].name,
        output_name=output,
    )


class S3ModelLoader:
    """Reads production aliases from the ``models`` table and ONNX bytes from the bucket.

    Parameters
    ----------
    tables : Tables
        The stage's tables; its settings name the bucket.
    s3 : boto3 S3 client
        Anything with ``get_object(Bucket=, Key=)``.

    Examples
    --------
    >>> loader = S3ModelLoader(tables, s3)  # doctest: +SKIP
    >>> loader.production("engagement")  # doctest: +SKIP
    ProductionRef(name='engagement', version='20261120T093000Z', s3_prefix='models/...')
    """

    def __init__(self, tables: Tables, s3: Any) -> None:
        self.tables = tables
        self.s3 = s3

    def production(self, name: str) -> ProductionRef | None:
        """The production alias of ``name`` (one GetItem), or ``None`` when there is none."""
        # TODO: call learnloop.models.registry.production_record once it lands (same GetItem).
        models = self.tables.models
        try:
            alias = models.get(name, PRODUCTION_ALIAS)
        except models.DoesNotExist:
            return None
        if not alias.target:
            return None
        prefix = alias.s3_prefix or f"models/{name}/{alias.target}/"
        return ProductionRef(name=name, version=alias.target, s3_prefix=prefix)

    def version(self, name: str, version: str) -> ProductionRef | None:
        """Where version ``version`` of ``name`` lives (one GetItem of its registry record),
        or ``None`` when the registry holds no such version (or it was rejected)."""
        models = self.tables.models
        try:
            record = models.get(name, version)
        except models.DoesNotExist:
            return None
        if record.status == "rejected" or version.startswith("@"):
            return None
        prefix = record.s3_prefix or f"models/{name}/{version}/"
        return ProductionRef(name=name, version=version, s3_prefix=prefix)

    def read(self, ref: ProductionRef) -> bytes:
        """The ONNX bytes of ``ref``: ``s3://{bucket}/{s3_prefix}model.onnx``.

        Raises
        ------
        ModelLoadError
            When the object is missing, too large or unreadable.
        """
        return self._get(ref.s3_prefix + MODEL_FILE)

    def _get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket = self.tables.settings.bucket
        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key)
            size = int(obj.get("ContentLength") or 0)
            if size > MAX_MODEL_BYTES:
                raise ModelLoadError(f"s3://{bucket}/{key} is {size} bytes; too large to serve")
            body: bytes = obj["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise ModelLoadError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
        return body


class S3ArtifactLoader(S3ModelLoader):
    """Reads a multi-file artifact (``manifest.json`` and every file it lists) of a
    production version, verifying each file's sha256 against the manifest.

    Examples
    --------
    >>> loader = S3ArtifactLoader(tables, s3)  # doctest: +SKIP
    >>> manifest, files = loader.read_artifact(loader.production("two_tower"))  # doctest: +SKIP
    >>> sorted(files)  # doctest: +SKIP
    ['item_embeddings.npy', 'item_tower.onnx', 'items.json', 'user_embeddings.npy', ...]
    """

    def read_artifact(
        self,
        ref: ProductionRef,
        only: tuple[str, ...] | None = None,
        *,
        optional: tuple[str, ...] = (),
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """``(manifest, {file: bytes})`` of ``ref``; ``only`` limits the files read, and the
        ``optional`` files are read too when the manifest lists them.

        Raises
        ------
        ModelLoadError
            When the manifest or a file is missing, unreadable, too large, or its sha256
            differs from the manifest's.
        """

        raw = self._get(ref.s3_prefix + "manifest.json")
        try:
            manifest = json.loads(raw)
            listed = manifest["files"]
            if not isinstance(listed, dict):
                raise TypeError("files is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"{ref.s3_prefix}manifest.json is unusable: {exc}") from exc
        files: dict[str, bytes] = {}
        wanted = only if only is not None else tuple(listed)
        for file in (*wanted, *(f for f in optional if f in listed and f not in wanted)):
            info = listed.get(file)
            if not isinstance(info, dict):
                raise ModelLoadError(f"{ref.name} {ref.version}'s manifest lists no {file}")
            body = self._get(ref.s3_prefix + file)
            if sha256_hex(body) != info.get("sha256"):
                raise ModelLoadError(f"{ref.s3_prefix}{file} does not match its manifest sha256")
            files[file] = body
        return manifest, files


class Versioned(Protocol):
    """What a cache holds: anything loaded from one model version."""

    @property
    def version(self) -> str: ...


V = TypeVar("V", bound=Versioned)


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    checked_at: float


class VersionCache(Generic[V]):
    """The production version of each model, loaded once per container and swapped when the
    alias moves; generic over what a loaded version is.

    ``get(name)`` answers from memory. At most every ``check_seconds`` one request re-reads
    the alias (``production(name)``); when it names a new version that request loads it
    (``load(ref)``) and swaps it in with one reference assignment while other requests keep
    answering with the old one. A failed load, or a failed alias read, keeps the last good
    version (retried at the next check); with nothing loaded yet it raises.

    Parameters
    ----------
    production : callable
        ``production(name) -> ProductionRef | None`` (one GetItem).
    load : callable
        ``load(ref) -> V``: reads and builds the version (an ONNX session, matrices, ...).
    check_seconds : float, default 30.0
        How stale a version may be before the next ``get`` re-reads its alias.
    clock : callable, default time.monotonic
        Seconds; tests inject a fake.

    Examples
    --------
    >>> class Box:
    ...     def __init__(self, version): self.version = version
    >>> alias = {"m": "20261120T093000Z"}
    >>> cache = VersionCache(lambda n: ProductionRef(n, alias[n], f"models/{n}/{alias[n]}/"),
    ...                      lambda ref: Box(ref.version), check_seconds=0)
    >>> cache.get("m").version
    '20261120T093000Z'
    >>> alias["m"] = "20261121T093000Z"
    >>> cache.get("m").version
    '20261121T093000Z'
    """

    def __init__(
        self,
        production: Callable[[str], ProductionRef | None],
        load: Callable[[ProductionRef], V],
        *,
        check_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        resolve: Callable[[str, str], ProductionRef | None] | None = None,
    ) -> None:
        self._production = production
        self._load = load
        self._resolve = resolve
        self.check_seconds = check_seconds
        self.clock = clock
        self._entries: dict[str, _Entry[V]] = {}
        #: Pinned versions (A/B variants): immutable, so loaded once; the latest few are kept.
        self._pinned: dict[tuple[str, str], V] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def get(self, name: str) -> V:
        """The production version of ``name``, loading or refreshing it when due.

        Parameters
        ----------
        name : str
            The model's name (``"engagement"``, ``"two_tower"``, ...).

        Raises
        ------
        NoProductionModelError
            When ``name`` has no production version (the API answers 409).
        ModelLoadError
            When the production version fails to load and no earlier one is held.
        """
        entry = self._entries.get(name)
        if entry is not None:
            if self.clock() - entry.checked_at < self.check_seconds:
                return entry.value
            lock = self._lock(name)
            # One request refreshes; the others keep answering with the version they have.
            if not lock.acquire(blocking=False):
                return entry.value
        else:
            lock = self._lock(name)
            lock.acquire()
        try:
            return self._refresh(name)
        finally:
            lock.release()

    def get_version(self, name: str, version: str | None) -> V:
        """Version ``version`` of ``name`` (an experiment variant's), else the production one.

        A version is immutable, so it is loaded once and kept (the latest
        ``MAX_PINNED_VERSIONS``). The production version is served when ``version`` is None,
        is the production one, or cannot be found or loaded (a warning is logged): a bad
        variant never takes serving down, and the reply's ``version`` says what served.

        Examples
        --------
        >>> class Box:
        ...     def __init__(self, version): self.version = version
        >>> cache = VersionCache(lambda n: ProductionRef(n, "v2", "p/"), lambda r: Box(r.version),
        ...     resolve=lambda n, v: ProductionRef(n, v, "p/") if v == "v1" else None)
        >>> cache.get_version("m", "v1").version, cache.get_version("m", "v9").version
        ('v1', 'v2')
        """
        if version is None or self._resolve is None:
            return self.get(name)
        held = self.peek(name)
        if held is not None and held.version == version:
            return self.get(name)
        pinned = self._pinned.get((name, version))
        if pinned is not None:
            return pinned
        try:
            ref = self._resolve(name, version)
            value = self._load(ref) if ref is not None else None
        except Exception as exc:  # a variant's model must not take serving down
            _warn("variant version failed to load; serving production", name, version, exc)
            return self.get(name)
        if value is None:
            logger.warning(
                "variant version unknown; serving production",
                extra={"model": name, "version": version},
            )
            return self.get(name)
        with self._locks_guard:
            if len(self._pinned) >= MAX_PINNED_VERSIONS:
                self._pinned.pop(next(iter(self._pinned)))
            self._pinned[(name, version)] = value
        return value

    def peek(self, name: str) -> V | None:
        """The version held for ``name`` without checking the alias or loading (or None)."""
        entry = self._entries.get(name)
        return entry.value if entry is not None else None

    def clear(self) -> None:
        """Forget every version (the next ``get`` loads afresh)."""
        self._entries = {}

    def _lock(self, name: str) -> threading.Lock:
        lock = self._locks.get(name)
        if lock is None:
            with self._locks_guard:
                lock = self._locks.setdefault(name, threading.Lock())
        return lock

    def _refresh(self, name: str) -> V:
        # Runs under the name's lock. Another thread may have refreshed while this one waited.
        entry = self._entries.get(name)
        current = entry.value if entry is not None else None
        now = self.clock()
        if (
            current is not None
            and entry is not None
            and now - entry.checked_at < self.check_seconds
        ):
            return current
        try:
            ref = self._production(name)
        except Exception as exc:  # a DynamoDB hiccup must not take a serving model down
            if current is None:
                if isinstance(exc, LearnloopError):
                    raise
                raise ModelLoadError(
                    f"cannot read the production alias of {name!r}: {exc}"
                ) from exc
            _warn("alias check failed; keeping the loaded model", name, current.version, exc)
            self._entries[name] = _Entry(current, now)
            return current
        if ref is None:
            self._entries.pop(name, None)
            raise NoProductionModelError(
                f"no production model for {name!r} yet; run learn or promote one",
                details=[{"field": "model", "message": f"{name} has no production version"}],
            )
        if current is not None and current.version == ref.version:
            self._entries[name] = _Entry(current, now)
            return current
        try:
            value = self._load(ref)
        except Exception as exc:
            if current is None:
                if isinstance(exc, LearnloopError):
                    raise
                raise ModelLoadError(f"model {name!r} version {ref.version!r}: {exc}") from exc
            _warn("new version failed to load; keeping the last good model", name, ref.version, exc)
            self._entries[name] = _Entry(current, now)
            return current
        self._entries[name] = _Entry(value, now)
        return value


class ModelCache(VersionCache[LoadedModel]):
    """Production single-matrix ONNX models (ridge, logistic) of one container.

    A :class:`VersionCache` whose versions are :class:`LoadedModel`, read through ``loader``.

    Parameters
    ----------
    loader : ModelLoader
        Reads aliases and model bytes (:class:`S3ModelLoader` in Lambda, a fake in tests).
    check_seconds : float, default 30.0
        How stale a model may be before the next ``get`` re-reads its alias.
    clock : callable, default time.monotonic
        Seconds; tests inject a fake.

    Examples
    --------
    >>> cache = ModelCache(S3ModelLoader(tables, s3), check_seconds=30)  # doctest: +SKIP
    >>> cache.get("engagement").version  # doctest: +SKIP
    '20261120T093000Z'
    """

    def __init__(
        self,
        loader: ModelLoader,
        *,
        check_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loader = loader
        super().__init__(
            loader.production,
            lambda ref: load_model(ref.name, ref.version, loader.read(ref)),
            check_seconds=check_seconds,
            clock=clock,
            resolve=getattr(loader, "version", None),
        )


def _warn(message: str, name: str, version: str, exc: BaseException) -> None:
    logger.warning(message, extra={"model": name, "version": version, "error": str(exc)})

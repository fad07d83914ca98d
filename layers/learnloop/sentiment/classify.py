"""``POST /v1/sentiment``: texts in, negative / neutral / positive probabilities out.

The production ``sentiment`` model (contract C, ``extra.kind = "sentiment"``) is a classifier
head over sentence embeddings. Its manifest names the text encoder version it was trained on
(``extra.text_encoder``), and that version — not whatever the ``text_encoder`` alias points
at now — embeds the texts: a head is only meaningful in the embedding space it was fit in,
and pinning keeps the route answering (correctly) when the weekly encoder re-export moves the
alias before the head is retrained. The pinned encoder is shared with the container's
``text_encoder`` cache when that holds the same version; when it cannot be loaded (never
registered, rejected, its files gone) the route answers 409 naming it.

Importing this module is cheap (pydantic only); numpy and onnxruntime arrive with the first
request.

Examples
--------
>>> classify(services.sentiment_cache, {"texts": ["Profit rose 20 %"]})  # doctest: +SKIP
{'model': 'sentiment', 'version': '20261120T093000Z',
 'text_encoder': {'model': 'text_encoder', 'version': '20261119T040000Z'},
 'results': [{'label': 'positive', 'score': 0.93,
              'probabilities': {'negative': 0.02, 'neutral': 0.05, 'positive': 0.93}}]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints

from learnloop.exceptions import ConflictError, LearnloopError, ModelLoadError
from learnloop.models.cache import ProductionRef
from learnloop.models.kinds import ArtifactRejectedError, check_sentiment
from learnloop.models.registry import REJECTED
from learnloop.text.encoder import MODEL_FILE, TOKENIZER_FILE, TextEncoder
from learnloop.validation import Identifier, Strict, validate

if TYPE_CHECKING:
    import numpy as np

    from learnloop.models.cache import S3ArtifactLoader, VersionCache
    from learnloop.models.variants import AssignModel
    from learnloop.text.encoder import TextEncoder

__all__ = [
    "MAX_TEXTS",
    "MAX_TEXT_CHARS",
    "SENTIMENT_MODEL",
    "SentimentIn",
    "SentimentModel",
    "TextEncoderUnavailableError",
    "classify",
    "load_sentiment_artifact",
]

SENTIMENT_MODEL = "sentiment"
MAX_TEXTS = 64
MAX_TEXT_CHARS = 2000

Text = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS), Field(strict=True)
]


class SentimentIn(Strict):
    """``{"texts": [...]}``: 1 to 64 non-blank strings of at most 2,000 characters each."""

    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS)
    #: Serves this user's A/B variant's sentiment version (see learnloop.experiments.models).
    user_id: Identifier | None = None


class TextEncoderUnavailableError(ConflictError):
    """The text encoder version a sentiment head was trained on cannot be loaded (409)."""

    code = "text_encoder_unavailable"


@dataclass(frozen=True, eq=False)
class SentimentModel:
    """One sentiment version with the encoder version it was trained on; immutable, shared
    across threads.

    Examples
    --------
    >>> model = cache.get("sentiment")  # doctest: +SKIP
    >>> model.predict_proba(["Sales fell"]).round(2)  # doctest: +SKIP
    array([[0.9 , 0.08, 0.02]], dtype=float32)
    """

    name: str
    version: str
    labels: tuple[str, ...]
    encoder: TextEncoder = field(repr=False)
    session: Any = field(repr=False)
    input_name: str = field(repr=False, default="features")

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities of ``labels`` per text, shape ``(len(texts), len(labels))``."""
        import numpy as np

        embeddings = np.ascontiguousarray(self.encoder.encode(texts), dtype=np.float32)
        result: np.ndarray = self.session.run(["probabilities"], {self.input_name: embeddings})[0]
        return result


def load_sentiment_artifact(
    loader: S3ArtifactLoader,
    ref: ProductionRef,
    *,
    shared_encoder: Callable[[str, str], TextEncoder | None] | None = None,
) -> SentimentModel:
    """Read a sentiment version (sha256-verified) and the encoder version its manifest names.

    Parameters
    ----------
    loader : S3ArtifactLoader
        Reads artifacts and (through its tables) the encoder's registry record.
    ref : ProductionRef
        The sentiment version to load.
    shared_encoder : callable, optional
        ``shared_encoder(name, version)`` → an encoder already held by this container (the
        ``text_encoder`` cache) or None; avoids a second copy of the same version.

    Raises
    ------
    TextEncoderUnavailableError
        The named encoder version is unregistered, rejected or unreadable (409).
    ModelLoadError
        The sentiment files are unreadable, or do not match their manifest.
    """
    manifest, files = loader.read_artifact(ref, only=(MODEL_FILE,))
    try:
        check_sentiment(files, manifest)  # the registration checks, so a bad head never serves
    except ArtifactRejectedError as exc:
        raise ModelLoadError(f"{ref.name} {ref.version}: {exc.reason}") from exc
    extra = manifest["extra"]
    pinned = extra["text_encoder"]
    encoder = shared_encoder(pinned["name"], pinned["version"]) if shared_encoder else None
    if encoder is None:
        encoder = _load_encoder(loader, pinned, ref)
    if encoder.dim is not None and encoder.dim != extra["embedding_dim"]:
        raise TextEncoderUnavailableError(
            f"{pinned['name']} {pinned['version']} embeds into {encoder.dim} floats; "
            f"{ref.name} {ref.version} takes {extra['embedding_dim']}"
        )
    session = _session(files[MODEL_FILE], ref)
    return SentimentModel(
        name=ref.name,
        version=ref.version,
        labels=tuple(str(label) for label in extra["labels"]),
        encoder=encoder,
        session=session,
        input_name=session.get_inputs()[0].name,
    )


def classify(
    cache: VersionCache[SentimentModel], body: Any, *, assign: AssignModel | None = None
) -> dict[str, Any]:
    """The sentiment of each text, from the production ``sentiment`` model.

    Parameters
    ----------
    cache : VersionCache of SentimentModel
        The container's sentiment cache (``services.sentiment_cache``).
    body : Any
        The parsed JSON body: ``{"texts": [str, ...]}`` (1-64 texts, each 1-2,000 chars).

    Returns
    -------
    dict
        ``{"model", "version", "text_encoder": {"model", "version"}, "results": [{"label",
        "score", "probabilities": {"negative", "neutral", "positive"}}, ...]}``, one result
        per text in order; ``score`` is the probability of ``label``.

    Raises
    ------
    ValidationError
        A bad body (422; ``details`` name ``texts`` or ``texts[i]``).
    NoProductionModelError
        No sentiment model in production yet (409).
    TextEncoderUnavailableError
        The encoder version the model was trained on cannot be loaded (409).

    Examples
    --------
    >>> classify(cache, {"texts": []})  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.ValidationError: invalid fields: texts
    """
    request = validate(SentimentIn, body)
    assignment = assign(SENTIMENT_MODEL, request.user_id) if assign and request.user_id else None
    model = cache.get_version(SENTIMENT_MODEL, assignment.version if assignment else None)
    probabilities = model.predict_proba(request.texts)
    results = []
    for row in probabilities.tolist():
        best = max(range(len(row)), key=row.__getitem__)
        results.append(
            {
                "label": model.labels[best],
                "score": float(row[best]),
                "probabilities": {
                    label: float(p) for label, p in sorted(zip(model.labels, row, strict=True))
                },
            }
        )
    reply: dict[str, Any] = {
        "model": model.name,
        "version": model.version,
        "text_encoder": {"model": model.encoder.name, "version": model.encoder.version},
        "results": results,
    }
    if assignment is not None:
        reply["variant"] = assignment.as_variant()
    return reply


def _load_encoder(
    loader: S3ArtifactLoader, pinned: Mapping[str, Any], ref: ProductionRef
) -> TextEncoder:
    name, version = str(pinned["name"]), str(pinned["version"])
    trained_on = f"{ref.name} {ref.version} was trained on {name} {version}"
    models = loader.tables.models
    try:
        record = models.get(name, version)
    except models.DoesNotExist:
        raise TextEncoderUnavailableError(
            f"{trained_on}, which is not registered; register it or retrain the head",
            details=[{"field": "model", "message": f"{name} {version} is not registered"}],
        ) from None
    if record.status == REJECTED:
        raise TextEncoderUnavailableError(
            f"{trained_on}, which registration rejected; retrain the head",
            details=[{"field": "model", "message": f"{name} {version} was rejected"}],
        )
    prefix = record.s3_prefix or f"models/{name}/{version}/"
    try:
        manifest, files = loader.read_artifact(
            ProductionRef(name, version, prefix), only=(MODEL_FILE, TOKENIZER_FILE)
        )
        expected = pinned.get("sha256")
        if expected and manifest["files"][MODEL_FILE].get("sha256") != expected:
            raise ModelLoadError(f"{name} {version}'s {MODEL_FILE} is not the one trained on")
        return TextEncoder.from_files(files, manifest)
    except LearnloopError as exc:
        raise TextEncoderUnavailableError(
            f"{trained_on}, which does not load: {exc.message}",
            details=[{"field": "model", "message": f"{name} {version} does not load"}],
        ) from exc


def _session(model_bytes: bytes, ref: ProductionRef) -> Any:
    import onnxruntime as ort

    try:
        options = ort.SessionOptions()
        # A request is at most 64 rows: thread pools cost more than they save in Lambda.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return ort.InferenceSession(
            bytes(model_bytes), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelLoadError(f"{ref.name} {ref.version} does not load: {exc}") from exc

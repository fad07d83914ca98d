"""``POST /v1/sentiment``: texts in, negative / neutral / positive probabilities out.

Three methods answer, and the reply names which (``method``, overall and per text):

``lexicon``
    :mod:`learnloop.sentiment.lexicon` (VADER + a finance / crypto word list) while no
    ``sentiment`` model is in production: a fresh install answers, never 409.
``model``
    The production ``sentiment`` model alone.
``ensemble``
    Routed by the model's confidence: a text whose top probability is below the version's
    ``extra.routing.below`` gets the mean of the model's and the lexicon's probabilities
    (weighted by ``lexicon_weight``). The training job writes ``routing`` only when it beat
    the model alone on its validation rows, so most versions serve ``model``.

The production model (contract C, ``extra.kind = "sentiment"``) is one of two formats.
``extra.format = "fine_tuned"``: the whole fine-tuned encoder and head in one ONNX graph with
its ``tokenizer.json`` (:class:`~learnloop.text.classifier.TextClassifier`). ``"head"`` (the
default): a classifier head over sentence embeddings, whose manifest names the text encoder
version it was trained on
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
{'model': 'sentiment', 'version': '20261120T093000Z', 'method': 'model',
 'text_encoder': {'model': 'text_encoder', 'version': '20261119T040000Z'},
 'results': [{'label': 'positive', 'score': 0.93, 'method': 'model',
              'probabilities': {'negative': 0.02, 'neutral': 0.05, 'positive': 0.93}}]}
>>> [s.label for s in score_texts(["BTC dumped 20% overnight, rekt"])]
['negative']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints

from learnloop.exceptions import (
    ConflictError,
    LearnloopError,
    ModelLoadError,
    NoProductionModelError,
)
from learnloop.models.cache import ProductionRef
from learnloop.models.kinds import FINE_TUNED, ArtifactRejectedError, check_sentiment
from learnloop.models.registry import REJECTED
from learnloop.sentiment.lexicon import LEXICON_VERSION, default_lexicon
from learnloop.text.classifier import TextClassifier
from learnloop.text.encoder import MODEL_FILE, TOKENIZER_FILE, TextEncoder
from learnloop.validation import Identifier, Strict, validate

if TYPE_CHECKING:
    import numpy as np

    from learnloop.models.cache import S3ArtifactLoader, VersionCache
    from learnloop.models.variants import AssignModel
    from learnloop.text.encoder import TextEncoder

__all__ = [
    "LEXICON",
    "MAX_TEXTS",
    "MAX_TEXT_CHARS",
    "METHODS",
    "SENTIMENT_MODEL",
    "SentimentIn",
    "SentimentModel",
    "SentimentScore",
    "TextEncoderUnavailableError",
    "classify",
    "load_sentiment_artifact",
    "score_texts",
]

SENTIMENT_MODEL = "sentiment"
#: The ``model`` a lexicon reply names.
LEXICON = "lexicon"
#: What can answer a text (the reply's ``method``).
METHODS = ("lexicon", "model", "ensemble")
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


@dataclass(frozen=True)
class SentimentScore:
    """One text's sentiment: ``label``, its probability ``score``, every label's
    ``probabilities`` and the ``method`` that answered (``lexicon``, ``model``, ``ensemble``).

    Examples
    --------
    >>> SentimentScore("neutral", 1.0, {"negative": 0.0, "neutral": 1.0, "positive": 0.0},
    ...                "lexicon").as_dict()["method"]
    'lexicon'
    """

    label: str
    score: float
    probabilities: dict[str, float]
    method: str

    def as_dict(self) -> dict[str, Any]:
        """The reply's form of one result."""
        return {
            "label": self.label,
            "score": self.score,
            "probabilities": dict(self.probabilities),
            "method": self.method,
        }


@dataclass(frozen=True, eq=False)
class SentimentModel:
    """One sentiment version, ready to run; immutable, shared across threads.

    A ``head`` version holds the encoder version it was trained on and the head's session;
    a ``fine_tuned`` version holds its whole-model :class:`TextClassifier`. ``routing``
    (``{"below", "lexicon_weight"}``) is the version's confidence routing, or None.

    Examples
    --------
    >>> model = cache.get("sentiment")  # doctest: +SKIP
    >>> model.predict_proba(["Sales fell"]).round(2)  # doctest: +SKIP
    array([[0.9 , 0.08, 0.02]], dtype=float32)
    """

    name: str
    version: str
    labels: tuple[str, ...]
    encoder: TextEncoder | None = field(repr=False)
    session: Any = field(repr=False)
    input_name: str = field(repr=False, default="features")
    classifier: TextClassifier | None = field(repr=False, default=None)
    routing: Mapping[str, float] | None = None

    @property
    def method(self) -> str:
        """``ensemble`` when the version routes low-confidence texts, else ``model``."""
        return "ensemble" if self.routing else "model"

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """The model's probabilities of ``labels`` per text, ``(len(texts), len(labels))``."""
        import numpy as np

        if self.classifier is not None:
            return self.classifier.predict_proba(texts)
        assert self.encoder is not None
        embeddings = np.ascontiguousarray(self.encoder.encode(texts), dtype=np.float32)
        result: np.ndarray = self.session.run(["probabilities"], {self.input_name: embeddings})[0]
        return result

    def score(self, texts: list[str]) -> list[SentimentScore]:
        """Each text's :class:`SentimentScore`, routed by confidence when ``routing`` says."""
        rows = self.predict_proba(texts).tolist()
        below = float((self.routing or {}).get("below", 0.0))
        weight = float((self.routing or {}).get("lexicon_weight", 0.5))
        unsure = [i for i, row in enumerate(rows) if max(row) < below]
        methods = ["model"] * len(rows)
        if unsure:
            lexicon = default_lexicon()
            column = {label: i for i, label in enumerate(lexicon.classes_)}
            lexicon_rows = lexicon.proba_rows([texts[i] for i in unsure])
            for i, lex in zip(unsure, lexicon_rows, strict=True):
                rows[i] = [
                    (1.0 - weight) * p + weight * lex[column[label]]
                    for label, p in zip(self.labels, rows[i], strict=True)
                ]
                methods[i] = "ensemble"
        return [_score(self.labels, row, method) for row, method in zip(rows, methods, strict=True)]


def _score(
    labels: tuple[str, ...], row: list[float] | tuple[float, ...], method: str
) -> SentimentScore:
    best = max(range(len(row)), key=row.__getitem__)
    return SentimentScore(
        label=labels[best],
        score=float(row[best]),
        probabilities={label: float(p) for label, p in sorted(zip(labels, row, strict=True))},
        method=method,
    )


def lexicon_scores(texts: list[str]) -> list[SentimentScore]:
    """Each text's :class:`SentimentScore` from the lexicon alone (no model, no numpy).

    Examples
    --------
    >>> lexicon_scores(["Shares plunged after the profit warning"])[0].label
    'negative'
    """
    lexicon = default_lexicon()
    return [_score(lexicon.classes_, row, LEXICON) for row in lexicon.proba_rows(texts)]


def score_texts(
    texts: list[str], *, cache: VersionCache[SentimentModel] | None = None
) -> list[SentimentScore]:
    """The sentiment of each text, for library callers (any number of texts).

    Parameters
    ----------
    texts : list of str
        The texts, scored in order.
    cache : VersionCache of SentimentModel, optional
        The container's sentiment cache. Without one, or while no ``sentiment`` version is in
        production, the lexicon answers.

    Returns
    -------
    list of SentimentScore
        One per text (``method`` says which method answered it).

    Raises
    ------
    TextEncoderUnavailableError
        The production head's encoder version cannot be loaded (as the route's 409).

    Examples
    --------
    >>> [(s.label, s.method) for s in score_texts(["ETH to the moon, so bullish"])]
    [('positive', 'lexicon')]
    """
    texts = list(texts)
    if not texts:
        return []
    model = None
    if cache is not None:
        try:
            model = cache.get(SENTIMENT_MODEL)
        except NoProductionModelError:
            model = None
    if model is None:
        return lexicon_scores(texts)
    return model.score(texts)


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
    manifest, files = loader.read_artifact(ref)  # a head lists model.onnx alone
    try:
        check_sentiment(files, manifest)  # the registration checks, so a bad head never serves
    except ArtifactRejectedError as exc:
        raise ModelLoadError(f"{ref.name} {ref.version}: {exc.reason}") from exc
    extra = manifest["extra"]
    routing = _routing(extra.get("routing"))
    labels = tuple(str(label) for label in extra["labels"])
    if extra.get("format") == FINE_TUNED:
        classifier = TextClassifier(
            files[MODEL_FILE], files[TOKENIZER_FILE], max_length=int(extra["max_length"])
        )
        return SentimentModel(
            name=ref.name,
            version=ref.version,
            labels=labels,
            encoder=None,
            session=None,
            classifier=classifier,
            routing=routing,
        )
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
        labels=labels,
        encoder=encoder,
        session=session,
        input_name=session.get_inputs()[0].name,
        routing=routing,
    )


def _routing(value: Any) -> dict[str, float] | None:
    # a manifest routing entry with nothing to route (below <= 0) is the model alone
    if not isinstance(value, Mapping):
        return None
    below = value.get("below")
    weight = value.get("lexicon_weight", 0.5)
    if not isinstance(below, int | float) or not isinstance(weight, int | float) or below <= 0:
        return None
    return {"below": float(below), "lexicon_weight": min(max(float(weight), 0.0), 1.0)}


def classify(
    cache: VersionCache[SentimentModel], body: Any, *, assign: AssignModel | None = None
) -> dict[str, Any]:
    """The sentiment of each text: the production ``sentiment`` model, or the lexicon while
    there is none.

    Parameters
    ----------
    cache : VersionCache of SentimentModel
        The container's sentiment cache (``services.sentiment_cache``).
    body : Any
        The parsed JSON body: ``{"texts": [str, ...]}`` (1-64 texts, each 1-2,000 chars).

    Returns
    -------
    dict
        ``{"model", "version", "method", "text_encoder", "results": [{"label", "score",
        "probabilities": {"negative", "neutral", "positive"}, "method"}, ...]}``, one result
        per text in order; ``score`` is the probability of ``label``. ``method`` is
        ``lexicon`` (``model`` is then ``"lexicon"``), ``model`` or ``ensemble``;
        ``text_encoder`` names the encoder a ``head`` version embedded with (``{"model",
        "version"}``), else null.

    Raises
    ------
    ValidationError
        A bad body (422; ``details`` name ``texts`` or ``texts[i]``).
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
    try:
        model = cache.get_version(SENTIMENT_MODEL, assignment.version if assignment else None)
    except NoProductionModelError:
        return {
            "model": LEXICON,
            "version": LEXICON_VERSION,
            "method": LEXICON,
            "text_encoder": None,
            "results": [score.as_dict() for score in lexicon_scores(request.texts)],
        }
    reply: dict[str, Any] = {
        "model": model.name,
        "version": model.version,
        "method": model.method,
        "text_encoder": (
            {"model": model.encoder.name, "version": model.encoder.version}
            if model.encoder is not None
            else None
        ),
        "results": [score.as_dict() for score in model.score(request.texts)],
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

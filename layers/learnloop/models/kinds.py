"""What registration checks, per kind of model artifact (``manifest["extra"]["kind"]``).

Each kind names the files its artifact must carry, a checker that loads those files and runs
a smoke input through them, and the metric that decides promotion when the model's name does
not name one (:data:`learnloop.models.registration.KEY_METRICS`):

``predictor`` (the default: no ``kind``)
    ``model.onnx`` taking one float matrix of ``feature_names`` columns (ridge, logistic).
``two_tower`` (contract C)
    ``user_tower.onnx`` and ``item_tower.onnx`` whose inputs are those the manifest declares
    under ``extra.towers``; ``item_embeddings.npy`` / ``user_embeddings.npy`` (float32, finite,
    the same width, ``extra.embedding_dim`` when given) row-aligned with ``items.json`` /
    ``users.json``. Key metric ``ndcg@10``.
``text_encoder`` (contract C)
    ``model.onnx`` + ``tokenizer.json``; it must load, encode two smoke sentences into
    384 L2-normalised floats each. Key metric ``cosine_min`` (agreement with
    sentence-transformers on the job's sentence set).
``sentiment`` (contract C)
    ``model.onnx``: a classifier head taking ``extra.embedding_dim`` floats (a sentence
    embedding of the encoder ``extra.text_encoder`` names) and giving ``probabilities`` over
    ``extra.labels`` (negative, neutral, positive); a smoke row must give finite
    probabilities summing to 1. Key metric ``macro_f1`` (held-out).
``price_forecast``
    ``gbm.onnx`` (one ``[batch, len(feature_names)]`` float matrix) and ``lstm.onnx`` (one
    ``[batch, extra.window, len(feature_names)]`` float tensor), each predicting the next
    candle's log return; optional validation twins ``gbm_validation.onnx`` /
    ``lstm_validation.onnx`` (trained before the evaluation rows). ``extra.weights`` (one per
    member, summing to 1) combine them; ``extra.quantiles`` (finite, >= 0, per member and
    ``ensemble``) scale the interval. Key metric ``mae`` (lower is better).
``bandit_policy``
    No ONNX: ``policy.json`` (a bandit configuration: Thompson ``prior`` and ``discount`` for
    the ``content`` scope, UCB1 ``alpha`` and ``epsilon`` for ``timing``; the same object as
    ``extra.policy``, which serving reads from the version's record) and ``ope_report.json``
    (its off-policy evaluation on the decision log, :mod:`learnloop.decisions.evaluation`).
    Its name is the scope's (:data:`BANDIT_POLICY_NAMES`). No key metric: registration
    decides by the report's lower bound against production's logged value.

A checker raises :class:`ArtifactRejectedError` with the reason; registration records the
version as ``rejected`` with it. ``.npy`` files load with ``allow_pickle=False``.

Examples
--------
>>> kind_of({"extra": {"kind": "two_tower"}}).required_files[:2]
('user_tower.onnx', 'item_tower.onnx')
>>> kind_of({}).name
'predictor'
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from learnloop.exceptions import LearnloopError
from learnloop.models.artifacts import MODEL_FILE, VALIDATION_FILE
from learnloop.text.encoder import TOKENIZER_FILE, TextEncoder

__all__ = [
    "BANDIT_POLICY_FILE",
    "BANDIT_POLICY_KIND",
    "BANDIT_POLICY_NAMES",
    "DEFAULT_KIND",
    "FINE_TUNED",
    "FORECAST_MEMBERS",
    "HISTORY_EMBEDDINGS_FILE",
    "ITEMS_FILE",
    "ITEM_EMBEDDINGS_FILE",
    "ITEM_TOWER_FILE",
    "KINDS",
    "OPE_REPORT_FILE",
    "PRICE_FORECAST_KIND",
    "SENTIMENT_LABELS",
    "TOKENIZER_FILE",
    "USERS_FILE",
    "USER_EMBEDDINGS_FILE",
    "USER_TOWER_FILE",
    "ArtifactRejectedError",
    "ModelKind",
    "kind_of",
    "load_npy",
    "policy_config",
    "tower_specs",
]

DEFAULT_KIND = "predictor"
USER_TOWER_FILE = "user_tower.onnx"
ITEM_TOWER_FILE = "item_tower.onnx"
ITEM_EMBEDDINGS_FILE = "item_embeddings.npy"
USER_EMBEDDINGS_FILE = "user_embeddings.npy"
#: Optional: the rows a new user's profile averages when they are not the item embeddings (EASE).
HISTORY_EMBEDDINGS_FILE = "history_embeddings.npy"
ITEMS_FILE = "items.json"
USERS_FILE = "users.json"
TEXT_EMBEDDING_DIM = 384
_TOWERS = {"user": USER_TOWER_FILE, "item": ITEM_TOWER_FILE}
_SMOKE_SENTENCES = ["Registration smoke test: does this encoder load?", ""]


class ArtifactRejectedError(LearnloopError):
    """A model artifact failed an integrity check; ``reason`` is recorded on its version."""

    code = "artifact_rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Checker = Callable[[Mapping[str, bytes], Mapping[str, Any]], None]


@dataclass(frozen=True)
class ModelKind:
    """How to check one kind of artifact.

    Attributes
    ----------
    name : str
        The ``extra.kind`` value.
    required_files : tuple of str
        Files the manifest must list (and the bucket hold, sha256 verified).
    check : callable
        ``check(files, manifest)``: raises :class:`ArtifactRejectedError` when unsound.
    key_metric : (str, bool) or None
        The metric promotion compares and whether higher is better, unless the model's
        name or the manifest names another.
    needs_features : bool
        Whether ``feature_names`` must be a non-empty list (single-matrix predictors).
    """

    name: str
    required_files: tuple[str, ...]
    check: Checker
    key_metric: tuple[str, bool] | None = None
    needs_features: bool = False


def kind_of(manifest: Mapping[str, Any]) -> ModelKind:
    """The :class:`ModelKind` a manifest declares (``extra.kind``; default ``predictor``).

    Raises
    ------
    ArtifactRejectedError
        When ``extra.kind`` names no known kind.

    Examples
    --------
    >>> kind_of({"extra": {"kind": "text_encoder"}}).key_metric
    ('cosine_min', True)
    >>> kind_of({"extra": {"kind": "crystal_ball"}})
    Traceback (most recent call last):
    learnloop.models.kinds.ArtifactRejectedError: unknown model kind 'crystal_ball' ...
    """
    extra = manifest.get("extra")
    kind = extra.get("kind") if isinstance(extra, Mapping) else None
    if kind is None:
        return KINDS[DEFAULT_KIND]
    if not isinstance(kind, str) or kind not in KINDS:
        raise ArtifactRejectedError(
            f"unknown model kind {kind!r} (extra.kind); known: {', '.join(sorted(KINDS))}"
        )
    return KINDS[kind]


# --- predictor -----------------------------------------------------------------------------------


def check_predictor(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
    """``model.onnx`` takes one ``[n, len(feature_names)]`` matrix and predicts finite values
    on a zero row; the feature names in its metadata (when present) are the manifest's. The
    validation twin ``validation.onnx``, when the artifact carries one, passes the same checks
    (registration scores it against production's)."""
    for file in (MODEL_FILE, VALIDATION_FILE):
        if file in files:
            _check_predictor_file(files[file], file, list(manifest["feature_names"]))


def _check_predictor_file(model: bytes, file: str, feature_names: list[str]) -> None:
    import numpy as np

    session = _session(model, file)
    inputs = session.get_inputs()
    n = len(feature_names)
    if len(inputs) != 1:
        raise ArtifactRejectedError(
            f"{file} takes {len(inputs)} inputs; expected one feature matrix"
        )
    shape = list(inputs[0].shape or [])
    width = shape[-1] if shape else None
    if len(shape) != 2 or not isinstance(width, int) or width != n:
        raise ArtifactRejectedError(
            f"{file} input shape {shape} does not take the manifest's {n} features"
        )
    stored = session.get_modelmeta().custom_metadata_map.get("feature_names")
    if stored is not None:
        try:
            names = json.loads(stored)
        except json.JSONDecodeError:
            names = None
        if names != feature_names:
            raise ArtifactRejectedError(
                f"{file} was trained on features {names}, the manifest lists {feature_names}"
            )
    outputs = _run(session, {inputs[0].name: np.zeros((1, n), dtype=np.float32)}, file)
    if not all(_finite(o) for o in outputs):
        raise ArtifactRejectedError(f"{file}: smoke prediction on a zero row is not finite")


# --- two-tower -----------------------------------------------------------------------------------


def load_npy(data: bytes, file: str) -> Any:
    """A ``.npy`` file's array, never unpickling (``allow_pickle=False``).

    Raises
    ------
    ArtifactRejectedError
        When the bytes are not a plain ``.npy`` array.

    Examples
    --------
    >>> import io, numpy as np
    >>> buffer = io.BytesIO(); np.save(buffer, np.eye(2, dtype=np.float32))
    >>> load_npy(buffer.getvalue(), "m.npy").shape
    (2, 2)
    >>> load_npy(b"not numpy", "m.npy")
    Traceback (most recent call last):
    learnloop.models.kinds.ArtifactRejectedError: m.npy does not load: ...
    """
    import numpy as np

    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:  # what numpy raises for bad or pickled data
        raise ArtifactRejectedError(f"{file} does not load: {_first_line(exc)}") from exc


def tower_specs(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"user": {"inputs": {name: shape}, "outputs": [name, ...]}, "item": ...}`` from
    ``extra.towers``.

    Contract C records each tower's input/output names and shapes under ``extra.towers``;
    accepted forms, per tower (keyed ``user``/``item``, ``user_tower``/``item_tower`` or the
    file name): ``{"inputs": [{"name", "shape", ...}, ...] | {name: {"shape"} | shape} |
    [name, ...], "outputs": (same forms)}``. Unknown shapes are ``None``.

    Raises
    ------
    ArtifactRejectedError
        When a tower is missing or declares no inputs.

    Examples
    --------
    >>> specs = tower_specs({"extra": {"towers": {
    ...     "user": {"inputs": [{"name": "user_index", "shape": ["batch"]}],
    ...              "outputs": [{"name": "user_embedding", "shape": ["batch", 8]}]},
    ...     "item_tower.onnx": {"inputs": {"item_index": ["batch"]}, "outputs": ["e"]}}}})
    >>> specs["user"]["inputs"], specs["item"]["outputs"]
    ({'user_index': ['batch']}, ['e'])
    """
    extra = manifest.get("extra")
    towers = extra.get("towers") if isinstance(extra, Mapping) else None
    if not isinstance(towers, Mapping):
        raise ArtifactRejectedError("manifest extra.towers is missing (tower inputs and outputs)")
    specs: dict[str, dict[str, Any]] = {}
    for tower, file in _TOWERS.items():
        declared = next((towers[k] for k in (tower, f"{tower}_tower", file) if k in towers), None)
        if not isinstance(declared, Mapping):
            raise ArtifactRejectedError(f"manifest extra.towers declares no {tower} tower")
        inputs = _named(declared.get("inputs"))
        if not inputs:
            raise ArtifactRejectedError(f"manifest extra.towers.{tower} declares no inputs")
        specs[tower] = {"inputs": inputs, "outputs": list(_named(declared.get("outputs")))}
    return specs


def check_two_tower(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
    """Both towers load and embed a smoke input built from their declared inputs; the
    embedding matrices load without pickle, are finite, share one width and match the id
    maps' lengths."""
    import numpy as np

    items = _json_object(files[ITEMS_FILE], ITEMS_FILE)
    users = _json_object(files[USERS_FILE], USERS_FILE)
    item_keys = _strings(items.get("item_keys"), f"{ITEMS_FILE} item_keys")
    content_types = _strings(items.get("content_types"), f"{ITEMS_FILE} content_types")
    popularity = items.get("popularity")
    user_ids = _strings(users.get("users"), f"{USERS_FILE} users")
    if not item_keys:
        raise ArtifactRejectedError(f"{ITEMS_FILE} lists no items")
    if len(set(item_keys)) != len(item_keys):
        raise ArtifactRejectedError(f"{ITEMS_FILE} lists an item key twice")
    if len(set(user_ids)) != len(user_ids):
        raise ArtifactRejectedError(f"{USERS_FILE} lists a user twice")
    if len(content_types) != len(item_keys):
        raise ArtifactRejectedError(
            f"{ITEMS_FILE} has {len(item_keys)} item_keys but {len(content_types)} content_types"
        )
    if (
        not isinstance(popularity, list)
        or len(popularity) != len(item_keys)
        or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in popularity)
    ):
        raise ArtifactRejectedError(
            f"{ITEMS_FILE} popularity is not {len(item_keys)} non-negative integers"
        )
    item_matrix = _matrix(files[ITEM_EMBEDDINGS_FILE], ITEM_EMBEDDINGS_FILE)
    user_matrix = _matrix(files[USER_EMBEDDINGS_FILE], USER_EMBEDDINGS_FILE)
    for matrix, ids, file, ids_file in (
        (item_matrix, item_keys, ITEM_EMBEDDINGS_FILE, ITEMS_FILE),
        (user_matrix, user_ids, USER_EMBEDDINGS_FILE, USERS_FILE),
    ):
        if matrix.shape[0] != len(ids):
            raise ArtifactRejectedError(
                f"{file} has {matrix.shape[0]} rows but {ids_file} lists {len(ids)} ids"
            )
    dim = item_matrix.shape[1]
    if user_matrix.shape[1] != dim:
        raise ArtifactRejectedError(
            f"{USER_EMBEDDINGS_FILE} is {user_matrix.shape[1]} wide, {ITEM_EMBEDDINGS_FILE} {dim}"
        )
    if HISTORY_EMBEDDINGS_FILE in files:
        history = _matrix(files[HISTORY_EMBEDDINGS_FILE], HISTORY_EMBEDDINGS_FILE)
        if history.shape != item_matrix.shape:
            raise ArtifactRejectedError(
                f"{HISTORY_EMBEDDINGS_FILE} is {list(history.shape)}, "
                f"{ITEM_EMBEDDINGS_FILE} {list(item_matrix.shape)}"
            )
    extra = manifest.get("extra") or {}
    declared_dim = extra.get("embedding_dim") if isinstance(extra, Mapping) else None
    if declared_dim is not None and declared_dim != dim:
        raise ArtifactRejectedError(
            f"extra.embedding_dim is {declared_dim} but the embeddings are {dim} wide"
        )
    for tower, spec in tower_specs(manifest).items():
        file = _TOWERS[tower]
        session = _session(files[file], file)
        actual = {i.name: i for i in session.get_inputs()}
        if set(actual) != set(spec["inputs"]):
            raise ArtifactRejectedError(
                f"{file} takes inputs {sorted(actual)}; the manifest declares "
                f"{sorted(spec['inputs'])}"
            )
        for name, shape in spec["inputs"].items():
            real = list(actual[name].shape or [])
            if isinstance(shape, list) and (
                len(shape) != len(real)
                or any(
                    isinstance(a, int) and isinstance(b, int) and a != b
                    for a, b in zip(shape, real, strict=False)
                )
            ):
                raise ArtifactRejectedError(
                    f"{file} input {name} has shape {real}; the manifest declares {shape}"
                )
        outputs = [o.name for o in session.get_outputs()]
        missing = [o for o in spec["outputs"] if o not in outputs]
        if missing:
            raise ArtifactRejectedError(f"{file} has no output {missing[0]!r} (it has {outputs})")
        feed = {name: _smoke_input(arg) for name, arg in actual.items()}
        output_name = spec["outputs"][0] if spec["outputs"] else outputs[0]
        [embedding] = _run(session, feed, file, [output_name])
        if embedding.ndim != 2 or embedding.shape[1] != dim:
            raise ArtifactRejectedError(
                f"{file} embeds the smoke input as shape {list(embedding.shape)}, "
                f"not [batch, {dim}]"
            )
        if not np.all(np.isfinite(embedding)):
            raise ArtifactRejectedError(f"{file} embeds the smoke input as non-finite values")


# --- text encoder --------------------------------------------------------------------------------


def check_text_encoder(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
    """The encoder loads with its tokenizer and embeds two smoke sentences as finite,
    L2-normalised rows of 384 floats."""
    import numpy as np

    try:
        encoder = TextEncoder.from_files(files, manifest)
    except LearnloopError as exc:
        raise ArtifactRejectedError(exc.message) from exc
    try:
        vectors = encoder.encode(_SMOKE_SENTENCES)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ArtifactRejectedError(f"smoke encoding failed: {_first_line(exc)}") from exc
    if vectors.shape != (len(_SMOKE_SENTENCES), TEXT_EMBEDDING_DIM):
        raise ArtifactRejectedError(
            f"the encoder embeds into shape {list(vectors.shape)}, "
            f"not [batch, {TEXT_EMBEDDING_DIM}]"
        )
    if not np.all(np.isfinite(vectors)):
        raise ArtifactRejectedError("the encoder's smoke embeddings are not finite")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-3):
        raise ArtifactRejectedError(
            f"the encoder's embeddings are not L2-normalised (norms {norms.round(4).tolist()})"
        )


# --- sentiment -----------------------------------------------------------------------------------

#: The labels a sentiment head must predict (``POST /v1/sentiment`` answers with all three).
SENTIMENT_LABELS = frozenset({"negative", "neutral", "positive"})
#: ``extra.format`` of a sentiment version that is the whole fine-tuned encoder and head in one
#: graph (``input_ids``, ``attention_mask`` → ``probabilities``) with its ``tokenizer.json``;
#: any other value (or none) is a head over a registered text encoder's embeddings.
FINE_TUNED = "fine_tuned"
_VERSION_RE = re.compile(r"^\d{8}T\d{6}Z$")


def check_sentiment(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
    """The version names its labels. A head names the encoder version it was trained on,
    takes one ``[n, embedding_dim]`` float matrix and gives finite probabilities over the
    labels that sum to 1 on a smoke row (a unit vector, as the encoder's embeddings are). A
    ``fine_tuned`` version carries its tokenizer and ``max_length`` and does the same on a
    smoke text."""
    import numpy as np

    extra = manifest.get("extra")
    extra = extra if isinstance(extra, Mapping) else {}
    labels = extra.get("labels")
    if (
        not isinstance(labels, list)
        or len(set(map(str, labels))) != len(labels)
        or set(labels) != SENTIMENT_LABELS
    ):
        raise ArtifactRejectedError(
            f"extra.labels is {labels!r}; expected each of {sorted(SENTIMENT_LABELS)} once"
        )
    if extra.get("format") == FINE_TUNED:
        _check_fine_tuned(files, extra, len(labels))
        return
    encoder = extra.get("text_encoder")
    if (
        not isinstance(encoder, Mapping)
        or not isinstance(encoder.get("name"), str)
        or not encoder["name"]
        or not isinstance(encoder.get("version"), str)
        or not _VERSION_RE.match(encoder["version"])
    ):
        raise ArtifactRejectedError(
            "extra.text_encoder must name the encoder (name, version YYYYMMDDTHHMMSSZ) the "
            "head was trained on"
        )
    dim = extra.get("embedding_dim")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ArtifactRejectedError(f"extra.embedding_dim is {dim!r}; expected a positive int")
    session = _session(files[MODEL_FILE], MODEL_FILE)
    inputs = session.get_inputs()
    shape = list(inputs[0].shape or []) if len(inputs) == 1 else []
    if len(inputs) != 1 or len(shape) != 2 or shape[-1] != dim:
        raise ArtifactRejectedError(
            f"{MODEL_FILE} must take one [batch, {dim}] matrix; it takes "
            f"{[(i.name, i.shape) for i in inputs]}"
        )
    outputs = [o.name for o in session.get_outputs()]
    if "probabilities" not in outputs:
        raise ArtifactRejectedError(f"{MODEL_FILE} has no probabilities output ({outputs})")
    row = np.full((1, dim), 1.0 / np.sqrt(dim), dtype=np.float32)
    [probabilities] = _run(session, {inputs[0].name: row}, MODEL_FILE, ["probabilities"])
    if probabilities.shape != (1, len(labels)):
        raise ArtifactRejectedError(
            f"smoke prediction has shape {list(probabilities.shape)}, not [1, {len(labels)}]"
        )
    if not _finite(probabilities) or abs(float(probabilities.sum()) - 1.0) > 1e-4:
        raise ArtifactRejectedError("smoke probabilities are not finite or do not sum to 1")


def _check_fine_tuned(files: Mapping[str, bytes], extra: Mapping[str, Any], n_labels: int) -> None:
    from learnloop.text.classifier import TextClassifier

    if TOKENIZER_FILE not in files:
        raise ArtifactRejectedError(f"a fine_tuned sentiment version needs its {TOKENIZER_FILE}")
    max_length = extra.get("max_length")
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 2:
        raise ArtifactRejectedError(f"extra.max_length is {max_length!r}; expected an int >= 2")
    try:
        classifier = TextClassifier(files[MODEL_FILE], files[TOKENIZER_FILE], max_length=max_length)
        probabilities = classifier.predict_proba(["Shares rose after results", "ok"])
    except LearnloopError as exc:
        raise ArtifactRejectedError(exc.message) from exc
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ArtifactRejectedError(f"smoke prediction failed: {_first_line(exc)}") from exc
    if probabilities.shape != (2, n_labels):
        raise ArtifactRejectedError(
            f"smoke prediction has shape {list(probabilities.shape)}, not [2, {n_labels}]"
        )
    if not _finite(probabilities) or float(abs(probabilities.sum(axis=1) - 1.0).max()) > 1e-4:
        raise ArtifactRejectedError("smoke probabilities are not finite or do not sum to 1")


# --- bandit policy -------------------------------------------------------------------------------

BANDIT_POLICY_KIND = "bandit_policy"
BANDIT_POLICY_FILE = "policy.json"
OPE_REPORT_FILE = "ope_report.json"
#: Bandit scope → the model name whose production version configures that scope's selection.
BANDIT_POLICY_NAMES: dict[str, str] = {"content": "bandit_policy", "timing": "bandit_policy_timing"}
#: Scope → its policy and that policy's settings with their valid range (low, high, low open).
_POLICY_SETTINGS: dict[str, tuple[str, dict[str, tuple[float, float, bool]]]] = {
    "content": ("thompson", {"discount": (0.0, 1.0, True)}),
    "timing": ("ucb1", {"alpha": (0.0, math.inf, False), "epsilon": (0.0, 1.0, False)}),
}


def policy_config(value: Any) -> dict[str, Any]:
    """A bandit configuration checked and normalised (what ``policy.json`` holds).

    Raises
    ------
    ArtifactRejectedError
        An unknown scope or policy, a missing or out-of-range setting.

    Examples
    --------
    >>> policy_config({"scope": "content", "policy": "thompson", "prior": [2, 8],
    ...                "discount": 0.9})
    {'scope': 'content', 'policy': 'thompson', 'prior': [2.0, 8.0], 'discount': 0.9}
    >>> policy_config({"scope": "timing", "policy": "ucb1", "alpha": 1, "epsilon": 2})
    Traceback (most recent call last):
    learnloop.models.kinds.ArtifactRejectedError: policy epsilon is 2; expected [0.0, 1.0]
    """
    if not isinstance(value, Mapping):
        raise ArtifactRejectedError("the bandit policy is not a JSON object")
    scope = value.get("scope")
    if scope not in _POLICY_SETTINGS:
        raise ArtifactRejectedError(f"policy scope is {scope!r}; expected one of content, timing")
    policy, ranges = _POLICY_SETTINGS[scope]
    if value.get("policy") != policy:
        raise ArtifactRejectedError(
            f"the {scope} bandit runs {policy}; the policy names {value.get('policy')!r}"
        )
    config: dict[str, Any] = {"scope": scope, "policy": policy}
    if policy == "thompson":
        prior = value.get("prior")
        if not (
            isinstance(prior, list)
            and len(prior) == 2
            and all(_real(v) and 0 < v < math.inf for v in prior)
        ):
            raise ArtifactRejectedError(f"policy prior is {prior!r}; expected [a, b] > 0")
        config["prior"] = [float(v) for v in prior]
    for key, (low, high, open_low) in ranges.items():
        number: Any = value.get(key)
        finite = _real(number) and math.isfinite(number)
        if not (finite and (number > low if open_low else number >= low) and number <= high):
            bracket = "(" if open_low else "["
            raise ArtifactRejectedError(
                f"policy {key} is {number!r}; expected {bracket}{low}, {high}]"
            )
        config[key] = float(number)
    return config


def check_bandit_policy(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
    """``policy.json`` is a valid configuration of the scope the version's name configures,
    equal to ``extra.policy`` (what serving reads); ``ope_report.json`` holds the estimate,
    its interval and production's value the promotion gate compares."""
    config = policy_config(_json_object(files[BANDIT_POLICY_FILE], BANDIT_POLICY_FILE))
    expected = BANDIT_POLICY_NAMES[config["scope"]]
    if manifest.get("name") != expected:
        raise ArtifactRejectedError(
            f"a {config['scope']} bandit policy is registered as {expected!r}, "
            f"not {manifest.get('name')!r}"
        )
    extra = manifest.get("extra")
    declared = extra.get("policy") if isinstance(extra, Mapping) else None
    try:
        same = declared is not None and policy_config(declared) == config
    except ArtifactRejectedError:
        same = False
    if not same:
        raise ArtifactRejectedError(f"extra.policy differs from {BANDIT_POLICY_FILE}")
    report = _json_object(files[OPE_REPORT_FILE], OPE_REPORT_FILE)
    value, production = report.get("value"), report.get("production")
    numbers = [
        part.get(k) if isinstance(part, Mapping) else None
        for part, k in ((value, "estimate"), (value, "ci_low"), (production, "estimate"))
    ]
    if not all(_real(n) and math.isfinite(n) for n in numbers):
        raise ArtifactRejectedError(
            f"{OPE_REPORT_FILE} lacks value.estimate, value.ci_low or production.estimate"
        )


# --- price forecast ------------------------------------------------------------------------------

PRICE_FORECAST_KIND = "price_forecast"
#: Member name → (serving file, validation twin file).
FORECAST_MEMBERS: dict[str, tuple[str, str]] = {
    "gbm": ("gbm.onnx", "gbm_validation.onnx"),
    "lstm": ("lstm.onnx", "lstm_validation.onnx"),
}


def check_price_forecast(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> None:
    """Both members (and their validation twins when present) load, take the declared
    feature matrix / window tensor and predict finite values on a zero input; the weights and
    quantiles are sound."""
    import numpy as np

    extra = manifest.get("extra")
    extra = extra if isinstance(extra, Mapping) else {}
    features = manifest.get("feature_names")
    n = len(features) if isinstance(features, list) else 0
    window = extra.get("window")
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 512:
        raise ArtifactRejectedError(f"extra.window is {window!r}; expected an int in [1, 512]")
    if not isinstance(extra.get("symbol"), str) or not extra["symbol"]:
        raise ArtifactRejectedError("extra.symbol must name the symbol the model forecasts")
    validation = extra.get("validation")
    declared_weights = {"weights": extra.get("weights")}
    if isinstance(validation, Mapping) and "weights" in validation:
        declared_weights["validation.weights"] = validation["weights"]
    for key, weights in declared_weights.items():
        if (
            not isinstance(weights, Mapping)
            or set(weights) != set(FORECAST_MEMBERS)
            or not all(_real(w) and 0 <= w <= 1 for w in weights.values())
            or abs(sum(weights.values()) - 1.0) > 1e-6
        ):
            raise ArtifactRejectedError(
                f"extra.{key} is {weights!r}; expected {sorted(FORECAST_MEMBERS)} in [0, 1] "
                "summing to 1"
            )
    quantiles = extra.get("quantiles")
    wanted = {*FORECAST_MEMBERS, "ensemble"}
    if (
        not isinstance(quantiles, Mapping)
        or not wanted <= set(quantiles)
        or not all(_real(quantiles[k]) and 0 <= quantiles[k] < math.inf for k in wanted)
    ):
        raise ArtifactRejectedError(
            f"extra.quantiles is {quantiles!r}; expected finite values >= 0 for {sorted(wanted)}"
        )
    for member, pair in FORECAST_MEMBERS.items():
        for file in pair:
            if file not in files:
                continue
            shape = [1, n] if member == "gbm" else [1, window, n]
            session = _session(files[file], file)
            inputs = session.get_inputs()
            declared = list(inputs[0].shape or []) if len(inputs) == 1 else []
            if len(declared) != len(shape) or any(
                isinstance(d, int) and d != s for d, s in zip(declared[1:], shape[1:], strict=True)
            ):
                raise ArtifactRejectedError(
                    f"{file} must take one {['batch', *shape[1:]]} tensor; it takes "
                    f"{[(i.name, i.shape) for i in inputs]}"
                )
            feed = {inputs[0].name: np.zeros(shape, dtype=np.float32)}
            [output] = _run(session, feed, file)[:1]
            if output.size != 1 or not _finite(output):
                raise ArtifactRejectedError(f"{file}: smoke prediction is not one finite value")


def _real(value: Any) -> TypeGuard[float]:
    """A number (not a bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


KINDS: dict[str, ModelKind] = {
    DEFAULT_KIND: ModelKind(DEFAULT_KIND, (MODEL_FILE,), check_predictor, needs_features=True),
    "two_tower": ModelKind(
        "two_tower",
        (
            USER_TOWER_FILE,
            ITEM_TOWER_FILE,
            ITEM_EMBEDDINGS_FILE,
            ITEMS_FILE,
            USER_EMBEDDINGS_FILE,
            USERS_FILE,
        ),
        check_two_tower,
        key_metric=("ndcg@10", True),
    ),
    "text_encoder": ModelKind(
        "text_encoder",
        (MODEL_FILE, TOKENIZER_FILE),
        check_text_encoder,
        key_metric=("cosine_min", True),
    ),
    "sentiment": ModelKind(
        "sentiment", (MODEL_FILE,), check_sentiment, key_metric=("macro_f1", True)
    ),
    BANDIT_POLICY_KIND: ModelKind(
        BANDIT_POLICY_KIND, (BANDIT_POLICY_FILE, OPE_REPORT_FILE), check_bandit_policy
    ),
    PRICE_FORECAST_KIND: ModelKind(
        PRICE_FORECAST_KIND,
        tuple(pair[0] for pair in FORECAST_MEMBERS.values()),
        check_price_forecast,
        key_metric=("mae", False),
        needs_features=True,
    ),
}


# --- helpers -------------------------------------------------------------------------------------


def _session(model_bytes: bytes, file: str) -> Any:
    import onnxruntime as ort

    try:
        return ort.InferenceSession(bytes(model_bytes), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ArtifactRejectedError(f"{file} does not load: {_first_line(exc)}") from exc


def _run(
    session: Any, feed: Mapping[str, Any], file: str, outputs: list[str] | None = None
) -> list[Any]:
    import numpy as np

    try:
        return [np.asarray(o) for o in session.run(outputs, dict(feed))]
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ArtifactRejectedError(
            f"smoke prediction of {file} failed: {_first_line(exc)}"
        ) from exc


def _finite(values: Any) -> bool:
    import numpy as np

    return values.dtype.kind != "f" or bool(np.all(np.isfinite(values)))


_ONNX_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
}


def _smoke_input(arg: Any) -> Any:
    """Zeros of the input's type; symbolic dimensions (batch, history length) are 1.

    Index 0 is a valid row of any embedding table, so an id input of zeros is in range."""
    import numpy as np

    dtype = _ONNX_DTYPES.get(arg.type)
    if dtype is None:
        raise ArtifactRejectedError(f"tower input {arg.name} has unsupported type {arg.type}")
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in (arg.shape or [])]
    return np.zeros(shape, dtype=dtype)


def _named(declared: Any) -> dict[str, Any]:
    """Input/output declarations in any accepted form → ``{name: shape or None}``."""
    result: dict[str, Any] = {}
    if isinstance(declared, Mapping):
        for name, spec in declared.items():
            shape = spec.get("shape") if isinstance(spec, Mapping) else spec
            result[str(name)] = shape if isinstance(shape, list) else None
    elif isinstance(declared, list):
        for spec in declared:
            if isinstance(spec, str):
                result[spec] = None
            elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
                shape = spec.get("shape")
                result[spec["name"]] = shape if isinstance(shape, list) else None
    return result


def _json_object(data: bytes, file: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactRejectedError(f"{file} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ArtifactRejectedError(f"{file} is not a JSON object")
    return value


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ArtifactRejectedError(f"{what} is not a list of non-empty strings")
    return value


def _matrix(data: bytes, file: str) -> Any:
    import numpy as np

    matrix = load_npy(data, file)
    if matrix.dtype != np.float32 or matrix.ndim != 2:
        raise ArtifactRejectedError(
            f"{file} is {matrix.dtype} of shape {list(matrix.shape)}; expected 2-D float32"
        )
    if not np.all(np.isfinite(matrix)):
        raise ArtifactRejectedError(f"{file} holds non-finite values")
    return matrix


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__

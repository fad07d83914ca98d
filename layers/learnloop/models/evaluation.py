"""Evaluation sets: the common data a candidate and production are scored on.

A trainer writes the rows it held out as one ``.npz`` (``allow_pickle=False``) under
``evaluation/{name}/{sha256}.npz`` (content-addressed: the key names the bytes) and its
manifest names it::

    "evaluation": {"key": "evaluation/engagement/3f…9a.npz", "sha256": "3f…9a",
                   "rows": 240, "source": "holdout"}

``source`` is ``holdout`` (rows the trainer held out of its validation fit), ``domain``
(labelled data the user brought) or ``reference`` (a bundled public dataset). What a set
holds depends on the model kind:

predictor (``engagement``, ``follow_through``)
    ``X`` (rows x features, float64), ``y``, ``posted_at`` (ISO strings), ``decision_id`` and
    ``feature_names``.
sentiment
    ``texts``, ``labels`` and ``embeddings`` (float32) made by the text encoder named in
    ``encoder_name`` / ``encoder_version``.
price_forecast
    ``X`` (rows x features, float64: each row the features at one candle's close),
    ``sequences`` (rows x window x features, float32: the LSTM's input ending at that row),
    ``y`` (the next candle's log return), ``close``, ``open_time`` (ISO strings) and
    ``feature_names``.
two_tower
    ``users`` and ``items``: one row per held-out (user pseudonym, positive item key) pair;
    ``seen_users`` / ``seen_items``: the positives before the hold-out, left out of every
    ranking as serving leaves out what a user reacted to.

The scorers below run a model over a set and return one score per row (or per user for
two-tower) plus the key metric over any subset of rows, which is what the paired bootstrap
of :mod:`learnloop.models.promotion` resamples. They use numpy and onnxruntime only.

Examples
--------
>>> import numpy as np
>>> body = encode_set({"y": np.array([1.0, 2.0])})
>>> sorted(decode_set(body))
['y']
>>> round(r2_metric(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 2.0])), 3)
0.5
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from learnloop.exceptions import LearnloopError
from learnloop.models.artifacts import sha256_hex

__all__ = [
    "EVALUATION_PREFIX",
    "SOURCES",
    "EvaluationSetError",
    "Scores",
    "auc_metric",
    "decode_set",
    "encode_set",
    "evaluation_ref",
    "macro_f1_metric",
    "r2_metric",
    "read_set",
    "score_predictor",
    "score_price_forecast",
    "score_sentiment",
    "score_sentiment_proba",
    "score_two_tower",
    "weighted_auc",
    "weighted_macro_f1",
    "weighted_mean",
    "weighted_r2",
    "write_set",
]

EVALUATION_PREFIX = "evaluation/"
SOURCES = ("holdout", "domain", "reference")
_REF_FIELDS = ("key", "sha256", "rows", "source")


class EvaluationSetError(LearnloopError):
    """An evaluation set is missing, does not match its sha256, or does not load."""

    code = "evaluation_set"


# --- the set on S3 -------------------------------------------------------------------------------


def encode_set(arrays: Mapping[str, Any]) -> bytes:
    """The ``.npz`` bytes of ``arrays`` (strings become fixed-width unicode, never objects)."""
    buffer = io.BytesIO()
    plain = {key: _plain(value) for key, value in arrays.items()}
    np.savez_compressed(buffer, **plain)  # type: ignore[arg-type]
    return buffer.getvalue()


def decode_set(body: bytes) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` evaluation set, never unpickling.

    Raises
    ------
    EvaluationSetError
        When the bytes are not a plain ``.npz``.
    """
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError) as exc:
        raise EvaluationSetError(f"the evaluation set does not load: {exc}") from exc


def write_set(
    s3: Any, bucket: str, name: str, arrays: Mapping[str, Any], *, source: str, rows: int
) -> dict[str, Any]:
    """Upload an evaluation set and return the manifest's ``evaluation`` entry.

    Parameters
    ----------
    s3 : boto3 S3 client
        Anything with ``put_object``.
    bucket : str
        The stage's bucket.
    name : str
        The model name (the set's folder).
    arrays : mapping of str to array-like
        What the set holds (see the module docstring).
    source : {"holdout", "domain", "reference"}
        Where the rows come from.
    rows : int
        How many rows (or pairs) the set holds.

    Returns
    -------
    dict
        ``{"key", "sha256", "rows", "source"}``.

    Examples
    --------
    >>> class FakeS3:
    ...     def put_object(self, **kw): self.key = kw["Key"]
    >>> ref = write_set(FakeS3(), "b", "engagement", {"y": [1.0]}, source="holdout", rows=1)
    >>> ref["key"] == f"evaluation/engagement/{ref['sha256']}.npz", ref["rows"]
    (True, 1)
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    body = encode_set(arrays)
    digest = sha256_hex(body)
    key = f"{EVALUATION_PREFIX}{name}/{digest}.npz"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/octet-stream")
    return {"key": key, "sha256": digest, "rows": int(rows), "source": source}


def evaluation_ref(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The manifest's ``evaluation`` entry when it has every field, else None.

    Raises
    ------
    EvaluationSetError
        When the entry is there but malformed (the candidate then cannot be compared).

    Examples
    --------
    >>> evaluation_ref({}) is None
    True
    >>> evaluation_ref({"evaluation": {"key": "evaluation/sentiment/ab.npz", "sha256": "ab",
    ...                                "rows": 3, "source": "domain"}})["source"]
    'domain'
    """
    ref = manifest.get("evaluation")
    if ref is None:
        return None
    if (
        not isinstance(ref, Mapping)
        or not all(isinstance(ref.get(f), str) and ref[f] for f in ("key", "sha256", "source"))
        or ref["source"] not in SOURCES
        or not str(ref["key"]).startswith(EVALUATION_PREFIX)
    ):
        raise EvaluationSetError(
            "manifest evaluation must be {key: evaluation/..., sha256, rows, source: "
            f"{' | '.join(SOURCES)}}}"
        )
    return {f: ref.get(f) for f in _REF_FIELDS}


def read_set(s3: Any, bucket: str, ref: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Read an evaluation set and check its sha256.

    Raises
    ------
    EvaluationSetError
        When it is missing, its bytes do not match ``ref["sha256"]`` or it does not load.
    """
    key = str(ref["key"])
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # botocore's ClientError; its class lives on the client
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise EvaluationSetError(f"evaluation set {key} is missing") from exc
        raise
    if sha256_hex(body) != ref["sha256"]:
        raise EvaluationSetError(f"evaluation set {key} does not match its sha256")
    return decode_set(body)


# --- metrics over weighted rows -----------------------------------------------------------------
#
# A bootstrap resample is a vector of row counts, so each metric is built once per set (the
# sorting, the label codes) and then costs O(rows) per resample: 500 resamples of 10,000 rows
# take well under a second (bench/promotion.py).

Weighted = Callable[[np.ndarray], float]


def weighted_r2(y: np.ndarray, predicted: np.ndarray) -> Weighted:
    """R² under row weights (nan when ``y`` is constant)."""
    y, predicted = np.asarray(y, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    squared_error = (y - predicted) ** 2

    def metric(w: np.ndarray) -> float:
        total_w = w.sum()
        mean = float(w @ y) / total_w
        total = float(w @ (y - mean) ** 2)
        return float("nan") if total <= 1e-300 else 1.0 - float(w @ squared_error) / total

    return metric


def weighted_auc(y: np.ndarray, score: np.ndarray) -> Weighted:
    """ROC AUC under row weights (ties count a half; nan with one class)."""
    positive = np.asarray(y) > 0.5
    _, group = np.unique(np.asarray(score, dtype=np.float64), return_inverse=True)
    groups = int(group.max()) + 1 if len(group) else 0

    def metric(w: np.ndarray) -> float:
        pos = np.bincount(group, weights=w * positive, minlength=groups)
        neg = np.bincount(group, weights=w * ~positive, minlength=groups)
        n_pos, n_neg = pos.sum(), neg.sum()
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        below = np.cumsum(neg) - neg
        return float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))

    return metric


def weighted_macro_f1(truth: np.ndarray, predicted: np.ndarray) -> Weighted:
    """Macro-F1 under row weights, over the labels present in the truth or the predictions."""
    _, codes = np.unique(
        np.concatenate([np.asarray(truth), np.asarray(predicted)]), return_inverse=True
    )
    k = int(codes.max()) + 1 if len(codes) else 1
    n = len(truth)
    cells = codes[:n] * k + codes[n:]

    def metric(w: np.ndarray) -> float:
        confusion = np.bincount(cells, weights=w, minlength=k * k).reshape(k, k)
        tp = np.diag(confusion)
        support = confusion.sum(axis=1) + confusion.sum(axis=0)
        present = support > 0
        if not present.any():
            return float("nan")
        f1 = np.divide(2 * tp, support, out=np.zeros(k), where=support > 0)
        return float(f1[present].mean())

    return metric


def weighted_mean(values: np.ndarray) -> Weighted:
    """The weighted mean of per-row values (per-user NDCG)."""
    values = np.asarray(values, dtype=np.float64)

    def metric(w: np.ndarray) -> float:
        total = w.sum()
        return float(w @ values) / total if total else float("nan")

    return metric


def r2_metric(y: np.ndarray, predicted: np.ndarray) -> float:
    """R² (nan when ``y`` is constant)."""
    return weighted_r2(y, predicted)(np.ones(len(y)))


def auc_metric(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC, ties counted a half (nan with one class).

    Examples
    --------
    >>> auc_metric(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    return weighted_auc(y, score)(np.ones(len(y)))


def macro_f1_metric(y: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-averaged F1 over the labels present in ``y`` or ``predicted``.

    Examples
    --------
    >>> macro_f1_metric(np.array(["a", "b", "b"]), np.array(["a", "b", "a"]))
    0.6666666666666666
    """
    return weighted_macro_f1(y, predicted)(np.ones(len(y)))


@dataclass(frozen=True)
class Scores:
    """One model's outputs on a set and its key metric under row weights.

    Attributes
    ----------
    target : numpy.ndarray
        The truth per row (ones for two-tower, where outputs are per-user NDCG already).
    outputs : numpy.ndarray
        The model's prediction (or per-user score) per row.
    metric : callable
        ``metric(weights) -> float``: the key metric with each row counted ``weights[i]``
        times (a bootstrap resample), from :func:`weighted_r2` and its siblings.
    extra : dict
        Other metrics on the whole set, recorded for information (e.g. ``hit_rate@10``).

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 3.0])
    >>> scores = Scores(y, y, weighted_r2(y, y), {})
    >>> scores.score(), scores.score(np.array([0, 0, 2]))
    (1.0, 1.0)
    """

    target: np.ndarray
    outputs: np.ndarray
    metric: Weighted
    extra: dict[str, float]

    def score(self, rows: np.ndarray | None = None) -> float:
        """The key metric over ``rows`` (indices, repeats allowed; default: every row once)."""
        n = len(self.outputs)
        weights = np.ones(n) if rows is None else np.bincount(rows, minlength=n).astype(float)
        return self.metric(weights)


# --- scorers -------------------------------------------------------------------------------------


def score_predictor(model_bytes: bytes, X: np.ndarray, y: np.ndarray, metric: str) -> Scores:
    """Score a single-matrix ONNX predictor (``r2``: regression; ``auc``: a classifier's
    positive-class probability)."""
    session = _session(model_bytes)
    input_name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]
    features = np.ascontiguousarray(X, dtype=np.float32)
    if "probabilities" in outputs:
        [proba] = session.run(["probabilities"], {input_name: features})
        predicted = np.asarray(proba)[:, -1].astype(np.float64)
    else:
        [values] = session.run([outputs[0]], {input_name: features})
        predicted = np.asarray(values, dtype=np.float64).reshape(len(features))
    y = np.asarray(y, dtype=np.float64)
    build = {"r2": weighted_r2, "auc": weighted_auc}[metric]
    return Scores(y, predicted, build(y, predicted), {})


def score_sentiment(
    model_bytes: bytes, labels: list[str], embeddings: np.ndarray, truth: np.ndarray
) -> Scores:
    """Score a sentiment head on sentence ``embeddings``: its argmax label against ``truth``
    (macro-F1)."""
    session = _session(model_bytes)
    input_name = session.get_inputs()[0].name
    features = np.ascontiguousarray(embeddings, dtype=np.float32)
    [proba] = session.run(["probabilities"], {input_name: features})
    return score_sentiment_proba(labels, proba, truth)


def score_sentiment_proba(labels: list[str], proba: np.ndarray, truth: np.ndarray) -> Scores:
    """Score sentiment probabilities (columns in ``labels`` order) against ``truth``: the
    argmax label, macro-F1 (a fine-tuned version computes them from the texts itself).

    Examples
    --------
    >>> scores = score_sentiment_proba(["negative", "positive"],
    ...                                np.array([[0.9, 0.1], [0.2, 0.8]]),
    ...                                np.array(["negative", "negative"]))
    >>> scores.extra["accuracy"]
    0.5
    """
    predicted = np.asarray(labels)[np.argmax(np.asarray(proba), axis=1)]
    truth = np.asarray(truth)
    accuracy = float(np.mean(predicted == truth)) if len(truth) else float("nan")
    return Scores(truth, predicted, weighted_macro_f1(truth, predicted), {"accuracy": accuracy})


def score_two_tower(
    files: Mapping[str, bytes],
    users: np.ndarray,
    items: np.ndarray,
    seen: Mapping[str, set[str]] | None = None,
) -> Scores:
    """Per-user NDCG@10 of a two-tower artifact over held-out (user, positive item) pairs.

    A user the model knows is ranked by dot product with their embedding; one it does not
    know gets the popularity order, as serving's fallback does (deterministic here: most
    popular first). Items in ``seen[user]`` are left out of that user's ranking (serving
    excludes what a user reacted to). Items the model does not know cannot be ranked: they
    count as misses.
    """
    item_info = json.loads(files["items.json"])
    user_ids = json.loads(files["users.json"])["users"]
    item_keys = list(item_info["item_keys"])
    popularity = np.asarray(item_info["popularity"], dtype=np.float64)
    item_matrix = np.load(io.BytesIO(files["item_embeddings.npy"]), allow_pickle=False)
    user_matrix = np.load(io.BytesIO(files["user_embeddings.npy"]), allow_pickle=False)
    user_row = {u: i for i, u in enumerate(user_ids)}
    item_row = {k: i for i, k in enumerate(item_keys)}
    seen = seen or {}
    relevant: dict[str, set[int]] = {}
    wanted: dict[str, int] = {}
    for user, item in zip(users.tolist(), items.tolist(), strict=True):
        wanted[user] = wanted.get(user, 0) + 1
        if item in item_row:
            relevant.setdefault(user, set()).add(item_row[item])
    order = sorted(wanted)
    discounts = 1.0 / np.log2(np.arange(2, 12))
    ndcg = np.zeros(len(order))
    hits = np.zeros(len(order))
    # users in blocks: one matrix product and one sort per block, bounded memory
    for start in range(0, len(order), 256):
        block = order[start : start + 256]
        scores = np.empty((len(block), len(item_keys)), dtype=np.float64)
        for r, user in enumerate(block):
            if user in user_row:
                scores[r] = item_matrix @ user_matrix[user_row[user]]
            else:
                scores[r] = popularity
            excluded = [item_row[i] for i in seen.get(user, ()) if i in item_row]
            scores[r, excluded] = -np.inf
        # the 10th best score per user, then a stable sort of the items at or above it: the
        # same top 10 as a full stable sort (ties by item order), without sorting every item
        kth = min(10, len(item_keys)) - 1
        threshold = -np.partition(-scores, kth, axis=1)[:, kth]
        for r, user in enumerate(block):
            candidates = np.flatnonzero(scores[r] >= threshold[r])
            top = candidates[np.argsort(-scores[r, candidates], kind="stable")][:10]
            found = relevant.get(user, set())
            gains = np.fromiter((i in found for i in top), dtype=np.float64, count=len(top))
            ideal = discounts[: min(wanted[user], 10)].sum()
            ndcg[start + r] = float((gains * discounts[: len(gains)]).sum() / ideal)
            hits[start + r] = 1.0 if gains.any() else 0.0
    hit_rate = float(hits.mean()) if len(hits) else float("nan")
    return Scores(np.ones(len(ndcg)), ndcg, weighted_mean(ndcg), {"hit_rate@10": hit_rate})


def score_price_forecast(
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    X: np.ndarray,
    sequences: np.ndarray,
    y: np.ndarray,
    *,
    validation: bool = True,
) -> Scores:
    """Per-row absolute error (log return) of a price forecast's ensemble on a set; the key
    metric is their mean (``mae``, lower is better).

    ``validation`` scores the validation twins (``*_validation.onnx`` with
    ``extra.validation.weights``) when the artifact has them: the members that had not seen
    the set's rows. ``sequences`` may be longer than the model's window (its last steps are
    used).
    """
    from learnloop.models.kinds import FORECAST_MEMBERS

    extra = manifest.get("extra") or {}
    twins = validation and all(pair[1] in files for pair in FORECAST_MEMBERS.values())
    weights = (extra.get("validation") or {}).get("weights") if twins else extra.get("weights")
    window = int(extra["window"])
    predictions: dict[str, np.ndarray] = {}
    for member, (serving, twin) in FORECAST_MEMBERS.items():
        session = _session(files[twin if twins else serving])
        if member == "gbm":
            feed = np.ascontiguousarray(X, dtype=np.float32)
        else:
            feed = np.ascontiguousarray(np.asarray(sequences)[:, -window:, :], dtype=np.float32)
        [values] = session.run(None, {session.get_inputs()[0].name: feed})[:1]
        predictions[member] = np.asarray(values, dtype=np.float64).reshape(len(feed))
    ensemble = sum(float(w) * predictions[m] for m, w in dict(weights or {}).items())
    y = np.asarray(y, dtype=np.float64)
    errors = np.abs(np.asarray(ensemble, dtype=np.float64) - y)
    hits = float(np.mean((np.asarray(ensemble) > 0) == (y > 0))) if len(y) else float("nan")
    return Scores(y, errors, weighted_mean(errors), {"directional_accuracy": hits})


def _session(model_bytes: bytes) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(bytes(model_bytes), providers=["CPUExecutionProvider"])


def _plain(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object:
        array = np.asarray([str(v) for v in array.ravel()]).reshape(array.shape)
    return array

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
    "score_sentiment",
    "score_two_tower",
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


# --- metrics over a subset of rows ---------------------------------------------------------------


def r2_metric(y: np.ndarray, predicted: np.ndarray) -> float:
    """R² (nan when ``y`` is constant)."""
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y - predicted) ** 2)) / total


def auc_metric(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC from average ranks (Mann-Whitney U; nan with one class).

    Examples
    --------
    >>> auc_metric(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    positive = y > 0.5
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    ranks[order] = np.arange(1, len(score) + 1)
    # ties share their average rank
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_f1_metric(y: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-averaged F1 over the labels present in ``y`` or ``predicted``.

    Examples
    --------
    >>> macro_f1_metric(np.array(["a", "b", "b"]), np.array(["a", "b", "a"]))
    0.6666666666666666
    """
    scores = []
    for label in np.union1d(y, predicted):
        tp = float(np.sum((predicted == label) & (y == label)))
        fp = float(np.sum((predicted == label) & (y != label)))
        fn = float(np.sum((predicted != label) & (y == label)))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def _mean_metric(_: np.ndarray, per_row: np.ndarray) -> float:
    return float(per_row.mean()) if len(per_row) else float("nan")


Metric = Callable[[np.ndarray, np.ndarray], float]
METRICS: dict[str, Metric] = {
    "r2": r2_metric,
    "auc": auc_metric,
    "macro_f1": macro_f1_metric,
    "ndcg@10": _mean_metric,
    "hit_rate@10": _mean_metric,
}


@dataclass(frozen=True)
class Scores:
    """One model's outputs on a set: ``metric(target[rows], outputs[rows])`` is its score on
    any resample ``rows``.

    Attributes
    ----------
    target : numpy.ndarray
        The truth per row (ones for two-tower, where outputs are per-user NDCG already).
    outputs : numpy.ndarray
        The model's prediction (or per-user score) per row.
    metric : callable
        ``metric(target, outputs) -> float``.
    extra : dict
        Other metrics on the whole set, recorded for information (e.g. ``hit_rate@10``).
    """

    target: np.ndarray
    outputs: np.ndarray
    metric: Metric
    extra: dict[str, float]

    def score(self, rows: np.ndarray | None = None) -> float:
        """The key metric over ``rows`` (default: every row)."""
        if rows is None:
            return self.metric(self.target, self.outputs)
        return self.metric(self.target[rows], self.outputs[rows])


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
    return Scores(np.asarray(y, dtype=np.float64), predicted, METRICS[metric], {})


def score_sentiment(
    model_bytes: bytes, labels: list[str], embeddings: np.ndarray, truth: np.ndarray
) -> Scores:
    """Score a sentiment head on sentence ``embeddings``: its argmax label against ``truth``
    (macro-F1)."""
    session = _session(model_bytes)
    input_name = session.get_inputs()[0].name
    features = np.ascontiguousarray(embeddings, dtype=np.float32)
    [proba] = session.run(["probabilities"], {input_name: features})
    predicted = np.asarray(labels)[np.argmax(np.asarray(proba), axis=1)]
    accuracy = float(np.mean(predicted == truth)) if len(truth) else float("nan")
    return Scores(np.asarray(truth), predicted, macro_f1_metric, {"accuracy": accuracy})


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
    discounts = 1.0 / np.log2(np.arange(2, 12))
    ndcg, hits = [], []
    for user in sorted(wanted):
        if user in user_row:
            scores = (item_matrix @ user_matrix[user_row[user]]).astype(np.float64)
        else:
            scores = popularity.copy()
        excluded = [item_row[i] for i in seen.get(user, ()) if i in item_row]
        scores[excluded] = -np.inf
        top = np.argsort(-scores, kind="stable")[:10]
        found = relevant.get(user, set())
        gains = np.array([1.0 if i in found else 0.0 for i in top])
        ideal = discounts[: min(wanted[user], 10)].sum()
        ndcg.append(float((gains * discounts[: len(gains)]).sum() / ideal))
        hits.append(1.0 if gains.any() else 0.0)
    per_user = np.asarray(ndcg, dtype=np.float64)
    hit_rate = float(np.mean(hits)) if hits else float("nan")
    return Scores(np.ones(len(per_user)), per_user, _mean_metric, {"hit_rate@10": hit_rate})


def _session(model_bytes: bytes) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(bytes(model_bytes), providers=["CPUExecutionProvider"])


def _plain(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object:
        array = np.asarray([str(v) for v in array.ravel()]).reshape(array.shape)
    return array

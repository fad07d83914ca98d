"""Champion and challenger *settings* on one split: the fair comparison of a refit recommender.

A ``two_tower`` version is refit on every positive after its settings were chosen, so any
held-out row it could be scored on is a row it trained on: scoring two refit versions on a
registered set favours whichever memorises better. Instead, when a production version
exists, the training job refits production's settings (its manifest's ``extra.model`` and
``extra.hyperparameters``) on the same training part as the candidate's settings (training +
validation of the candidate's per-user split) and scores both on the same test users. The
per-user figures ship in the artifact as ``champion.npz`` (:data:`CHAMPION_FILE`, sha256-checked
with the rest) and ``extra.champion`` says which production version, which settings, which
split and how many users (:func:`training_jobs.two_tower.champion.compare_with_production`).

Registration (:func:`learnloop.models.promotion.decide`) re-applies its own rule to those
per-user figures (:func:`same_split_comparison`): the mean per-user NDCG@10 difference and a
seeded paired bootstrap over users, with the stage's tolerance and resamples. It does so only
when the figures are about the version that is production now; otherwise it says why and
falls back to the registered-set comparison.

Examples
--------
>>> import numpy as np
>>> lo, hi = paired_interval(np.full(40, 0.1), resamples=200)
>>> round(lo, 6), round(hi, 6)
(0.1, 0.1)
>>> paired_interval(np.array([0.3]), resamples=200) is None
True
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

from learnloop.exceptions import LearnloopError

__all__ = [
    "CHAMPION_FILE",
    "COMPARED",
    "PER_USER",
    "ChampionError",
    "paired_interval",
    "per_user_file",
    "read_per_user",
    "same_split_comparison",
]

#: The artifact file holding both settings' per-user figures on the common test users.
CHAMPION_FILE = "champion.npz"
#: ``extra.champion.status`` when both settings were fit and scored.
COMPARED = "compared"
#: The per-user figures, each an array aligned with ``users`` (candidate and production).
PER_USER = ("ndcg@10", "recall@10")
#: Decides; the others are recorded beside it.
KEY = "ndcg@10"
_SEED = 20261207


class ChampionError(LearnloopError):
    """The per-user figures do not load or do not line up; ``message`` says which."""

    code = "champion_unreadable"


def _column(side: str, metric: str) -> str:
    return f"{side}_{metric.replace('@', '_at_')}"


def per_user_file(
    users: list[str], candidate: Mapping[str, Any], production: Mapping[str, Any]
) -> bytes:
    """``champion.npz``: ``users`` and, per metric of :data:`PER_USER`, both sides' figures
    (``candidate_ndcg_at_10``, ``production_ndcg_at_10``, ...), no pickles.

    Examples
    --------
    >>> blob = per_user_file(["a", "b"], {"ndcg@10": [1.0, 0.0], "recall@10": [1.0, 0.0]},
    ...                      {"ndcg@10": [0.5, 0.5], "recall@10": [1.0, 1.0]})
    >>> read_per_user(blob)["production"]["ndcg@10"].tolist()
    [0.5, 0.5]
    """
    import numpy as np

    arrays: dict[str, Any] = {"users": np.asarray(users, dtype=str)}
    for metric in PER_USER:
        arrays[_column("candidate", metric)] = np.asarray(candidate[metric], dtype=np.float64)
        arrays[_column("production", metric)] = np.asarray(production[metric], dtype=np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def read_per_user(blob: bytes) -> dict[str, Any]:
    """``{"users": array, "candidate": {metric: array}, "production": {metric: array}}``.

    Raises
    ------
    ChampionError
        When the file does not load without pickles, misses a column, or its columns differ
        in length or hold non-finite figures.
    """
    import numpy as np

    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            users = data["users"]
            sides = {
                side: {m: np.asarray(data[_column(side, m)], np.float64) for m in PER_USER}
                for side in ("candidate", "production")
            }
    except (OSError, ValueError, KeyError) as exc:
        raise ChampionError(f"{CHAMPION_FILE} does not load: {exc}") from exc
    n = len(users)
    for side, columns in sides.items():
        for metric, values in columns.items():
            if values.shape != (n,) or not np.all(np.isfinite(values)):
                raise ChampionError(
                    f"{CHAMPION_FILE}: {side} {metric} is not {n} finite per-user figures"
                )
    return {"users": users, **sides}


def paired_interval(
    deltas: Any, *, resamples: int, seed: int = _SEED
) -> tuple[float, float] | None:
    """The 95 % percentile interval of the mean of per-user ``deltas`` (candidate -
    production) over seeded bootstrap resamples of the users; None with fewer than 2 users."""
    import numpy as np

    deltas = np.asarray(deltas, dtype=np.float64)
    n = len(deltas)
    if n < 2 or resamples < 1:
        return None
    rng = np.random.default_rng(seed)
    means = deltas[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def same_split_comparison(
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    production_version: str,
    *,
    resamples: int,
) -> tuple[dict[str, Any] | None, str | None]:
    """The figures registration decides a ``two_tower`` version on, or why there are none.

    Returns
    -------
    (dict or None, str or None)
        ``(fields, None)`` when the job compared against ``production_version``: ``metric``,
        ``candidate``, ``production`` (mean per-user NDCG@10), ``delta``, ``interval``,
        ``users``, ``recall@10`` (both means), the settings and the split, ready for the
        registry record. ``(None, note)`` when the manifest carries no usable comparison
        against that version (``note`` is None when it carries none at all).

    Examples
    --------
    >>> same_split_comparison({"extra": {}}, {}, "v1", resamples=10)
    (None, None)
    """
    import numpy as np

    extra = manifest.get("extra") or {}
    champion = extra.get("champion") if isinstance(extra, Mapping) else None
    if not isinstance(champion, Mapping):
        return None, None
    compared_with = champion.get("production_version")
    if champion.get("status") != COMPARED:
        why = champion.get("reason") or champion.get("status")
        return None, f"the job did not compare with production {compared_with}: {why}"
    if compared_with != production_version:
        return None, (
            f"the job compared with {compared_with}, but production is now {production_version}"
        )
    if CHAMPION_FILE not in files:
        return None, f"the manifest lists no {CHAMPION_FILE}"
    try:
        per_user = read_per_user(files[CHAMPION_FILE])
    except ChampionError as exc:
        return None, exc.message
    users = len(per_user["users"])
    if users < 2:
        return None, f"{users} common test users: too few to compare"
    cand, prod = per_user["candidate"], per_user["production"]
    delta = cand[KEY] - prod[KEY]
    interval = paired_interval(delta, resamples=resamples)
    fields = {
        "method": "same_split",
        "metric": KEY,
        "candidate": float(cand[KEY].mean()),
        "production": float(prod[KEY].mean()),
        "delta": float(delta.mean()),
        "interval": list(interval) if interval else None,
        "users": users,
        "users_sha256": champion.get("users_sha256"),
        "rows": users,
        "per_user": {
            metric: {
                "candidate": float(cand[metric].mean()),
                "production": float(prod[metric].mean()),
                "delta": float(np.mean(cand[metric] - prod[metric])),
            }
            for metric in PER_USER
        },
        "split": champion.get("split"),
        "data": champion.get("data"),
        "candidate_settings": champion.get("candidate"),
        "production_settings": champion.get("production"),
        "set": manifest.get("evaluation"),
        "file": CHAMPION_FILE,
    }
    if champion.get("notes"):
        fields["notes"] = list(champion["notes"])
    return {k: v for k, v in fields.items() if k == "interval" or not _missing(v)}, None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def reason_of(
    rule: str,
    decision: str,
    fields: Mapping[str, Any],
    *,
    production_version: str,
    tolerance: float,
    age_days: float | None,
) -> str:
    """The registry record's sentence for a same-split decision (``rule`` from
    :func:`learnloop.models.promotion.rule_of`).

    Examples
    --------
    >>> fields = {"candidate": 0.30, "production": 0.35, "delta": -0.05,
    ...           "interval": [-0.08, -0.02], "users": 120}
    >>> reason_of("not_worse", "keep", fields, production_version="v1", tolerance=0.01,
    ...           age_days=2.0).split(": ")[:2]
    ['not_worse', 'worse than production by 0.0500 (> 0.01)']
    """
    interval = fields.get("interval")
    span = f"[{interval[0]:+.4f}, {interval[1]:+.4f}]" if interval else "undefined"
    numbers = (
        f"{KEY} {fields['candidate']:.4f} vs production {production_version}'s settings "
        f"{fields['production']:.4f}, both fit on the same training part and scored on the "
        f"same {fields['users']} held-out users (paired 95% interval {span})"
    )
    delta = float(fields["delta"])
    if rule == "not_worse" and decision == "promote":
        verdict = "better than production" if delta >= 0 else f"a tie within ±{tolerance:g}"
        return f"not_worse: {verdict}: {numbers}"
    if rule == "not_worse":
        return (
            f"not_worse: worse than production by {-delta:.4f} (> {tolerance:g}): {numbers}; "
            "production kept"
        )
    age = f"production is {age_days:.1f} days old" if age_days is not None else "production is old"
    if decision == "promote":
        return f"max_age: {age} and the candidate is not significantly worse: {numbers}"
    return f"max_age: {age} but the candidate is significantly worse: {numbers}; production kept"

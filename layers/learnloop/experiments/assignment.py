"""Deterministic, stateless bucketing of users into an experiment's variants.

A user's point in [0, 1) is a SHA-256 of ``(experiment_id, user_id)``; the variant is the one
whose slice of the cumulative weights holds that point. Nothing is stored per user: every
container, restart and retry computes the same variant, and an app can reproduce it
client-side. Not ``random`` (a draw per request would flip users between variants unless each
assignment were stored) and not the built-in ``hash()`` (salted per process).

The raw user id is hashed, not its pseudonym: the pseudonym is keyed by the stage's secret, so
rotating the secret would reshuffle every running experiment, while the digest is never stored
anywhere that the HMAC would protect.

Examples
--------
>>> point = bucket_point("checkout-2026", "u1")
>>> 0.0 <= point < 1.0, point == bucket_point("checkout-2026", "u1")
(True, True)
>>> choose_variant(0.1, [0.5, 0.5]), choose_variant(0.5, [0.5, 0.5]), choose_variant(0.99, [0.5, 0.5])
(0, 1, 1)
"""  # noqa: E501

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from learnloop.experiments.lookup import get_experiment
from learnloop.experiments.schemas import RUNNING, AssignmentIn, ExperimentKeyIn
from learnloop.store.tables import Tables
from learnloop.users.consent import dropped_users
from learnloop.validation import validate

if TYPE_CHECKING:
    from learnloop.users.consent import ConsentCache

#: 53 bits: every such integer divided by 2**53 is an exact float strictly below 1.
_POINT_BITS = 53


def bucket_point(experiment_id: str, user_id: str) -> float:
    """The user's fixed point in [0, 1) for ``experiment_id``.

    The experiment id salts the hash, so a user's buckets in two experiments are independent.
    """
    # A separator no id may contain keeps ("ab", "c") and ("a", "bc") apart.
    digest = hashlib.sha256(f"{experiment_id}\x1f{user_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> (64 - _POINT_BITS)) / float(1 << _POINT_BITS)


def choose_variant(point: float, weights: Sequence[float]) -> int:
    """The index of the variant whose cumulative-weight slice holds ``point``.

    ``weights`` are normalised (sum 1); the last slice takes whatever rounding leaves over.
    """
    edges = list(itertools.accumulate(weights))[:-1]
    return bisect.bisect_right(edges, point)


def variant_for(experiment_id: str, user_id: str, variants: Sequence[Mapping[str, Any]]) -> str:
    """The name of ``user_id``'s variant among ``variants`` (``[{"name", "weight"}]``).

    Examples
    --------
    >>> variants = [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.5}]
    >>> variant_for("exp", "u1", variants) == variant_for("exp", "u1", variants)
    True
    """
    index = choose_variant(
        bucket_point(experiment_id, user_id), [float(v["weight"]) for v in variants]
    )
    return str(variants[index]["name"])


def assign(
    tables: Tables,
    experiment_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """``GET /v1/experiments/{experiment_id}/assignment?user_id=...``: the user's variant.

    Only a running experiment buckets users. A draft or stopped experiment, and a user who
    opted out or was deleted, get the control (the first variant) with ``in_experiment:
    false`` and a ``reason``; the app shows the control and sends no exposure (an opted-out
    user's exposure would be dropped at ingest anyway, so they are never counted).

    Parameters
    ----------
    tables
        The stage's tables (one GetItem of the experiment).
    experiment_id
        From the path.
    query
        ``user_id`` (required).
    consent
        The container's consent cache (``services.consent``).

    Returns
    -------
    dict
        ``{"experiment_id", "user_id", "variant", "status", "in_experiment", "reason"}``,
        ``reason`` one of ``None``, ``"not_running"``, ``"excluded"``.

    Raises
    ------
    ValidationError
        A bad experiment id or a missing / bad ``user_id`` (422).
    NotFoundError
        No such experiment (404).

    Examples
    --------
    >>> assign(tables, "checkout-2026", {"user_id": "u1"})  # doctest: +SKIP
    {'experiment_id': 'checkout-2026', 'user_id': 'u1', 'variant': 'b', 'status': 'running',
     'in_experiment': True, 'reason': None}
    """
    key = validate(ExperimentKeyIn, {"experiment_id": experiment_id})
    request = validate(AssignmentIn, dict(query or {}))
    experiment = get_experiment(tables, key.experiment_id)
    variants = experiment.variants
    reply: dict[str, Any] = {
        "experiment_id": key.experiment_id,
        "user_id": request.user_id,
        "variant": str(variants[0]["name"]),
        "status": experiment.status,
        "in_experiment": False,
        "reason": None,
    }
    if experiment.status != RUNNING:
        reply["reason"] = "not_running"
        return reply

    if dropped_users(tables, [request.user_id], cache=consent):
        reply["reason"] = "excluded"
        return reply
    reply["variant"] = variant_for(key.experiment_id, request.user_id, variants)
    reply["in_experiment"] = True
    return reply


__all__ = ["assign", "bucket_point", "choose_variant", "variant_for"]

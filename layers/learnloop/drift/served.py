"""Drift of the container-trained models: two-tower recommendations and the sentiment head.

* **two_tower**: does the production model still rank what users like? Likes given in the
  recent window (reactions whose latest state is ``like``, first given after the model's
  ``created_at``) by users the model knows, on items it knows, are the held-out positives; each
  such user's top 10 is ranked as serving ranks it (dot product, excluding what the user had
  reacted to before the model was trained) and ``recall@10`` (and ``hit_rate@10``: the share
  of users with at least one hit) is compared with the manifest's ``recall@10``, the
  two-tower job's test-split figure (the newest 15 % of positives, time-split, so the same
  "next likes" question). More than ``drift_recall_tolerance`` (0.1) lower alerts. Fewer than
  ``drift_min_users`` (20) users to score: skipped, saying why.
* **sentiment**: the production head labels the recent texts the stack stored (the content
  snapshots of reactions in the window and the text of recently scored posts), and its
  predicted label mix is compared with the training mix in the manifest (``extra.label_mix``,
  or ``extra.label_counts`` for heads trained before the mix was recorded) by total variation
  distance (half the L1 distance of the two mixes: the share of texts whose label would have
  to change); above ``drift_label_mix_threshold`` (0.2) alerts. PSI is reported beside it.
  Fewer than ``drift_min_rows`` (50) texts: skipped.

numpy and onnxruntime only, as the rest of the drift check.

Examples
--------
>>> report, alerts = two_tower_drift(tables, loader, now, days=7)  # doctest: +SKIP
>>> report["performance"]["metric"], alerts[0]["metric"]  # doctest: +SKIP
('recall@10', 'recall@10')
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from learnloop.clock import iso
from learnloop.drift.statistics import label_mix, mix_psi, total_variation
from learnloop.exceptions import LearnloopError
from learnloop.models.cache import ProductionRef
from learnloop.models.registry import production_record
from learnloop.store.queries import days_between, query_days
from learnloop.store.tables import Tables
from learnloop.users.pseudonym import pseudonymize

TWO_TOWER = "two_tower"
SENTIMENT = "sentiment"
#: The cut-off of the ranking metric (the two-tower job records @5, @10 and @20).
K = 10
#: At most this many users are ranked, and this many texts labelled, per check (bounded cost).
MAX_USERS = 2000
MAX_TEXTS = 2000
_DECIMALS = 6

Report = tuple[dict[str, Any], list[dict[str, Any]]]


def _production(tables: Tables, name: str) -> ProductionRef | None:
    alias = production_record(tables, name)
    if alias is None or not alias.target:
        return None
    version = str(alias.target)
    return ProductionRef(
        name=name, version=version, s3_prefix=alias.s3_prefix or f"models/{name}/{version}/"
    )


def recent_reactions(tables: Tables, now: datetime, days: int) -> list[Any]:
    """Reactions whose latest state was set in the ``days`` before ``now`` (day partitions)."""
    start = now - timedelta(days=days)
    return [
        r
        for r in query_days(
            tables.reactions,
            days_between(start.date(), now.date()),
            shards=tables.settings.day_shards,
            attributes=["user_id", "item_key", "reaction", "created_at", "updated_at", "content"],
        )
        if iso(start) < r.updated_at <= iso(now)
    ]


def two_tower_drift(
    tables: Tables,
    loader: Any,
    now: datetime,
    *,
    days: int,
    reactions: list[Any] | None = None,
) -> Report:
    """The two-tower model's recall@10 on the recent likes against its validation figure.

    Returns
    -------
    tuple
        ``(report, alerts)``: ``report`` has ``version``, ``users``, ``likes`` and
        ``performance`` (``metric``, ``recent``, ``validation``, ``tolerance``,
        ``recent_hit_rate@10``), or ``skipped`` with why.
    """
    from learnloop.recommender.index import SERVED_FILES, load_two_tower

    settings = tables.settings
    ref = _production(tables, TWO_TOWER)
    if ref is None:
        return {"skipped": f"{TWO_TOWER} has no production version"}, []
    try:
        manifest, files = loader.read_artifact(ref, only=SERVED_FILES)
        index = load_two_tower(ref.name, ref.version, files, manifest)
    except LearnloopError as exc:
        return {"version": ref.version, "skipped": f"the production model does not load: {exc}"}, []
    trained_at = str(manifest.get("created_at") or "")
    reactions = recent_reactions(tables, now, days) if reactions is None else reactions
    # New likes: first given after training, on items the model can rank, by users it knows.
    fresh: dict[str, set[str]] = defaultdict(set)
    for r in reactions:
        if r.reaction == "like" and r.created_at > trained_at and r.item_key in index.item_row:
            fresh[r.user_id].add(r.item_key)
    secret = settings.pseudonym_secret
    known = {u: pseudonymize(u, secret) for u in sorted(fresh)}
    users = [u for u in sorted(fresh) if known[u] in index.user_row][:MAX_USERS]
    report: dict[str, Any] = {
        "version": ref.version,
        "users": len(users),
        "likes": sum(len(fresh[u]) for u in users),
    }
    if len(users) < settings.drift_min_users:
        report["skipped"] = (
            f"{len(users)} known users liked known items in the last {days} days; "
            f"a drift check needs at least {settings.drift_min_users}"
        )
        return report, []
    recalls, hits = [], []
    for user in users:
        # What the user had reacted to before training: serving never recommends it.
        before = {
            r.item_key
            for r in tables.reactions.query(user, attributes_to_get=["item_key", "created_at"])
            if r.created_at <= trained_at
        }
        vector = index.user_vector(known[user])
        assert vector is not None  # filtered above
        top = {index.item_keys[row] for row, _ in index.recommend(vector, k=K, exclude=before)}
        found = len(top & fresh[user])
        recalls.append(found / len(fresh[user]))
        hits.append(1.0 if found else 0.0)
    recent = float(np.mean(recalls))
    metrics = manifest.get("metrics") or {}
    metric = f"recall@{K}"
    validation = metrics.get(metric)
    tolerance = settings.drift_recall_tolerance
    performance: dict[str, Any] = {
        "metric": metric,
        "recent": round(recent, _DECIMALS),
        "validation": None if validation is None else round(float(validation), _DECIMALS),
        "tolerance": tolerance,
        f"recent_hit_rate@{K}": round(float(np.mean(hits)), _DECIMALS),
    }
    report["performance"] = performance
    if validation is None:
        performance["not_compared"] = f"the manifest records no {metric}"
        return report, []
    floor = float(validation) - tolerance
    if recent >= floor:
        return report, []
    alert = {
        "model": TWO_TOWER,
        "feature": None,
        "metric": metric,
        "value": round(recent, _DECIMALS),
        "threshold": round(floor, _DECIMALS),
        "message": f"{TWO_TOWER} {ref.version}: {metric} {recent:.3f} on the likes of the last "
        f"{days} days ({len(users)} users) vs {float(validation):.3f} at validation, more than "
        f"{tolerance:g} lower",
    }
    return report, [alert]


def recent_texts(reactions: Sequence[Any], contents: Sequence[Mapping[str, Any]]) -> list[str]:
    """The distinct texts of reaction snapshots and scored posts, sorted, at most
    :data:`MAX_TEXTS` (the newest snapshot of each item).

    Examples
    --------
    >>> recent_texts([], [{"text": "b"}, {"text": "a"}, {"text": "a"}, {}])
    ['a', 'b']
    """
    from learnloop.recommender.recommend import snapshot_text

    latest: dict[str, tuple[str, str]] = {}
    for r in reactions:
        text = snapshot_text(r.content)
        if text is not None and (r.item_key not in latest or r.updated_at > latest[r.item_key][0]):
            latest[r.item_key] = (r.updated_at, text)
    texts = {text for _, text in latest.values()}
    texts.update(str(c["text"]) for c in contents if isinstance(c.get("text"), str) and c["text"])
    return sorted(texts)[:MAX_TEXTS]


def sentiment_drift(
    tables: Tables,
    loader: Any,
    now: datetime,
    *,
    days: int,
    contents: Sequence[Mapping[str, Any]] = (),
    reactions: list[Any] | None = None,
) -> Report:
    """The sentiment head's predicted label mix on recent texts against its training mix.

    Returns
    -------
    tuple
        ``(report, alerts)``: ``report`` has ``version``, ``texts`` and ``label_mix``
        (``training``, ``recent``, ``tvd``, ``psi``, ``threshold``), or ``skipped``.
    """
    from learnloop.sentiment.classify import load_sentiment_artifact

    settings = tables.settings
    ref = _production(tables, SENTIMENT)
    if ref is None:
        return {"skipped": f"{SENTIMENT} has no production version"}, []
    try:
        manifest, _ = loader.read_artifact(ref, only=())
        model = load_sentiment_artifact(loader, ref)
    except LearnloopError as exc:
        return {"version": ref.version, "skipped": f"the production model does not load: {exc}"}, []
    labels = list(model.labels)
    training = training_mix(manifest.get("extra") or {}, labels)
    reactions = recent_reactions(tables, now, days) if reactions is None else reactions
    texts = recent_texts(reactions, contents)
    report: dict[str, Any] = {"version": ref.version, "texts": len(texts)}
    if training is None:
        report["skipped"] = "the manifest records no training label mix"
        return report, []
    if len(texts) < settings.drift_min_rows:
        report["skipped"] = (
            f"{len(texts)} texts in the last {days} days; "
            f"a drift check needs at least {settings.drift_min_rows}"
        )
        return report, []
    predicted: list[str] = []
    for start in range(0, len(texts), 64):
        probabilities = model.predict_proba(texts[start : start + 64])
        predicted.extend(labels[int(i)] for i in np.argmax(probabilities, axis=1))
    recent = label_mix(predicted, labels)
    distance = total_variation(training, recent)
    threshold = settings.drift_label_mix_threshold
    report["label_mix"] = {
        "training": {k: round(v, _DECIMALS) for k, v in training.items()},
        "recent": {k: round(v, _DECIMALS) for k, v in recent.items()},
        "tvd": round(distance, _DECIMALS),
        "psi": round(mix_psi(training, recent), _DECIMALS),
        "threshold": threshold,
    }
    if distance <= threshold:
        return report, []
    shares = ", ".join(f"{k} {recent[k]:.0%} (trained {training[k]:.0%})" for k in labels)
    alert = {
        "model": SENTIMENT,
        "feature": "label_mix",
        "metric": "tvd",
        "value": round(distance, _DECIMALS),
        "threshold": threshold,
        "message": f"{SENTIMENT} {ref.version}: predicted label mix moved, total variation "
        f"{distance:.3f} > {threshold:g} over {len(texts)} texts of the last {days} days: "
        f"{shares}",
    }
    return report, [alert]


def training_mix(extra: Mapping[str, Any], labels: Sequence[str]) -> dict[str, float] | None:
    """The training label mix of a sentiment manifest's ``extra`` (``label_mix``, else
    ``label_counts`` normalised); None when it records neither.

    Examples
    --------
    >>> training_mix({"label_counts": {"negative": 1, "neutral": 1, "positive": 2}},
    ...              ["negative", "neutral", "positive"])
    {'negative': 0.25, 'neutral': 0.25, 'positive': 0.5}
    """
    mix = extra.get("label_mix")
    if isinstance(mix, Mapping) and mix:
        return {label: float(mix.get(label, 0.0)) for label in labels}
    counts = extra.get("label_counts")
    if isinstance(counts, Mapping):
        total = sum(float(counts.get(label, 0)) for label in labels)
        if total > 0:
            return {label: float(counts.get(label, 0)) / total for label in labels}
    return None


__all__ = [
    "SENTIMENT",
    "TWO_TOWER",
    "K",
    "recent_reactions",
    "recent_texts",
    "sentiment_drift",
    "training_mix",
    "two_tower_drift",
]

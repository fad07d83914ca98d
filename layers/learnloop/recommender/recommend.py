"""``GET /v1/recommendations``, ``/v1/users/{id}/similar`` and
``/v1/items/{type}/{id}/similar``: answers from the production two-tower model.

Recommendations for a user the model knows (by keyed pseudonym, contract A) are the items of
highest dot product with their embedding. Every item the user interacted with is excluded
(``recommend_exclude``: ``all``, the default, is their reactions and the items their events
name; ``reactions`` is likes and dislikes only), read by key
(:mod:`learnloop.recommender.history`: one Query per table, cached per container for
``recommend_history_seconds``), so a like made after training is excluded too. A user the
model was not trained on gets, in order of preference:

``history``
    the mean embedding of the items they reacted to since (when the model knows any of them);
``popular``
    popular-with-exploration: Thompson sampling over item popularity
    (:meth:`~learnloop.recommender.index.TwoTowerIndex.popular`), seeded by ``seed`` when
    given, so a test or a replay gets the same list.

Every reply names the ``model`` and ``version`` it came from and the ``strategy`` used.
Importing this module is cheap (pydantic only); numpy arrives with the first request.

Examples
--------
>>> recommend(tables, cache, {"user_id": "u1", "k": "3"})  # doctest: +SKIP
{'model': 'two_tower', 'version': '20261120T093000Z', 'user_id': 'u1', 'strategy': 'two_tower',
 'items': [{'item_key': 'meme#m7', 'content_type': 'meme', 'external_id': 'm7', 'score': 3.1},
 ...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, ValidationInfo, field_validator

from learnloop.decisions.log import RECOMMENDATIONS_SURFACE, DecisionLog, new_decision_id
from learnloop.exceptions import NoProductionModelError, NotFoundError
from learnloop.store.keys import item_key
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users, excluded_pseudonyms
from learnloop.users.pseudonym import pseudonymize
from learnloop.validation import Identifier, Strict, validate

if TYPE_CHECKING:
    import numpy as np

    from learnloop.models.cache import VersionCache
    from learnloop.models.variants import AssignModel
    from learnloop.recommender.history import HistoryCache, UserHistory
    from learnloop.recommender.index import TwoTowerIndex
    from learnloop.text.encoder import TextEncoder

__all__ = [
    "MAX_K",
    "TWO_TOWER_MODEL",
    "RecommendationsIn",
    "SimilarIn",
    "SimilarUsersIn",
    "recommend",
    "similar_items",
    "similar_users",
    "snapshot_text",
]

TWO_TOWER_MODEL = "two_tower"
MAX_K = 100
K = Annotated[int, Field(ge=1, le=MAX_K)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class _KnownContentType(Strict):
    @field_validator("content_type", check_fields=False)
    @classmethod
    def _known_content_type(cls, value: str | None, info: ValidationInfo) -> str | None:
        allowed = (info.context or {}).get("content_types")
        if value is not None and allowed and value not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return value


class RecommendationsIn(_KnownContentType):
    """The query of ``GET /v1/recommendations`` (strings, coerced: ``k=10``)."""

    user_id: Identifier
    content_type: Identifier | None = None
    k: K = 10
    #: Seeds the exploration of the popular fallback (reproducible lists); omit in production.
    seed: Seed | None = None


class SimilarIn(_KnownContentType):
    """The query of the ``/similar`` routes; ``content_type`` restricts similar items, and
    ``user_id`` leaves out the items that user interacted with."""

    k: K = 10
    content_type: Identifier | None = None
    user_id: Identifier | None = None


class SimilarUsersIn(Strict):
    """The query of ``GET /v1/users/{user_id}/similar``."""

    k: K = 10


class _UserPath(Strict):
    user_id: Identifier


class _ItemPath(_KnownContentType):
    content_type: Identifier
    external_id: Identifier


def recommend(
    tables: Tables,
    cache: VersionCache[TwoTowerIndex],
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
    decisions: DecisionLog | None = None,
    assign: AssignModel | None = None,
    history: HistoryCache | None = None,
) -> dict[str, Any]:
    """The ``k`` items to show ``user_id``, never one they already interacted with.

    With ``assign`` (the API's running model experiments), a user in a variant that names a
    ``two_tower`` version is served that version; the reply and the log name the ``variant``.

    The model's list goes through an ε-greedy exploration layer (``recommend_epsilon``, pool
    ``recommend_explore_pool``; see :mod:`learnloop.recommender.explore`); each item carries
    the ``propensity`` of its slot. With ``decisions`` the answer is logged; it carries a
    ``decision_id`` either way.

    A user who opted out or was deleted is never personalised from what the model learned of
    them (a deleted user's embedding stays in the model until it is retrained): they get the
    ``popular`` list.

    Parameters
    ----------
    tables : Tables
        The stage's tables (reactions are read live; settings give the pseudonym secret and
        the content types).
    cache : VersionCache of TwoTowerIndex
        The container's production two-tower model (``services.recommender_cache``).
    query : mapping of str to str
        ``user_id`` (required), ``content_type``, ``k`` (1-100, default 10), ``seed``.
    consent : ConsentCache, optional
        The container's consent cache (``services.consent``); without one, consent is read.
    history : HistoryCache, optional
        The container's history cache (``services.user_history``); without one, it is read.

    Returns
    -------
    dict
        ``{"model", "version", "user_id", "strategy", "content_type", "items": [{"item_key",
        "content_type", "external_id", "score"}, ...]}``, best first; ``strategy`` is
        ``two_tower``, ``history`` or ``popular``.

    Raises
    ------
    ValidationError
        A missing or bad query parameter (422, naming it).
    NoProductionModelError
        No two-tower model in production yet (409).

    Examples
    --------
    >>> recommend(tables, cache, {"user_id": "u1", "k": "0"})  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.ValidationError: invalid fields: k
    """
    settings = tables.settings
    request = validate(
        RecommendationsIn, dict(query or {}), context={"content_types": settings.content_types}
    )
    assignment = assign(TWO_TOWER_MODEL, request.user_id) if assign is not None else None
    index = cache.get_version(TWO_TOWER_MODEL, assignment.version if assignment else None)
    seen = _history(tables, request.user_id, history)
    reacted, liked = seen.excluded(settings.recommend_exclude), seen.liked
    vector: np.ndarray | None = None
    strategy = TWO_TOWER_MODEL
    anonymous = bool(dropped_users(tables, [request.user_id], cache=consent))
    if not anonymous:
        vector = index.user_vector(pseudonymize(request.user_id, settings.pseudonym_secret))
        if vector is None:
            vector = index.history_vector(liked)
            strategy = "history"
    epsilon = settings.recommend_epsilon
    # The ranking goes on past k: the exploration pool (none needed when epsilon is 0).
    wanted = request.k + (max(request.k, settings.recommend_explore_pool) if epsilon > 0 else 0)
    if vector is not None:
        found = index.recommend(
            vector, k=wanted, content_type=request.content_type, exclude=reacted
        )
    else:
        strategy = "popular"
        found = index.popular(
            k=wanted,
            content_type=request.content_type,
            exclude=reacted,
            random_state=request.seed,
        )
    from learnloop.recommender.explore import explore_ranking  # numpy: first request only

    seed = None if request.seed is None else [request.seed, 1]
    shown = explore_ranking(found, k=request.k, epsilon=epsilon, random_state=seed)
    items = _items(index, [(row, score) for row, score, _ in shown])
    for item, (_, _, propensity) in zip(items, shown, strict=True):
        item["propensity"] = propensity
    reply: dict[str, Any] = {
        "model": index.name,
        "version": index.version,
        "user_id": request.user_id,
        "strategy": strategy,
        "content_type": request.content_type,
        "items": items,
    }
    if assignment is not None:
        reply["variant"] = assignment.as_variant()
    return {"decision_id": _log(reply, request, epsilon, decisions, anonymous=anonymous), **reply}


def _log(
    reply: dict[str, Any],
    request: RecommendationsIn,
    epsilon: float,
    decisions: DecisionLog | None,
    *,
    anonymous: bool,
) -> str:
    """Log a recommendations answer (when a log is given) and return its decision id."""
    if decisions is None:
        return new_decision_id()
    items = reply["items"]
    decision_id = decisions.add(
        surface=RECOMMENDATIONS_SURFACE,
        scope=request.content_type or "all",
        policy=reply["strategy"],
        policy_version=reply["version"],
        user_id=request.user_id,
        anonymous=anonymous,
        shown=[
            {"item": item["item_key"], "position": i, "propensity": item["propensity"]}
            for i, item in enumerate(items)
        ],
        chosen=[item["item_key"] for item in items],
        context={"k": request.k, "epsilon": epsilon},
        variant=reply.get("variant"),
    )
    decisions.flush()
    return decision_id


def similar_users(
    tables: Tables,
    cache: VersionCache[TwoTowerIndex],
    user_id: str,
    query: Mapping[str, str] | None,
    *,
    consent: ConsentCache | None = None,
) -> dict[str, Any]:
    """The ``k`` users whose embeddings are most cosine-similar to ``user_id``'s.

    Users are named by pseudonym (the model holds nothing else; the app computes its users'
    pseudonyms with the same secret to map them back). Users who opted out or were deleted
    after the model was trained are never listed.

    Raises
    ------
    ValidationError
        A bad path or query parameter (422).
    NotFoundError
        The model was not trained on this user, or the user opted out or was deleted (404).
    NoProductionModelError
        No two-tower model in production yet (409).

    Examples
    --------
    >>> similar_users(tables, cache, "u1", {"k": "2"})["users"]  # doctest: +SKIP
    [{'user': '5d41...', 'score': 0.93}, {'user': '7c2a...', 'score': 0.88}]
    """
    settings = tables.settings
    path = validate(_UserPath, {"user_id": user_id})
    request = validate(SimilarUsersIn, dict(query or {}))
    index = cache.get(TWO_TOWER_MODEL)
    found = None
    if not dropped_users(tables, [path.user_id], cache=consent):
        excluded = consent.excluded_pseudonyms() if consent else excluded_pseudonyms(tables)
        found = index.similar_users(
            pseudonymize(path.user_id, settings.pseudonym_secret), k=request.k, exclude=excluded
        )
    if found is None:
        raise NotFoundError(
            f"model {index.name} {index.version} was not trained on user {path.user_id!r}",
            details=[{"field": "user_id", "message": "unknown to the production model"}],
        )
    return {
        "model": index.name,
        "version": index.version,
        "user_id": path.user_id,
        "users": [{"user": index.users[row], "score": score} for row, score in found],
    }


def similar_items(
    tables: Tables,
    cache: VersionCache[TwoTowerIndex],
    content_type: str,
    external_id: str,
    query: Mapping[str, str] | None,
    *,
    text_encoders: VersionCache[TextEncoder] | None = None,
    history: HistoryCache | None = None,
) -> dict[str, Any]:
    """The ``k`` items whose embeddings are most cosine-similar to this one's.

    With ``user_id`` in the query, the items that user interacted with are left out (as
    recommendations leave them out: ``recommend_exclude``).

    An item the model does not hold (published after training) is embedded from its text:
    the latest content snapshot its reactions carry (the reactions ``by_item`` index), run
    through the production text encoder and the model's item tower (``strategy: "text"``).

    Raises
    ------
    ValidationError
        A bad path or query parameter (422; an unknown content type included).
    NotFoundError
        The model does not know this item and it cannot be embedded from text (no
        snapshot text, no text encoder in production, or no usable item tower) (404).
    NoProductionModelError
        No two-tower model in production yet (409).

    Examples
    --------
    >>> similar_items(tables, cache, "meme", "m1", {"k": "1"})["items"]  # doctest: +SKIP
    [{'item_key': 'meme#m9', 'content_type': 'meme', 'external_id': 'm9', 'score': 0.97}]
    """
    context = {"content_types": tables.settings.content_types}
    path = validate(
        _ItemPath, {"content_type": content_type, "external_id": external_id}, context=context
    )
    request = validate(SimilarIn, dict(query or {}), context=context)
    index = cache.get(TWO_TOWER_MODEL)
    key = item_key(path.content_type, path.external_id)
    exclude: frozenset[str] = frozenset()
    if request.user_id is not None:
        seen = _history(tables, request.user_id, history)
        exclude = seen.excluded(tables.settings.recommend_exclude)
    found = index.similar_items(
        key, k=request.k, content_type=request.content_type, exclude=exclude
    )
    reply: dict[str, Any] = {"model": index.name, "version": index.version, "item_key": key}
    if found is not None:
        reply["strategy"] = TWO_TOWER_MODEL
    else:
        embedded = _embed_from_text(tables, index, key, path.content_type, text_encoders)
        if embedded is None:
            raise NotFoundError(
                f"model {index.name} {index.version} does not know item {key!r}, and it "
                "cannot be embedded from text",
                details=[{"field": "external_id", "message": "unknown to the production model"}],
            )
        vector, encoder = embedded
        found = index.similar_to_vector(
            vector, k=request.k, content_type=request.content_type, exclude=exclude | {key}
        )
        reply.update(
            strategy="text", text_encoder={"model": encoder.name, "version": encoder.version}
        )
    return {**reply, "content_type": request.content_type, "items": _items(index, found)}


#: Snapshot fields that hold an item's text, joined in this order.
TEXT_FIELDS = ("title", "text", "caption", "description", "body", "summary")
#: A new item has few reactions; reading this many finds its latest snapshot.
_MAX_SNAPSHOTS = 200


def snapshot_text(content: Any) -> str | None:
    """The text of a content snapshot: its text-like fields, joined (None when it has none).

    Examples
    --------
    >>> print(snapshot_text({"title": "Doge to the moon", "text": "much wow", "url": "x"}))
    Doge to the moon
    much wow
    >>> snapshot_text({"symbol": "BTC"}) is None
    True
    """
    if not isinstance(content, Mapping):
        return None
    parts = [content[f].strip() for f in TEXT_FIELDS if isinstance(content.get(f), str)]
    text = "\n".join(p for p in parts if p)
    return text or None


def _embed_from_text(
    tables: Tables,
    index: TwoTowerIndex,
    key: str,
    content_type: str,
    text_encoders: VersionCache[TextEncoder] | None,
) -> tuple[Any, TextEncoder] | None:
    if index.item_tower is None or text_encoders is None:
        return None
    latest: tuple[str, str] | None = None
    for record in tables.reactions.by_item.query(key, limit=_MAX_SNAPSHOTS):
        text = snapshot_text(record.content)
        if text is not None and (latest is None or record.updated_at > latest[0]):
            latest = (record.updated_at, text)
    if latest is None:
        return None
    try:
        encoder = text_encoders.get("text_encoder")
    except NoProductionModelError:
        return None
    text_vector = encoder.encode([latest[1]])[0]
    vector = index.item_tower.embed(text_vector, content_type)
    if vector is None or vector.shape != (index.dim,):
        return None  # registration checks the width; a mismatch here must not become a 500
    return vector, encoder


def _history(tables: Tables, user_id: str, cache: HistoryCache | None) -> UserHistory:
    """The user's history, from the container's cache when there is one."""
    if cache is not None:
        return cache.get(user_id)
    from learnloop.recommender.history import read_history

    settings = tables.settings
    events = settings.recommend_history_events if settings.recommend_exclude == "all" else 0
    return read_history(tables, user_id, events=events)


def _items(index: TwoTowerIndex, found: list[tuple[int, float]]) -> list[dict[str, Any]]:
    items = []
    for row, score in found:
        key = index.item_keys[row]
        kind, _, external_id = key.partition("#")
        items.append(
            {
                "item_key": key,
                "content_type": index.content_types[row] or kind,
                "external_id": external_id,
                "score": score,
            }
        )
    return items

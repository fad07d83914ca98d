"""Daily rollups: one ``daily_stats`` item computed from one day's records.

Pure functions over plain dicts shaped like the :mod:`learnloop.store.records` attributes, so the
rollup Lambda imports nothing heavier than the standard library (no AWS client, no numpy) and the
same code runs in a unit test.

The caller selects the day: it passes what the day's ``by_day`` partitions returned. The output is
a JSON-ready dict of plain ``int`` / ``float`` / ``None`` / ``str`` values that holds **no
per-user data**: users are only ever counted. It is deterministic: the same records in any order
give an identical dict (keys sorted, ties broken on stable keys, floats rounded to 6 decimals).

Examples
--------
>>> from datetime import date
>>> stats = compute_daily_stats(
...     date(2026, 11, 20),
...     reactions=[{"user_id": "u1", "content_type": "coin", "external_id": "BTC",
...                 "reaction": "like", "updated_at": "2026-11-20T09:00:00.000000Z"}],
...     events=[{"user_id": "u2", "event_id": "e1", "type": "app_open",
...              "occurred_at": "2026-11-20T08:00:00.000000Z", "properties": {}}],
...     outcomes=[],
...     feedback=[],
... )
>>> stats["users_active"], stats["events_by_type"], stats["coin_sentiment"]["BTC"]["score"]
(2, {'app_open': 1}, 0.8)
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from learnloop.exceptions import RollupError

__all__ = [
    "COIN_CONTENT_TYPE",
    "ENGAGEMENT_HISTOGRAM_EDGES",
    "PATTERN_EVENT_TYPE",
    "REACTION_VALUES",
    "SCHEMA_VERSION",
    "TOP_CONTENT_LIMIT",
    "coin_of",
    "coin_reaction_counts",
    "coin_velocity",
    "coin_votes",
    "compute_daily_stats",
    "percentile",
]

#: Bumped when the shape or meaning of the ``daily_stats`` item changes (2: coin sentiment
#: counts distinct users per coin, not reaction rows).
SCHEMA_VERSION = 2
REACTION_VALUES: tuple[str, ...] = ("like", "dislike")
COIN_CONTENT_TYPE = "coin"
PATTERN_EVENT_TYPE = "pattern_detected"
TOP_CONTENT_LIMIT = 10
TRADE_CLOSED_EVENT_TYPE = "trade_closed"
EMOTION_EVENT_TYPE = "emotion_analyzed"
INSIGHT_EVENT_TYPE = "insight_generated"
TRADE_OUTCOMES: tuple[str, ...] = ("win", "loss", "breakeven")
TOP_PATTERNS_LIMIT = 5
#: Bucket ``i`` holds ``edges[i] <= rate < edges[i + 1]``; the last bucket also holds every rate
#: at or above its lower edge (a rate above 1 is possible when one viewer engages twice).
ENGAGEMENT_HISTOGRAM_EDGES: tuple[float, ...] = (0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 1.0)
#: Weights of the coin sentiment score; they sum to 1 so the score stays in [0, 1].
POSITIVE_SHARE_WEIGHT = 0.6
VELOCITY_WEIGHT = 0.4
_OUTCOME_COUNTS: tuple[str, ...] = (
    "impressions",
    "likes",
    "retweets",
    "replies",
    "bookmarks",
    "followers_gained",
)
_DIGITS = 6

Record = Mapping[str, Any]


def compute_daily_stats(
    day: date,
    *,
    reactions: Iterable[Record],
    events: Iterable[Record],
    outcomes: Iterable[Record],
    feedback: Iterable[Record],
    previous_reactions_by_coin: Mapping[str, int] | None = None,
    insights: Iterable[Record] = (),
) -> dict[str, Any]:
    """The ``daily_stats`` item of ``day``.

    Parameters
    ----------
    day
        The UTC day the records belong to; stored as ``date`` (``yyyy-mm-dd``).
    reactions
        Reaction rows changed that day (``user_id``, ``content_type``, ``external_id``,
        ``reaction`` in ``like`` / ``dislike``, ``updated_at``, ``created_at``). A row repeated
        for the same user and item counts once (the latest ``updated_at`` wins); other reaction
        values are ignored.
    events
        Analytics events (``user_id``, ``event_id``, ``type``, ``occurred_at``, ``properties``).
        An ``event_id`` seen twice counts once.
    outcomes
        Outcome rows collected that day (``decision_id``, ``collected_at``, counts,
        ``engagement_rate``). When a decision was measured more than once, its latest
        measurement (greatest ``collected_at``) is used; rows without ``engagement_rate`` are
        left out of the distribution.
    feedback
        Insight feedback rows (``insight_id``, ``user_id``, ``helpful``). Insight rows (a
        ``record`` not starting with ``feedback#``) and rows whose ``helpful`` is not a bool are
        ignored; a user's repeated feedback on one insight counts once.
    previous_reactions_by_coin
        Reactions per coin ``external_id`` on the previous day (see
        :func:`coin_reaction_counts`), or ``None`` when unknown. A coin missing from the
        mapping had 0 reactions. Velocity is :func:`coin_velocity`:
        ``today / (today + previous)``, 0.5 when the previous day is unknown.

    Returns
    -------
    dict
        ``schema_version``, ``date``, ``users_active`` (distinct users across events and
        reactions, a count only), ``totals``, ``events_by_type``, ``reactions_by_content_type``
        (``{content_type: {"like": n, "dislike": n}}``), ``top_content`` (at most 10
        ``{content_type, external_id, likes, dislikes}``, best ``likes - dislikes`` first, then
        most likes, then by content type and id), ``insight_feedback``
        (``helpful`` / ``not_helpful`` / ``total``), ``insight_helpful_rate`` (``None`` without
        feedback), ``pattern_frequency`` (``properties.pattern_type`` of ``pattern_detected``
        events; ``"unknown"`` when missing), ``outcome_totals``,
        ``engagement_rate_distribution`` (``count``, ``mean``, ``p50``, ``p90``, ``max``,
        ``histogram``: ``edges`` and ``counts``) and ``coin_sentiment``
        (``{coin: {likes, dislikes, reactions, previous_reactions, positive_share,
        velocity, score}}`` with ``score = 0.6 * positive_share + 0.4 * velocity``; see
        :func:`coin_votes`: ``likes`` and ``dislikes`` count distinct users, so one account
        counts once per coin and day however many coin items it reacted to).
        The trading journal's figures: ``trades`` (``trade_closed`` events, one per user and
        trade, the latest: ``closed``, ``wins``, ``losses``, ``breakeven``, ``win_rate`` over
        trades with an outcome, ``pnl_total``, ``pnl_mean``; an outcome left out is the sign
        of the P&L), ``emotions`` (``emotion_analyzed`` events per ``emotion``),
        ``top_patterns`` (the 5 most frequent pattern types, ``[{pattern_type, count}]``) and
        ``insights_generated`` (distinct insight ids of the day's stored insights, see
        ``insights``, and ``insight_generated`` events).

    Raises
    ------
    RollupError
        When ``previous_reactions_by_coin`` holds a negative or non-integer count.

    Examples
    --------
    >>> from datetime import date
    >>> empty = compute_daily_stats(
    ...     date(2026, 11, 20), reactions=[], events=[], outcomes=[], feedback=[]
    ... )
    >>> empty["users_active"], empty["insight_helpful_rate"], empty["top_content"]
    (0, None, [])
    """
    previous = _validated_previous(previous_reactions_by_coin)
    reaction_rows = _latest_reactions(reactions)
    event_rows = _unique_events(events)
    outcome_rows = _latest_outcomes(outcomes)
    feedback_rows = _unique_feedback(feedback)

    active_users = {str(r["user_id"]) for r in reaction_rows if r.get("user_id")}
    active_users.update(str(e["user_id"]) for e in event_rows if e.get("user_id"))

    tallies = _reaction_tallies(reaction_rows)
    helpful = sum(1 for f in feedback_rows if f["helpful"])
    rates = [r for r in (_number(o.get("engagement_rate")) for o in outcome_rows) if r is not None]

    return {
        "schema_version": SCHEMA_VERSION,
        "date": day.isoformat(),
        "users_active": len(active_users),
        "totals": {
            "events": len(event_rows),
            "reactions": len(reaction_rows),
            "outcomes": len(outcome_rows),
            "insight_feedback": len(feedback_rows),
        },
        "events_by_type": _sorted_counts(str(e.get("type") or "unknown") for e in event_rows),
        "reactions_by_content_type": _reactions_by_content_type(tallies),
        "top_content": _top_content(tallies),
        "insight_feedback": {
            "helpful": helpful,
            "not_helpful": len(feedback_rows) - helpful,
            "total": len(feedback_rows),
        },
        "insight_helpful_rate": _ratio(helpful, len(feedback_rows)),
        "pattern_frequency": _sorted_counts(
            _pattern_type(e) for e in event_rows if e.get("type") == PATTERN_EVENT_TYPE
        ),
        "outcome_totals": _outcome_totals(outcome_rows),
        "engagement_rate_distribution": _distribution(rates),
        "coin_sentiment": _coin_sentiment(coin_votes(reaction_rows), previous),
        "trades": _trades(event_rows),
        "emotions": _sorted_counts(
            _property(e, "emotion") for e in event_rows if e.get("type") == EMOTION_EVENT_TYPE
        ),
        "top_patterns": _top_patterns(event_rows),
        "insights_generated": _insights_generated(event_rows, day, insights),
    }


def coin_of(row: Record) -> str | None:
    """The coin a reaction row is about, or ``None`` when it is not a coin reaction.

    A ``coin`` reaction names its coin in the content snapshot's ``symbol`` (an app may show
    many coin items, cards or calls, of one coin, each with its own ``external_id``); without
    one, the ``external_id`` is the coin (``PUT /v1/reactions`` with ``external_id: "BTC"``).
    Tickers are upper-cased, as text symbols are, so ``btc`` and ``BTC`` are one coin.

    Examples
    --------
    >>> coin_of({"content_type": "coin", "external_id": "card-7", "content": {"symbol": "BTC"}})
    'BTC'
    >>> coin_of({"content_type": "coin", "external_id": "eth"})
    'ETH'
    >>> coin_of({"content_type": "meme", "external_id": "m1"}) is None
    True
    """
    if row.get("content_type") != COIN_CONTENT_TYPE:
        return None
    content = row.get("content")
    symbol = content.get("symbol") if isinstance(content, Mapping) else None
    if isinstance(symbol, str) and symbol.strip():
        return symbol.strip().upper()
    external_id = row.get("external_id")
    return str(external_id).upper() if external_id not in (None, "") else None


def coin_votes(reactions: Iterable[Record]) -> dict[str, dict[str, int]]:
    """Distinct users per coin: ``{coin: {"like": users, "dislike": users}}``.

    Each user has one vote per coin and day, their latest reaction (greatest ``updated_at``)
    to any item of that coin (:func:`coin_of`), so one account's 60 likes of one coin count
    once and cannot move the coin's sentiment on their own.

    Examples
    --------
    >>> rows = [{"user_id": "u1", "content_type": "coin", "external_id": f"c{i}",
    ...          "content": {"symbol": "BTC"}, "reaction": "like",
    ...          "updated_at": f"2026-11-20T10:{i:02d}:00Z"} for i in range(60)]
    >>> rows.append({"user_id": "u2", "content_type": "coin", "external_id": "BTC",
    ...              "reaction": "dislike", "updated_at": "2026-11-20T11:00:00Z"})
    >>> coin_votes(rows)
    {'BTC': {'like': 1, 'dislike': 1}}
    """
    latest: dict[tuple[str, str], tuple[tuple[str, str], str]] = {}
    for row in reactions:
        coin = coin_of(row)
        if coin is None or row.get("reaction") not in REACTION_VALUES:
            continue
        key = (coin, str(row.get("user_id")))
        rank = (str(row.get("updated_at") or ""), _fingerprint(row))
        if key not in latest or rank > latest[key][0]:
            latest[key] = (rank, str(row["reaction"]))
    votes: dict[str, dict[str, int]] = {}
    for (coin, _), (_, reaction) in sorted(latest.items()):
        votes.setdefault(coin, dict.fromkeys(REACTION_VALUES, 0))[reaction] += 1
    return votes


def coin_velocity(today: int, previous: int | None) -> float:
    """How fast reactions to a coin grow, bounded to [0, 1].

    ``velocity = today / (today + previous)``: the share of the last two days' reactions that
    happened today. 0.5 means as many reactions as the day before, 1 means all of them are new
    (nothing the day before), 0 means none today. It is 0.5, neutral, when both days are 0 or
    when the previous day is unknown (``previous`` is ``None``).

    Parameters
    ----------
    today
        The coin's reactions (likes and dislikes) today, ``>= 0``.
    previous
        Its reactions on the previous day, ``>= 0``, or ``None`` when unknown.

    Returns
    -------
    float
        The velocity in [0, 1].

    Raises
    ------
    RollupError
        When a count is negative.

    Examples
    --------
    >>> coin_velocity(3, 1), coin_velocity(2, 2), coin_velocity(0, 0), coin_velocity(4, None)
    (0.75, 0.5, 0.5, 0.5)
    """
    if today < 0 or (previous is not None and previous < 0):
        raise RollupError(f"reaction counts must be >= 0, got today={today} previous={previous}")
    if previous is None or today + previous == 0:
        return 0.5
    return today / (today + previous)


def coin_reaction_counts(daily_stats: Mapping[str, Any] | None) -> dict[str, int]:
    """Reactions per coin in a stored ``daily_stats`` item: the next day's
    ``previous_reactions_by_coin``.

    Parameters
    ----------
    daily_stats
        A dict returned by :func:`compute_daily_stats` (or read back from the table), or
        ``None`` when that day has no item.

    Returns
    -------
    dict
        ``{external_id: likes + dislikes}``, empty for ``None``.

    Examples
    --------
    >>> coin_reaction_counts({"coin_sentiment": {"BTC": {"likes": 2, "dislikes": 1}}})
    {'BTC': 3}
    >>> coin_reaction_counts(None)
    {}
    """
    if not daily_stats:
        return {}
    coins = daily_stats.get("coin_sentiment") or {}
    return {
        str(coin): int(_number(v.get("likes")) or 0) + int(_number(v.get("dislikes")) or 0)
        for coin, v in sorted(coins.items())
    }


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile with linear interpolation (``numpy.percentile``'s default).

    Parameters
    ----------
    values
        The sample; its order does not matter.
    q
        The percentile, in [0, 100].

    Returns
    -------
    float or None
        ``None`` for an empty sample.

    Raises
    ------
    RollupError
        When ``q`` is outside [0, 100].

    Examples
    --------
    >>> percentile([4.0, 1.0, 3.0, 2.0], 50)
    2.5
    >>> percentile([], 90) is None
    True
    """
    if not 0 <= q <= 100:
        raise RollupError(f"percentile must be in [0, 100], got {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- de-duplication: repeated rows count once, whichever copy comes first ------------------------


def _fingerprint(record: Record) -> str:
    """A total order on records, so picking one of several copies does not depend on order."""
    return json.dumps(record, sort_keys=True, default=str)


def _latest_reactions(reactions: Iterable[Record]) -> list[Record]:
    latest: dict[tuple[str, str, str], tuple[tuple[str, str], Record]] = {}
    for row in reactions:
        if row.get("reaction") not in REACTION_VALUES:
            continue
        key = (str(row.get("user_id")), str(row.get("content_type")), str(row.get("external_id")))
        rank = (str(row.get("updated_at") or ""), _fingerprint(row))
        if key not in latest or rank > latest[key][0]:
            latest[key] = (rank, row)
    return [row for _, row in latest.values()]


def _unique_events(events: Iterable[Record]) -> list[Record]:
    by_id: dict[str, tuple[str, Record]] = {}
    anonymous: list[Record] = []
    for row in events:
        event_id = row.get("event_id")
        if not event_id:
            anonymous.append(row)
            continue
        rank = _fingerprint(row)
        if str(event_id) not in by_id or rank < by_id[str(event_id)][0]:
            by_id[str(event_id)] = (rank, row)
    return [row for _, row in by_id.values()] + anonymous


def _latest_outcomes(outcomes: Iterable[Record]) -> list[Record]:
    latest: dict[str, tuple[tuple[str, str], Record]] = {}
    for row in outcomes:
        key = str(row.get("decision_id"))
        rank = (str(row.get("collected_at") or ""), _fingerprint(row))
        if key not in latest or rank > latest[key][0]:
            latest[key] = (rank, row)
    return [row for _, row in latest.values()]


def _unique_feedback(feedback: Iterable[Record]) -> list[Record]:
    latest: dict[tuple[str, str], tuple[tuple[str, str], Record]] = {}
    for row in feedback:
        record = row.get("record")
        if record is not None and not str(record).startswith("feedback#"):
            continue
        if not isinstance(row.get("helpful"), bool):
            continue
        key = (str(row.get("insight_id")), str(row.get("user_id")))
        rank = (str(row.get("updated_at") or ""), _fingerprint(row))
        if key not in latest or rank > latest[key][0]:
            latest[key] = (rank, row)
    return [row for _, row in latest.values()]


# --- the fields ---------------------------------------------------------------------------------


def _reaction_tallies(reactions: list[Record]) -> dict[tuple[str, str], dict[str, int]]:
    tallies: dict[tuple[str, str], dict[str, int]] = {}
    for row in reactions:
        key = (str(row.get("content_type")), str(row.get("external_id")))
        tally = tallies.setdefault(key, dict.fromkeys(REACTION_VALUES, 0))
        tally[str(row["reaction"])] += 1
    return tallies


def _reactions_by_content_type(
    tallies: Mapping[tuple[str, str], Mapping[str, int]],
) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for (content_type, _), tally in tallies.items():
        total = totals.setdefault(content_type, dict.fromkeys(REACTION_VALUES, 0))
        for value in REACTION_VALUES:
            total[value] += tally[value]
    return {content_type: totals[content_type] for content_type in sorted(totals)}


def _top_content(tallies: Mapping[tuple[str, str], Mapping[str, int]]) -> list[dict[str, Any]]:
    ranked = sorted(
        tallies.items(),
        key=lambda kv: (-(kv[1]["like"] - kv[1]["dislike"]), -kv[1]["like"], kv[0]),
    )
    return [
        {
            "content_type": content_type,
            "external_id": external_id,
            "likes": tally["like"],
            "dislikes": tally["dislike"],
        }
        for (content_type, external_id), tally in ranked[:TOP_CONTENT_LIMIT]
    ]


def _pattern_type(event: Record) -> str:
    properties = event.get("properties")
    pattern = properties.get("pattern_type") if isinstance(properties, Mapping) else None
    return str(pattern) if pattern not in (None, "") else "unknown"


def _property(event: Record, name: str) -> str:
    properties = event.get("properties")
    value = properties.get(name) if isinstance(properties, Mapping) else None
    return str(value) if value not in (None, "") else "unknown"


def _trades(events: list[Record]) -> dict[str, Any]:
    latest: dict[tuple[str, str], tuple[str, Record]] = {}
    for event in events:
        if event.get("type") != TRADE_CLOSED_EVENT_TYPE:
            continue
        properties = event.get("properties")
        if not isinstance(properties, Mapping):
            continue
        key = (str(event.get("user_id")), str(properties.get("trade_id")))
        rank = str(event.get("occurred_at") or "") + _fingerprint(event)
        if key not in latest or rank > latest[key][0]:
            latest[key] = (rank, properties)
    counts = dict.fromkeys(TRADE_OUTCOMES, 0)
    pnls = []
    for _, properties in latest.values():
        pnl = _number(properties.get("pnl"))
        if pnl is not None:
            pnls.append(pnl)
        outcome = properties.get("outcome")
        if outcome not in TRADE_OUTCOMES and pnl is not None:
            outcome = "win" if pnl > 0 else "loss" if pnl < 0 else "breakeven"
        if outcome in TRADE_OUTCOMES:
            counts[str(outcome)] += 1
    decided = sum(counts.values())
    return {
        "closed": len(latest),
        "wins": counts["win"],
        "losses": counts["loss"],
        "breakeven": counts["breakeven"],
        "win_rate": _ratio(counts["win"], decided),
        "pnl_total": _round(math.fsum(pnls)) if pnls else None,
        "pnl_mean": _round(math.fsum(pnls) / len(pnls)) if pnls else None,
    }


def _top_patterns(events: list[Record]) -> list[dict[str, Any]]:
    counts = Counter(_pattern_type(e) for e in events if e.get("type") == PATTERN_EVENT_TYPE)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_PATTERNS_LIMIT]
    return [{"pattern_type": pattern, "count": count} for pattern, count in ranked]


def _insights_generated(events: list[Record], day: date, insights: Iterable[Record]) -> int:
    ids = {
        str(e["properties"]["insight_id"])
        for e in events
        if e.get("type") == INSIGHT_EVENT_TYPE
        and isinstance(e.get("properties"), Mapping)
        and e["properties"].get("insight_id")
    }
    for insight in insights:
        if insight.get("record", "insight") != "insight":
            continue
        if str(insight.get("created_at") or "")[:10] == day.isoformat():
            ids.add(str(insight.get("insight_id")))
    return len(ids)


def _outcome_totals(outcomes: list[Record]) -> dict[str, int]:
    return {name: sum(int(_number(o.get(name)) or 0) for o in outcomes) for name in _OUTCOME_COUNTS}


def _distribution(rates: list[float]) -> dict[str, Any]:
    edges = ENGAGEMENT_HISTOGRAM_EDGES
    counts = [0] * (len(edges) - 1)
    for rate in rates:
        bucket = len(counts) - 1
        for i in range(len(counts) - 1):
            if rate < edges[i + 1]:
                bucket = i
                break
        counts[bucket] += 1
    return {
        "count": len(rates),
        "mean": _round(math.fsum(rates) / len(rates)) if rates else None,
        "p50": _round(percentile(rates, 50)),
        "p90": _round(percentile(rates, 90)),
        "max": _round(max(rates)) if rates else None,
        "histogram": {"edges": list(edges), "counts": counts},
    }


def _coin_sentiment(
    votes: Mapping[str, Mapping[str, int]],
    previous: Mapping[str, int] | None,
) -> dict[str, dict[str, Any]]:
    sentiment: dict[str, dict[str, Any]] = {}
    for coin, tally in sorted(votes.items()):
        likes, dislikes = tally["like"], tally["dislike"]
        today = likes + dislikes
        before = None if previous is None else previous.get(coin, 0)
        positive_share = likes / today if today else 0.0
        velocity = coin_velocity(today, before)
        sentiment[coin] = {
            "likes": likes,
            "dislikes": dislikes,
            "reactions": today,
            "previous_reactions": before,
            "positive_share": _round(positive_share),
            "velocity": _round(velocity),
            "score": _round(POSITIVE_SHARE_WEIGHT * positive_share + VELOCITY_WEIGHT * velocity),
        }
    return sentiment


# --- helpers ------------------------------------------------------------------------------------


def _validated_previous(previous: Mapping[str, int] | None) -> dict[str, int] | None:
    if previous is None:
        return None
    checked: dict[str, int] = {}
    for coin, count in previous.items():
        value = _number(count)
        if value is None or value < 0 or value != int(value):
            raise RollupError(
                f"previous_reactions_by_coin[{coin!r}] must be an integer >= 0, got {count!r}"
            )
        checked[str(coin)] = int(value)
    return checked


def _number(value: Any) -> float | None:
    """``value`` as a float: DynamoDB hands numbers back as ``Decimal``; bools are not numbers."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _sorted_counts(values: Iterable[str]) -> dict[str, int]:
    counts = Counter(values)
    return {key: counts[key] for key in sorted(counts)}


def _ratio(numerator: int, denominator: int) -> float | None:
    return _round(numerator / denominator) if denominator else None


def _round(value: float | None) -> float | None:
    # ``+ 0.0`` turns -0.0 into 0.0 so equal inputs serialize identically.
    return None if value is None else round(float(value), _DIGITS) + 0.0

"""Data quality and bot defence: which stored rows are kept out of rollups, sentiment and
training (the brief's ``validate_reaction_data``).

A flag is decided per user and per minute of when the rows happened (not when they arrived,
so a bulk import of old history is judged like live traffic), by kind (reactions, events):

* ``burst``: more distinct rows in the minute than ``LEARNLOOP_QUALITY_MAX_REACTIONS_PER_MINUTE``
  (20) or ``..._MAX_EVENTS_PER_MINUTE`` (120): one account's 60 rapid coin likes;
* ``same_instant``: more than ``LEARNLOOP_QUALITY_MAX_SAME_INSTANT`` (20) rows stamped with
  the very same instant: 300 identical-instant events;
* ``duplicate_content``: more than ``LEARNLOOP_QUALITY_MAX_DUPLICATES_PER_MINUTE`` (20) events
  of the same type and properties under different ids (a duplicate-content flood).

Implausible times (older than ``LEARNLOOP_MAX_EVENT_AGE_DAYS`` or a day ahead) are refused
with a 422 before this (``learnloop.validation.plausible_time``).

The write path stays cheap: each write adds its rows' entries (``instant|digest|row id``) to
one counter item per user-minute (an ``ingest_marks`` string set, ``ADD``): a single PUT makes
one UpdateItem returning the set; a batch one transaction and one consistent BatchGetItem per
100 user-minutes it touches; never a scan or a query. A set, not a
number, so a redelivered row counts once and a re-run judges the same. Once a minute is
flagged, every row of it carries ``quality`` (the ones written before the threshold was
crossed are flagged then), so readers simply skip rows with ``quality`` set. The set stops
growing at :data:`MAX_ENTRIES` (far past every threshold): a row beyond is flagged as a burst.

Examples
--------
>>> limits = Limits(per_minute=3, same_instant=2, duplicates=2)
>>> judge(["2026-11-20T10:00:01.000000Z|-|a", "2026-11-20T10:00:02.000000Z|-|b"], limits)
()
>>> judge([f"2026-11-20T10:00:{s:02d}.000000Z|-|r{s}" for s in range(4)], limits)
('burst',)
>>> judge([f"2026-11-20T10:00:00.000000Z|d1|e{i}" for i in range(3)], limits)
('same_instant', 'duplicate_content')
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from learnloop.clock import iso, utcnow
from learnloop.exceptions import StoreError
from learnloop.settings import Settings
from learnloop.store.tables import Tables

#: A minute's set holds at most this many entries: a bot past it is flagged without growing
#: the item (DynamoDB items stop at 400 KB; an entry is under 200 bytes).
MAX_ENTRIES = 1000
#: Counter items outlive their minute by this much: a delivery later than that starts anew.
COUNTER_TTL = timedelta(days=2)
#: Row kinds judged, and their entries' row-id part.
KINDS = ("reactions", "events")
#: ``digest`` of a row with no content to compare (reactions: every row is another item).
NO_DIGEST = "-"


@dataclass(frozen=True)
class Limits:
    """The thresholds of one kind; a minute past any of them is flagged."""

    per_minute: int
    same_instant: int
    duplicates: int

    @classmethod
    def of(cls, kind: str, settings: Settings) -> Limits:
        """The limits of ``kind`` (``"reactions"`` or ``"events"``) from ``settings``."""
        per_minute = (
            settings.quality_max_reactions_per_minute
            if kind == "reactions"
            else settings.quality_max_events_per_minute
        )
        return cls(
            per_minute=per_minute,
            same_instant=settings.quality_max_same_instant,
            duplicates=settings.quality_max_duplicates_per_minute,
        )


@dataclass(frozen=True)
class Row:
    """One row to judge: whose, when (its ISO instant), what (digest) and its id in its table.

    ``row_id`` is a reaction's ``item_key`` or an event's ``event_id``.
    """

    user_id: str
    instant: str
    row_id: str
    digest: str = NO_DIGEST

    @property
    def minute(self) -> str:
        """``2026-11-20T10:00``: the minute the row is counted in."""
        return self.instant[:16]

    @property
    def entry(self) -> str:
        return f"{self.instant}|{self.digest}|{self.row_id}"


def content_digest(kind: str, properties: Mapping[str, Any] | None) -> str:
    """A short digest of an event's type and properties (equal content, equal digest).

    Examples
    --------
    >>> digest = content_digest("page_view", {"b": 1, "a": 2})
    >>> digest == content_digest("page_view", {"a": 2, "b": 1}), len(digest)
    (True, 12)
    """
    text = json.dumps([kind, properties or {}], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def judge(entries: Iterable[str], limits: Limits) -> tuple[str, ...]:
    """The reasons a user-minute with ``entries`` is flagged (empty: it is not).

    Entries are ``instant|digest|row_id``; the same entry twice (a redelivery) counts once.
    """
    unique = set(entries)
    rows: set[str] = set()
    instants: Counter[str] = Counter()
    digests: defaultdict[str, set[str]] = defaultdict(set)
    for entry in unique:
        instant, digest, row_id = entry.split("|", 2)
        rows.add(row_id)
        instants[instant] += 1
        if digest != NO_DIGEST:
            digests[digest].add(row_id)
    reasons = []
    if len(rows) > limits.per_minute or len(unique) >= MAX_ENTRIES:
        reasons.append("burst")
    if instants and max(instants.values()) > limits.same_instant:
        reasons.append("same_instant")
    if digests and max(len(ids) for ids in digests.values()) > limits.duplicates:
        reasons.append("duplicate_content")
    return tuple(reasons)


def judge_rows(rows: Sequence[Row], limits: Limits) -> dict[tuple[str, str], str]:
    """Judge ``rows`` by themselves (a bulk import's file, already whole in memory).

    Returns
    -------
    dict
        ``(user_id, row_id)`` → reasons joined by ``,`` for every flagged row.

    Examples
    --------
    >>> rows = [Row("bot", f"2026-11-20T10:00:{s:02d}.000000Z", f"coin#C{s}") for s in range(30)]
    >>> len(judge_rows(rows, Limits(per_minute=20, same_instant=20, duplicates=20)))
    30
    """
    minutes: defaultdict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        minutes[(row.user_id, row.minute)].append(row)
    flagged: dict[tuple[str, str], str] = {}
    for group in minutes.values():
        reasons = judge((row.entry for row in group), limits)
        if reasons:
            flagged.update({(row.user_id, row.row_id): ",".join(reasons) for row in group})
    return flagged


def record_rows(
    tables: Tables, kind: str, rows: Sequence[Row], *, now: datetime | None = None
) -> dict[tuple[str, str], str]:
    """Count ``rows`` in their user-minutes' counters and judge each minute (the live path).

    One user-minute (a single PUT): one UpdateItem that returns the set. Several (a batch):
    one TransactWriteItems of their ``ADD`` actions per 100 minutes, then one consistent
    BatchGetItem per 100 to read the sets back; never one request per minute. A minute that
    becomes flagged here also gets its rows stored before flagged, once.

    Returns
    -------
    dict
        ``(user_id, row_id)`` → reasons for the rows of ``rows`` that are flagged.
    """
    now = now or utcnow()
    limits = Limits.of(kind, tables.settings)
    minutes: defaultdict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        minutes[(row.user_id, row.minute)].append(row)
    if not minutes:
        return {}
    if len(minutes) == 1:
        counted = _count_one(tables, kind, *next(iter(minutes.items())), now=now)
    else:
        counted = _count_many(tables, kind, minutes, now=now)
    marks = tables.ingest_marks
    flagged: dict[tuple[str, str], str] = {}
    for key, (counter, full) in counted.items():
        reasons = judge(counter.rows or (), limits)
        if full:
            reasons = tuple(dict.fromkeys(("burst", *reasons)))
        if not reasons:
            continue
        reason = ",".join(reasons)
        group = minutes[key]
        flagged.update({(row.user_id, row.row_id): reason for row in group})
        if counter.ref != reason:
            entries = {row.entry for row in group}
            _flag_earlier(tables, kind, key[0], counter.rows or set(), reason, exclude=entries)
            counter.update(actions=[marks.ref.set(reason)])
    return flagged


#: TransactWriteItems takes 100 actions.
_TRANSACTION_LIMIT = 100

Counted = dict[tuple[str, str], tuple[Any, bool]]


def _count_one(
    tables: Tables, kind: str, key: tuple[str, str], group: list[Row], *, now: datetime
) -> Counted:
    """One minute's ``ADD`` returning the set: ``{key: (counter, full)}``."""
    marks = tables.ingest_marks
    counter = marks(key[0], f"rate#{kind}#{key[1]}")
    try:
        counter.update(
            actions=[
                marks.rows.add({row.entry for row in group}),
                marks.expires_at.set(now + COUNTER_TTL),
            ],
            condition=marks.rows.does_not_exist() | (size(marks.rows) < MAX_ENTRIES),
        )
        return {key: (counter, False)}
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise StoreError(f"could not count the rows: {exc.cause_response_message}") from exc
    counter.refresh()  # full: nothing added
    return {key: (counter, True)}


def _count_many(
    tables: Tables, kind: str, minutes: Mapping[tuple[str, str], list[Row]], *, now: datetime
) -> Counted:
    """Every minute's ``ADD`` in transactions, then the sets read back (consistently)."""
    marks = tables.ingest_marks
    connection = marks._get_connection().connection  # the stage's shared client
    keys = list(minutes)
    full: set[tuple[str, str]] = set()
    for start in range(0, len(keys), _TRANSACTION_LIMIT):
        chunk = keys[start : start + _TRANSACTION_LIMIT]
        while chunk:
            try:
                with TransactWrite(connection=connection) as transaction:
                    for user_id, minute in chunk:
                        transaction.update(
                            marks(user_id, f"rate#{kind}#{minute}"),
                            actions=[
                                marks.rows.add({row.entry for row in minutes[(user_id, minute)]}),
                                marks.expires_at.set(now + COUNTER_TTL),
                            ],
                            condition=marks.rows.does_not_exist()
                            | (size(marks.rows) < MAX_ENTRIES),
                        )
            except TransactWriteError as exc:
                # A full set fails its condition and cancels the rest: count those again.
                failed = {
                    chunk[index]
                    for index, reason in enumerate(exc.cancellation_reasons)
                    if reason is not None and reason.code == "ConditionalCheckFailed"
                }
                if not failed:
                    raise StoreError(
                        f"could not count the rows: {exc.cause_response_message}"
                    ) from exc
                full |= failed
                chunk = [key for key in chunk if key not in failed]
                continue
            break
    counted: Counted = {}
    for start in range(0, len(keys), _TRANSACTION_LIMIT):
        wanted = [(u, f"rate#{kind}#{m}") for u, m in keys[start : start + _TRANSACTION_LIMIT]]
        for counter in marks.batch_get(wanted, consistent_read=True):
            key = (counter.user_id, counter.mark.removeprefix(f"rate#{kind}#"))
            counted[key] = (counter, key in full)
    return counted


def _flag_earlier(
    tables: Tables, kind: str, user_id: str, entries: set[str], reason: str, *, exclude: set[str]
) -> None:
    """Flag the rows of a minute stored before it crossed a threshold (only if still there)."""
    model = tables.reactions if kind == "reactions" else tables.events
    for entry in sorted(entries - exclude):
        instant, _, row_id = entry.split("|", 2)
        key = row_id if kind == "reactions" else f"{instant}#{row_id}"
        try:
            model(user_id, key).update(
                actions=[model.quality.set(reason)], condition=model.user_id.exists()
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise StoreError(f"could not flag a row: {exc.cause_response_message}") from exc


def usable(record: Mapping[str, Any]) -> bool:
    """Whether a stored row (as a dict) counts: it carries no quality flag.

    Examples
    --------
    >>> usable({"user_id": "u1"}), usable({"user_id": "bot", "quality": "burst"})
    (True, False)
    """
    return not record.get("quality")


def quality_summary(
    reactions: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The data-quality section of a day's rollup, from every stored row of the day.

    ``completeness`` is the share of the day's rows that count (not flagged); ``duplicates``
    the rows flagged as duplicate content; ``flagged_users`` the users with a flagged row.

    Examples
    --------
    >>> quality_summary([{"user_id": "u", "quality": None}],
    ...                 [{"user_id": "bot", "quality": "burst,same_instant"}])["flagged_rows"]
    1
    """
    rows = [*reactions, *events]
    flagged = [row for row in rows if not usable(row)]
    reasons: Counter[str] = Counter()
    for row in flagged:
        reasons.update(str(row["quality"]).split(","))
    return {
        "rows": len(rows),
        "flagged_rows": len(flagged),
        "flagged_reactions": sum(1 for row in reactions if not usable(row)),
        "flagged_events": sum(1 for row in events if not usable(row)),
        "flagged_users": len({row["user_id"] for row in flagged}),
        "duplicates": reasons.get("duplicate_content", 0),
        "by_reason": dict(sorted(reasons.items())),
        "completeness": round((len(rows) - len(flagged)) / len(rows), 6) if rows else None,
    }


def reaction_row(user_id: str, item_key: str, reacted_at: datetime) -> Row:
    """The :class:`Row` of a reaction."""
    return Row(user_id=user_id, instant=iso(reacted_at), row_id=item_key)


def event_row(
    user_id: str, event_id: str, occurred_at: datetime, type_: str, properties: Any
) -> Row:
    """The :class:`Row` of an event (its digest: type and properties)."""
    return Row(
        user_id=user_id,
        instant=iso(occurred_at),
        row_id=event_id,
        digest=content_digest(type_, properties),
    )

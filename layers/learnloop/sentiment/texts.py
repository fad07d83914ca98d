"""``POST /v1/texts``: posts, news and comments in, their sentiment scored and stored.

A text names its ``source`` (``news``, ``twitter``, ``reddit``, ``telegram`` or any other
lower-case name), the ``symbols`` it is about, and optionally the ``user_id`` who wrote it and
the ``page`` of the app it was posted on. Each text is scored **at ingest**, in the request:
without a production model the scorer is the lexicon (a fraction of a millisecond a text), so
scoring in a later job would only delay the aggregates; with a model the request pays the
encoder for at most 64 texts, the same bound as ``POST /v1/sentiment``. The stored item keeps
``method`` (what scored it), so a re-scoring job can later find lexicon-scored texts.

Storage (table ``texts``, never a Scan): the ``text`` item holds the text, its author and
page (sparse ``by_user`` and ``by_page`` indexes); one ``symbol#{SYMBOL}`` item per symbol
repeats source, time and score, without the text or the user, on the sparse ``by_symbol``
index. Delivery is idempotent on ``text_id``: a text already stored is not scored or written
again (``duplicates``). A text whose author opted out or was deleted is not stored
(``dropped``); deleting a user removes their texts (:mod:`learnloop.privacy.deletion`), and
texts are never exported (:mod:`learnloop.privacy.exports` writes no text file).

Examples
--------
>>> ingest_texts(tables, {"texts": [{"text_id": "t1", "source": "news", "symbols": ["btc"],
...     "text": "Bitcoin ETF inflows hit a record"}]}, cache=cache)  # doctest: +SKIP
{'accepted': 1, 'duplicates': 0, 'dropped': 0, 'unscored': 0,
 'results': [{'text_id': 't1', 'status': 'stored', 'label': 'positive', ...}]}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, field_validator

from learnloop.clock import iso, utcnow
from learnloop.exceptions import ConflictError
from learnloop.observability import logger, metrics
from learnloop.store.batch import write_in_parallel
from learnloop.store.queries import batch_get
from learnloop.store.records import TEXT_RECORD, TextRecord, symbol_record
from learnloop.store.tables import Tables
from learnloop.users.consent import ConsentCache, dropped_users
from learnloop.validation import MAX_FUTURE_SKEW, Identifier, Strict, UtcDatetime, validate

if TYPE_CHECKING:
    from learnloop.models.cache import VersionCache
    from learnloop.sentiment.classify import SentimentModel

__all__ = [
    "MAX_BATCH_TEXTS",
    "MAX_SYMBOLS",
    "MAX_TEXT_LENGTH",
    "Scored",
    "Scorer",
    "SourceName",
    "SymbolName",
    "TextBatchIn",
    "TextIn",
    "ingest_texts",
    "score_batch",
    "text_status",
]

#: The scorer's own bounds (``POST /v1/sentiment``): one request is one scoring call.
MAX_BATCH_TEXTS = 64
MAX_TEXT_LENGTH = 2000
MAX_SYMBOLS = 20
#: A published_at this far ahead of the server's clock is a client bug, not a scheduled post.
_OLDEST = datetime(2000, 1, 1, tzinfo=UTC)


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


#: ``news``, ``twitter``, ``reddit``, ``telegram`` or any other lower-case name.
SourceName = Annotated[
    str,
    BeforeValidator(_lower),
    StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_\-]*$"),
]
#: A ticker, upper-cased: ``BTC``, ``ETH``, ``1INCH``, ``BRK.B``.
SymbolName = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(min_length=1, max_length=20, pattern=r"^[A-Z0-9][A-Z0-9._\-]*$"),
]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class TextIn(Strict):
    """One text: ``text_id`` (the idempotency key), ``source``, ``text`` (1-2,000 chars) and
    optionally ``symbols`` (up to 20), ``user_id``, ``page`` and ``published_at``."""

    text_id: Identifier
    source: SourceName
    text: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH), Field(strict=True)
    ]
    symbols: Annotated[list[SymbolName], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_SYMBOLS
    )
    user_id: Identifier | None = None
    page: Identifier | None = None
    #: When the text was published; defaults to when the request arrived.
    published_at: UtcDatetime | None = None

    @field_validator("published_at")
    @classmethod
    def _plausible(cls, value: datetime | None, info: Any) -> datetime | None:
        now = (info.context or {}).get("now")
        if value is not None and value < _OLDEST:
            raise ValueError("must not be before 2000-01-01")
        if value is not None and now is not None and value > now + MAX_FUTURE_SKEW:
            raise ValueError("must not be more than 1 day in the future")
        return value


class TextBatchIn(Strict):
    """``POST /v1/texts``: 1 to 64 texts."""

    texts: list[TextIn] = Field(min_length=1, max_length=MAX_BATCH_TEXTS)


@dataclass(frozen=True)
class Scored:
    """What aggregation keeps of a text's sentiment.

    ``polarity = p(positive) - p(negative)``, in [-1, 1]: one number per text that a mean
    can use, 0 for a neutral text.
    """

    label: str
    polarity: float
    probabilities: dict[str, float]
    method: str


#: ``scorer(texts)`` → one :class:`Scored` per text, or ``None`` when nothing can score.
Scorer = Callable[[list[str]], list[Scored] | None]


def score_batch(texts: list[str], *, cache: VersionCache[SentimentModel]) -> list[Scored] | None:
    """Score ``texts`` with the served sentiment path; ``None`` when it cannot answer (409).

    The one call into the sentiment scorer, so moving to another scorer is a one-line change.

    Examples
    --------
    >>> score_batch(["BTC breaks out"], cache=services.sentiment_cache)  # doctest: +SKIP
    [Scored(label='positive', polarity=0.81, probabilities={...}, method='model')]
    """
    from learnloop.sentiment.classify import score_texts

    try:
        results = [score.as_dict() for score in score_texts(texts, cache=cache)]
    except ConflictError:  # a frozen head whose text encoder cannot load: stored unscored
        return None
    return [_scored(r, method=str(r["method"])) for r in results]


def _scored(result: dict[str, Any], *, method: str) -> Scored:
    probabilities = {str(k): float(v) for k, v in result["probabilities"].items()}
    polarity = probabilities.get("positive", 0.0) - probabilities.get("negative", 0.0)
    return Scored(
        label=str(result["label"]),
        polarity=round(max(-1.0, min(1.0, polarity)), 6),
        probabilities={k: round(v, 6) for k, v in probabilities.items()},
        method=method,
    )


def ingest_texts(
    tables: Tables,
    body: Any,
    *,
    scorer: Scorer,
    consent: ConsentCache | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Validate, score and store a batch of texts.

    Parameters
    ----------
    tables : Tables
        The stage's tables.
    body : Any
        The parsed JSON body: ``{"texts": [{"text_id", "source", "text", "symbols",
        "user_id", "page", "published_at"}, ...]}``.
    scorer : callable
        ``scorer(texts)`` → one :class:`Scored` per text, or ``None`` (see
        :func:`score_batch`).
    consent : ConsentCache, optional
        The container's consent cache.
    now : datetime, optional
        The arrival time (default: now, UTC).

    Returns
    -------
    dict
        ``accepted`` (stored now), ``duplicates`` (already stored, or repeated in the batch),
        ``dropped`` (their author opted out or was deleted), ``unscored`` (stored without a
        score: no scorer answered) and ``results``: per text in order, ``text_id``,
        ``status`` (``stored`` | ``duplicate`` | ``dropped``) and for stored texts ``label``,
        ``polarity`` and ``method`` (null when unscored).

    Raises
    ------
    ValidationError
        A bad body (422; ``details`` name ``texts[i].field``).

    Examples
    --------
    >>> ingest_texts(tables, {"texts": []}, scorer=lambda t: None)  # doctest: +SKIP
    Traceback (most recent call last):
    learnloop.exceptions.ValidationError: invalid fields: texts
    """
    now = now or utcnow()
    batch = validate(TextBatchIn, body, context={"now": now})
    dropped = dropped_users(
        tables, {t.user_id for t in batch.texts if t.user_id is not None}, cache=consent
    )
    status: dict[str, str] = {}
    fresh: list[TextIn] = []
    seen: set[str] = set()
    for text in batch.texts:
        if text.text_id in seen:  # repeated in the batch: the first copy counts
            continue
        seen.add(text.text_id)
        if text.user_id is not None and text.user_id in dropped:
            status[text.text_id] = "dropped"
        else:
            fresh.append(text)
    stored = {
        item.text_id
        for item in batch_get(
            tables.texts,
            [(t.text_id, TEXT_RECORD) for t in fresh],
            attributes_to_get=["text_id", "record"],
        )
    }
    new = [t for t in fresh if t.text_id not in stored]
    status.update({t.text_id: "duplicate" for t in fresh if t.text_id in stored})
    scores = scorer([t.text for t in new]) if new else []
    found: list[Scored | None] = list(scores) if scores is not None else [None] * len(new)
    by_id = dict(zip([t.text_id for t in new], found, strict=True))
    items = [item for t in new for item in _items(tables, t, by_id[t.text_id], now)]
    write_in_parallel(tables.texts, items)

    results: list[dict[str, Any]] = []
    reported: set[str] = set()
    for text in batch.texts:
        first = text.text_id not in reported
        reported.add(text.text_id)
        if first and text.text_id in by_id:
            score = by_id[text.text_id]
            results.append(
                {
                    "text_id": text.text_id,
                    "status": "stored",
                    "label": score.label if score else None,
                    "polarity": score.polarity if score else None,
                    "method": score.method if score else None,
                }
            )
        else:
            # A later copy in the same batch is a duplicate of the first, whatever that was.
            results.append(
                {"text_id": text.text_id, "status": status[text.text_id] if first else "duplicate"}
            )
    counts = {
        "accepted": len(new),
        "duplicates": sum(1 for r in results if r["status"] == "duplicate"),
        "dropped": sum(1 for r in results if r["status"] == "dropped"),
        "unscored": len(new) if scores is None else 0,
    }
    if counts["accepted"]:
        metrics.add_metric(name="TextsStored", unit="Count", value=counts["accepted"])
    if counts["unscored"]:
        logger.warning("texts stored without a score: no sentiment scorer answered")
    return {**counts, "results": results}


def _items(tables: Tables, text: TextIn, score: Scored | None, now: datetime) -> list[TextRecord]:
    model = tables.texts
    shared: dict[str, Any] = {
        "source": text.source,
        "published_at": iso(text.published_at or now),
        "received_at": iso(now),
        "label": score.label if score else None,
        "polarity": score.polarity if score else None,
        "method": score.method if score else None,
    }
    main = model(
        text.text_id,
        TEXT_RECORD,
        symbols=text.symbols or None,
        user_id=text.user_id,
        page=text.page,
        text=text.text,
        probabilities=score.probabilities if score else None,
        **shared,
    )
    per_symbol = [
        model(text.text_id, symbol_record(symbol), symbol=symbol, **shared)
        for symbol in text.symbols
    ]
    return [main, *per_symbol]


def text_status(results: Sequence[dict[str, Any]]) -> int:
    """The HTTP status of an ingest reply: 202 when every text was dropped, else 200.

    Examples
    --------
    >>> text_status([{"status": "dropped"}]), text_status([{"status": "stored"}])
    (202, 200)
    """
    return 202 if results and all(r["status"] == "dropped" for r in results) else 200

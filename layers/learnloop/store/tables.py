"""Bind the stage-free models of :mod:`learnloop.store.records` to one stage's tables.

Examples
--------
>>> from learnloop.settings import Settings
>>> tables = Tables(Settings(stage="test", table_prefix="ll-test-"))
>>> tables.reactions.Meta.table_name
'll-test-reactions'
>>> tables.reactions is tables.model("reactions")
True
"""

from __future__ import annotations

from typing import Any, TypeVar

from learnloop.settings import Settings
from learnloop.store.records import (
    MODELS,
    ApiKey,
    BanditArm,
    BaseModel,
    Candle,
    Content,
    DailyStats,
    DecisionRecord,
    Event,
    Experiment,
    IngestMark,
    Insight,
    LedgerEntry,
    MarketAnomaly,
    ModelRecord,
    Outcome,
    PatternOccurrence,
    RateLimitBucket,
    Reaction,
    TextRecord,
    User,
)

M = TypeVar("M", bound=BaseModel)


def bind_model(model: type[M], settings: Settings) -> type[M]:
    """A subclass of ``model`` pointed at ``settings``' table and endpoint.

    PynamoDB keeps its connection on the class, so every stage gets its own class.
    """
    meta: dict[str, Any] = {
        "table_name": settings.table_name(model.entity),
        "region": settings.region,
        "host": settings.endpoint_url,
        "billing_mode": "PAY_PER_REQUEST",
        # BatchWrite retries UnprocessedItems with exponential backoff up to this many times.
        "max_retry_attempts": 8,
        "base_backoff_ms": 25,
    }
    return type(
        model.__name__, (model,), {"Meta": type("Meta", (), meta), "__module__": model.__module__}
    )


def _pynamodb_client(settings: Settings) -> Any:
    """A DynamoDB client configured as PynamoDB configures its own."""
    import botocore.session
    from botocore.config import Config

    config = Config(
        parameter_validation=False,
        connect_timeout=15,
        read_timeout=settings.read_timeout_seconds,
        max_pool_connections=25,
        retries={"total_max_attempts": 4, "mode": "standard"},
    )
    return botocore.session.get_session().create_client(
        "dynamodb", settings.region, endpoint_url=settings.endpoint_url, config=config
    )


class Tables:
    """Every table of one stage, as bound PynamoDB model classes."""

    def __init__(self, settings: Settings, *, dynamodb_client: Any | None = None) -> None:
        self.settings = settings
        self._bound: dict[str, type[BaseModel]] = {
            m.entity: bind_model(m, settings) for m in MODELS
        }
        self._share_client(dynamodb_client or _pynamodb_client(settings))

    def _share_client(self, client: Any) -> None:
        # PynamoDB builds a botocore session and client per model class (~0.15 s each at cold
        # start); every table of a stage shares one thread-safe client instead.
        for model in self._bound.values():
            model._get_connection().connection._client = client

    def model(self, entity: str) -> type[BaseModel]:
        """The bound model of ``entity`` (``"reactions"``, ``"events"``, ...)."""
        return self._bound[entity]

    def all(self) -> list[type[BaseModel]]:
        """Every bound model, in creation order."""
        return list(self._bound.values())

    @property
    def reactions(self) -> type[Reaction]:
        return self._bound["reactions"]  # type: ignore[return-value]

    @property
    def events(self) -> type[Event]:
        return self._bound["events"]  # type: ignore[return-value]

    @property
    def content(self) -> type[Content]:
        return self._bound["content"]  # type: ignore[return-value]

    @property
    def outcomes(self) -> type[Outcome]:
        return self._bound["outcomes"]  # type: ignore[return-value]

    @property
    def insights(self) -> type[Insight]:
        return self._bound["insights"]  # type: ignore[return-value]

    @property
    def users(self) -> type[User]:
        return self._bound["users"]  # type: ignore[return-value]

    @property
    def api_keys(self) -> type[ApiKey]:
        return self._bound["api_keys"]  # type: ignore[return-value]

    @property
    def bandit_arms(self) -> type[BanditArm]:
        return self._bound["bandit_arms"]  # type: ignore[return-value]

    @property
    def ledger(self) -> type[LedgerEntry]:
        return self._bound["ledger"]  # type: ignore[return-value]

    @property
    def daily_stats(self) -> type[DailyStats]:
        return self._bound["daily_stats"]  # type: ignore[return-value]

    @property
    def models(self) -> type[ModelRecord]:
        return self._bound["models"]  # type: ignore[return-value]

    # --- rate limits ---

    @property
    def rate_limits(self) -> type[RateLimitBucket]:
        return self._bound["rate_limits"]  # type: ignore[return-value]

    # --- experiments ---

    @property
    def experiments(self) -> type[Experiment]:
        return self._bound["experiments"]  # type: ignore[return-value]

    # --- decisions ---

    @property
    def decisions(self) -> type[DecisionRecord]:
        return self._bound["decisions"]  # type: ignore[return-value]

    # --- market ---

    @property
    def candles(self) -> type[Candle]:
        return self._bound["candles"]  # type: ignore[return-value]

    @property
    def market_anomalies(self) -> type[MarketAnomaly]:
        return self._bound["market_anomalies"]  # type: ignore[return-value]

    # --- texts (text sentiment) ---

    @property
    def texts(self) -> type[TextRecord]:
        return self._bound["texts"]  # type: ignore[return-value]

    # --- trading journal ---

    @property
    def pattern_occurrences(self) -> type[PatternOccurrence]:
        return self._bound["pattern_occurrences"]  # type: ignore[return-value]

    # --- ingest marks (event ids, reaction tombstones) ---

    @property
    def ingest_marks(self) -> type[IngestMark]:
        return self._bound["ingest_marks"]  # type: ignore[return-value]

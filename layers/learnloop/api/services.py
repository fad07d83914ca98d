"""What a request needs (settings, tables, the authenticator), built lazily once per container."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from learnloop.api.auth.keys import Authenticator
from learnloop.api.ratelimit import DynamoDBRateLimiter, limits_from_settings
from learnloop.bandits.arms import ArmsCache
from learnloop.bandits.configured import PolicyCache
from learnloop.decisions.log import DecisionLog
from learnloop.experiments.models import ModelVariants
from learnloop.recommender.history import HistoryCache
from learnloop.settings import Settings, get_settings
from learnloop.store.clients import s3_client
from learnloop.store.tables import Tables
from learnloop.text.encoder import MODEL_FILE, TOKENIZER_FILE, TextEncoder
from learnloop.users.consent import ConsentCache

if TYPE_CHECKING:
    from learnloop.market.forecast.serving import PriceForecastModel
    from learnloop.models.cache import ModelCache, VersionCache
    from learnloop.recommender.index import TwoTowerIndex
    from learnloop.sentiment.classify import SentimentModel


@dataclass(frozen=True)
class Services:
    """The per-container dependencies of the API; tests build their own."""

    settings: Settings
    tables: Tables
    authenticator: Authenticator
    #: Monotonic seconds that request time budgets (a user's deletion) are measured with.
    clock: Callable[[], float] = time.monotonic
    # Built on first use (see model_cache), so ingest requests never import numpy/onnxruntime.
    _lazy: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lazy_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def model_cache(self) -> ModelCache:
        """The container's production ONNX models, built on first use.

        Examples
        --------
        >>> get_services().model_cache.get("engagement").version  # doctest: +SKIP
        '20261120T093000Z'
        """

        def build() -> ModelCache:
            # numpy: built on first use, never on ingest
            from learnloop.models.cache import ModelCache, S3ModelLoader

            return ModelCache(
                S3ModelLoader(self.tables, s3_client(self.settings)),
                check_seconds=self.settings.model_check_seconds,
            )

        return self._built("model_cache", build)

    # --- recommendations (two-tower) ---------------------------------------------------------

    @property
    def recommender_cache(self) -> VersionCache[TwoTowerIndex]:
        """The container's production two-tower matrices, built on first use.

        Examples
        --------
        >>> get_services().recommender_cache.get("two_tower").n_items  # doctest: +SKIP
        1682
        """

        def build() -> VersionCache[TwoTowerIndex]:
            # numpy: built on first use, never on ingest
            from learnloop.models.cache import S3ArtifactLoader, VersionCache
            from learnloop.recommender.index import load_two_tower_artifact

            loader = S3ArtifactLoader(self.tables, s3_client(self.settings))
            settings = self.settings
            return VersionCache(
                loader.production,
                lambda ref: load_two_tower_artifact(
                    loader,
                    ref,
                    ann_min_rows=settings.recommend_ann_min_rows,
                    ann_probes=settings.recommend_ann_probes,
                ),
                check_seconds=self.settings.model_check_seconds,
                resolve=loader.version,
            )

        return self._built("recommender_cache", build)

    @property
    def user_history(self) -> HistoryCache:
        """The container's cache of users' histories (what recommendations leave out).

        Examples
        --------
        >>> get_services().user_history.get("u1").liked  # doctest: +SKIP
        ('meme#m1',)
        """

        def build() -> HistoryCache:
            settings = self.settings
            return HistoryCache(
                self.tables,
                ttl_seconds=settings.recommend_history_seconds,
                events=settings.recommend_history_events
                if settings.recommend_exclude == "all"
                else 0,
            )

        return self._built("user_history", build)

    @property
    def text_encoder_cache(self) -> VersionCache[TextEncoder]:
        """The container's production text encoder (MiniLM as ONNX), built on first use."""

        def build() -> VersionCache[TextEncoder]:
            # numpy: built on first use, never on ingest
            from learnloop.models.cache import S3ArtifactLoader, VersionCache

            loader = S3ArtifactLoader(self.tables, s3_client(self.settings))

            def load(ref: Any) -> TextEncoder:
                manifest, files = loader.read_artifact(ref, only=(MODEL_FILE, TOKENIZER_FILE))
                return TextEncoder.from_files(files, manifest)

            return VersionCache(
                loader.production, load, check_seconds=self.settings.model_check_seconds
            )

        return self._built("text_encoder_cache", build)

    @property
    def sentiment_cache(self) -> VersionCache[SentimentModel]:
        """The container's production sentiment head with its pinned text encoder version,
        built on first use (the encoder is shared with :attr:`text_encoder_cache` when that
        holds the same version).

        Examples
        --------
        >>> get_services().sentiment_cache.get("sentiment").labels  # doctest: +SKIP
        ('negative', 'neutral', 'positive')
        """

        def build() -> VersionCache[SentimentModel]:
            # numpy: built on first use, never on ingest
            from learnloop.models.cache import S3ArtifactLoader, VersionCache
            from learnloop.sentiment.classify import load_sentiment_artifact

            loader = S3ArtifactLoader(self.tables, s3_client(self.settings))

            def shared(name: str, version: str) -> TextEncoder | None:
                held = self.text_encoder_cache.peek(name)
                return held if held is not None and held.version == version else None

            return VersionCache(
                loader.production,
                lambda ref: load_sentiment_artifact(loader, ref, shared_encoder=shared),
                check_seconds=self.settings.model_check_seconds,
                resolve=loader.version,
            )

        return self._built("sentiment_cache", build)

    @property
    def forecast_cache(self) -> VersionCache[PriceForecastModel]:
        """The container's production price forecasts (one model per symbol), built on first
        use.

        Examples
        --------
        >>> get_services().forecast_cache.get("price_forecast_btc-usd").window  # doctest: +SKIP
        20
        """

        def build() -> VersionCache[PriceForecastModel]:
            # numpy and onnxruntime: built on first use, never on ingest
            from learnloop.market.forecast.serving import load_forecast_artifact
            from learnloop.models.cache import S3ArtifactLoader, VersionCache

            loader = S3ArtifactLoader(self.tables, s3_client(self.settings))
            return VersionCache(
                loader.production,
                lambda ref: load_forecast_artifact(loader, ref),
                check_seconds=self.settings.model_check_seconds,
            )

        return self._built("forecast_cache", build)

    @property
    def arms_cache(self) -> ArmsCache:
        """The container's short-lived cache of bandit arms, built on first use."""

        def build() -> ArmsCache:
            return ArmsCache(self.tables, ttl_seconds=self.settings.arms_cache_seconds)

        return self._built("arms_cache", build)

    @property
    def policy_cache(self) -> PolicyCache:
        """The container's cache of each bandit scope's production ``bandit_policy``."""

        def build() -> PolicyCache:
            return PolicyCache(self.tables, ttl_seconds=self.settings.model_check_seconds)

        return self._built("policy_cache", build)

    @property
    def model_variants(self) -> ModelVariants:
        """The running experiments that name model versions (re-read every few seconds)."""
        consent = self.consent  # built first: _built's lock is not re-entrant

        def build() -> ModelVariants:
            return ModelVariants(
                self.tables, ttl_seconds=self.settings.arms_cache_seconds, consent=consent
            )

        return self._built("model_variants", build)

    @property
    def decision_log(self) -> DecisionLog:
        """The container's buffer of decisions (select and recommendations log into it)."""

        consent = self.consent  # built first: _built's lock is not re-entrant

        def build() -> DecisionLog:
            return DecisionLog(self.tables, consent=consent)

        return self._built("decision_log", build)

    @property
    def consent(self) -> ConsentCache:
        """The container's cache of who opted out or was deleted (ingest drops their data)."""

        def build() -> ConsentCache:
            return ConsentCache(self.tables, ttl_seconds=self.settings.consent_cache_seconds)

        return self._built("consent", build)

    @property
    def rate_limiter(self) -> DynamoDBRateLimiter:
        """Per-key token buckets in the ``rate_limits`` table (limits from the settings)."""

        def build() -> DynamoDBRateLimiter:
            return DynamoDBRateLimiter(self.tables, limits_from_settings(self.settings))

        return self._built("rate_limiter", build)

    def _built(self, name: str, build: Callable[[], Any]) -> Any:
        value = self._lazy.get(name)
        if value is None:
            with self._lazy_lock:
                value = self._lazy.get(name)
                if value is None:
                    value = build()
                    self._lazy[name] = value
        return value

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        tables = Tables(settings)
        return cls(
            settings=settings,
            tables=tables,
            authenticator=Authenticator(tables, cache_seconds=settings.auth_cache_seconds),
        )


_lock = threading.Lock()
_services: Services | None = None


def get_services() -> Services:
    """The container's services, built from the environment on the first request."""
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = Services.from_settings(get_settings())
    return _services


def set_services(services: Services | None) -> None:
    """Replace (or, with ``None``, forget) the container's services: tests and the local runner."""
    global _services
    with _lock:
        _services = services
        get_settings.cache_clear()

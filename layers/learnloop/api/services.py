"""What a request needs (settings, tables, the authenticator), built lazily once per container."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from learnloop.auth.keys import Authenticator
from learnloop.settings import Settings, get_settings
from learnloop.store.tables import Tables


@dataclass(frozen=True)
class Services:
    """The per-container dependencies of the API; tests build their own."""

    settings: Settings
    tables: Tables
    authenticator: Authenticator

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

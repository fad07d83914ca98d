"""The app under test (``functions/app.py``), loaded once, and the routes it declares."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

from learnloop.api import RouteSpec

APP_PATH = Path(__file__).resolve().parents[2] / "functions" / "app.py"


@functools.cache
def app_module() -> ModuleType:
    """functions/app.py imported by path, as Lambda would load it (once per session)."""
    spec = importlib.util.spec_from_file_location("learnloop_app", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declared_routes() -> tuple[RouteSpec, ...]:
    """Every route the app declares with ``api.route``, in declaration order.

    Module-level test parameters read it, so a new route is covered the day it is declared.
    """
    routes: tuple[RouteSpec, ...] = app_module().api.routes
    return routes

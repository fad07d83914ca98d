"""Run the demo on the embedded local stack (what ``learnloop demo`` and ``make run`` do)."""

from __future__ import annotations

import os
from collections.abc import Callable

from learnloop.settings import Settings
from learnloop.store import Tables
from learnloop.store.clients import s3_client
from learnloop.store.reset import reset_stage
from learnloop_tools.demo.driver import DemoConfig, DemoDriver, DemoRun
from learnloop_tools.local.runner import app_schedules

#: The demo has its own stage, so its reset never touches what ``learnloop up`` stored.
DEMO_STAGE = "demo"


def demo_settings() -> Settings:
    """The environment's settings, moved to the demo's own stage."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LEARNLOOP_TABLE_PREFIX", "LEARNLOOP_BUCKET")
    }
    env["LEARNLOOP_STAGE"] = DEMO_STAGE
    return Settings.from_env(env)


def run_demo(
    runner: object,
    config: DemoConfig,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> DemoRun:
    """Reset the demo stage of a started :class:`~learnloop_tools.local.Runner` and run the demo
    on it.

    Examples
    --------
    >>> with Runner(port=0, settings=demo_settings()) as runner:  # doctest: +SKIP
    ...     run = run_demo(runner, DemoConfig(days=5))
    """

    settings = runner.settings  # type: ignore[attr-defined]
    tables = Tables(settings)
    s3 = s3_client(settings)
    removed = reset_stage(tables, s3)
    if any(removed.values()):
        echo(f"reset the demo stage: removed {sum(removed.values())} items from the last run")
    driver = DemoDriver(
        api_url=runner.api_url,  # type: ignore[attr-defined]
        keys=runner.keys,  # type: ignore[attr-defined]
        schedules=app_schedules(runner.app_module),  # type: ignore[attr-defined]
        config=config,
        echo=echo,
        after_job=runner.deliver_bucket_events,  # type: ignore[attr-defined]
    )
    return driver.run(progress=progress)


__all__ = ["DEMO_STAGE", "demo_settings", "run_demo"]

"""Run the demo on the embedded local stack (what ``learnloop demo`` and ``make run`` do)."""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping

from learnloop.settings import Settings
from learnloop.store import Tables
from learnloop.store.clients import s3_client
from learnloop.store.reset import reset_stage
from learnloop_tools.demo.driver import DemoConfig, DemoDriver, DemoRun
from learnloop_tools.local.runner import app_schedules

#: The demo has its own stage, so its reset never touches what ``learnloop up`` stored.
DEMO_STAGE = "demo"
#: What the demo stage sets unless the environment does. ``LEARNLOOP_BANDIT_DISCOUNT``: the
#: bandits' per-day forgetting. The demo's world shifts mid-run; a bandit that never forgets
#: (1.0, the product's default) keeps every old success of the old best arm and takes a week
#: or more to let go of it. At 0.8 a day's counts weigh half after ~3 days, so about the last
#: 100 posts decide: enough to keep the best arm's share high while the world holds still.
DEMO_DEFAULTS: dict[str, str] = {"LEARNLOOP_BANDIT_DISCOUNT": "0.8"}


def demo_settings(environ: MutableMapping[str, str] | None = None) -> Settings:
    """The environment's settings, moved to the demo's own stage, with :data:`DEMO_DEFAULTS`
    for what the environment does not set.

    The defaults are written into ``environ`` (the process environment by default) too: the
    embedded app builds its own settings from the process environment.

    Examples
    --------
    >>> env = {}
    >>> settings = demo_settings(env)
    >>> settings.stage, settings.bandit_discount, env["LEARNLOOP_BANDIT_DISCOUNT"]
    ('demo', 0.8, '0.8')
    >>> demo_settings({"LEARNLOOP_BANDIT_DISCOUNT": "0.95"}).bandit_discount
    0.95
    """
    environ = os.environ if environ is None else environ
    for key, value in DEMO_DEFAULTS.items():
        environ.setdefault(key, value)
    env = {
        k: v for k, v in environ.items() if k not in ("LEARNLOOP_TABLE_PREFIX", "LEARNLOOP_BUCKET")
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
        bandit_discount=settings.bandit_discount,
    )
    return driver.run(progress=progress)


__all__ = ["DEMO_DEFAULTS", "DEMO_STAGE", "demo_settings", "run_demo"]

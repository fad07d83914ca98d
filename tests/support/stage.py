"""A test's stage as the environment variables that ``Settings.from_env`` reads."""

from __future__ import annotations

from typing import Any


def stage_environment(settings: Any) -> dict[str, str]:
    """The variables that point code building its own settings at ``settings``' stage."""
    return {
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "LEARNLOOP_STAGE": settings.stage,
        "LEARNLOOP_TABLE_PREFIX": settings.table_prefix,
        "LEARNLOOP_BUCKET": settings.bucket,
        "LEARNLOOP_PSEUDONYM_SECRET": settings.pseudonym_secret,
    }

"""What LocalStack's init hook runs: wait for LocalStack, then ``learnloop bootstrap``.

``localstack/init/ready.d/10-learnloop.sh`` calls ``python -m learnloop_tools.deploy.localstack``
inside the container; the resources are the ones :func:`learnloop.store.bootstrap` creates
everywhere else (no second list). The logic is here, so it is tested against moto's server.

Examples
--------
>>> localstack_settings({"LEARNLOOP_STAGE": "ls"}).endpoint_url
'http://localhost:4566'
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from learnloop.exceptions import LearnloopError
from learnloop.settings import Settings
from learnloop.store import bootstrap
from learnloop_tools.deploy.exceptions import DeployError

DEFAULT_ENDPOINT = "http://localhost:4566"


def localstack_settings(env: Mapping[str, str]) -> Settings:
    """Settings from ``env``, pointed at LocalStack unless ``AWS_ENDPOINT_URL`` says otherwise."""
    settings = Settings.from_env(env)
    return settings.with_overrides(endpoint_url=settings.endpoint_url or DEFAULT_ENDPOINT)


def wait_until_ready(
    endpoint: str,
    *,
    timeout_seconds: float = 120.0,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait until ``endpoint`` answers HTTP at all (LocalStack and moto both do on ``/``).

    Raises
    ------
    DeployError
        When it does not answer within ``timeout_seconds``.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            with urllib.request.urlopen(endpoint, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answered, if only with an error status
        except (urllib.error.URLError, OSError) as exc:
            if time.monotonic() >= deadline:
                raise DeployError(
                    f"{endpoint} did not answer in {timeout_seconds:.0f} s: {exc}"
                ) from exc
        sleep(poll_seconds)


def init_localstack(
    env: Mapping[str, str],
    *,
    tables: Any | None = None,
    s3: Any | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Wait for the endpoint, create the stage's tables and bucket, and report.

    Safe to run on every LocalStack start: what exists is left alone.
    """

    settings = localstack_settings(env)
    assert settings.endpoint_url is not None
    wait_until_ready(settings.endpoint_url)
    report = bootstrap(settings, tables=tables, s3=s3)
    for name in report.created_tables:
        echo(f"learnloop: created table {name}")
    if report.existing_tables:
        echo(f"learnloop: {len(report.existing_tables)} tables already existed")
    echo(f"learnloop: bucket {settings.bucket} {'created' if report.bucket_created else 'ok'}")
    return {
        "endpoint": settings.endpoint_url,
        "created_tables": report.created_tables,
        "existing_tables": report.existing_tables,
        "bucket": settings.bucket,
        "bucket_created": report.bucket_created,
    }


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """``python -m learnloop_tools.deploy.localstack``: the init hook's entry point."""
    import os

    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    try:
        init_localstack(os.environ if env is None else env)
    except (LearnloopError, BotoCoreError, ClientError, PynamoDBException) as exc:
        # One line in LocalStack's log says what went wrong; a traceback would bury it.
        print(f"learnloop: LocalStack init failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

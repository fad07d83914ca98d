"""Fixtures shared by every tier.

Functional tests talk to moto's server over real HTTP on 127.0.0.1, one server per session
and one stage (its own tables and bucket) per test, so tests never see each other's data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="session", autouse=True)
def _offline_aws_credentials() -> None:
    # Fake credentials so nothing can reach a real account by accident.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def aws_endpoint(_offline_aws_credentials: None) -> Iterator[str]:
    """The URL of an embedded moto server on a free loopback port.

    The local stack's (``EmbeddedMotoServer``): moto's storage is not safe for concurrent
    writes, and that server runs them one at a time, as DynamoDB would apply them atomically.
    """
    from learnloop_tools.local.moto_server import EmbeddedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request is noise
    server = EmbeddedMotoServer(port=0)
    server.start()
    yield server.endpoint_url
    server.stop()


@pytest.fixture
def settings(aws_endpoint: str) -> Any:
    """Settings of a fresh stage pointed at the embedded server."""
    from support.stage import new_stage_settings

    return new_stage_settings(aws_endpoint)


@pytest.fixture(scope="session")
def s3(aws_endpoint: str) -> Any:
    """One S3 client for the session (building a client costs ~0.2 s)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=aws_endpoint,
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="session")
def _dynamodb_client(aws_endpoint: str) -> Any:
    from learnloop.settings import Settings
    from learnloop.store.tables import _pynamodb_client

    return _pynamodb_client(Settings(endpoint_url=aws_endpoint))


@pytest.fixture
def tables(settings: Any, s3: Any, _dynamodb_client: Any) -> Any:
    """The stage's tables and bucket, created."""
    from learnloop.store import Tables, bootstrap

    tables = Tables(settings, dynamodb_client=_dynamodb_client)
    bootstrap(settings, tables=tables, s3=s3)
    return tables


@pytest.fixture
def services(settings: Any, tables: Any) -> Iterator[Any]:
    """The API's services for this stage, installed as the container's."""
    from learnloop.api import Services, set_services
    from learnloop.api.auth import Authenticator

    services = Services(
        settings=settings, tables=tables, authenticator=Authenticator(tables, cache_seconds=0)
    )
    set_services(services)
    yield services
    set_services(None)


@pytest.fixture(scope="session")
def app_module() -> ModuleType:
    """functions/app.py, loaded as Lambda would (the same module ``support.app`` hands out)."""
    from support.app import app_module as load_app

    return load_app()


@pytest.fixture
def client(app_module: ModuleType, services: Any) -> Iterator[Any]:
    """Chalice's test client over the real app, wired to this test's stage."""
    from chalice.test import Client

    with Client(app_module.app) as test_client:
        yield test_client


@pytest.fixture
def keys(tables: Any) -> dict[str, str]:
    """One key per scope: ``{"admin": ..., "ingest": ..., "read": ...}``."""
    from learnloop.api.auth import create_api_key

    return {
        scope: create_api_key(tables, name=f"test-{scope}", scopes=[scope]).secret
        for scope in ("admin", "ingest", "read")
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files marked ``heavy(seconds)`` run first, the heaviest first; the rest keep their order.

    ``make test`` hands whole files to two xdist workers in collection order
    (``--dist loadfile --no-loadscope-reorder``). xdist's own order (most tests first) left the
    long one- and two-test files for last, where one worker ran them while the other had
    nothing left; started first, the short files fill in around them.

    Examples
    --------
    >>> pytestmark = pytest.mark.heavy(150)  # about 150 s of the file in CI  # doctest: +SKIP
    """

    def weight(item: pytest.Item) -> float:
        marker = item.get_closest_marker("heavy")
        return float(marker.args[0]) if marker is not None else 0.0

    # sorted() is stable: within a weight (and so within a file) the order stays as collected.
    items[:] = sorted(items, key=lambda item: -weight(item))

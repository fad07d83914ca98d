"""The ``learnloop`` command line: set-up, keys, the local stack and jobs.

Every command reads the same settings as the Lambdas (``LEARNLOOP_*``, ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import click

from learnloop.settings import Settings


@click.group()
@click.version_option(package_name="learnloop")
def main() -> None:
    """learnloop: a self-hosted learning loop for engagement data."""


@main.command()
@click.option("--endpoint", "endpoint_url", default=None, help="AWS endpoint (default: env).")
def bootstrap(endpoint_url: str | None) -> None:
    """Create the stage's tables and bucket (safe to run twice)."""
    from learnloop.store import bootstrap as run_bootstrap

    settings = Settings.from_env()
    if endpoint_url:
        settings = settings.with_overrides(endpoint_url=endpoint_url)
    report = run_bootstrap(settings)
    for name in report.created_tables:
        click.echo(f"created table {name}")
    for name in report.existing_tables:
        click.echo(f"table {name} already exists")
    click.echo(
        f"bucket {settings.bucket} {'created' if report.bucket_created else 'already exists'}"
    )


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["ingest", "read", "admin"]),
    help="Repeat for several scopes.",
)
@click.option("--name", required=True, help="Who the key is for, e.g. 'web'.")
def keys_create(scopes: tuple[str, ...], name: str) -> None:
    """Create a key and print it once: it is stored only as a hash."""
    from learnloop.auth import create_api_key
    from learnloop.store import Tables

    issued = create_api_key(Tables(Settings.from_env()), name=name, scopes=scopes)
    click.echo(issued.secret)
    click.echo(
        f"key '{name}' with scopes {', '.join(sorted(issued.scopes))}: store it now, "
        "it cannot be shown again",
        err=True,
    )


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Revoke a key, given its text or its SHA-256 hash."""
    from learnloop.auth import revoke_api_key
    from learnloop.store import Tables

    if not revoke_api_key(Tables(Settings.from_env()), key):
        raise click.ClickException("no such key")
    click.echo("revoked")


if __name__ == "__main__":  # pragma: no cover
    main()

"""The ``learnloop`` command line: set-up, keys, the local stack and jobs.

Every command reads the same settings as the Lambdas (``LEARNLOOP_*``, ``AWS_ENDPOINT_URL``).

Each command imports what it runs inside its own body: boto3, pynamodb, chalice and moto load
only for the command that uses them, so ``learnloop --help`` starts in about 0.1 s, not 0.7 s.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from learnloop.settings import Settings


class _Commands(click.Group):
    """The CLI's group: the AWS SDK's "no credentials" and "cannot connect" errors become one
    clear line and exit code 1, never a traceback (every subgroup runs inside this one)."""

    def invoke(self, ctx: click.Context) -> Any:
        from botocore.exceptions import (
            EndpointConnectionError,
            NoCredentialsError,
            NoRegionError,
            PartialCredentialsError,
        )

        try:
            return super().invoke(ctx)
        except Exception as exc:
            # PynamoDB wraps the SDK's errors (TableError(cause=NoCredentialsError)).
            cause: BaseException | None = exc
            while cause is not None and not isinstance(
                cause,
                NoCredentialsError
                | PartialCredentialsError
                | NoRegionError
                | EndpointConnectionError,
            ):
                cause = cause.__cause__ or getattr(cause, "cause", None) or cause.__context__
            if isinstance(cause, NoCredentialsError | PartialCredentialsError):
                raise click.ClickException(
                    f"no AWS credentials ({cause}): start `learnloop up` (its "
                    ".learnloop/local.env is read by every command), or set AWS_ACCESS_KEY_ID "
                    "and AWS_SECRET_ACCESS_KEY (any value works for an emulator such as LocalStack)"
                ) from exc
            if isinstance(cause, NoRegionError):
                raise click.ClickException(f"{cause}: set AWS_DEFAULT_REGION") from exc
            if isinstance(cause, EndpointConnectionError):
                raise click.ClickException(
                    f"{cause}: is the stack running? (`learnloop up`, or check AWS_ENDPOINT_URL)"
                ) from exc
            raise


@click.group(cls=_Commands)
@click.version_option(package_name="learnloop")
def main() -> None:
    """learnloop: a self-hosted learning loop for engagement data."""


@main.command()
@click.option("--endpoint", "endpoint_url", default=None, help="AWS endpoint (default: env).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".learnloop"),
    show_default=True,
    help="Where `learnloop up` wrote local.env (read for what the environment lacks).",
)
def bootstrap(endpoint_url: str | None, state_dir: Path) -> None:
    """Create the stage's tables and bucket (safe to run twice)."""
    from learnloop.store import bootstrap as run_bootstrap

    settings = _stack_settings(state_dir)
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


# Options the commands that start the local stack share.
_port_option = click.option(
    "--port",
    type=int,
    default=8000,
    show_default=True,
    help="API port on 127.0.0.1; 0 picks a free one.",
)
_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".learnloop"),
    show_default=True,
    help="Where local.env and the state snapshots live.",
)


def _stack_settings(state_dir: Path) -> Settings:
    """Settings from the environment, with ``STATE_DIR/local.env`` (written by ``learnloop up``)
    filling in whatever the environment lacks, as ``train`` and ``retrain`` do: without it a
    command would aim at real AWS.

    The values go into ``os.environ`` too (only where unset): the AWS SDK reads its
    credentials from there.
    """
    import os

    from learnloop_tools.local.env_file import read_env_file

    for name, value in read_env_file(state_dir / "local.env").items():
        os.environ.setdefault(name, value)
    return Settings.from_env()


@contextlib.contextmanager
def _logs_on_stderr() -> Iterator[None]:
    """Log lines (and metrics Powertools prints) go to stderr: stdout is the command's result,
    so ``learnloop job run learn | jq`` works."""
    import logging
    import sys

    from learnloop.observability import logger

    handler = logger.registered_handler
    stream_handler = handler if isinstance(handler, logging.StreamHandler) else None
    stream = stream_handler.setStream(sys.stderr) if stream_handler is not None else None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if stream_handler is not None and stream is not None:
            stream_handler.setStream(stream)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM, so a command can stop cleanly (state saved)."""
    stopping = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopping
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _started(runner: Any) -> Iterator[Any]:
    """Start ``runner``, yield it, and always stop it (which saves the embedded state)."""
    from learnloop.exceptions import LearnloopError

    try:
        runner.start()
    except LearnloopError as exc:
        runner.stop()
        raise click.ClickException(str(exc)) from exc
    try:
        yield runner
    finally:
        try:
            runner.stop()
        except LearnloopError as exc:
            raise click.ClickException(f"stopping failed: {exc}") from exc
        click.echo("stopped")


def _announce(runner: Any) -> None:
    aws = runner.endpoint_url or "AWS (the SDK's own endpoints)"
    if runner.embedded:
        aws += " (embedded moto"
        aws += f"; restored {runner.restored.items} items)" if runner.restored else ")"
    click.echo(f"learnloop is up: API {runner.api_url}, AWS {aws}")
    click.echo(runner.env_text, nl=False)  # the three keys among them
    click.echo(f"keys and endpoints written to {runner.env_path.resolve()}")


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
@_state_dir_option
def keys_create(scopes: tuple[str, ...], name: str, state_dir: Path) -> None:
    """Create a key and print it once: it is stored only as a hash."""
    from learnloop.api.auth import create_api_key
    from learnloop.store import Tables

    issued = create_api_key(Tables(_stack_settings(state_dir)), name=name, scopes=scopes)
    click.echo(issued.secret)
    click.echo(
        f"key '{name}' with scopes {', '.join(sorted(issued.scopes))}: store it now, "
        "it cannot be shown again",
        err=True,
    )


@keys.command("revoke")
@click.argument("key")
@_state_dir_option
def keys_revoke(key: str, state_dir: Path) -> None:
    """Revoke a key, given its text or its SHA-256 hash.

    The API caches a key's lookup for LEARNLOOP_AUTH_CACHE_SECONDS (30 s by default): a
    running container may accept a revoked key for up to that long.
    """
    from learnloop.api.auth import revoke_api_key
    from learnloop.store import Tables

    settings = _stack_settings(state_dir)
    if not revoke_api_key(Tables(settings), key):
        raise click.ClickException("no such key")
    click.echo(
        f"revoked (API containers that checked it in the last {settings.auth_cache_seconds:g} s "
        "may accept it until their cache expires)"
    )


@main.command()
@_port_option
@_state_dir_option
@click.option(
    "--endpoint",
    "endpoint_url",
    default=None,
    help="Use this AWS endpoint (a LocalStack URL, or 'aws' for real AWS) instead of "
    "the embedded emulator; then nothing is snapshotted.",
)
@click.option(
    "--app",
    "app_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The Chalice app file (default: functions/app.py).",
)
@click.option(
    "--metrics/--no-metrics", default=False, show_default=True, help="Print Powertools EMF metrics."
)
@click.option("--verbose", is_flag=True, help="One access-log line per API and AWS request.")
@click.option(
    "--snapshot-seconds",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Snapshot the state this often when it changed; 0: only on stop.",
)
@click.option(
    "--moto-port",
    type=int,
    default=0,
    show_default=True,
    help="Port of the embedded AWS emulator; 0 picks a free one.",
)
def up(
    port: int,
    state_dir: Path,
    endpoint_url: str | None,
    app_path: Path | None,
    metrics: bool,
    verbose: bool,
    snapshot_seconds: float,
    moto_port: int,
) -> None:
    """Run the local stack on 127.0.0.1: AWS emulator, the API, schedules, saved state.

    Writes STATE_DIR/local.env for clients; Ctrl-C (or SIGTERM) saves the state and exits.
    """
    from learnloop_tools.local import Runner

    runner = Runner(
        port=port,
        state_dir=state_dir,
        endpoint_url=endpoint_url,
        app_path=app_path,
        metrics=metrics,
        verbose=verbose,
        snapshot_seconds=snapshot_seconds,
        moto_port=moto_port,
    )
    with _stop_on_signals() as stopping, _started(runner):
        _announce(runner)
        click.echo("Ctrl-C to stop")
        while not stopping.wait(0.5):
            pass
        click.echo("stopping: saving state" if runner.embedded else "stopping")


@main.command()
@click.option(
    "--days", type=click.IntRange(min=2), default=16, show_default=True, help="Simulated days."
)
@click.option("--posts-per-day", type=click.IntRange(1, 100), default=24, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Makes a run reproducible.")
@_port_option
@_state_dir_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("learnloop-report"),
    show_default=True,
    help="Where the report goes.",
)
@click.option(
    "--shift-day",
    type=click.IntRange(min=1),
    default=None,
    help="Day (counted from 0, as day_index in summary.json) on which the hidden truth shifts: "
    "another hook becomes the best and quality pays more.  [default: 40 % into the run]",
)
@click.option("--no-shift", is_flag=True, help="Keep the hidden truth the same all run.")
@click.option("--keep-running", is_flag=True, help="Keep serving what was learned afterwards.")
@click.option("--verbose", is_flag=True, help="Show the jobs' logs and every request.")
@click.option(
    "--world",
    type=click.Choice(["content", "journal"]),
    default="content",
    show_default=True,
    help="content: posts and a bandit; journal: simulated traders and the journal models "
    "(--days defaults to 22 there).",
)
@click.option(
    "--traders", type=click.IntRange(10, 2000), default=60, show_default=True, help="journal"
)
@click.pass_context
def demo(
    ctx: click.Context,
    days: int,
    posts_per_day: int,
    seed: int,
    port: int,
    state_dir: Path,
    out_dir: Path,
    shift_day: int | None,
    no_shift: bool,
    keep_running: bool,
    verbose: bool,
    world: str,
    traders: int,
) -> None:
    """Simulate a population with a hidden truth on the local stack and grade what was learned.

    By default the truth shifts part-way through (--shift-day, --no-shift) and the report
    shows whether the loop recovers. Writes OUT/report.md, regret.png, engagement.png,
    timeline.png and summary.json. With --world journal: OUT/journal-report.md, journal.png and
    journal-summary.json.
    """
    if world == "journal":
        explicit = ctx.get_parameter_source("days") is not click.core.ParameterSource.DEFAULT
        _journal_demo(days if explicit else 22, traders, seed, port, state_dir, out_dir, verbose)
        return
    if shift_day is not None and (no_shift or shift_day >= days):
        raise click.BadParameter(
            "--no-shift takes no --shift-day"
            if no_shift
            else f"the shift must come before the last day: at most {days - 1} for --days {days}",
            param_hint="--shift-day",
        )
    import os

    from learnloop.observability import logger
    from learnloop_tools.demo.driver import DemoConfig, format_summary
    from learnloop_tools.demo.local import demo_settings, run_demo
    from learnloop_tools.local import Runner

    # Simulated days pass in seconds: no write can still be in flight when `learn` runs, and a
    # window as long as the run covers all of it. One day shard: moto answers each GSI query
    # by scanning the whole table, so shards cost a scan each there (nothing on DynamoDB).
    os.environ.setdefault("LEARNLOOP_LEARN_SAFETY_MARGIN_SECONDS", "0")
    os.environ.setdefault("LEARNLOOP_TRAINING_WINDOW_DAYS", str(days + 2))
    os.environ.setdefault("LEARNLOOP_DAY_SHARDS", "1")
    # A simulated day lasts ~3 s of wall time: serving caches with wall-clock lifetimes would
    # decide by timing which day's arms and model a request sees, and runs would not repeat.
    os.environ.setdefault("LEARNLOOP_MODEL_CHECK_SECONDS", "0")
    os.environ.setdefault("LEARNLOOP_ARMS_CACHE_SECONDS", "0")
    if not verbose:
        # The per-day lines are the demo's output; the jobs' warnings (a drift alert as the
        # bandit shifts what gets posted) would break them up. --verbose shows everything.
        logger.setLevel("ERROR")
    config = DemoConfig(
        days=days,
        posts_per_day=posts_per_day,
        seed=seed,
        out_dir=out_dir,
        shift=not no_shift,
        shift_day=shift_day,
    )
    # State is saved on stop only: a periodic snapshot would rescan the tables mid-run.
    runner = Runner(
        port=port,
        state_dir=state_dir,
        settings=demo_settings(),
        verbose=verbose,
        snapshot_seconds=0,
        # The driver delivers the bucket's events after each job it fires; a polling thread
        # would list the bucket every 2 s beside it. --keep-running starts one afterwards.
        bucket_poll_seconds=0,
    )
    with _stop_on_signals() as stopping, _started(runner):
        _announce(runner)
        run = run_demo(runner, config, echo=click.echo)
        click.echo(format_summary(run.summary))
        click.echo("report: " + ", ".join(str(path) for path in run.files))
        if keep_running:
            runner.watch_bucket()
            click.echo("serving what was learned; Ctrl-C to stop")
            while not stopping.wait(0.5):
                pass


def _journal_demo(
    days: int, traders: int, seed: int, port: int, state_dir: Path, out_dir: Path, verbose: bool
) -> None:
    """``learnloop demo --world journal``: the journal world on the local stack."""
    import os

    from learnloop.observability import logger
    from learnloop_tools.demo.journal.driver import JournalDemoConfig, run_journal_demo
    from learnloop_tools.demo.journal.report import format_summary
    from learnloop_tools.demo.local import demo_settings
    from learnloop_tools.local import Runner

    config = JournalDemoConfig(traders=traders, days=days, seed=seed, out_dir=out_dir)
    # the training window covers the training days (learn runs before the fresh ones) and no
    # more: each day read is a query, and moto answers each by scanning the table; one shard
    os.environ.setdefault("LEARNLOOP_TRAINING_WINDOW_DAYS", str(days + 1))
    os.environ.setdefault("LEARNLOOP_DAY_SHARDS", "1")
    os.environ.setdefault("LEARNLOOP_MODEL_CHECK_SECONDS", "0")
    if not verbose:
        logger.setLevel("ERROR")
    runner = Runner(
        port=port,
        state_dir=state_dir,
        settings=demo_settings(),
        verbose=verbose,
        snapshot_seconds=0,
        bucket_poll_seconds=0,
    )
    with _stop_on_signals(), _started(runner):
        _announce(runner)
        run = run_journal_demo(runner, config, echo=click.echo)
        click.echo(format_summary(run.summary))
        click.echo("report: " + ", ".join(str(path) for path in run.files))


@main.group()
def models() -> None:
    """The model registry: versions, production, promotion and rollback."""


@models.command("list")
@_state_dir_option
def models_list(state_dir: Path) -> None:
    """Print every model's versions, production version and history as JSON."""
    import json

    from learnloop.models.operations import list_models
    from learnloop.store import Tables

    click.echo(json.dumps(list_models(Tables(_stack_settings(state_dir))), indent=2, default=str))


@models.command("promote")
@click.argument("name")
@click.argument("version")
@click.option("--reason", default="promoted by hand", show_default=True)
@_state_dir_option
def models_promote(name: str, version: str, reason: str, state_dir: Path) -> None:
    """Make VERSION the production version of model NAME."""
    _registry_move("promote", name, {"version": version, "reason": reason}, state_dir)


@models.command("rollback")
@click.argument("name")
@click.option("--reason", default="rolled back by hand", show_default=True)
@_state_dir_option
def models_rollback(name: str, reason: str, state_dir: Path) -> None:
    """Point model NAME's production back at the version before the current one."""
    _registry_move("rollback", name, {"reason": reason}, state_dir)


def _registry_move(action: str, name: str, body: dict[str, str], state_dir: Path) -> None:
    import getpass
    import json

    from learnloop.exceptions import LearnloopError
    from learnloop.models import operations as admin
    from learnloop.store import Tables

    move = admin.promote if action == "promote" else admin.rollback
    try:
        result = move(
            Tables(_stack_settings(state_dir)), name, body, actor=f"cli:{getpass.getuser()}"
        )
    except LearnloopError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(json.dumps(result, indent=2, default=str))


@main.group()
def evaluate() -> None:
    """Off-policy evaluation on the decision log."""


@evaluate.command("policy")
@click.option(
    "--candidate",
    required=True,
    help='Bandit configuration, e.g. "thompson:prior=2/8,discount=0.9" or "ucb1:epsilon=0.2".',
)
@click.option(
    "--scope", type=click.Choice(["content", "timing"]), default="content", show_default=True
)
@click.option("--from", "start", default=None, help="First day read (YYYY-MM-DD).")
@click.option("--to", "end", default=None, help="Last day read (YYYY-MM-DD; default: today).")
@click.option("--days", type=int, default=None, help="The last N days (default 7).")
@click.option(
    "--estimator",
    type=click.Choice(["dr", "ipw", "snipw", "dm"]),
    default="dr",
    show_default=True,
    help="The estimator the gate reads (every one is printed).",
)
@click.option(
    "--margin",
    type=float,
    default=None,
    help="Lower bound must beat production by this (default: LEARNLOOP_POLICY_PROMOTION_MARGIN).",
)
@click.option(
    "--batch-size",
    type=int,
    default=100,
    show_default=True,
    help="Decisions per learning step of the replayed candidate.",
)
@click.option("--resamples", type=int, default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap and draw seed.")
@click.option("--register", is_flag=True, help="Publish it as a bandit_policy model version.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_state_dir_option
def evaluate_policy(
    candidate: str,
    scope: str,
    start: str | None,
    end: str | None,
    days: int | None,
    estimator: str,
    margin: float | None,
    batch_size: int,
    resamples: int,
    seed: int,
    register: bool,
    as_json: bool,
    state_dir: Path,
) -> None:
    """Replay a candidate bandit configuration over the stage's decision log; print its
    estimated value next to production's and the promotion gate's verdict."""
    import json
    from datetime import date, timedelta

    from learnloop.clock import utcnow
    from learnloop.decisions.evaluation import evaluate_policy as run
    from learnloop.decisions.evaluation import policy_artifact
    from learnloop.decisions.log import read_decisions
    from learnloop.exceptions import LearnloopError
    from learnloop.models.artifacts import write_artifact
    from learnloop.store import Tables
    from learnloop.store.clients import s3_client

    if days is not None and start is not None:
        raise click.UsageError("give --from/--to or --days, not both")
    try:
        last = date.fromisoformat(end) if end else utcnow().date()
        first = date.fromisoformat(start) if start else last - timedelta(days=(days or 7) - 1)
    except ValueError as exc:
        raise click.BadParameter(f"dates are YYYY-MM-DD: {exc}") from exc
    if first > last:
        raise click.BadParameter("--from is after --to")
    settings = _stack_settings(state_dir)
    tables = Tables(settings)
    try:
        report = run(
            read_decisions(tables, first, last),
            candidate,
            scope=scope,
            estimator=estimator,
            margin=settings.policy_promotion_margin if margin is None else margin,
            batch_size=batch_size,
            n_resamples=resamples,
            random_state=seed,
            start=first,
            end=last,
        )
    except LearnloopError as exc:
        said = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in exc.details)
        raise click.ClickException(f"{exc.message} ({said})" if said else exc.message) from exc
    if register:
        name, version, files, manifest = policy_artifact(report)
        keys = write_artifact(s3_client(settings), settings.bucket, name, version, files, manifest)
        report["registered"] = {"name": name, "version": version, "manifest": keys[-1]}
    click.echo(json.dumps(report, indent=2) if as_json else _policy_report_text(report))


def _policy_report_text(report: dict[str, Any]) -> str:
    value, production, gate = report["value"], report["production"], report["gate"]
    rows = report["rows"]
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(rows["skipped"].items())) or "none"
    lines = [
        f"candidate  {report['candidate']} ({report['scope']}, "
        f"{report['range']['from']} to {report['range']['to']})",
        f"estimate   {value['estimator']} {value['estimate']:.4f} "
        f"[{value['ci_low']:.4f}, {value['ci_high']:.4f}] ({value['confidence']:.0%} bootstrap)",
        f"production {production['estimate']:.4f} "
        f"[{production['ci_low']:.4f}, {production['ci_high']:.4f}] (logged mean reward)",
        "estimators "
        + "  ".join(
            f"{name} {v['estimate']:.4f} [{v['ci_low']:.4f}, {v['ci_high']:.4f}]"
            for name, v in report["estimates"].items()
        ),
        f"ess        {report['ess']:.1f} of {rows['used']} rows used; skipped: {skipped}",
        f"gate       {gate['decision'].upper()}: {gate['reason']}",
    ]
    if "registered" in report:
        done = report["registered"]
        lines.append(f"registered {done['name']} {done['version']} ({done['manifest']})")
    return "\n".join(lines)


@main.group()
def job() -> None:
    """Run scheduled jobs by hand."""


@job.command("run")
@click.argument("name")
@click.option(
    "--date",
    "day",
    default=None,
    help="rollup_daily / export_training_data: the day to roll up or export (YYYY-MM-DD).",
)
@click.option("--now", default=None, help="The run's logical time (ISO 8601; default: now).")
@click.option(
    "--candles",
    type=click.IntRange(min=1),
    default=None,
    help="market_anomalies: recent candles of each series to (re)check (a backfill).",
)
@click.option("--from", "day_from", default=None, help="rollup_daily / export: first day.")
@click.option("--to", "day_to", default=None, help="rollup_daily / export: last day.")
@click.option("--backfill", is_flag=True, help="export_training_data: every day not exported yet.")
@click.option(
    "--deadline-seconds",
    type=click.FloatRange(min=0.001),
    default=None,
    help="Stop each invocation before this many seconds and chain the next (as on Lambda).",
)
@_state_dir_option
def job_run(
    name: str,
    day: str | None,
    now: str | None,
    candles: int | None,
    day_from: str | None,
    day_to: str | None,
    backfill: bool,
    deadline_seconds: float | None,
    state_dir: Path,
) -> None:
    """Run the job NAME (rollup_daily, learn, export_training_data, drift_check,
    privacy_purge, evaluate_policies, market_anomalies) once; print the result as JSON on
    stdout (its log lines go to stderr). With --deadline-seconds the run is cut into
    invocations of that length, each resuming where the last stopped; the result gains
    ``invocations``."""
    import json
    from datetime import date, datetime

    from learnloop.clock import utcnow
    from learnloop.jobs import JOBS, run_job
    from learnloop.store import Tables

    if name not in JOBS:
        raise click.BadParameter(f"unknown job; choose from {', '.join(sorted(JOBS))}")
    options: dict[str, Any] = {"day": date.fromisoformat(day)} if day else {}
    if candles:
        options["candles"] = candles
    for key, value in (("day_from", day_from), ("day_to", day_to)):
        if value:
            options[key] = date.fromisoformat(value)
    if backfill:
        options["backfill"] = True
    moment = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else utcnow()
    with _logs_on_stderr():
        tables = Tables(_stack_settings(state_dir))
        if deadline_seconds:
            from learnloop.jobs import run_job_chained
            from learnloop.jobs.deadline import Deadline

            result = run_job_chained(
                name,
                tables,
                moment,
                deadline=lambda: Deadline.after(deadline_seconds, margin=0.0),
                **options,
            )
        else:
            result = run_job(name, tables, moment, **options)
    click.echo(json.dumps(result, indent=2, default=str))


@main.group("import")
def import_group() -> None:
    """Bulk imports: a local file or an s3:// object, checked whole, then written in batches."""


@import_group.command("candles")
@click.argument("source")
@click.option("--symbol", default=None, help="Default: the file's symbol column or name.")
@click.option(
    "--interval",
    type=click.Choice(["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]),
    default="1d",
    show_default=True,
)
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True)
def import_candles_command(source: str, symbol: str | None, interval: str, batch_size: int) -> None:
    """Import OHLCV candles from SOURCE (a CSV: Yahoo's Date,Open,High,Low,Close,Adj
    Close,Volume or open_time,open,high,low,close,volume; or JSON Lines), idempotently."""
    import json
    import sys

    from learnloop.exceptions import LearnloopError
    from learnloop.store import Tables
    from learnloop_tools.imports import import_candles

    with contextlib.ExitStack() as stack:
        bars: list[Any] = []

        def start(total: int) -> None:
            bar = click.progressbar(length=total, label="candles", file=sys.stderr)
            bars.append(stack.enter_context(bar))

        try:
            report = import_candles(
                source,
                Tables(Settings.from_env()),
                symbol=symbol,
                interval=interval,
                batch_size=batch_size,
                on_parsed=start,
                progress=lambda n: bars[0].update(n),
            )
        except LearnloopError as exc:
            named = [f"  {d['field']}: {d['message']}" for d in getattr(exc, "details", [])]
            raise click.ClickException("\n".join([str(exc), *named])) from None
    click.echo(json.dumps(report, indent=2))


def _import_rows(kind: str, source: str, report: Path | None, state_dir: Path) -> None:
    """Import ``kind`` rows from ``source``: progress on stderr, the report on stdout."""
    import json
    import sys

    from learnloop.exceptions import LearnloopError
    from learnloop.store import Tables
    from learnloop_tools.imports import import_file

    with contextlib.ExitStack() as stack:
        bars: list[Any] = []

        def start(total: int) -> None:
            bar = click.progressbar(length=total, label=kind, file=sys.stderr)
            bars.append(stack.enter_context(bar))

        try:
            with _logs_on_stderr():
                result = import_file(
                    kind,
                    source,
                    Tables(_stack_settings(state_dir)),
                    on_parsed=start,
                    progress=lambda n: bars[0].update(n),
                )
        except LearnloopError as exc:
            raise click.ClickException(str(exc)) from None
    if report is not None:
        report.write_text(json.dumps(result, indent=2))
    shown = {**result, "errors": result["errors"][:20]}
    click.echo(json.dumps(shown, indent=2))
    if result["bad_rows"]:
        sys.exit(2)  # some rows were not imported: say so to scripts


def _rows_command(kind: str) -> None:
    @import_group.command(kind)
    @click.argument("source")
    @click.option(
        "--report",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Also write the full report (every bad row) to this JSON file.",
    )
    @_state_dir_option
    def command(source: str, report: Path | None, state_dir: Path) -> None:
        _import_rows(kind, source, report, state_dir)

    command.__doc__ = (
        f"Import {kind} from SOURCE (a file or s3://bucket/key; .csv or JSON Lines), each row "
        "checked as its route checks it: bad rows listed by line and field (exit code 2), "
        "good rows stored. Re-running stores nothing twice."
    )
    command.help = command.__doc__


for _kind in ("reactions", "events", "content", "outcomes", "insights"):
    _rows_command(_kind)


@main.command()
@click.option("--pending", is_flag=True, help="Run every pending request (required).")
@_state_dir_option
def retrain(pending: bool, state_dir: Path) -> None:
    """Carry out the retrain requests drift_check recorded (two_tower, sentiment): run each
    training job here; print what each published (or why it could not run)."""
    import json
    import os

    from learnloop.store import Tables
    from learnloop.store.clients import s3_client
    from learnloop_tools.local.env_file import read_env_file
    from learnloop_tools.local.retrain import run_pending_retrains

    if not pending:
        raise click.UsageError("say which requests: --pending (every one not carried out yet)")
    env = {**read_env_file(state_dir / "local.env"), **os.environ}
    settings = Settings.from_env(env)
    done = run_pending_retrains(Tables(settings), s3_client(settings), env=env)
    click.echo(json.dumps({"retrains": done}, indent=2, default=str))


# --- deploy: package, deploy, destroy, train (learnloop_tools.deploy) ----------------------------

_runtime_option = click.option(
    "--runtime",
    type=click.Choice(["python3.11", "python3.12", "python3.13"]),
    default="python3.11",
    show_default=True,
    help="Lambda runtime the layers are built for (3.11: glibc 2.26 wheels only).",
)
_arch_option = click.option(
    "--architecture",
    type=click.Choice(["x86_64", "arm64"]),
    default="x86_64",
    show_default=True,
)
_stage_option = click.option(
    "--stage", default=None, help="Stage to deploy (default: LEARNLOOP_STAGE or dev)."
)


def _stage_settings(stage: str | None) -> Settings:
    import os

    env = dict(os.environ)
    if stage and os.environ.get("LEARNLOOP_STAGE") != stage:
        # Names set for another stage must not leak into this one: derive them from --stage.
        env["LEARNLOOP_STAGE"] = stage
        env.pop("LEARNLOOP_TABLE_PREFIX", None)
        env.pop("LEARNLOOP_BUCKET", None)
    return Settings.from_env(env)


def _build(
    settings: Settings,
    runtime: str,
    architecture: str,
    out_dir: Path,
    artifacts_bucket: str,
    skip_layers: bool,
) -> Any:
    from learnloop.exceptions import LearnloopError
    from learnloop_tools.deploy.build import build
    from learnloop_tools.deploy.runtimes import get_runtime

    try:
        result = build(
            settings,
            get_runtime(runtime, architecture),
            out_dir,
            artifacts_bucket=artifacts_bucket,
            skip_layers=skip_layers,
            echo=click.echo,
        )
    except LearnloopError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(result.size_table())
    click.echo(f"template: {result.template_path}")
    return result


@main.command()
@_stage_option
@_runtime_option
@_arch_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist/deploy"),
    show_default=True,
)
@click.option("--skip-layers", is_flag=True, help="Template and function zip only (no pip).")
@click.option("--artifacts-bucket", default="learnloop-artifacts", show_default=True)
def package(
    stage: str | None,
    runtime: str,
    architecture: str,
    out_dir: Path,
    skip_layers: bool,
    artifacts_bucket: str,
) -> None:
    """Build the Lambda layers and function zip for a runtime, and the template; print sizes.

    Fails when a function and its layers would unzip to more than Lambda's 250 MB.
    """
    _build(_stage_settings(stage), runtime, architecture, out_dir, artifacts_bucket, skip_layers)


@main.command()
@_stage_option
@_runtime_option
@_arch_option
@click.option("--dry-run", is_flag=True, help="Write templates and zips to --out; call no AWS.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist/deploy"),
    show_default=True,
)
@click.option("--skip-layers", is_flag=True, help="Do not build layers (with --dry-run only).")
@click.option(
    "--artifacts-bucket", default=None, help="Default: learnloop-artifacts-ACCOUNT-REGION."
)
@click.option("--image-tag", default=None, help="Tag of the training images (default: latest).")
def deploy(
    stage: str | None,
    runtime: str,
    architecture: str,
    dry_run: bool,
    out_dir: Path,
    skip_layers: bool,
    artifacts_bucket: str | None,
    image_tag: str | None,
) -> None:
    """Package, upload and create or update the stage's CloudFormation stack."""
    import boto3

    from learnloop.exceptions import LearnloopError
    from learnloop_tools.deploy import stack

    settings = _stage_settings(stage)
    if dry_run:
        _build(
            settings,
            runtime,
            architecture,
            out_dir,
            artifacts_bucket or "learnloop-artifacts",
            skip_layers,
        )
        click.echo(f"dry run: nothing was sent to AWS; see {out_dir}")
        return
    if skip_layers:
        raise click.BadParameter("a real deployment needs its layers", param_hint="--skip-layers")
    session = boto3.session.Session(region_name=settings.region)
    endpoint = settings.endpoint_url
    s3 = session.client("s3", endpoint_url=endpoint)
    try:
        bucket = artifacts_bucket or stack.default_artifacts_bucket(
            session.client("sts", endpoint_url=endpoint), settings.region
        )
        result = _build(settings, runtime, architecture, out_dir, bucket, False)
        outputs = stack.deploy(
            result,
            cfn=session.client("cloudformation", endpoint_url=endpoint),
            s3=s3,
            artifacts_bucket=bucket,
            region=settings.region,
            image_tag=image_tag,
            echo=click.echo,
        )
    except LearnloopError as exc:
        raise click.ClickException(exc.message) from exc
    for key, value in sorted(outputs.items()):
        click.echo(f"{key}: {value}")
    from learnloop_tools.deploy.template import logical_id

    for job in result.inventory.training_jobs:
        repository = outputs.get(logical_id(job.name, "Repository"))
        if repository:
            click.echo(
                f"training image {job.name}: docker build -f training_jobs/Dockerfile "
                f"--target {job.name} -t {repository}:latest . && docker push {repository}:latest"
            )


@main.command()
@_stage_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def destroy(stage: str | None, yes: bool) -> None:
    """Delete the stage's stack (its data too, unless the stage retains data, as prod does)."""
    import boto3

    from learnloop.exceptions import LearnloopError
    from learnloop_tools.deploy import stack

    settings = _stage_settings(stage)
    name = stack.stack_name(settings.stage)
    if not yes:
        click.confirm(
            f"Delete stack {name} and, unless it retains data, its tables and bucket?",
            abort=True,
        )
    session = boto3.session.Session(region_name=settings.region)
    try:
        stack.destroy(
            settings.stage,
            cfn=session.client("cloudformation", endpoint_url=settings.endpoint_url),
            s3=session.client("s3", endpoint_url=settings.endpoint_url),
            echo=click.echo,
        )
    except LearnloopError as exc:
        raise click.ClickException(exc.message) from exc


@main.command(
    "train",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--target",
    type=click.Choice(["local", "ecs"]),
    default="local",
    show_default=True,
    help="local: a subprocess against the configured endpoint; ecs: a Fargate task.",
)
@_stage_option
@click.option("--wait/--no-wait", default=True, show_default=True, help="ecs: wait for the end.")
@_state_dir_option
def train(
    name: str, args: tuple[str, ...], target: str, stage: str | None, wait: bool, state_dir: Path
) -> None:
    """Run the training job NAME (two_tower, text_encoder, sentiment, price_forecast) and exit
    with its code.

    Arguments after NAME go to the job (`learnloop train two_tower --embedding-dim 128`).
    Locally the job gets this environment with STATE_DIR/local.env's values as defaults, so it
    reaches a running `learnloop up`; on ECS it runs as the stack's Fargate task.
    """
    import os

    from learnloop.exceptions import LearnloopError
    from learnloop_tools.deploy import training
    from learnloop_tools.deploy.inventory import training_job_specs
    from learnloop_tools.local.env_file import read_env_file

    try:
        job = training.find_job(training_job_specs(), name)
    except LearnloopError as exc:
        raise click.BadParameter(exc.message, param_hint="NAME") from exc
    try:
        if target == "local":
            env = {**read_env_file(state_dir / "local.env"), **os.environ}
            env.setdefault("PYTHONUNBUFFERED", "1")
            code = training.run_local(job, args=args, env=env)
        else:
            import boto3

            from learnloop_tools.deploy.stack import stack_name, stack_outputs

            settings = _stage_settings(stage)
            session = boto3.session.Session(region_name=settings.region)
            cfn = session.client("cloudformation", endpoint_url=settings.endpoint_url)
            ecs = session.client("ecs", endpoint_url=settings.endpoint_url)
            outputs = stack_outputs(cfn, stack_name(settings.stage))
            task = training.run_ecs_task(ecs, outputs, job, args=args)
            click.echo(f"started {task.task_arn}")
            code = training.wait_for_task(ecs, task, echo=click.echo) if wait else 0
    except LearnloopError as exc:
        raise click.ClickException(exc.message) from exc
    if code:
        click.echo(f"training job {name} exited with {code}", err=True)
    raise SystemExit(code)


@main.group()
def sentiment() -> None:
    """Sentiment data: labelled texts for `learnloop train sentiment`."""


@sentiment.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["jsonl", "csv", "phrasebank"]),
    default=None,
    help="Default: by suffix (.jsonl/.ndjson, .csv, .txt = PhraseBank sentence@label).",
)
@click.option("--labels", default=None, help="Label map, e.g. 0=negative,1=positive,2=neutral.")
@click.option("--encoding", default=None, help="Default: UTF-8, else latin-1.")
@click.option("--replace", is_flag=True, help="Replace the stored texts instead of appending.")
@_state_dir_option
def sentiment_import(
    file: Path,
    file_format: str | None,
    labels: str | None,
    encoding: str | None,
    replace: bool,
    state_dir: Path,
) -> None:
    """Store FILE's labelled texts where `learnloop train sentiment` reads them
    (exports/labelled/sentiment.jsonl in the stage's bucket; rows already there are kept once).
    """
    import json
    import os

    from botocore.exceptions import ClientError

    from learnloop.exceptions import LearnloopError
    from learnloop.sentiment.labelled import MAX_ROWS_PER_PUT, put_labelled, read_labelled
    from learnloop.store.clients import s3_client
    from learnloop_tools.local.env_file import read_env_file

    env_file = state_dir / "local.env"
    env = {**(read_env_file(env_file) if env_file.exists() else {}), **os.environ}
    settings = Settings.from_env(env)
    try:
        texts, found = read_labelled(
            file.read_bytes(), file.name, format=file_format, labels=labels, encoding=encoding
        )
        s3 = s3_client(settings)
        result: dict[str, Any] = {}
        for start in range(0, len(texts), MAX_ROWS_PER_PUT):
            rows = [
                {"text": t, "label": y}
                for t, y in zip(
                    texts[start : start + MAX_ROWS_PER_PUT],
                    found[start : start + MAX_ROWS_PER_PUT],
                    strict=True,
                )
            ]
            mode = "replace" if replace and start == 0 else "append"
            result = put_labelled(s3, settings.bucket, {"rows": rows, "mode": mode})
            click.echo(f"{min(start + MAX_ROWS_PER_PUT, len(texts))}/{len(texts)} rows stored")
    except LearnloopError as exc:
        raise click.ClickException(exc.message) from exc
    except ClientError as exc:
        raise click.ClickException(f"cannot store in s3://{settings.bucket}: {exc}") from exc
    click.echo(json.dumps(result, indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()

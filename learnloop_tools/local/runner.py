"""The local stack in one object: emulator, tables and keys, the API, schedules, snapshots.

``learnloop up`` is a thin shell around :class:`Runner`; tests and ``learnloop demo`` use it
in-process. The runner points this process at the stack through the environment
(``LEARNLOOP_*``, ``AWS_ENDPOINT_URL``), exactly as Lambda configuration would, and puts the
previous values back on :meth:`Runner.stop`.

Examples
--------
>>> with Runner(port=0, state_dir=tmp_path) as runner:  # doctest: +SKIP
...     requests.get(f"{runner.api_url}/v1/health").json()
{'status': 'ok', 'stage': 'local'}
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from learnloop.api import set_services
from learnloop.api.auth import create_api_key, hash_key
from learnloop.observability import logger, metrics
from learnloop.settings import DEFAULT_CONTENT_TYPES, Settings
from learnloop.store import Tables, bootstrap
from learnloop.store.clients import s3_client
from learnloop_tools.local.api_server import LocalApiServer, find_app_path, load_app_module
from learnloop_tools.local.env_file import read_env_file, write_env_file
from learnloop_tools.local.exceptions import RunnerError
from learnloop_tools.local.journal import RequestJournal
from learnloop_tools.local.moto_server import (
    LOCAL_CREDENTIALS,
    EmbeddedMotoServer,
    MotoBackendAccess,
    ensure_local_credentials,
)
from learnloop_tools.local.s3_events import BucketWatcher, app_event_handlers
from learnloop_tools.local.schedule import Job, Schedule, Scheduler
from learnloop_tools.local.state import SnapshotReport, StateStore

#: ``endpoint_url`` value meaning "real AWS": the SDK's own endpoint resolution, no emulator.
AWS = "aws"
#: The scopes the runner issues one key each for, and their ``local.env`` variables.
KEY_SCOPES = ("admin", "ingest", "read")
DEFAULT_STAGE = "local"


def key_variable(scope: str) -> str:
    """The ``local.env`` variable holding the key of ``scope``.

    Examples
    --------
    >>> key_variable("ingest")
    'LEARNLOOP_INGEST_KEY'
    """
    return f"LEARNLOOP_{scope.upper()}_KEY"


class Runner:
    """Start, serve and stop the local stack.

    Parameters
    ----------
    port
        API port on ``host``; 0 picks a free one (read :attr:`api_url`).
    state_dir
        Where ``local.env`` and ``state/`` (snapshots) live.
    endpoint_url
        ``None``: start the embedded moto server (and snapshot it). A URL (LocalStack, ...):
        use that endpoint, no emulator, no snapshots. ``"aws"``: the SDK's own endpoints.
    app_path
        The Chalice app file (default: ``functions/app.py`` found by :func:`find_app_path`).
    project_dir
        Where to look for ``functions/app.py`` first.
    settings
        Stage settings (default: from the environment, stage ``local`` unless
        ``LEARNLOOP_STAGE`` says otherwise); ``endpoint_url`` overrides theirs.
    metrics
        Let Powertools print EMF metrics; off by default (``POWERTOOLS_METRICS_DISABLED``).
    verbose
        One access-log line per API and emulator request.
    snapshot_seconds
        Snapshot period when something changed; 0 turns periodic snapshots off.
    moto_port
        Emulator port; 0 picks a free one.
    host
        Interface for both servers; keep the loopback default.
    app_schedules
        Register the app's ``@app.schedule`` handlers with the scheduler.
    bucket_poll_seconds
        How often a background thread delivers the bucket's S3 events; 0: only when
        :meth:`deliver_bucket_events` is called (the demo calls it after each job).
    journal_fsync
        Flush each journaled write to the disk (survives a power cut; ``kill -9`` of the
        process needs no flush). See :mod:`learnloop_tools.local.journal`.

    Attributes
    ----------
    api_url, endpoint_url : str | None
        Where the API and the AWS endpoint listen (set by :meth:`start`).
    keys : dict[str, str]
        ``{"admin": ..., "ingest": ..., "read": ...}`` API keys.
    settings : Settings
        The stage the stack serves.
    env_path : Path
        ``<state_dir>/local.env``.
    scheduler : Scheduler
        Fires scheduled jobs; see :meth:`add_schedule`.
    """

    def __init__(
        self,
        *,
        port: int = 8000,
        state_dir: Path | str = ".learnloop",
        endpoint_url: str | None = None,
        app_path: Path | str | None = None,
        project_dir: Path | str | None = None,
        settings: Settings | None = None,
        metrics: bool = False,
        verbose: bool = False,
        snapshot_seconds: float = 30.0,
        moto_port: int = 0,
        host: str = "127.0.0.1",
        app_schedules: bool = True,
        bucket_poll_seconds: float = 2.0,
        journal_fsync: bool = False,
    ) -> None:
        self.port = port
        self.state_dir = Path(state_dir)
        self.requested_endpoint = endpoint_url
        self.app_path = Path(app_path) if app_path is not None else None
        self.project_dir = Path(project_dir) if project_dir is not None else None
        self.metrics = metrics
        self.verbose = verbose
        self.snapshot_seconds = snapshot_seconds
        self.moto_port = moto_port
        self.host = host
        self.app_schedules = app_schedules
        self.bucket_poll_seconds = bucket_poll_seconds
        self._initial_settings = settings
        self.settings: Settings = settings or Settings()
        self.api_url: str | None = None
        self.endpoint_url: str | None = None
        self.keys: dict[str, str] = {}
        self.app_module: ModuleType | None = None
        self.scheduler = Scheduler()
        self.bucket_events: BucketWatcher | None = None
        self.restored: SnapshotReport | None = None
        self.env_text = ""
        self._moto: EmbeddedMotoServer | None = None
        self._api: LocalApiServer | None = None
        self._state = StateStore(self.state_dir / "state", direct=MotoBackendAccess())
        self._journal = RequestJournal(self.state_dir / "state" / "journal", fsync=journal_fsync)
        #: Journaled writes applied again on start (after a crash; 0 after a clean stop).
        self.replayed = 0
        self._saved_env: dict[str, str | None] = {}
        self._snapshot_lock = threading.Lock()
        self._snapshot_writes = -1  # emulator write count at the last snapshot; -1: never
        self._stop_snapshots = threading.Event()
        self._snapshot_thread: threading.Thread | None = None
        self._running = False

    # --- properties --------------------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        """Whether the runner owns an embedded emulator (and so snapshots it)."""
        return self.requested_endpoint is None

    @property
    def env_path(self) -> Path:
        return self.state_dir / "local.env"

    @property
    def running(self) -> bool:
        return self._running

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Runner:
        """Start everything; returns ``self``.

        Raises
        ------
        RunnerError
            When a port is taken or no app can be found.
        SnapshotError
            When a saved snapshot cannot be restored (move ``state/`` aside to start empty).
        """
        if self._running:
            return self
        # Private: the state holds API keys and whatever users sent.
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self._start_aws()
            self._prepare_stage()
            self._start_api()
            self._write_env_file()
            self.scheduler.start()
            self._start_snapshots()
            self._start_bucket_events()
        except BaseException:
            self._shutdown(snapshot=False)
            raise
        self._running = True
        return self

    def stop(self) -> None:
        """Snapshot (when anything changed) and shut everything down; safe to call twice."""
        if not self._running:
            return
        self._running = False
        self._shutdown(snapshot=True)

    def __enter__(self) -> Runner:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def snapshot(self) -> SnapshotReport | None:
        """Snapshot the emulator's state now; ``None`` when not using the embedded emulator.

        Raises
        ------
        SnapshotError
            When the state cannot be read or written.
        """
        if self._moto is None:
            return None
        with self._snapshot_lock:
            # Writes wait meanwhile: the snapshot then holds exactly the journal's older
            # segments, and replay after it applies each later write once.
            with self._moto.writes_paused():
                writes = self._moto.writes
                segment = self._journal.rotate()
                report = self._state.snapshot(self.settings, meta={"journal_from": segment})
                self._snapshot_writes = writes
            self._journal.drop_before(segment)
        return report

    def add_schedule(self, name: str, expression: str | Any, fn: Job) -> Schedule:
        """Fire ``fn(event)`` on a ``rate(...)`` / ``cron(...)`` schedule (UTC).

        ``event`` is the EventBridge "Scheduled Event" dict. Registering a name again replaces it.

        Raises
        ------
        ScheduleExpressionError
            When ``expression`` does not parse.

        Examples
        --------
        >>> runner.add_schedule("rollup", "cron(5 0 * * ? *)", lambda event: None)  # doctest: +SKIP
        Schedule(name='rollup', ...)
        """
        return self.scheduler.add(name, expression, fn)

    def run_schedule(self, name: str) -> object:
        """Run the scheduled job ``name`` now, in this thread, and return its result."""
        return self.scheduler.fire(name)

    def env(self) -> dict[str, str]:
        """What ``local.env`` holds: everything a client needs to reach the stack."""
        values: dict[str, str] = {}
        if self.api_url:
            values["LEARNLOOP_API_URL"] = self.api_url
        for scope in KEY_SCOPES:
            if scope in self.keys:
                values[key_variable(scope)] = self.keys[scope]
        if self.endpoint_url:
            values["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.embedded:
            # The emulator takes any credentials: write fake ones, never the process's own.
            values["AWS_ACCESS_KEY_ID"] = LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
            values["AWS_SECRET_ACCESS_KEY"] = LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        values["AWS_DEFAULT_REGION"] = self.settings.region
        values["LEARNLOOP_STAGE"] = self.settings.stage
        values["LEARNLOOP_TABLE_PREFIX"] = self.settings.table_prefix
        values["LEARNLOOP_BUCKET"] = self.settings.bucket
        if self.settings.content_types != DEFAULT_CONTENT_TYPES:
            # What the API accepts: a job or client reading local.env must agree with it.
            values["LEARNLOOP_CONTENT_TYPES"] = ",".join(self.settings.content_types)
        return values

    # --- steps of start ----------------------------------------------------------------------

    def _start_aws(self) -> None:
        if self.embedded:
            ensure_local_credentials()
            self._moto = EmbeddedMotoServer(
                host=self.host, port=self.moto_port, verbose=self.verbose
            )
            self._moto.start()
            self.endpoint_url = self._moto.endpoint_url
        elif self.requested_endpoint == AWS:
            self.endpoint_url = None
        else:
            self.endpoint_url = self.requested_endpoint
        base = self._initial_settings
        if base is None:
            env = dict(os.environ)
            env.setdefault("LEARNLOOP_STAGE", DEFAULT_STAGE)
            base = Settings.from_env(env)
        self.settings = base.with_overrides(endpoint_url=self.endpoint_url)

    def _prepare_stage(self) -> None:
        tables = Tables(self.settings)
        bootstrap(self.settings, tables=tables)
        if self._moto is not None:
            self.restored = self._state.restore(self.settings)
            if self.restored is not None:
                # Memory now equals the snapshot: only later writes make it dirty.
                self._snapshot_writes = self._moto.writes
            manifest = self._state.manifest() or {}
            self.replayed = self._moto.replay(self._journal, int(manifest.get("journal_from", 0)))
            self._journal.open(self._journal.next_segment())
            self._moto.journal_to(self._journal)
            if self.replayed:
                self.snapshot()  # fold the replayed writes into a snapshot; old segments go
        # Created (or checked) after the journal is on: a key is durable once it is printed.
        self.keys = reuse_or_create_keys(tables, read_env_file(self.env_path))

    def _start_api(self) -> None:
        self._apply_env(
            {
                "LEARNLOOP_STAGE": self.settings.stage,
                "LEARNLOOP_TABLE_PREFIX": self.settings.table_prefix,
                "LEARNLOOP_BUCKET": self.settings.bucket,
                "AWS_DEFAULT_REGION": self.settings.region,
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "POWERTOOLS_METRICS_DISABLED": "false" if self.metrics else "true",
            }
        )
        self._use_decision_spool()
        set_services(None)  # the app's services rebuild from the environment just set
        if not self.metrics:
            # Powertools warns on every flush without metrics (health checks) even when disabled.
            warnings.filterwarnings(
                "ignore", message="No application metrics to publish", category=UserWarning
            )
        app_path = self.app_path or find_app_path(self.project_dir)
        self.app_module = load_app_module(app_path)
        after_request = None
        if not self.metrics:
            after_request = metrics.clear_metrics
        self._api = LocalApiServer(
            self.app_module.app,
            host=self.host,
            port=self.port,
            verbose=self.verbose,
            after_request=after_request,
        )
        self._api.start()
        self.api_url = self._api.url
        if self.app_schedules:
            for name, expression, handler in app_schedules(self.app_module):
                if name == "drift_check":
                    handler = self._then_retrain(handler)
                self.add_schedule(name, expression, handler)

    def _use_decision_spool(self) -> None:
        """Decisions as lines in ``<state_dir>/decisions``, loaded each minute and at stop.

        The local stand-in for AWS's stdout → CloudWatch Logs subscription → ``on_decision_logs``
        (moto delivers no subscription): the request path appends a line, the table is written
        off it. A stage that chose another sink (``stdout``) keeps it.
        """
        if self.settings.decision_sink not in ("table", "spool"):
            return
        spool = self.settings.decision_spool_dir or str(self.state_dir.resolve() / "decisions")
        self.settings = self.settings.with_overrides(
            decision_sink="spool", decision_spool_dir=spool
        )
        self._apply_env({"LEARNLOOP_DECISION_SINK": "spool", "LEARNLOOP_DECISION_SPOOL_DIR": spool})
        self.add_schedule("load_decisions", "rate(1 minute)", lambda event: self.load_decisions())

    def load_decisions(self) -> dict[str, Any]:
        """Load the decision spool into the table now (what the ``load_decisions`` schedule
        does each minute); ``{"files": 0, ...}`` when the stage does not spool."""
        from learnloop.decisions.loader import load_spool

        if self.settings.decision_sink != "spool" or not self.settings.decision_spool_dir:
            return {"files": 0, "lines": 0, "loaded": 0, "skipped": 0, "anonymized": 0}
        return load_spool(Tables(self.settings), self.settings.decision_spool_dir)

    def _then_retrain(self, handler: Job) -> Job:
        """The drift check, then the retrain requests it recorded (AWS runs those as tasks)."""

        def job(event: dict[str, Any]) -> object:
            result = handler(event)
            try:
                self.run_pending_retrains()
            except Exception:  # a failed retrain must not make the check look failed
                logger.exception("pending retrains failed")
            return result

        return job

    def run_pending_retrains(self, **options: Any) -> list[dict[str, Any]]:
        """Carry out the pending retrain requests (:mod:`learnloop_tools.local.retrain`),
        then deliver the arrivals of what they published to registration."""
        from learnloop_tools.local.retrain import run_pending_retrains

        done = run_pending_retrains(
            Tables(self.settings), s3_client(self.settings), env=dict(os.environ), **options
        )
        if any(d["version"] for d in done):
            self.deliver_bucket_events()
        return done

    def _start_bucket_events(self) -> None:
        # Real AWS delivers S3 events through EventBridge itself; emulators do not.
        if self.requested_endpoint == AWS or self.app_module is None:
            return

        self.bucket_events = BucketWatcher(
            s3_client(self.settings),
            self.settings.bucket,
            app_event_handlers(self.app_module),
            # Model drops (registration) and bulk imports (the on_import function).
            prefix=("models/", "imports/"),
            region=self.settings.region,
            interval=self.bucket_poll_seconds,
        )
        if self.bucket_poll_seconds > 0:
            self.bucket_events.start()

    def watch_bucket(self, seconds: float = 2.0) -> None:
        """Deliver the bucket's S3 events from a background thread every ``seconds`` from now
        on (a runner built with ``bucket_poll_seconds=0`` delivers only when asked)."""
        if self.bucket_events is not None:
            self.bucket_events.interval = seconds
            self.bucket_events.start()

    def deliver_bucket_events(self) -> list[str]:
        """Deliver the events of objects that arrived since the last poll, now, in this thread."""
        return self.bucket_events.poll() if self.bucket_events is not None else []

    def _write_env_file(self) -> None:
        header = (
            "learnloop local stack, written by `learnloop up` (mode 0600: it holds API keys).\n"
            f"Load it with: set -a; . {self.env_path}; set +a"
        )
        self.env_text = write_env_file(self.env_path, self.env(), header=header)

    def _start_snapshots(self) -> None:
        if self._moto is None or self.snapshot_seconds <= 0:
            return
        self._stop_snapshots.clear()
        self._snapshot_thread = threading.Thread(
            target=self._snapshot_loop, name="learnloop-snapshots", daemon=True
        )
        self._snapshot_thread.start()

    def _snapshot_loop(self) -> None:
        while not self._stop_snapshots.wait(self.snapshot_seconds):
            if self._dirty():
                try:
                    self.snapshot()
                except Exception:
                    logger.exception("periodic snapshot failed")

    def _dirty(self) -> bool:
        return self._moto is not None and self._moto.writes != self._snapshot_writes

    # --- shutdown ----------------------------------------------------------------------------

    def _shutdown(self, *, snapshot: bool) -> None:
        self.scheduler.stop()
        if self.bucket_events is not None:
            self.bucket_events.stop()
            self.bucket_events = None
        self._stop_snapshots.set()
        if self._snapshot_thread is not None:
            self._snapshot_thread.join()
            self._snapshot_thread = None
        if self._api is not None:
            self._api.stop()
            self._api = None
        try:
            if self._moto is not None or not self.embedded:
                # What the API answered before it stopped reaches the table (and the snapshot).
                self._drain_decisions()
            if snapshot and self._dirty():
                self.snapshot()
        finally:
            if self._moto is not None:
                self._moto.journal_to(None)
                self._moto.stop()
                self._moto = None
            self._journal.close()
            self._restore_env()

    def _drain_decisions(self) -> None:
        try:
            self.load_decisions()
        except Exception:  # the spool stays on disk for the next start
            logger.exception("loading the decision spool at stop failed")

    def _apply_env(self, values: Mapping[str, str | None]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        set_services(None)


def reuse_or_create_keys(tables: Any, previous: Mapping[str, str]) -> dict[str, str]:
    """One key per scope: the one in ``previous`` (``local.env``) when it still works, else new.

    A key "still works" when its hash is stored, unrevoked and has the scope: restarts reuse
    the keys clients already hold instead of piling up new ones.

    Parameters
    ----------
    tables
        The stage's :class:`learnloop.store.Tables`.
    previous
        Variables of the last ``local.env`` (``LEARNLOOP_ADMIN_KEY``, ...).

    Returns
    -------
    dict
        ``{"admin": ..., "ingest": ..., "read": ...}``.
    """

    keys: dict[str, str] = {}
    for scope in KEY_SCOPES:
        secret = previous.get(key_variable(scope))
        if secret:
            try:
                record = tables.api_keys.get(hash_key(secret))
            except tables.api_keys.DoesNotExist:
                record = None
            if record is not None and not record.revoked_at and scope in record.scopes:
                keys[scope] = secret
                continue
        keys[scope] = create_api_key(tables, name=f"local-{scope}", scopes=[scope]).secret
    return keys


def app_schedules(module: ModuleType) -> list[tuple[str, str | Any, Job]]:
    """The ``@app.schedule`` handlers of a Chalice app module, as ``(name, expression, job)``.

    Each job calls the Lambda handler with the scheduled event and a local Lambda context,
    the way EventBridge would invoke it.
    """
    from chalice.app import ScheduledEventConfig
    from chalice.local import LambdaContext

    found: list[tuple[str, str | Any, Job]] = []
    for source in getattr(module.app, "event_sources", []):
        if not isinstance(source, ScheduledEventConfig):
            continue
        handler = getattr(module, source.handler_string.rsplit(".", 1)[-1], None)
        if handler is None:
            raise RunnerError(f"scheduled handler {source.handler_string} not found in the app")

        def job(event: dict[str, Any], handler: Any = handler, name: str = source.name) -> object:
            context = LambdaContext(function_name=name, memory_size=512, max_runtime_ms=900_000)
            return handler(event, context)

        found.append((source.name, source.schedule_expression, job))
    return found


__all__ = ["AWS", "KEY_SCOPES", "Runner", "app_schedules", "key_variable", "reuse_or_create_keys"]

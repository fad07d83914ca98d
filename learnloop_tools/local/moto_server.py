"""The embedded AWS emulator: moto's threaded server on 127.0.0.1, quiet, and change-aware.

Compared with a plain :class:`moto.server.ThreadedMotoServer` it

* reports a port already in use as :class:`RunnerError` instead of hanging in ``start()``;
* logs no access line per request unless ``verbose``;
* counts requests that may change state (:attr:`EmbeddedMotoServer.writes`), so the runner
  skips periodic snapshots when nothing changed.

Moto keeps its state in process-wide backends: every server in one process shares it.

Examples
--------
>>> server = EmbeddedMotoServer(port=0)  # doctest: +SKIP
>>> server.start(); server.endpoint_url  # doctest: +SKIP
'http://127.0.0.1:53121'
>>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

from learnloop_tools.local.exceptions import RunnerError
from learnloop_tools.local.journal import RequestJournal, replay

#: Credentials the emulator accepts; set only when the process has none of its own.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}

#: DynamoDB operations that never change state (``X-Amz-Target: DynamoDB_20120810.<op>``).
_DYNAMODB_READS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "DescribeTable",
        "DescribeTimeToLive",
        "DescribeContinuousBackups",
        "ListTables",
        "ListTagsOfResource",
    }
)


def ensure_local_credentials(env: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the emulator's fake credentials and region in ``env`` where they are missing.

    Parameters
    ----------
    env
        The mapping to change (default: ``os.environ``).

    Returns
    -------
    dict
        The variables that were set (empty when the process already had its own).

    Examples
    --------
    >>> env = {"AWS_DEFAULT_REGION": "eu-west-1"}
    >>> ensure_local_credentials(env)
    {'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing'}
    >>> env["AWS_DEFAULT_REGION"]
    'eu-west-1'
    """
    env = os.environ if env is None else env
    changed = {}
    for name, value in LOCAL_CREDENTIALS.items():
        if not env.get(name):
            env[name] = value
            changed[name] = value
    return changed


def is_state_changing(environ: dict[str, Any]) -> bool:
    """Whether a WSGI request to moto may change its state (conservative: unknown means yes).

    Examples
    --------
    >>> is_state_changing({"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket/key"})
    False
    >>> query = {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"}
    >>> is_state_changing(query)
    False
    >>> is_state_changing({**query, "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"})
    True
    """
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB_"):
        return target.rpartition(".")[2] not in _DYNAMODB_READS
    return True


class MotoBackendAccess:
    """Whole-table reads and writes straight on the in-process moto backend (no HTTP).

    A Scan through moto's HTTP API deep-copies every item and re-sorts the table for every
    1 MB page (about 1.3 ms an item: 26 s for 20,000 events); reading the backend of the
    embedded server takes about 25 µs an item, and writing it skips a JSON round trip per
    25 items. Items are DynamoDB JSON with binary values base64-encoded, as on the wire and
    in :mod:`learnloop_tools.local.state`'s files.

    Each method returns ``None`` / ``False`` when it cannot do its work this way (another
    moto version, a table this process's moto does not hold): callers then use the API.
    """

    def read_items(self, table: str, region: str) -> list[dict[str, Any]] | None:
        """Every item of ``table``, or ``None``."""
        found = self._table(table, region)
        if found is None:
            return None
        try:
            with EMULATOR_LOCK.reading():  # no request changes the table while it is read
                return [_base64_bytes(item.to_json()["Attributes"]) for item in found.all_items()]
        except Exception:
            return None

    def write_items(self, table: str, region: str, items: list[dict[str, Any]]) -> bool:
        """Put every item (overwriting same keys); ``False`` if nothing could be written."""
        found = self._table(table, region)
        if found is None:
            return False
        try:
            with EMULATOR_LOCK.writing():
                for item in items:
                    found.put_item(item)
        except Exception:  # the caller writes them again through the API: puts are idempotent
            return False
        return True

    @staticmethod
    def _table(table: str, region: str) -> Any | None:
        try:
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.dynamodb.models import dynamodb_backends

            account = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)  # as moto decides
            return dynamodb_backends[account][region].tables.get(table)
        except Exception:  # moto internals differ
            return None


def _base64_bytes(value: Any) -> Any:
    # moto keeps some binary values (in sets, lists and maps) as bytes: encode them as the
    # wire format (and a Scan) would.
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _base64_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_base64_bytes(v) for v in value]
    return value


class ReadWriteLock:
    """Many readers or one writer; a waiting writer goes before new readers.

    Written here rather than taken from a package: thirty lines of ``threading.Condition``
    against a dependency of the local stack.

    Examples
    --------
    >>> lock = ReadWriteLock()
    >>> with lock.reading():
    ...     with lock.reading():  # readers share
    ...         pass
    >>> with lock.writing():
    ...     pass
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0
        self._held = threading.local()
        #: Moves on entry to and exit from every write that may change a table (all but the
        #: writes that say they do not, e.g. S3's): what a reader built from the tables at one
        #: generation holds until it moves (see :func:`install_keyed_queries`).
        self.generation = 0

    def held_for_reading(self) -> bool:
        """Whether this thread is inside :meth:`reading` (no writer can run meanwhile)."""
        return getattr(self._held, "readers", 0) > 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            while self._writing or self._writers_waiting:
                self._condition.wait()
            self._readers += 1
        self._held.readers = getattr(self._held, "readers", 0) + 1
        try:
            yield
        finally:
            self._held.readers -= 1
            with self._condition:
                self._readers -= 1
                if not self._readers:
                    self._condition.notify_all()

    @contextlib.contextmanager
    def writing(self, *, tables: bool = True) -> Iterator[None]:
        """One writer alone; ``tables=False`` says it changes no DynamoDB table."""
        with self._condition:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._condition.wait()
            self._writers_waiting -= 1
            self._writing = True
            self.generation += tables
        try:
            yield
        finally:
            with self._condition:
                self.generation += tables
                self._writing = False
                self._condition.notify_all()


#: Moto's backends are plain dicts changed by read-modify-write code run on one thread per
#: request: ``update_item`` reads the item, creates it with ``put_item`` when it is missing,
#: then edits it; a transaction checks its conditions, then writes. Two such requests
#: interleaving can each answer 200 while one's change is overwritten or checked against a
#: state that is gone (issue 18: 2 of 65,742 acknowledged PUTs lost with 6 client threads),
#: and a Scan walking a dict another thread grows fails. So state-changing requests (and the
#: snapshot's direct writes) run one at a time, and reads run together between them.
EMULATOR_LOCK = ReadWriteLock()


class _WriteCounter:
    """WSGI middleware counting state-changing requests, serializing them (see
    :data:`EMULATOR_LOCK`) and journaling those that succeeded (see
    :mod:`learnloop_tools.local.journal`) before their response leaves."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.count = 0
        self.journal: RequestJournal | None = None
        #: Held by each write, and by a snapshot to pause writes while reads go on.
        self.gate = threading.Lock()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not is_state_changing(environ):
            with EMULATOR_LOCK.reading():
                return _materialized(self.app(environ, start_response))
        with self._lock:
            self.count += 1
        journal = self.journal
        body = b""
        if journal is not None:
            body = _read_body(environ)
        status: list[str] = []

        def recording_start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        # Only a DynamoDB request changes a table: an export's S3 writes keep the index groups.
        tables = environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_")
        with self.gate, EMULATOR_LOCK.writing(tables=tables):
            answer = _materialized(self.app(environ, recording_start_response))
            if journal is not None and status and int(status[0][:3]) < 400:
                journal.append(environ, body)
        return answer


def _read_body(environ: dict[str, Any]) -> bytes:
    # Read the body once and hand moto a copy: the journal needs it too.
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream itself
        body = stream.read()
    else:
        body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    return body


def _materialized(body: Iterable[bytes]) -> list[bytes]:
    # The lock must cover producing the body too, not only the call that returns it.
    try:
        return list(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


_touched = threading.local()


def install_cheap_transaction_backups() -> None:
    """Make moto's TransactWriteItems cost what it touches, not what the tables hold.

    Moto backs up a transaction by deep-copying the whole table once per action (100 copies
    of the events table for a 50-event transaction: seconds per request on a stage of a few
    thousand events, and read timeouts). Within a transaction the backup is now made once per
    table (moto takes them all before applying anything): the table's partitions shared, the
    touched partitions' dicts copied (pointers only) and only the touched items deep-copied.
    A rollback restores exactly as before, since an action changes only its own item (and
    writes are serialised: nothing else changes the shared partitions meanwhile). Other
    deep copies of a table (backups) are unchanged. Idempotent.
    """
    try:
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table
    except ImportError:  # another moto: keep its behaviour
        return
    if getattr(DynamoDBBackend, "_learnloop_cheap_backups", False):
        return
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        # Table name → hash key → the range keys the transaction touches (None: no range).
        touched: dict[str, dict[Any, set[Any]]] = {}
        for item in transact_items:
            _, op = next(iter(item.items()))
            table = self.tables.get(op.get("TableName"))
            key = op.get("Key") or op.get("Item") or {}
            if table is not None and table.hash_key_attr in key:
                ranges = touched.setdefault(table.name, {}).setdefault(
                    DynamoType(key[table.hash_key_attr]), set()
                )
                range_attr = table.range_key_attr
                ranges.add(DynamoType(key[range_attr]) if range_attr in key else None)
        _touched.tables = touched
        _touched.backups = {}
        try:
            return original(self, transact_items)
        finally:
            _touched.tables = _touched.backups = None

    def deepcopy_table(self: Any, memo: dict[int, Any]) -> Any:
        hashes = (getattr(_touched, "tables", None) or {}).get(self.name)
        backups = getattr(_touched, "backups", None)
        if hashes is not None and backups is not None and self.name in backups:
            return backups[self.name]  # moto asks once per action; the state is the same
        cls: Any = type(self)
        new = cls.__new__(cls)
        memo[id(self)] = new
        if hashes is None:  # not a transaction's backup: a real deep copy
            for name, value in self.__dict__.items():
                setattr(new, name, copy.deepcopy(value, memo))
            return new
        new.__dict__.update(self.__dict__)
        # Untouched partitions are shared (one C-level dict copy, whatever the table holds);
        # a touched partition is a new dict sharing its untouched items, and only the items
        # the transaction names are deep-copied: the cost is what it touches, not what the
        # user's partition has accumulated (it was O(history) per write before).
        items = type(self.items)(dict) if isinstance(self.items, defaultdict) else {}
        items.update(self.items)
        for hash_value, ranges in hashes.items():
            partition = self.items.get(hash_value)
            if partition is None:
                continue
            if not isinstance(partition, dict):  # a hash-only table: the item itself
                items[hash_value] = copy.deepcopy(partition)
                continue
            copied = dict(partition)
            for range_value in ranges:
                if range_value in partition:
                    copied[range_value] = copy.deepcopy(partition[range_value])
            items[hash_value] = copied
        new.items = items
        if backups is not None:
            backups[self.name] = new
        return new

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    setattr(Table, "__deepcopy__", deepcopy_table)  # noqa: B010 (moto's class, patched)
    setattr(DynamoDBBackend, "_learnloop_cheap_backups", True)  # noqa: B010


_partition = threading.local()


def install_keyed_queries() -> None:
    """Make moto's Query read the partition it names, as DynamoDB does.

    Moto answers every Query by gathering and sorting every item of the table (5.x
    ``Table.all_items``), so reading one user's reactions cost what the whole table holds:
    ~3 s at 65k reactions, the served ``/v1/recommendations`` included. Now:

    * a Query on the table's own hash key reads that partition's items, in range-key order;
    * a Query on an index by one hash attribute, made by a request the embedded server runs
      (it holds :data:`EMULATOR_LOCK` for reading, so no write runs meanwhile), reads the
      items holding that value: the table is grouped by the index's hash attribute once per
      :attr:`ReadWriteLock.generation` (every write moves it) and the groups are kept on the
      table. An export's day-partition reads paid a whole-table pass each (~6 s a day at 56k
      reactions); now one pass per index until the next write.

    Moto's filtering, sorting, paging and projection run on those items unchanged, so the
    answers are moto's own. Other Queries (several hash attributes, outside the lock) and
    Scans keep moto's behaviour. Idempotent.
    """
    try:
        from moto.dynamodb.models.table import Item, Table
    except ImportError:  # another moto: keep its behaviour
        return
    if getattr(Table, "_learnloop_keyed_queries", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto passes index_name 8th (after projection_expressions), positionally.
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        if index_name:
            conditions = kwargs.get("hash_key_conditions") or []
            if len(conditions) != 1 or not EMULATOR_LOCK.held_for_reading():
                return original_query(self, hash_key, *args, **kwargs)
            _partition.only = (self, (index_name, *conditions[0]))
        else:
            _partition.only = (self, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.only = None

    def grouped(self: Any, index_name: str, attribute: str) -> dict[Any, list[Any]]:
        generation = EMULATOR_LOCK.generation
        cache = self.__dict__.get("_learnloop_index_groups")
        if cache is None or cache[0] != generation:
            cache = (generation, {})
            self._learnloop_index_groups = cache
        groups: dict[Any, list[Any]] | None = cache[1].get((index_name, attribute))
        if groups is None:
            groups = {}
            for item in original_all_items(self):
                value = item.attrs.get(attribute) if isinstance(item, Item) else None
                if value is not None:
                    groups.setdefault(value, []).append(item)
            cache[1][(index_name, attribute)] = groups
        return groups

    def all_items(self: Any) -> Any:
        only = getattr(_partition, "only", None)
        if only is None or only[0] is not self:
            return original_all_items(self)
        if isinstance(only[1], tuple):  # an index: (name, hash attribute, value)
            index_name, attribute, value = only[1]
            return grouped(self, index_name, attribute).get(value, [])
        stored = self.items.get(only[1]) if only[1] in self.items else None
        if stored is None:
            return []
        if not self.range_key_attr:
            return [stored]
        return sorted(stored.values(), key=lambda item: item.range_key)

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    setattr(Table, "_learnloop_keyed_queries", True)  # noqa: B010 (moto's class, patched)
    # moto's own pair, for bench/recommend.py's "before" figure.
    setattr(Table, "_learnloop_moto_query", (original_query, original_all_items))  # noqa: B010


def _server_class() -> type:
    # moto and werkzeug are imported only when a server is really started.
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from moto.server import ThreadedMotoServer

    class QuietMotoRequestHandler(MotoRequestHandler):
        verbose = False
        # Status line and body leave in separate writes: without this each reply waits for
        # the client's delayed ACK.
        disable_nagle_algorithm = True

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if self.verbose:
                super().log_request(code, size)

    class _EmbeddedMotoServer(ThreadedMotoServer):
        def __init__(self, ip_address: str, port: int, verbose: bool) -> None:
            super().__init__(ip_address=ip_address, port=port, verbose=False)
            self.handler_cls = type(
                "QuietMotoRequestHandler", (QuietMotoRequestHandler,), {"verbose": verbose}
            )
            self.counter: _WriteCounter | None = None
            self.startup_error: BaseException | None = None

        def _server_entry(self) -> None:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                create_backend_app,
            )
            from werkzeug.serving import make_server

            try:
                self.counter = _WriteCounter(DomainDispatcherApplication(create_backend_app))
                self._server = make_server(
                    self._ip_address,
                    self._port,
                    self.counter,
                    threaded=True,
                    request_handler=self.handler_cls,
                )
            except BaseException as exc:  # the port is taken, usually
                self.startup_error = exc
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever()

    return _EmbeddedMotoServer


class EmbeddedMotoServer:
    """moto's threaded server bound to ``host:port`` (``port=0``: a free one).

    Parameters
    ----------
    host
        Interface to bind; keep the loopback default unless you mean to share the emulator.
    port
        TCP port, 0 for any free port (read :attr:`port` after :meth:`start`).
    verbose
        Log one werkzeug line per request.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        self.host = host
        self.requested_port = port
        self.verbose = verbose
        self._server: Any = None

    def start(self) -> None:
        """Start serving in a daemon thread.

        Raises
        ------
        RunnerError
            When the port cannot be bound.
        """
        install_cheap_transaction_backups()
        install_keyed_queries()
        server = _server_class()(self.host, self.requested_port, self.verbose)
        server.start()
        if server.startup_error is not None:
            raise RunnerError(
                f"cannot start the AWS emulator on {self.host}:{self.requested_port}: "
                f"{server.startup_error}"
            ) from server.startup_error
        self._server = server

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RunnerError("the AWS emulator is not running")
        return int(self._server.get_host_and_port()[1])

    @property
    def endpoint_url(self) -> str:
        """``http://host:port``: what ``AWS_ENDPOINT_URL`` should be."""
        return f"http://{self.host}:{self.port}"

    def journal_to(self, journal: RequestJournal | None) -> None:
        """Journal every successful state-changing request from now on (``None``: stop)."""
        self._counter().journal = journal

    @contextlib.contextmanager
    def writes_paused(self) -> Iterator[None]:
        """No request changes the emulator inside (they wait); reads go on."""
        with self._counter().gate:
            yield

    def replay(self, journal: RequestJournal, first_segment: int) -> int:
        """Apply the journaled requests of segments ``first_segment`` on; returns how many."""
        counter = self._counter()
        with EMULATOR_LOCK.writing():
            return replay(counter.app, journal.entries(first_segment))

    def _counter(self) -> _WriteCounter:
        counter = self._server.counter if self._server is not None else None
        if counter is None:
            raise RunnerError("the AWS emulator is not running")
        return counter

    @property
    def writes(self) -> int:
        """How many state-changing requests the server has received since it started."""
        counter = self._server.counter if self._server is not None else None
        return counter.count if counter is not None else 0

    def stop(self) -> None:
        """Stop serving (idempotent). The emulated state stays in the process's memory."""
        if self._server is not None:
            self._server.stop()
            if self._server._server is not None:
                self._server._server.server_close()
            self._server = None


__all__ = [
    "LOCAL_CREDENTIALS",
    "EmbeddedMotoServer",
    "MotoBackendAccess",
    "ensure_local_credentials",
    "is_state_changing",
]

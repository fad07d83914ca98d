"""Where the request path hands a logged decision: one JSON line, off the DynamoDB round trip.

A decision is acknowledged (its ``decision_id`` answered) once its line is handed to something
that outlives the request:

* :class:`StdoutSink` (``LEARNLOOP_DECISION_SINK=stdout``, on AWS): one line on stdout. Lambda's
  runtime ships stdout to CloudWatch Logs outside the function's process, so the freeze after the
  answer loses nothing; a subscription filter on the API functions' log groups delivers the lines
  to ``on_decision_logs`` (:func:`learnloop.decisions.loader.load_log_event`), which writes them
  to the ``decisions`` table in batches. No background thread: Lambda would freeze it.
* :class:`SpoolSink` (``spool``, the local stack): one line appended (a single ``write(2)`` on an
  ``O_APPEND`` descriptor) to a file of ``LEARNLOOP_DECISION_SPOOL_DIR``; the runner's
  ``load_decisions`` schedule drains the directory (:func:`learnloop.decisions.loader.load_spool`).
* ``table`` (the default): no sink, the log writes the table itself before the answer returns.

Each line is ``{"learnloop_decision": 1, "decision": {...}}``, the decision as
:func:`learnloop.decisions.log.decision_line` writes it; the marker is what the subscription
filter pattern ``{ $.learnloop_decision = 1 }`` selects.

Examples
--------
>>> import io, json
>>> sink = StdoutSink(stream=io.StringIO())
>>> sink.emit({"decision_id": "d1"})
>>> json.loads(sink.stream.getvalue())
{'learnloop_decision': 1, 'decision': {'decision_id': 'd1'}}
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from learnloop.settings import Settings

__all__ = [
    "LINE_MARKER",
    "SPOOL_PREFIX",
    "DecisionSink",
    "SpoolSink",
    "StdoutSink",
    "encode_line",
    "sink_for",
]

#: The key that marks a decision line among a function's other log lines.
LINE_MARKER = "learnloop_decision"
#: Spool files are ``decisions-{pid}-{token}.jsonl``; the loader claims one by renaming it.
SPOOL_PREFIX = "decisions-"


def encode_line(decision: Mapping[str, Any]) -> str:
    """One decision as its log line (no newline).

    Examples
    --------
    >>> encode_line({"decision_id": "d1"})
    '{"learnloop_decision":1,"decision":{"decision_id":"d1"}}'
    """
    return json.dumps({LINE_MARKER: 1, "decision": decision}, separators=(",", ":"))


class DecisionSink(ABC):
    """Takes one decision (a JSON-ready dict) durably before the answer returns."""

    @abstractmethod
    def emit(self, decision: Mapping[str, Any]) -> None:
        """Hand ``decision`` on; raises :class:`OSError` when it could not."""


class StdoutSink(DecisionSink):
    """One line on stdout (CloudWatch Logs on Lambda).

    Parameters
    ----------
    stream : TextIO, optional
        Where lines go (default: ``sys.stdout`` at emit time, so a redirect is honoured).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def emit(self, decision: Mapping[str, Any]) -> None:
        stream = self.stream or sys.stdout
        line = encode_line(decision) + "\n"
        # One write per line and a flush: a line never interleaves with another thread's, and
        # nothing waits in a buffer when the process is frozen.
        with self._lock:
            stream.write(line)
            stream.flush()


class SpoolSink(DecisionSink):
    """Lines appended to this process's file in a spool directory.

    A writer holds a shared ``flock`` while it checks that its file is still in place and
    appends; the loader renames a file away and then takes the exclusive lock, so once it holds
    it no line can still reach that file (a writer that finds its file renamed opens a new one).

    Parameters
    ----------
    directory : str or Path
        The spool directory (created when missing).

    Examples
    --------
    >>> import tempfile
    >>> spool = SpoolSink(tempfile.mkdtemp())
    >>> spool.emit({"decision_id": "d1"})
    >>> [p.name.startswith("decisions-") for p in spool.directory.iterdir()]
    [True]
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None

    def emit(self, decision: Mapping[str, Any]) -> None:
        data = (encode_line(decision) + "\n").encode()
        with self._lock:
            while True:
                fd, path = self._open()
                fcntl.flock(fd, fcntl.LOCK_SH)
                try:
                    if self._still_there(fd, path):
                        os.write(fd, data)  # O_APPEND: one atomic append per line
                        return
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                self._close()

    def close(self) -> None:
        """Close this process's file (the loader can take it either way)."""
        with self._lock:
            self._close()

    def _open(self) -> tuple[int, Path]:
        if self._fd is None or self._path is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{SPOOL_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._path = path
        return self._fd, self._path

    @staticmethod
    def _still_there(fd: int, path: Path) -> bool:
        try:
            return os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._path = None, None


def sink_for(settings: Settings) -> DecisionSink | None:
    """The sink ``settings`` choose (``None``: the log writes the table itself).

    Examples
    --------
    >>> sink_for(Settings()) is None, type(sink_for(Settings(decision_sink="stdout"))).__name__
    (True, 'StdoutSink')
    """
    if settings.decision_sink == "stdout":
        return StdoutSink()
    if settings.decision_sink == "spool":
        return SpoolSink(settings.decision_spool_dir or ".learnloop/decisions")
    return None

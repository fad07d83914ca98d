"""A write-ahead journal of the embedded emulator's state-changing requests since the last
snapshot, replayed on start: an acknowledged write survives ``kill -9``.

Snapshots (:mod:`learnloop_tools.local.state`) alone lose whatever was acknowledged since the
last one (issue 18: 0 of 2,160 writes survived a kill a few seconds after writing). Now every
request that may change the emulator's state and that it answered below 400 is appended to
the journal *before* its response leaves the emulator, so before the API can acknowledge
anything built on it. One ``write(2)`` per request on an ``O_APPEND`` file: the kernel holds
it once the call returns, so a killed process loses nothing (``fsync=True`` also survives a
power cut, at a disk flush per write).

Segments: ``journal/00000007.jsonl``. A snapshot is taken with writes paused: the journal
moves to a new segment, the snapshot records that segment's number (``journal_from``) in its
manifest, and older segments are deleted once it is current. On start the runner restores
the current snapshot and replays every segment from its ``journal_from`` on, in order,
straight into moto's WSGI app (not journaled again); since the snapshot holds exactly the
writes before that segment, replay applies each write once, counters and conditions
included. A line cut short by a power cut is skipped.

Examples
--------
>>> journal = RequestJournal(Path(".learnloop/state/journal"))  # doctest: +SKIP
>>> journal.open(journal.next_segment())  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

#: WSGI environ keys kept for replay (besides every ``HTTP_*`` header).
_ENVIRON_KEYS = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE")
#: Headers about the connection, not the request: the body is replayed whole.
_HOP_BY_HOP = frozenset({"HTTP_CONNECTION", "HTTP_TRANSFER_ENCODING", "HTTP_CONTENT_LENGTH"})


class RequestJournal:
    """Append-only segments of state-changing requests under ``folder``.

    Parameters
    ----------
    folder
        Created on first use.
    fsync
        Flush each entry to the disk too (power-cut safety; ``kill -9`` needs no flush).
    """

    def __init__(self, folder: Path, *, fsync: bool = False) -> None:
        self.folder = Path(folder)
        self.fsync = fsync
        self._fd: int | None = None
        self._segment: int | None = None
        self._lock = threading.Lock()

    def segments(self) -> list[int]:
        """Numbers of the segments on disk, in order."""
        if not self.folder.is_dir():
            return []
        return sorted(int(p.stem) for p in self.folder.glob("*.jsonl") if p.stem.isdigit())

    def next_segment(self) -> int:
        """A number after every segment on disk."""
        return max(self.segments(), default=0) + 1

    def _path(self, segment: int) -> Path:
        return self.folder / f"{segment:08d}.jsonl"

    def open(self, segment: int) -> None:
        """Append from now on to ``segment`` (closing the one written so far)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._path(segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with self._lock:
            previous, self._fd, self._segment = self._fd, fd, segment
        if previous is not None:
            os.close(previous)

    def rotate(self) -> int:
        """Start a new segment and return its number (what a snapshot records)."""
        segment = self.next_segment()
        self.open(segment)
        return segment

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def drop_before(self, segment: int) -> None:
        """Delete the segments a snapshot now covers."""
        for number in self.segments():
            if number < segment:
                self._path(number).unlink(missing_ok=True)

    def append(self, environ: dict[str, Any], body: bytes) -> None:
        """Record one request (its method, path, headers and body) in a single write."""
        entry = {key: environ.get(key, "") for key in _ENVIRON_KEYS}
        entry["headers"] = {
            k: v for k, v in environ.items() if k.startswith("HTTP_") and k not in _HOP_BY_HOP
        }
        entry["body"] = base64.b64encode(body).decode("ascii")
        line = json.dumps(entry, separators=(",", ":")).encode("utf-8") + b"\n"
        with self._lock:
            if self._fd is None:
                return
            os.write(self._fd, line)
            if self.fsync:
                os.fsync(self._fd)

    def entries(self, first_segment: int) -> Iterator[dict[str, Any]]:
        """Every recorded request of segments ``first_segment`` on, oldest first."""
        for number in self.segments():
            if number < first_segment:
                continue
            with self._path(number).open("rb") as lines:
                for line in lines:
                    try:
                        yield json.loads(line)
                    except ValueError:  # the last line of a power cut: never acknowledged
                        continue


def replay(app: Callable[..., Iterable[bytes]], entries: Iterable[dict[str, Any]]) -> int:
    """Send each journaled request to the WSGI ``app`` again, in order; returns how many.

    Answers are not checked: a request refused now (a create of what the restore made) was
    refused or redundant then as well.
    """
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    count = 0
    for entry in entries:
        headers = {
            key[5:].replace("_", "-").title(): value for key, value in entry["headers"].items()
        }
        builder = EnvironBuilder(
            method=entry["REQUEST_METHOD"],
            path=entry["PATH_INFO"],
            query_string=entry["QUERY_STRING"] or None,
            headers=headers,
            data=base64.b64decode(entry["body"]),
            content_type=entry["CONTENT_TYPE"] or None,
        )
        environ = builder.get_environ()
        try:
            body, _, _ = run_wsgi_app(app, environ, buffered=True)
            for _ in body:
                pass
        finally:
            builder.close()
        count += 1
    return count


__all__ = ["RequestJournal", "replay"]

"""``learnloop import {reactions,events,content,outcomes,insights} FILE|s3://bucket/key``.

The rows are checked and written by :func:`learnloop.jobs.imports.import_rows`, the code the
deployed ``on_import`` function runs on an object dropped under ``imports/{kind}/``: the
routes' validators and writers, bad rows reported by line and field, good rows stored,
nothing stored twice on a re-run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from learnloop.jobs.imports import KINDS, import_rows
from learnloop.store.tables import Tables
from learnloop_tools.imports.source import read_source


def import_file(
    kind: str,
    source: str | Path,
    tables: Tables,
    *,
    s3: Any | None = None,
    progress: Callable[[int], None] | None = None,
    on_parsed: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Import ``source`` (a local path or ``s3://bucket/key``; ``.csv`` or JSON Lines) as
    ``kind`` rows into the stage of ``tables``.

    Examples
    --------
    >>> import_file("reactions", "legacy-likes.csv", tables)  # doctest: +SKIP
    {'kind': 'reactions', 'source': 'legacy-likes.csv', 'rows': 65742, 'bad_rows': 3, ...}
    """
    data, name = read_source(source, settings=tables.settings, s3=s3)
    report = import_rows(tables, kind, data, name, progress=progress, on_parsed=on_parsed)
    return {"source": str(source), **report}


__all__ = ["KINDS", "import_file"]

"""Bulk imports behind ``learnloop import KIND SOURCE``: read a local file or an S3 object,
parse it with the kind's parser, write it in batches with progress.

One importer per kind in :data:`IMPORTERS` (a registry: a kind added later, events or
outcomes, registers its own parse-and-write pair and reuses :func:`read_source` and
:func:`write_in_batches`).
"""

from __future__ import annotations

import functools
from typing import Any

from learnloop_tools.imports.candles import import_candles
from learnloop_tools.imports.rows import KINDS, import_file
from learnloop_tools.imports.source import read_source, write_in_batches

#: Kind → importer (``importer(source, tables, *, progress=..., **options) -> report``); the
#: app's own rows (reactions, events, content, outcomes, insights) share one, :func:`import_file`.
IMPORTERS: dict[str, Any] = {
    "candles": import_candles,
    **{kind: functools.partial(import_file, kind) for kind in KINDS},
}

__all__ = ["IMPORTERS", "KINDS", "import_candles", "import_file", "read_source", "write_in_batches"]

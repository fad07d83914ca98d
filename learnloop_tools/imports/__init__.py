"""Bulk imports behind ``learnloop import KIND SOURCE``: read a local file or an S3 object,
parse it with the kind's parser, write it in batches with progress.

One importer per kind in :data:`IMPORTERS` (a registry: a kind added later, events or
outcomes, registers its own parse-and-write pair and reuses :func:`read_source` and
:func:`write_in_batches`).
"""

from __future__ import annotations

from learnloop_tools.imports.candles import import_candles
from learnloop_tools.imports.source import read_source, write_in_batches

#: Kind → importer (``importer(source, tables, *, progress=..., **options) -> report``).
IMPORTERS = {"candles": import_candles}

__all__ = ["IMPORTERS", "import_candles", "read_source", "write_in_batches"]

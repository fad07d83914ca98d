"""The shared ending of the bench scripts: a two-column table, then (``--json``) one JSON line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def print_report(
    rows: Sequence[tuple[str, str]], figures: dict[str, Any], *, as_json: bool
) -> None:
    """Print ``rows`` as a ``measure | value`` table; with ``as_json`` the figures last."""
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 18}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if as_json:
        print(json.dumps(figures))

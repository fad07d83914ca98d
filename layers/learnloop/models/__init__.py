"""Model artifacts and the registry; import the submodule you need (``models.artifacts``)."""

from __future__ import annotations

__all__: list[str] = []

"""Serve the dashboard's files; only names in an allowlist built from ``static/`` are served.

Examples
--------
>>> sorted(asset_names())
['dashboard.css', 'dashboard.js']
>>> serve_asset("dashboard.js").headers["Content-Type"]
'text/javascript; charset=utf-8'
>>> serve_asset("../settings.py")
Traceback (most recent call last):
...
learnloop.exceptions.NotFoundError: no dashboard asset named '../settings.py'
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from chalice.app import Response

from learnloop.exceptions import NotFoundError

ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
PAGE = "index.html"
#: The page loads only its own files and talks only to its own origin.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _static() -> resources.abc.Traversable:
    return resources.files("learnloop.api.dashboard") / "static"


@lru_cache(maxsize=1)
def asset_names() -> frozenset[str]:
    """The files ``GET /admin/assets/{name}`` serves: the scripts and styles in ``static/``."""
    return frozenset(
        entry.name
        for entry in _static().iterdir()
        if entry.is_file() and any(entry.name.endswith(ext) for ext in ASSET_TYPES)
    )


@lru_cache(maxsize=8)
def _read(name: str) -> str:
    return (_static() / name).read_text(encoding="utf-8")


def serve_page() -> Response:
    """``GET /admin``: the dashboard's HTML (it holds no data; the script fetches it)."""
    return Response(
        body=_read(PAGE),
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", **_SECURITY_HEADERS},
    )


def serve_asset(name: str) -> Response:
    """``GET /admin/assets/{name}``: one script or stylesheet.

    Raises
    ------
    NotFoundError
        For any name not in :func:`asset_names` (so no path ever reaches the file system).
    """
    if name not in asset_names():
        raise NotFoundError(
            f"no dashboard asset named {name[:80]!r}",
            details=[{"field": "name", "message": "unknown asset"}],
        )
    content_type = next(t for ext, t in ASSET_TYPES.items() if name.endswith(ext))
    return Response(
        body=_read(name),
        status_code=200,
        headers={"Content-Type": content_type, **_SECURITY_HEADERS},
    )

"""The admin dashboard: one HTML page and its script and stylesheet, served from package data.

No CDN and no build step: ``static/`` holds plain files; the page draws its charts as inline
SVG from the admin API (``/v1/admin/stats``, ``/v1/admin/bandits``, ``/v1/admin/alerts``,
``/v1/models``) with the admin key the user signs in with (kept in ``sessionStorage``).
"""

from __future__ import annotations

from learnloop.api.dashboard.assets import ASSET_TYPES, asset_names, serve_asset, serve_page

__all__ = ["ASSET_TYPES", "asset_names", "serve_asset", "serve_page"]

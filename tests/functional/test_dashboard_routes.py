"""The dashboard page and its assets come from package data, with a strict CSP."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any


def test_the_page_is_html_with_a_strict_policy_and_local_assets_only(client: Any) -> None:
    response = client.http.get("/admin")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    html = response.body.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith(("/admin/assets/", "data:")) for s in sources), sources
    assert 'id="admin-key"' in html and 'type="password"' in html


def test_each_asset_the_page_names_is_served_as_shipped(client: Any) -> None:
    html = client.http.get("/admin").body.decode()
    static = resources.files("learnloop.api.dashboard") / "static"
    for path in re.findall(r'(?:src|href)="/admin/assets/([^"]+)"', html):
        response = client.http.get(f"/admin/assets/{path}")
        assert response.status_code == 200, path
        assert response.body.decode() == (static / path).read_text(encoding="utf-8")
        expected = "text/javascript" if path.endswith(".js") else "text/css"
        assert response.headers["Content-Type"].startswith(expected)


def test_the_script_calls_only_admin_routes_with_a_bearer_key_from_session_storage() -> None:
    script = (resources.files("learnloop.api.dashboard") / "static" / "dashboard.js").read_text()
    assert "sessionStorage" in script and "localStorage" not in script
    assert "Authorization: `Bearer ${key}`" in script
    assert not re.search(r"https?://", script.replace("http://www.w3.org/2000/svg", ""))
    for path in (
        "/v1/admin/stats",
        "/v1/admin/bandits",
        "/v1/admin/alerts",
        "/v1/models",
        "/v1/admin/experiments",
        "/v1/admin/decisions/stats",
        "/v1/market/anomalies",
        "/v1/sentiment/symbols/",
        "/v1/admin/journal/patterns",
        "/v1/admin/journal/activity",
    ):
        assert path in script

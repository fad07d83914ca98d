"""The generated client covers every declared route, and importing it needs no boto3.

``layers/learnloop/client/routes.py`` is generated from functions/app.py's route table
(``make client``): a route declared without regenerating fails here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.app import app_module

from learnloop.client import Client
from learnloop.client.routes import ROUTES
from learnloop_tools import client_codegen

ROOT = Path(__file__).resolve().parents[3]


def test_the_generated_module_is_what_the_route_table_renders() -> None:
    rendered = client_codegen.render(client_codegen.app_routes(app_module()))
    committed = client_codegen.TARGET.read_text(encoding="utf-8")
    assert committed == rendered, "layers/learnloop/client/routes.py is stale: run make client"


def test_every_declared_route_has_a_client_method() -> None:
    declared = {(spec.method, spec.path) for spec in app_module().api.routes}
    covered = {(route.method, route.path) for route in ROUTES.values()}
    assert declared - covered == set()
    for name, route in ROUTES.items():
        assert callable(getattr(Client, name)), f"{route.method} {route.path} has no method"


def test_a_new_route_changes_the_rendering() -> None:
    from learnloop.api import RouteSpec

    routes = client_codegen.app_routes(app_module())
    extra = RouteSpec(
        "POST",
        "/v1/reactions/batch",
        None,
        "Up to 500 reactions",
        "ingest",
        body=("learnloop.ingest.schemas:ReactionIn",),
    )
    text = client_codegen.render([*routes, (extra, "post_reactions_batch")])
    assert "def post_reactions_batch(" in text
    assert text != client_codegen.TARGET.read_text(encoding="utf-8")


def test_the_client_imports_without_boto3_or_pydantic() -> None:
    # A blocker on the import system: any attempt to import these fails loudly.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'boto3', 'botocore', 'pydantic', 'chalice', 'numpy'}:\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from learnloop.client import Client\n"
        "Client('http://127.0.0.1:9').health\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "layers"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_bodies_are_typed_so_mypy_catches_a_wrong_field(tmp_path: Path) -> None:
    (tmp_path / "none.ini").write_text("")  # not the project's config: just this file
    snippet = tmp_path / "uses_client.py"
    snippet.write_text(
        "from learnloop.client import Client\n"
        "api = Client('http://127.0.0.1:9')\n"
        "api.put_reaction({'user_id': 'u', 'content_type': 'm', 'external_id': 'e',"
        " 'reaction': 'like'})\n"
        "api.put_reaction({'user_id': 'u', 'content_type': 'm', 'external_id': 'e',"
        " 'reaction': 'love'})\n"
        "api.send_events([])\n"
        "api.post_events({'events': [{'type': 't', 'user': 'u'}]})\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path / "c"),
         "--config-file", str(tmp_path / "none.ini"), "--python-version", "3.11", str(snippet)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"MYPYPATH": str(ROOT / "layers"), "PATH": "/usr/bin:/bin"},
        check=False,
    )  # fmt: skip
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["4", "6", "6"], result.stdout
    assert "love" in errors[0] and "reaction" in errors[0]

"""Generate ``layers/learnloop/client/routes.py``: one typed method per declared route.

The route table of ``functions/app.py`` (its :class:`~learnloop.api.RouteSpec` list) is the
source: each method is named after the route's view function, takes the path parameters
positionally, the body (when the route takes one) and the query parameters as keywords,
typed from their schemas. ``tests/unit/client/test_client_sync.py`` fails when the committed
file differs from what this renders, so a new route cannot ship without its method.

Run ``make client`` (or ``python -m learnloop_tools.client_codegen``) after declaring a route.

Examples
--------
>>> from learnloop.api import QueryParam, RouteSpec
>>> spec = RouteSpec("GET", "/v1/users/{user_id}/similar", None, "Similar users", "read",
...                  query=(QueryParam("k", {"type": "integer"}),))
>>> print(render_method(spec, "get_similar_users"))  # doctest: +NORMALIZE_WHITESPACE
    def get_similar_users(
        self,
        user_id: str,
        *,
        k: int | None = None,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        \"\"\"Similar users.
<BLANKLINE>
        ``GET /v1/users/{user_id}/similar`` (no key).
        \"\"\"
        return self._route(
            _ROUTES["get_similar_users"],
            path_params={"user_id": user_id},
            query={"k": k},
            key=key,
            timeout=timeout,
        )
"""

from __future__ import annotations

import argparse
import keyword
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from learnloop.api import RouteSpec

#: Where the generated module lives.
TARGET = Path(__file__).resolve().parents[1] / "layers" / "learnloop" / "client" / "routes.py"

#: POST routes that are idempotent on the server (an id in the body, or "latest wins"), so a
#: request whose answer was lost may be sent again. A POST not listed is never resent after
#: it may have reached the server: add a route here only when the server guarantees it.
# Not listed: /v1/outcomes and /v1/journal/occurrences are keyed by a time the server fills in
# when the body has none (a resend would add a row); /v1/bandit/select logs a decision.
REPLAY_SAFE_POSTS = frozenset(
    {
        "/v1/events",  # event_id (the client fills one in before the first attempt)
        "/v1/insights",  # insight_id
        "/v1/insights/{insight_id}/feedback",  # one verdict per (insight, user), latest wins
        "/v1/texts",  # text_id
        "/v1/feedback",  # one item per (decision, type, item): the first delivery wins
        "/v1/market/candles",  # (symbol, interval, open time)
        "/v1/reactions/batch",  # upserts with the same rule as PUT /v1/reactions
        "/v1/content/batch",  # upserts by decision_id
        # Reads sent as POST: nothing is stored.
        "/v1/predict/engagement",
        "/v1/predict/follow-through",
        "/v1/sentiment",
        "/v1/risk/metrics",
    }
)

#: Names the generated methods already use for themselves.
_RESERVED = {"self", "body", "key", "timeout"}


def method_name(view_name: str) -> str:
    """The client method for a view (its own name: ``put_reaction``, ``bandit_select``)."""
    return view_name


def _identifier(name: str, taken: set[str]) -> str:
    ident = name.replace("-", "_")
    if keyword.iskeyword(ident) or ident in _RESERVED or ident in taken:
        ident += "_"
    while ident in taken:
        ident += "_"
    return ident


def _python_type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "Literal[" + ", ".join(repr(value) for value in schema["enum"]) + "]"
    return {"integer": "int", "number": "float", "boolean": "bool"}.get(
        str(schema.get("type")), "str"
    )


def replay_safe(spec: RouteSpec) -> bool:
    """Whether a request of ``spec`` may be resent when its answer was lost."""
    return spec.method in ("GET", "PUT", "DELETE") or spec.path in REPLAY_SAFE_POSTS


def render_method(spec: RouteSpec, name: str) -> str:
    """The source of one route's method (indented for the class body)."""
    taken: set[str] = set()
    params = ["self"]
    path_args = []
    for param in spec.path_params:
        ident = _identifier(param, taken)
        taken.add(ident)
        params.append(f"{ident}: str")
        path_args.append(f'"{param}": {ident}')
    if spec.body:
        if spec.body_required:
            params.append("body: Mapping[str, Any]")
        else:
            params.append("body: Mapping[str, Any] | None = None")
    params.append("*")
    query_args = []
    required = [q for q in spec.query if q.required]
    optional = [q for q in spec.query if not q.required]
    for query in [*required, *optional]:
        ident = _identifier(query.name, taken)
        taken.add(ident)
        kind = _python_type(query.schema)
        params.append(f"{ident}: {kind}" if query.required else f"{ident}: {kind} | None = None")
        query_args.append(f'"{query.name}": {ident}')
    params += ["key: str | None = None", "timeout: float | None = None"]
    scope = f"scope ``{spec.scope.value}``" if spec.scope is not None else "no key"
    summary = spec.summary.rstrip(".")
    call = [f'_ROUTES["{name}"]']
    if path_args:
        call.append("path_params={" + ", ".join(path_args) + "}")
    if query_args:
        call.append("query={" + ", ".join(query_args) + "}")
    if spec.body:
        call.append("body=body")
    call += ["key=key", "timeout=timeout"]
    lines = [f"    def {name}(", *[f"        {p}," for p in params], "    ) -> Any:"]
    lines += [
        f'        """{summary}.',
        "",
        f"        ``{spec.method} {spec.path}`` ({scope}).",
        '        """',
        "        return self._route(",
        *[f"            {arg}," for arg in call],
        "        )",
    ]
    return "\n".join(lines)


HEADER = '''"""Typed methods for every route of the learnloop API. GENERATED: do not edit by hand.

Made by ``learnloop_tools/client_codegen.py`` from the routes ``functions/app.py`` declares;
run ``make client`` after declaring a route (``tests/unit/client/test_client_sync.py`` fails
until the file matches). Each method returns the decoded JSON answer.

Examples
--------
>>> sorted(ROUTES)[:2]
['admin_alerts', 'admin_asset']
>>> ROUTES["put_reaction"]
RouteInfo(method='PUT', path='/v1/reactions', name='put_reaction', scope='ingest', \\
replay_safe=True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from learnloop.client.base import BaseClient, RouteInfo

'''


def render(routes: Sequence[tuple[RouteSpec, str]]) -> str:
    """The whole generated module for ``(spec, view name)`` pairs, in declaration order."""
    table = ["#: Every route, by method name.", "ROUTES: dict[str, RouteInfo] = {"]
    methods = []
    for spec, view in routes:
        name = method_name(view)
        scope = repr(spec.scope.value) if spec.scope is not None else "None"
        table.append(
            f'    "{name}": RouteInfo(\n'
            f'        "{spec.method}", "{spec.path}", "{name}", {scope}, {replay_safe(spec)}\n'
            "    ),"
        )
        methods.append(render_method(spec, name))
    table.append("}")
    table.append("_ROUTES = ROUTES")
    body = [
        "\n".join(table),
        "",
        "",
        "class RouteMethods(BaseClient):",
        '    """One method per route (see :class:`learnloop.client.Client`)."""',
        "",
        "\n\n".join(methods),
    ]
    text = HEADER + "\n".join(body) + "\n"
    if "Literal[" not in text:
        text = text.replace("from typing import Any, Literal", "from typing import Any")
    return _formatted(text)


def _formatted(text: str) -> str:
    # ruff (a dev dependency, like this generator) lays the code out as the rest of the repo.
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def app_routes(app_module: Any) -> list[tuple[RouteSpec, str]]:
    """``(spec, view name)`` for every route an app module's ``api`` declares."""
    return [
        (spec, app_module.app.routes[spec.path][spec.method].view_name)
        for spec in app_module.api.routes
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the generated module; 1 when ``--check`` differs."""
    from learnloop_tools.local.api_server import find_app_path, load_app_module

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    module = load_app_module(find_app_path(), module_name="learnloop_codegen_app")
    text = render(app_routes(module))
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if args.check:
        if current != text:
            print(f"{TARGET} is stale: run make client", file=sys.stderr)
            return 1
        return 0
    if current != text:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

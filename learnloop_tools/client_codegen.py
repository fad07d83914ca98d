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
import importlib
import json
import keyword
import re
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


def render_method(spec: RouteSpec, name: str, body_types: dict[str, str] | None = None) -> str:
    """The source of one route's method (indented for the class body).

    ``body_types`` maps a body model's ``"module:Class"`` to its TypedDict's name (without
    it, bodies are typed ``dict[str, Any]``).
    """
    taken: set[str] = set()
    params = ["self"]
    path_args = []
    for param in spec.path_params:
        ident = _identifier(param, taken)
        taken.add(ident)
        params.append(f"{ident}: str")
        path_args.append(f'"{param}": {ident}')
    if spec.body:
        kind = " | ".join((body_types or {}).get(ref, "dict[str, Any]") for ref in spec.body)
        if spec.body_required:
            params.append(f"body: {kind}")
        else:
            params.append(f"body: {kind} | None = None")
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


class _TypedDicts:
    """TypedDicts for the request bodies, from their pydantic models' JSON schemas.

    Examples
    --------
    >>> gen = _TypedDicts()
    >>> gen.add("m:Row", {"title": "Row", "type": "object", "required": ["id"],
    ...     "properties": {"id": {"type": "string"}, "from": {"anyOf": [
    ...         {"type": "integer"}, {"type": "null"}]}}})
    'Row'
    >>> print(gen.source())
    Row = TypedDict("Row", {"id": str, "from": NotRequired[int | None]})
    """

    def __init__(self) -> None:
        self._by_schema: dict[str, str] = {}
        self._taken: set[str] = set()
        self._blocks: list[str] = []

    def add(self, ref: str, schema: dict[str, Any]) -> str:
        """Define the TypedDict of a top-level model schema (and its ``$defs``); its name."""
        defs = schema.get("$defs", {})
        # A name two models share gets its concept folder as a prefix (DecisionsFeedbackIn).
        parts = ref.split(":")[0].split(".")
        module = parts[1] if len(parts) > 2 else parts[-1]
        return self._define(schema, defs, {}, module)

    def _define(
        self, schema: dict[str, Any], defs: dict[str, Any], named: dict[str, str], module: str
    ) -> str:
        key = json.dumps(schema, sort_keys=True, default=str)
        if key in self._by_schema:
            return self._by_schema[key]
        title = re.sub(r"\W", "", str(schema.get("title") or "Body"))
        name = title
        if name in self._taken:
            name = "".join(part.title() for part in module.split("_")) + title
        while name in self._taken:
            name += "_"
        fields = []
        required = set(schema.get("required", []))
        for field, sub in schema.get("properties", {}).items():
            kind = self._type(sub, defs, named, module)
            fields.append((field, kind if field in required else f"NotRequired[{kind}]"))
        self._taken.add(name)
        self._by_schema[key] = name
        if fields and all(f.isidentifier() and not keyword.iskeyword(f) for f, _ in fields):
            lines = [f"class {name}(TypedDict):"]
            lines += [f"    {field}: {kind}" for field, kind in fields]
        else:
            entries = ", ".join(f'"{field}": {kind}' for field, kind in fields)
            lines = [f'{name} = TypedDict("{name}", {{{entries}}})']
        self._blocks.append("\n".join(lines))
        return name

    def _type(
        self, schema: dict[str, Any], defs: dict[str, Any], named: dict[str, str], module: str
    ) -> str:
        if "$ref" in schema:
            target = schema["$ref"].rsplit("/", 1)[-1]
            if target not in named:
                named[target] = self._define(defs[target], defs, named, module)
            return named[target]
        if "enum" in schema or "const" in schema:
            values = schema["enum"] if "enum" in schema else [schema["const"]]
            return "Literal[" + ", ".join(repr(v) for v in values) + "]"
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            kinds = [self._type(o, defs, named, module) for o in options]
            return " | ".join(dict.fromkeys(kinds))
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self._type({"type": k}, defs, named, module) for k in kind)
        if kind == "array":
            items = schema.get("items")
            return f"list[{self._type(items, defs, named, module) if items else 'Any'}]"
        if kind == "object":
            if schema.get("properties") and schema.get("title"):
                return self._define(schema, defs, named, module)
            extra = schema.get("additionalProperties")
            value = self._type(extra, defs, named, module) if isinstance(extra, dict) else "Any"
            return f"dict[str, {value}]"
        simple = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
        if kind == "null":
            return "None"
        return simple.get(str(kind), "Any")

    def source(self) -> str:
        """Every definition, each after the ones it uses."""
        return "\n\n\n".join(self._blocks)


def body_typed_dicts(routes: Sequence[tuple[RouteSpec, str]]) -> tuple[str, dict[str, str]]:
    """The TypedDicts' source and, per body ``"module:Class"``, its TypedDict's name."""
    gen = _TypedDicts()
    names: dict[str, str] = {}
    for spec, _ in routes:
        for ref in spec.body:
            if ref not in names:
                module, cls = ref.split(":")
                model = getattr(importlib.import_module(module), cls)
                names[ref] = gen.add(ref, model.model_json_schema())
    return gen.source(), names


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

from typing import Any, Literal, NotRequired, TypedDict

from learnloop.client.base import BaseClient, RouteInfo

'''


def render(routes: Sequence[tuple[RouteSpec, str]]) -> str:
    """The whole generated module for ``(spec, view name)`` pairs, in declaration order."""
    typed_dicts, body_types = body_typed_dicts(routes)
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
        methods.append(render_method(spec, name, body_types))
    table.append("}")
    table.append("_ROUTES = ROUTES")
    body = [
        "# Request bodies, from the routes' pydantic models (what the OpenAPI document lists).",
        "",
        typed_dicts,
        "",
        "",
        "\n".join(table),
        "",
        "",
        "class RouteMethods(BaseClient):",
        '    """One method per route (see :class:`learnloop.client.Client`)."""',
        "",
        "\n\n".join(methods),
    ]
    text = HEADER + "\n".join(body) + "\n"
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

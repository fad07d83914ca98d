"""What the code declares, read from the code: the one source every template derives from.

* functions: the Chalice app's routes (grouped into one Lambda per scope: ``api_ingest``,
  ``api_read``, ``api_admin``), its ``@app.schedule`` and its ``@app.on_cw_event`` handlers;
* tables: :data:`learnloop.store.records.MODELS`, with the keys, indexes and TTL that
  :func:`learnloop.store.bootstrap` creates, taken from the same PynamoDB schema;
* training jobs: :data:`training_jobs.JOBS`.

Examples
--------
>>> from learnloop.settings import Settings
>>> tables = table_specs(Settings(stage="dev", table_prefix="learnloop-dev-"))
>>> events = next(t for t in tables if t.entity == "events")
>>> events.name, events.ttl_attribute, [i["IndexName"] for i in events.global_indexes]
('learnloop-dev-events', 'expires_at', ['by_day'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from learnloop.settings import Settings
from learnloop.store.records import MODELS
from learnloop_tools.deploy.profiles import Profile, profile_for
from learnloop_tools.local.api_server import find_app_path, load_app_module
from training_jobs import IMAGE_EXTRAS, JOBS

#: The Lambda function that serves a route of each scope; open routes go with ingest (light).
SCOPE_FUNCTIONS: dict[str | None, str] = {
    "ingest": "api_ingest",
    None: "api_ingest",
    "read": "api_read",
    "admin": "api_admin",
}
#: Routes that were not declared through ``api.route`` (a plain ``@app.route``; a test refuses
#: them in functions/app.py, but another app may have some).
UNSCOPED_FUNCTION = "api_admin"
#: ``@app.lambda_function`` handlers fed by a subscription filter on every API function's log
#: group: name → filter pattern. The decision log's lines (learnloop.decisions.sink).
LOG_SUBSCRIBERS: dict[str, str] = {"on_decision_logs": "{ $.learnloop_decision = 1 }"}
_NO_SCOPE = object()


@dataclass(frozen=True)
class RouteFunction:
    """One route of the app and the Lambda function that serves it."""

    path: str
    method: str
    scope: str | None
    function: str


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its handler, trigger, layers and permissions."""

    name: str
    kind: str  # "api", "schedule", "event" or "logs" (a CloudWatch Logs subscription)
    handler: str
    profile: Profile
    schedule: str | None = None
    event_pattern: Mapping[str, Any] | None = None
    routes: tuple[RouteFunction, ...] = ()
    #: ``logs`` functions: the filter pattern of the API functions' log lines they receive.
    log_filter: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """One DynamoDB table as :func:`learnloop.store.bootstrap` creates it."""

    entity: str
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_indexes: list[dict[str, Any]] = field(default_factory=list)
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class TrainingJobSpec:
    """One container training job: ``python -m {module}`` in an image with ``extra`` installed."""

    name: str
    module: str
    extra: str = "train"


@dataclass(frozen=True)
class Inventory:
    """Everything a template is generated from."""

    app_name: str
    functions: tuple[FunctionSpec, ...]
    tables: tuple[TableSpec, ...]
    training_jobs: tuple[TrainingJobSpec, ...]
    app: Any = field(repr=False, compare=False, default=None)

    def function(self, name: str) -> FunctionSpec:
        """The function called ``name``; :class:`KeyError` when there is none."""
        for spec in self.functions:
            if spec.name == name:
                return spec
        raise KeyError(name)


def route_scope(view_function: Any) -> str | object | None:
    """The scope an ``api.route`` route needs (``None`` when open), or a marker when the
    route was not declared through ``api.route``."""
    scope = getattr(view_function, "learnloop_scope", _NO_SCOPE)
    return scope if scope is _NO_SCOPE or scope is None else str(scope)


def function_specs(app: Any) -> tuple[FunctionSpec, ...]:
    """The Lambda functions of a Chalice app: route groups first, then event handlers."""
    from chalice.app import CloudWatchEventConfig, ScheduledEventConfig

    routes: dict[str, list[RouteFunction]] = {}
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            scope = route_scope(entry.view_function)
            function = UNSCOPED_FUNCTION if scope is _NO_SCOPE else SCOPE_FUNCTIONS[scope]  # type: ignore[index]
            routes.setdefault(function, []).append(
                RouteFunction(
                    path=path,
                    method=method,
                    scope=None if scope is _NO_SCOPE else scope,  # type: ignore[arg-type]
                    function=function,
                )
            )
    specs = [
        FunctionSpec(
            name=name,
            kind="api",
            handler="app.app",
            profile=profile_for(name, "api"),
            routes=tuple(group),
        )
        for name, group in sorted(routes.items())
    ]
    for source in app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            text = expression if isinstance(expression, str) else expression.to_string()
            specs.append(
                FunctionSpec(
                    name=source.name,
                    kind="schedule",
                    handler=source.handler_string,
                    profile=profile_for(source.name, "schedule"),
                    schedule=text,
                )
            )
        elif isinstance(source, CloudWatchEventConfig):
            specs.append(
                FunctionSpec(
                    name=source.name,
                    kind="event",
                    handler=source.handler_string,
                    profile=profile_for(source.name, "event"),
                    event_pattern=dict(source.event_pattern),
                )
            )
        else:  # pragma: no cover - S3/SQS/SNS triggers are not used by the app
            raise NotImplementedError(f"event source {type(source).__name__} is not deployable")
    for function in sorted(getattr(app, "pure_lambda_functions", []), key=lambda f: f.name):
        name = function.name
        if name not in LOG_SUBSCRIBERS:  # pragma: no cover - the app declares no other
            raise NotImplementedError(f"pure Lambda function {name!r} has no trigger to deploy")
        specs.append(
            FunctionSpec(
                name=name,
                kind="logs",
                handler=function.handler_string,
                profile=profile_for(name, "logs"),
                log_filter=LOG_SUBSCRIBERS[name],
            )
        )
    return tuple(specs)


def _key_first(schema: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(schema, key=lambda key: key["KeyType"] != "HASH")


def table_specs(settings: Settings) -> tuple[TableSpec, ...]:
    """Every table of :data:`~learnloop.store.records.MODELS`, named for ``settings``' stage."""

    specs = []
    for model in MODELS:
        schema = model._get_schema()
        ttl = model._ttl_attribute()
        specs.append(
            TableSpec(
                entity=model.entity,
                name=settings.table_name(model.entity),
                key_schema=_key_first(schema["key_schema"]),  # type: ignore[arg-type]
                attribute_definitions=sorted(
                    schema["attribute_definitions"],  # type: ignore[arg-type]
                    key=lambda a: a["AttributeName"],
                ),
                global_indexes=[
                    {
                        "IndexName": index["index_name"],
                        "KeySchema": _key_first(index["key_schema"]),
                        "Projection": dict(index["projection"]),
                    }
                    for index in schema["global_secondary_indexes"]
                ],
                local_indexes=[
                    {
                        "IndexName": index["index_name"],
                        "KeySchema": _key_first(index["key_schema"]),
                        "Projection": dict(index["projection"]),
                    }
                    for index in schema["local_secondary_indexes"]
                ],
                ttl_attribute=ttl.attr_name if ttl is not None else None,
            )
        )
    return tuple(specs)


def training_job_specs() -> tuple[TrainingJobSpec, ...]:
    """The container training jobs of :data:`training_jobs.JOBS`, by name."""

    return tuple(
        TrainingJobSpec(name=name, module=module, extra=IMAGE_EXTRAS.get(name, "train"))
        for name, module in sorted(JOBS.items())
    )


def load_app(app_path: Path | None = None) -> ModuleType:
    """Import ``functions/app.py`` (or ``app_path``) as Lambda would."""

    return load_app_module(app_path or find_app_path(), module_name="learnloop_deploy_app")


def build_inventory(
    settings: Settings, *, app_module: ModuleType | None = None, project_dir: Path | None = None
) -> Inventory:
    """Read functions, tables and training jobs from the code.

    Parameters
    ----------
    settings
        The stage: table names come from its prefix.
    app_module
        The imported Chalice app module (default: ``functions/app.py``).
    project_dir
        The repository (default: the one this package lives in).
    """
    module = app_module or load_app((project_dir / "functions" / "app.py") if project_dir else None)
    return Inventory(
        app_name=module.app.app_name,
        functions=function_specs(module.app),
        tables=table_specs(settings),
        training_jobs=training_job_specs(),
        app=module.app,
    )


__all__ = [
    "SCOPE_FUNCTIONS",
    "FunctionSpec",
    "Inventory",
    "RouteFunction",
    "TableSpec",
    "TrainingJobSpec",
    "build_inventory",
    "function_specs",
    "load_app",
    "route_scope",
    "table_specs",
    "training_job_specs",
]

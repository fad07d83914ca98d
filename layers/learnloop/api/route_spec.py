"""What one route of the API declares: method, path, scope and everything its documentation says.

``functions/app.py`` declares each route once, with :meth:`learnloop.api.Api.route`; the app
serves it and the OpenAPI document describes it from the same :class:`RouteSpec`. Request
bodies name their pydantic model as ``"module:Class"``: the models are imported only when the
document is built, so declaring routes stays cheap (ingest cold starts import no model code).

Examples
--------
>>> spec = RouteSpec("POST", "/v1/insights/{insight_id}/feedback", Scope.INGEST,
...                  "Feedback on an insight", "ingest",
...                  body=("learnloop.ingest.schemas:FeedbackIn",))
>>> spec.path_params, spec.operation_id
(('insight_id',), 'post_v1_insights_insight_id_feedback')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from learnloop.api.auth.keys import Scope

#: Path parameters are ids unless a route says otherwise (the ingest ``Identifier`` type).
IDENTIFIER_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]*$",
}
DATE_SCHEMA: dict[str, Any] = {"type": "string", "format": "date"}


@dataclass(frozen=True)
class QueryParam:
    """One query parameter: its name, JSON schema and whether it is required.

    Examples
    --------
    >>> QueryParam("to", DATE_SCHEMA, "last day, YYYY-MM-DD").required
    False
    """

    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class RouteSpec:
    """One operation of the API.

    Parameters
    ----------
    method, path
        The HTTP method (upper case) and the path, with ``{name}`` path parameters.
    scope
        The key scope the route needs; ``None`` for open routes.
    summary
        One line for the document.
    tag
        The group the operation is listed under.
    body
        ``"module:Model"`` names of the accepted request bodies (several: any of them).
    body_required
        Whether a body must be sent (``rollback``'s is optional).
    query
        Query parameters.
    path_schemas
        Schemas of path parameters that are not identifiers.
    status
        The success status (also what a view's plain return value is sent with).
    errors
        Statuses the route can answer besides the ones every route of its kind can.
    media_type
        The success response's content types (``text/html`` for the dashboard page; an export
        answers CSV, JSON lines, or JSON naming a download).
    accepted
        Whether the route may also answer 202: accepted but not stored (the user opted out).
    accepted_description
        What a 202 means when it is not that (a deletion whose exports are still pending).

    Raises
    ------
    ValueError
        When the declaration contradicts itself; raised at import, so a typo never ships.

    Examples
    --------
    >>> RouteSpec("GET", "/v1/health", None, "Liveness", "meta").path_params
    ()
    >>> RouteSpec("GET", "/a/{id}", None, "A", "meta", path_schemas={"name": {}})
    Traceback (most recent call last):
    ...
    ValueError: GET /a/{id}: path_schemas names ['name'], not parameters of the path
    """

    method: str
    path: str
    scope: Scope | None
    summary: str
    tag: str
    body: tuple[str, ...] = ()
    body_required: bool = True
    query: tuple[QueryParam, ...] = ()
    path_schemas: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    status: int = 200
    errors: tuple[int, ...] = ()
    media_type: tuple[str, ...] = ("application/json",)
    accepted: bool = False
    accepted_description: str | None = None

    def __post_init__(self) -> None:
        where = f"{self.method} {self.path}"
        if self.method != self.method.upper():
            raise ValueError(f"{where}: the method must be upper case")
        malformed = [ref for ref in self.body if ref.count(":") != 1]
        if malformed:
            raise ValueError(f"{where}: body models are 'module:Class' names, not {malformed}")
        strays = sorted(set(self.path_schemas) - set(self.path_params))
        if strays:
            raise ValueError(f"{where}: path_schemas names {strays}, not parameters of the path")
        if self.accepted_description is not None and not self.accepted:
            raise ValueError(f"{where}: accepted_description without accepted=True")

    @property
    def path_params(self) -> tuple[str, ...]:
        """The names of the ``{...}`` parameters of :attr:`path`, in order."""
        return tuple(re.findall(r"{([^}]+)}", self.path))

    @property
    def operation_id(self) -> str:
        """A stable id: method and path words (``put_v1_reactions``)."""
        words = re.sub(r"[{}]", "", self.path).strip("/").replace("-", "_").split("/")
        return "_".join([self.method.lower(), *words])


def undeclared(
    app_routes: Mapping[str, Mapping[str, Any]], specs: Iterable[RouteSpec]
) -> set[tuple[str, str]]:
    """The ``(method, path)`` a Chalice app serves without a :class:`RouteSpec` in ``specs``.

    ``app_routes`` is a Chalice app's ``routes`` (path → method → entry): a route added with a
    plain ``@app.route`` shows up here, undocumented and unguarded by the API's wrapper.

    Examples
    --------
    >>> health = RouteSpec("GET", "/v1/health", None, "Liveness", "meta")
    >>> undeclared({"/v1/health": {"GET": None}}, [health])
    set()
    >>> undeclared({"/v1/health": {"GET": None, "POST": None}}, [health])
    {('POST', '/v1/health')}
    """
    served = {(method, path) for path, methods in app_routes.items() for method in methods}
    return served - {(spec.method, spec.path) for spec in specs}

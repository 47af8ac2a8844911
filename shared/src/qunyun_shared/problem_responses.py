"""Every problem an operation can answer, listed in the app's OpenAPI document as `application/problem+json`
with one Problem schema, so that clients generated from the document know each error they may get.

What an operation can answer follows from what it takes: input → 422, a path parameter or a query naming
an id (`community_id=`) → 404, a write → 404 (a resource its body names) and 409 (a conflict with the
current state). A dependency marked with
`answers` adds its own problems to every route using it (an `Idempotency-Key` it requires: 400); a route
lists any other in its own `responses` (`problem_responses.of(...)`), and every error response it lists is
documented as a problem.
"""

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from qunyun_shared.problems import PROBLEM_MEDIA_TYPE

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error as RFC 9457 problem details (`application/problem+json`); `type` names what went "
    "wrong, and further members may carry its particulars.",
    "properties": {
        "type": {"type": "string", "examples": ["https://qunyun.dev/problems/not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "For invalid input: each field refused and why.",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
# What each status means when an operation answers it; a route or dependency may say more.
MEANINGS = {
    400: "A header the operation needs is missing (`Idempotency-Key`).",
    401: "The credential is missing, unknown, expired or revoked.",
    403: "The caller may not do this.",
    404: "Something the request names (in its path or body) does not exist for this tenant.",
    409: "The request conflicts with the current state (already done, full, closed, taken, ...).",
    413: "The body is larger than allowed.",
    415: "The body's media type is not one the operation reads.",
    422: "The request does not match the schema (`errors` names each field), or a value is refused.",
    429: "Too many requests (see `Retry-After`).",
    503: "A service behind this one is unavailable (see `Retry-After`).",
    504: "A service behind this one did not answer in time.",
}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def answers(*statuses: int) -> Callable[[F], F]:
    """Marks a dependency as one that may answer `statuses`, for every route that depends on it."""

    def mark(dependency: F) -> F:
        dependency.__problem_statuses__ = frozenset(statuses)  # type: ignore[attr-defined]
        return dependency

    return mark


def of(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """A route's `responses` for further problems it may answer; `descriptions` by `s<status>` override the
    generic meaning (`of(409, s409="The community is full.")`)."""
    return {status: problem_response(descriptions.get(f"s{status}", MEANINGS[status])) for status in statuses}


def problem_response(description: str) -> dict[str, Any]:
    """One OpenAPI response carrying a problem."""
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}}


def document(app: FastAPI) -> None:
    """Makes `app.openapi()` list the problems of every operation (once, when it is first built)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        built = build()
        with_problems(built, [route for route in iter_route_contexts(app.routes) if _is_operation(route)])
        return built

    app.openapi = openapi  # type: ignore[method-assign]


def with_problems(document: dict[str, Any], routes: list[RouteContext]) -> None:
    """Adds each route's problems to its operations in `document`, replacing FastAPI's validation error."""
    for route in routes:
        item = document.get("paths", {}).get(route.path_format)
        if item is None:
            continue
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is not None:
                statuses = _statuses(route, method, takes_body="requestBody" in operation)
                _add_problems(operation.setdefault("responses", {}), statuses)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)


def _add_problems(responses: dict[str, Any], statuses: set[int]) -> None:
    for status in statuses:
        responses.setdefault(str(status), {"description": MEANINGS[status]})
    for key, response in responses.items():
        if key[0] in "45":
            if key == "422":
                response["description"] = MEANINGS[422]
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
    ordered = dict(sorted(responses.items()))
    responses.clear()
    responses.update(ordered)


def _statuses(route: RouteContext, method: str, *, takes_body: bool) -> set[int]:
    """What the route can answer as a problem by what it takes, what it is and what it depends on."""
    dependants = [route.dependant, *_dependencies(route.dependant)]
    statuses: set[int] = set()
    if takes_body or any(_takes_input(dependant) for dependant in dependants):
        statuses.add(422)
    if any(dependant.path_params or _names_by_id(dependant.query_params) for dependant in dependants):
        statuses.add(404)
    if method in _WRITES:
        statuses |= {404, 409}
    for dependant in dependants:
        statuses |= getattr(dependant.call, "__problem_statuses__", frozenset())
    return statuses


def _is_operation(route: RouteContext) -> bool:
    return isinstance(route.original_route, APIRoute) and route.include_in_schema and bool(route.methods)


def _names_by_id(parameters: list[Any]) -> bool:
    """Whether a query names a resource by its id (`community_id=`), which may not exist."""
    return any(parameter.alias.endswith("_id") for parameter in parameters)


def _takes_input(dependant: Dependant) -> bool:
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
    )


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)

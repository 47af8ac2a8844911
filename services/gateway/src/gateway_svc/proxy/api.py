"""The public API: every `/api/v1/...` request for a resource of the routing table, authenticated, checked
against the permission its route needs and forwarded to its service.

Two routers: `router`, matching only the table's resources, goes before the gateway's own routes (none of
which starts with a resource, see tests/unit/test_resources.py), so a proxied request is not first tried
against every one of them; `fallback`, after them all, answers what nothing else routes with `unknown-route`.
"""

import re

from fastapi import APIRouter, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response

from gateway_svc import access
from gateway_svc.dependencies import Caller, Upstreams
from gateway_svc.exceptions import UnknownRoute
from gateway_svc.proxy.resources import RESOURCES
from gateway_svc.upstreams.breaker import CircuitOpen
from qunyun_shared.problems import problem

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class ResourcePath(Convertor[str]):
    """A path below /api/v1 whose first segment is a resource of the routing table."""

    regex = "(?:" + "|".join(re.escape(name) for name in RESOURCES) + ")(?:/.*)?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("resource_path", ResourcePath())

router = APIRouter(prefix="/api/v1", tags=["api"])
fallback = APIRouter(prefix="/api/v1", tags=["api"])


# Out of the OpenAPI document: the services' own operations stand in its place there (see openapi/api.py).
@router.api_route("/{path:resource_path}", methods=_METHODS, include_in_schema=False)
async def forward(path: str, request: Request, caller: Caller, upstreams: Upstreams) -> Response:
    permission = access.permission_for(request.method, path)
    if permission is None:
        raise UnknownRoute(f"No API at /api/v1/{path}.")
    access.require(caller, permission)
    try:
        return await upstreams.forward(request, path, caller)
    except CircuitOpen as exc:
        return problem(
            status=exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            instance=request.url.path,
            headers={"Retry-After": str(exc.retry_after)},
        )


@fallback.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
async def unknown(path: str, caller: Caller) -> Response:
    """Authenticated (and rate limited) like any other call, so that probing for routes costs a credential."""
    raise UnknownRoute(f"No API at /api/v1/{path}.")

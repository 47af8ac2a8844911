"""The platform's one API document at /openapi.json (and so on the /docs page, which reads it): the
gateway's own operations and every service's public ones, as a client of the gateway calls them."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from starlette.responses import Response

from gateway_svc.dependencies import Caller
from gateway_svc.openapi.documents import ApiDocuments
from gateway_svc.proxy.forwarding import UpstreamRouter


async def get_documents(request: Request) -> ApiDocuments:
    documents: ApiDocuments = request.app.state.api_documents
    return documents


async def openapi(documents: Annotated[ApiDocuments, Depends(get_documents)]) -> Response:
    return Response(orjson.dumps(await documents.current()), media_type="application/json")


def serve_merged_document(app: FastAPI) -> None:
    """Answers the app's OpenAPI address with the merged document, in place of FastAPI's of the gateway alone."""
    assert app.openapi_url is not None
    app.router.routes[:] = [route for route in app.router.routes if getattr(route, "path", None) != app.openapi_url]
    app.add_api_route(app.openapi_url, openapi, include_in_schema=False)


def api_documents(app: FastAPI, upstreams: UpstreamRouter) -> ApiDocuments:
    """The merged document's source for `app`, whose proxied operations need what its `Caller` needs."""
    security, requirement = caller_security()
    return ApiDocuments(upstreams, app.openapi, security=security, requirement=requirement)


def caller_security() -> tuple[dict[str, Any], list[Any]]:
    """The security schemes and requirement FastAPI declares for an operation of an authenticated `Caller`."""
    probe = APIRouter()

    @probe.get("/")
    async def authenticated(caller: Caller) -> None:
        """An operation that needs exactly what the proxy route needs."""

    document = get_openapi(title="probe", version="0", routes=probe.routes)
    return document["components"]["securitySchemes"], document["paths"]["/"]["get"]["security"]

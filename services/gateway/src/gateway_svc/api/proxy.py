"""The public API: every `/api/v1/...` request, authenticated and forwarded to its service."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway_svc.dependencies import Caller, Upstreams

router = APIRouter(prefix="/api/v1", tags=["api"])


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def forward(path: str, request: Request, caller: Caller, upstreams: Upstreams) -> Response:
    return await upstreams.forward(request, path, caller)

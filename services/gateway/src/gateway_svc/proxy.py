"""Forwarding `/api/v1/...` to the service that owns the resource, with the caller's identity signed in."""

import time
from collections.abc import Mapping

import httpx
from starlette.requests import Request
from starlette.responses import Response

from gateway_svc.config import Settings
from gateway_svc.exceptions import PayloadTooLarge, UnknownRoute, UpstreamTimeout
from qunyun_shared import correlation, identity
from qunyun_shared.problems import UpstreamUnavailable

# The first path segment names the resource; each resource has exactly one owning service.
ROUTES: Mapping[str, str] = {
    "communities": "member",
    "members": "member",
    "content": "content",
    "campaigns": "campaign",
    "analytics": "analytics",
}
_FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "idempotency-key")
_FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "retry-after")


class UpstreamRouter:
    """Knows the upstream of every route and forwards requests to it over a pooled client."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.client = client
        self.secret = settings.internal_token_secret.get_secret_value()
        self.max_body_bytes = settings.max_body_bytes
        self.upstreams = {
            "member": settings.member_svc_url,
            "content": settings.content_svc_url,
            "campaign": settings.campaign_svc_url,
            "analytics": settings.analytics_svc_url,
        }
        self._signed: dict[str, tuple[float, str]] = {}

    def upstream_for(self, path: str) -> str:
        service = ROUTES.get(path.split("/", 1)[0])
        if service is None:
            raise UnknownRoute(f"No API at /api/v1/{path}.")
        return self.upstreams[service]

    async def forward(self, request: Request, path: str, caller: identity.Identity) -> Response:
        base = self.upstream_for(path)
        body = await request.body()
        if len(body) > self.max_body_bytes:
            raise PayloadTooLarge(f"The body exceeds {self.max_body_bytes} bytes.")
        headers = {name: request.headers[name] for name in _FORWARDED_REQUEST_HEADERS if name in request.headers}
        headers[identity.IDENTITY_HEADER] = self._identity_token(caller)
        headers["x-correlation-id"] = correlation.current()
        try:
            upstream = await self.client.request(
                request.method,
                f"{base}/{path}",
                params=request.query_params.multi_items(),
                content=body,
                headers=headers,
            )
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"{base} did not answer in time.") from None
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{base} is unreachable: {type(exc).__name__}.") from None
        response_headers = {
            name: upstream.headers[name] for name in _FORWARDED_RESPONSE_HEADERS if name in upstream.headers
        }
        return Response(upstream.content, status_code=upstream.status_code, headers=response_headers)

    def _identity_token(self, caller: identity.Identity) -> str:
        # Signing costs more than the rest of the hop; a token lives 60 s, so reuse it for 30.
        now = time.monotonic()
        cached = self._signed.get(caller.principal)
        if cached is None or now - cached[0] > 30:
            cached = (now, identity.sign(caller, self.secret))
            self._signed[caller.principal] = cached
        return cached[1]

"""Forwarding `/api/v1/...` to the service that owns the resource, with the caller's identity signed in."""

import time
from collections.abc import Mapping

import aiohttp
from starlette.requests import Request
from starlette.responses import Response

from gateway_svc.config import Settings
from gateway_svc.exceptions import PayloadTooLarge, UnknownRoute, UpstreamTimeout
from qunyun_shared import identity
from qunyun_shared.problems import UpstreamUnavailable

# The first path segment names the resource; each resource has exactly one owning service.
ROUTES: Mapping[str, str] = {
    "communities": "member",
    "members": "member",
    "points": "member",
    "tags": "member",
    "content": "content",
    "campaigns": "campaign",
    "analytics": "analytics",
}
_FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "idempotency-key")
_FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "retry-after", "idempotent-replayed")


class UpstreamRouter:
    """Knows the upstream of every route and forwards requests to it over a pooled session."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.secret = settings.internal_token_secret.get_secret_value()
        self.max_body_bytes = settings.max_body_bytes
        self.max_upload_bytes = settings.max_upload_bytes
        self.upstreams = {
            "member": settings.member_svc_url,
            "content": settings.content_svc_url,
            "campaign": settings.campaign_svc_url,
            "analytics": settings.analytics_svc_url,
        }
        self._signed: dict[str, tuple[float, str]] = {}

    def upstream_for(self, path: str) -> str:
        segments = path.split("/")
        # Dot segments could climb out of /api/v1 to a service's internal endpoints (/metrics, /docs).
        service = ROUTES.get(segments[0])
        if service is None or any(segment in (".", "..") for segment in segments):
            raise UnknownRoute(f"No API at /api/v1/{path}.")
        return self.upstreams[service]

    async def forward(self, request: Request, path: str, caller: identity.Identity) -> Response:
        base = self.upstream_for(path)
        body = await self._bounded_body(request)
        headers = {name: request.headers[name] for name in _FORWARDED_REQUEST_HEADERS if name in request.headers}
        headers[identity.IDENTITY_HEADER] = self._identity_token(caller)
        try:
            async with self.session.request(
                request.method,
                f"{base}/{path}",
                params=request.query_params.multi_items(),
                data=body,
                headers=headers,
            ) as upstream:
                content = await upstream.read()
        except TimeoutError:
            raise UpstreamTimeout(f"{base} did not answer in time.") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"{base} is unreachable: {type(exc).__name__}.") from None
        response_headers = {
            name: upstream.headers[name] for name in _FORWARDED_RESPONSE_HEADERS if name in upstream.headers
        }
        return Response(content, status_code=upstream.status, headers=response_headers)

    async def _bounded_body(self, request: Request) -> bytes:
        """The body, refused as soon as it passes the limit rather than after buffering all of it."""
        is_upload = request.headers.get("content-type", "").split(";")[0].strip() == "text/csv"
        limit = self.max_upload_bytes if is_upload else self.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)

    def _identity_token(self, caller: identity.Identity) -> str:
        # Signing costs more than the rest of the hop; a token lives 60 s, so reuse it for 30.
        now = time.monotonic()
        cached = self._signed.get(caller.principal)
        if cached is None or now - cached[0] > 30:
            cached = (now, identity.sign(caller, self.secret))
            self._signed[caller.principal] = cached
        return cached[1]

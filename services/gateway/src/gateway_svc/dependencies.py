"""Gateway dependencies: who is calling, and the upstream router."""

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from gateway_svc.credentials import ApiKeyResolver
from gateway_svc.exceptions import InvalidCredentials
from gateway_svc.proxy import UpstreamRouter
from qunyun_shared.dependencies import Runtime
from qunyun_shared.identity import Identity

_bearer = HTTPBearer(auto_error=False, description="An API key `qk_...` as a bearer token.")
_api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="An API key `qk_...`.")


async def get_router(request: Request) -> UpstreamRouter:
    router: UpstreamRouter = request.app.state.upstreams
    return router


async def get_resolver(request: Request) -> ApiKeyResolver:
    resolver: ApiKeyResolver = request.app.state.api_keys
    return resolver


async def current_caller(
    resolver: Annotated[ApiKeyResolver, Depends(get_resolver)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Identity:
    """The caller's identity, from the credential alone: any tenant or identity header sent is ignored."""
    presented = bearer.credentials if bearer else api_key
    if not presented:
        raise InvalidCredentials("Send an API key as `Authorization: Bearer <key>` or `X-Api-Key`.")
    return await resolver.identify(presented)


async def platform_admin(
    runtime: Runtime, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Only the platform's operators (holding PLATFORM_ADMIN_TOKEN) may create tenants."""
    expected = runtime.settings.platform_admin_token.get_secret_value()  # type: ignore[attr-defined]
    if bearer is None or not hmac.compare_digest(bearer.credentials.encode(), expected.encode()):
        raise InvalidCredentials("The platform admin token is missing or wrong.")


Caller = Annotated[Identity, Depends(current_caller)]
Upstreams = Annotated[UpstreamRouter, Depends(get_router)]
PlatformAdmin = Depends(platform_admin)

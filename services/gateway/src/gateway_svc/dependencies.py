"""Gateway dependencies: who is calling, the upstream router, and the route classes of the gateway's own writes."""

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from gateway_svc.accounts.callers import CallerResolver
from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.config import Settings
from gateway_svc.db import IDEMPOTENCY_KEYS
from gateway_svc.exceptions import InvalidCredentials
from gateway_svc.proxy.forwarding import UpstreamRouter
from gateway_svc.ratelimit.admission import RateLimits
from qunyun_shared.dependencies import get_runtime
from qunyun_shared.idempotent_routes import route_class
from qunyun_shared.identity import Identity
from qunyun_shared.problem_responses import answers
from qunyun_shared.runtime import ServiceRuntime

_bearer = HTTPBearer(
    auto_error=False, description="An API key `qk_...` or an operator's access token from /api/v1/auth/login."
)
_api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="An API key `qk_...`.")


# The gateway's runtime, its settings typed as the gateway's.
Runtime = Annotated[ServiceRuntime[Settings], Depends(get_runtime)]


async def get_router(request: Request) -> UpstreamRouter:
    router: UpstreamRouter = request.app.state.upstreams
    return router


async def get_resolver(request: Request) -> CallerResolver:
    resolver: CallerResolver = request.app.state.callers
    return resolver


async def get_access_tokens(request: Request) -> AccessTokens:
    tokens: AccessTokens = request.app.state.access_tokens
    return tokens


async def get_rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


@answers(401, 429)
async def current_caller(
    request: Request,
    resolver: Annotated[CallerResolver, Depends(get_resolver)],
    limits: Annotated[RateLimits, Depends(get_rate_limits)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Identity:
    """The caller's identity, from the credential alone: any tenant or identity header sent is ignored.
    API keys looked up in the database and found unknown are limited per client address (429)."""
    presented = bearer.credentials if bearer else api_key
    if not presented:
        raise InvalidCredentials(
            "Send an access token or an API key as `Authorization: Bearer <token>`, or an API key as `X-Api-Key`."
        )
    return await resolver.identify(presented, guard=limits.key_lookups(request))


# The gateway's own routes check the caller's permission as they begin (403).
@answers(403, 429)
async def rate_limited_caller(
    request: Request,
    caller: Annotated[Identity, Depends(current_caller)],
    limits: Annotated[RateLimits, Depends(get_rate_limits)],
) -> Identity:
    """The authenticated caller, admitted within its credential's and its tenant's rate limits (429 if not)."""
    await limits.admit(request, caller)
    return caller


@answers(401)
async def platform_admin(
    runtime: Runtime, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Only the platform's operators (holding PLATFORM_ADMIN_TOKEN) may create tenants."""
    expected = runtime.settings.platform_admin_token.get_secret_value()
    if bearer is None or not hmac.compare_digest(bearer.credentials.encode(), expected.encode()):
        raise InvalidCredentials("The platform admin token is missing or wrong.")


# Every route of an authenticated caller is rate limited through this one alias.
Caller = Annotated[Identity, Depends(rate_limited_caller)]
Upstreams = Annotated[UpstreamRouter, Depends(get_router)]
Tokens = Annotated[AccessTokens, Depends(get_access_tokens)]
PlatformAdmin = Depends(platform_admin)
RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]

# The scope of the platform administrator's Idempotency-Keys: no tenant's id looks like it.
PLATFORM = "platform"


async def caller_tenant(caller: Caller) -> str:
    return caller.tenant_id


async def platform() -> str:
    """The platform administrator's routes (already authenticated by their router) share one scope."""
    return PLATFORM


# The gateway's own writes take an `Idempotency-Key` as every service's do; their answers hold credentials
# shown once (API keys, webhook signing secrets), so they are kept sealed.
TenantRoute = route_class(IDEMPOTENCY_KEYS, tenant=caller_tenant, sealed=True)
PlatformRoute = route_class(IDEMPOTENCY_KEYS, tenant=platform, sealed=True)

"""The gateway's own writes take an `Idempotency-Key` as every service's do (`qunyun_shared.idempotent_routes`).

Their answers hold credentials shown once (API keys, webhook signing secrets), so they are kept sealed.
Sign-in and token routes take none: their answers are credentials for whoever presents them, and a refresh
token is meant to be used once.
"""

from gateway_svc.db import IDEMPOTENCY_KEYS
from gateway_svc.dependencies import Caller
from qunyun_shared.idempotent_routes import route_class

# The scope of the platform administrator's keys: no tenant's id looks like it.
PLATFORM = "platform"


async def caller_tenant(caller: Caller) -> str:
    return caller.tenant_id


async def platform() -> str:
    """The platform administrator's routes (already authenticated by their router) share one scope."""
    return PLATFORM


TenantRoute = route_class(IDEMPOTENCY_KEYS, tenant=caller_tenant, sealed=True)
PlatformRoute = route_class(IDEMPOTENCY_KEYS, tenant=platform, sealed=True)

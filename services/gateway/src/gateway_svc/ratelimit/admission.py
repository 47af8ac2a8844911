"""Admitting an authenticated request within its credential's and its tenant's budgets, and sign-ins."""

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from gateway_svc.config import Settings
from gateway_svc.exceptions import RateLimited
from gateway_svc.ratelimit.headers import STATE_KEY
from gateway_svc.ratelimit.limiter import Plan, Quota, RateLimiter
from gateway_svc.ratelimit.plans import TenantPlans
from qunyun_shared.identity import Identity

_CONNECTIONS = 32


class RateLimits:
    """Each tenant's plan and the budgets in Redis, together."""

    def __init__(self, limiter: RateLimiter, plans: TenantPlans) -> None:
        self.limiter = limiter
        self.plans = plans

    async def admit(self, request: Request, caller: Identity) -> None:
        """Charges the request to its credential and its tenant, or raises RateLimited when either is
        spent; the decision stays in the request's state for the response's RateLimit fields."""
        plan = await self.plans.plan_for(caller.tenant_id)
        decision = await self.limiter.charge(tenant_id=caller.tenant_id, principal=caller.principal, plan=plan)
        if decision is None:
            return
        setattr(request.state, STATE_KEY, decision)
        if not decision.admitted:
            raise RateLimited(
                f"Too many requests for this {' and '.join(decision.violated)}: "
                f"retry in {decision.retry_after_seconds} s.",
                **{"violated-policies": decision.violated},
            )

    async def admit_sign_in(self, request: Request, email: str) -> None:
        """Sign-in attempts, limited per email (guessing one account's password) and for all emails
        together (each attempt costs an argon2 hash, so a flood would starve the gateway's CPU)."""
        account = hashlib.sha256(email.encode()).hexdigest()[:32]  # no address in Redis keys
        decision = await self.limiter.charge(tenant_id="sign-in", principal=account, plan=SIGN_IN_PLAN)
        if decision is None:
            return
        setattr(request.state, STATE_KEY, decision)
        if not decision.admitted:
            raise RateLimited(
                f"Too many sign-in attempts: retry in {decision.retry_after_seconds} s.",
                **{"violated-policies": decision.violated},
            )


# Ten guesses per account per five minutes; a hundred sign-ins a minute across the platform.
SIGN_IN_PLAN = Plan(credential=Quota(10, 300), tenant=Quota(100, 60))


def default_plan(settings: Settings) -> Plan:
    window = settings.rate_limit_window_seconds
    return Plan(
        credential=Quota(settings.rate_limit_per_credential, window),
        tenant=Quota(settings.rate_limit_per_tenant, window),
    )


@asynccontextmanager
async def open_rate_limits(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[RateLimits]:
    """Connects to Redis lazily (the gateway starts, failing open, while Redis is down) and closes it."""
    # The limiter keeps at most _CONNECTIONS checks in flight, so the pool never makes one wait. No
    # retries: a check that waits for a retry costs more than letting the request through.
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=_CONNECTIONS,
        timeout=None,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        retry=Retry(NoBackoff(), 0),
    )
    redis = Redis.from_pool(pool)
    try:
        plans = TenantPlans(sessionmaker, default_plan(settings), ttl_seconds=settings.rate_limit_plan_cache_seconds)
        limiter = RateLimiter(redis, key_prefix=settings.redis_key_prefix, max_in_flight=_CONNECTIONS)
        yield RateLimits(limiter, plans)
    finally:
        await redis.aclose()

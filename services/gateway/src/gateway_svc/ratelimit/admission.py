"""Admitting an authenticated request within its credential's and its tenant's budgets; sign-ins, per
account and per client address; and API keys not yet known, per client address."""

import hashlib
import ipaddress
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from gateway_svc.config import Settings
from gateway_svc.exceptions import RateLimited
from gateway_svc.ratelimit.headers import STATE_KEY
from gateway_svc.ratelimit.limiter import Budget, Decision, Plan, Policies, Quota, RateLimiter
from gateway_svc.ratelimit.local import LocalLimiter
from gateway_svc.ratelimit.plans import TenantPlans
from qunyun_shared.identity import Identity

_CONNECTIONS = 32
ACCOUNT, ADDRESS = "account", "address"
# Addresses blocked for unknown API keys that a replica remembers; past that the oldest are forgotten.
_MAX_BLOCKED = 100_000


def client_address(request: Request) -> str:
    """The client's address (uvicorn takes it from X-Forwarded-For only from FORWARDED_ALLOW_IPS); an
    IPv6 client counts by its /64, which one host commonly holds whole."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]  # no email or address in Redis keys


@dataclass(frozen=True, slots=True)
class GuessLimits:
    """The budgets of what costs the gateway work before anyone is authenticated."""

    sign_in: Policies  # per account, then per address
    unknown_keys: Quota  # per address


class RateLimits:
    """Each tenant's plan and the budgets in Redis, together; sign-ins and unknown API keys are held to
    an in-process limiter while Redis fails, never let through unchecked."""

    def __init__(self, limiter: RateLimiter, plans: TenantPlans, guesses: GuessLimits) -> None:
        self.limiter = limiter
        self.plans = plans
        self.guesses = guesses
        self.local = LocalLimiter()
        self._blocked: OrderedDict[str, float] = OrderedDict()  # address → until (monotonic)

    async def admit(self, request: Request, caller: Identity) -> None:
        """Charges the request to its credential and its tenant, or raises RateLimited when either is
        spent; the decision stays in the request's state for the response's RateLimit fields."""
        plan = await self.plans.plan_for(caller.tenant_id)
        decision = await self.limiter.charge(tenant_id=caller.tenant_id, principal=caller.principal, plan=plan)
        if decision is not None:
            _enforce(request, decision, f"Too many requests for this {' and '.join(decision.violated)}")

    async def admit_sign_in(self, request: Request, email: str) -> None:
        """Sign-in attempts, limited per account (guessing its password) and per client address (one
        client trying many accounts); a client exhausting its own budget locks out nobody else."""
        keys = [
            self._key(policy, quota, subject)
            for (policy, quota), subject in zip(
                self.guesses.sign_in, (_digest(email), _digest(client_address(request))), strict=True
            )
        ]
        decision = await self._charge(keys, self.guesses.sign_in)
        _enforce(request, decision, "Too many sign-in attempts")

    async def admit_key_lookup(self, request: Request) -> None:
        """Before an API key is looked up in the database: refused while the client's address has spent
        its budget of unknown keys (each costs a lookup), so made-up keys cannot flood the database."""
        address = client_address(request)
        until = self._blocked.get(address, 0.0)
        wait = until - time.monotonic()
        if wait > 0:
            quota = self.guesses.unknown_keys
            seconds = max(1, int(wait + 0.999))
            refusal = Decision(False, seconds, (Budget(ADDRESS, quota, 0, seconds, True),))
            _enforce(request, refusal, "Too many unknown API keys from this address")

    async def charge_unknown_key(self, request: Request) -> None:
        """Charges a key found unknown to the client's address; past its budget the address is refused."""
        address = client_address(request)
        policies = [(ADDRESS, self.guesses.unknown_keys)]
        decision = await self._charge([self._key("unknown-key", policies[0][1], _digest(address))], policies)
        if not decision.admitted:
            self._blocked[address] = time.monotonic() + decision.retry_after_seconds
            self._blocked.move_to_end(address)
            while len(self._blocked) > _MAX_BLOCKED:
                self._blocked.popitem(last=False)
        _enforce(request, decision, "Too many unknown API keys from this address")

    def key_lookups(self, request: Request) -> "KeyLookups":
        return KeyLookups(self, request)

    async def _charge(self, keys: list[str], policies: Policies) -> Decision:
        decision = await self.limiter.charge_budgets(keys, policies)
        return decision if decision is not None else self.local.charge(keys, policies)

    def _key(self, policy: str, quota: Quota, subject: str) -> str:
        # One hash tag for all: a script's keys must share a Redis Cluster slot.
        return (
            f"{self.limiter.key_prefix}:ratelimit:{{guesses}}:{policy}:{quota.limit}/{quota.window_seconds}:{subject}"
        )


@dataclass(frozen=True, slots=True)
class KeyLookups:
    """The unknown-key limit of one request, as the credential resolver calls it."""

    limits: RateLimits
    request: Request

    async def before_lookup(self) -> None:
        await self.limits.admit_key_lookup(self.request)

    async def after_unknown(self) -> None:
        await self.limits.charge_unknown_key(self.request)


def _enforce(request: Request, decision: Decision, refusal: str) -> None:
    """Leaves the decision for the response's RateLimit fields; raises RateLimited if it refused."""
    setattr(request.state, STATE_KEY, decision)
    if not decision.admitted:
        raise RateLimited(
            f"{refusal}: retry in {decision.retry_after_seconds} s.",
            **{"violated-policies": decision.violated},
        )


def default_plan(settings: Settings) -> Plan:
    window = settings.rate_limit_window_seconds
    return Plan(
        credential=Quota(settings.rate_limit_per_credential, window),
        tenant=Quota(settings.rate_limit_per_tenant, window),
    )


def guess_limits(settings: Settings) -> GuessLimits:
    return GuessLimits(
        sign_in=(
            (ACCOUNT, Quota(settings.sign_in_per_account, settings.sign_in_account_window_seconds)),
            (ADDRESS, Quota(settings.sign_in_per_address, settings.sign_in_address_window_seconds)),
        ),
        unknown_keys=Quota(settings.unknown_keys_per_address, settings.unknown_keys_window_seconds),
    )


@asynccontextmanager
async def open_rate_limits(
    *, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
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
        yield RateLimits(limiter, plans, guess_limits(settings))
    finally:
        await redis.aclose()

"""Tenants and their API keys: issuing them and recognising them on requests."""

import hashlib
import hmac
import secrets
import time
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway_svc.exceptions import InvalidCredentials, TenantNameTaken
from gateway_svc.models import ApiKey, Tenant
from gateway_svc.schemas import TenantCreate, TenantCreated
from qunyun_shared.identity import Identity

_KEY_PREFIX = "qk"
OWNER_PERMISSIONS = frozenset({"*"})


def _hash(secret: str) -> bytes:
    # The secret is 256 random bits, so a fast hash is safe here (unlike for passwords).
    return hashlib.sha256(secret.encode()).digest()


async def create_tenant(*, session: AsyncSession, tenant_in: TenantCreate) -> TenantCreated:
    """Creates a tenant with its first API key, for the owner."""
    tenant = Tenant(name=tenant_in.name)
    session.add(tenant)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise TenantNameTaken(f"A tenant named {tenant_in.name!r} exists already.") from None
    api_key = await issue_api_key(session=session, tenant_id=tenant.id, name="owner", roles=["owner"])
    return TenantCreated(tenant_id=tenant.id, name=tenant.name, api_key=api_key)


async def issue_api_key(*, session: AsyncSession, tenant_id: uuid.UUID, name: str, roles: list[str]) -> str:
    """Issues a key `qk_<id>_<secret>` and returns it; only the secret's hash is stored."""
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    session.add(ApiKey(id=key_id, tenant_id=tenant_id, name=name, secret_hash=_hash(secret), roles=roles))
    await session.flush()
    return f"{_KEY_PREFIX}_{key_id}_{secret}"


class ApiKeyResolver:
    """Turns a presented API key into an identity, remembering answers briefly to keep lookups off the hot path.

    A revoked key stops working within `ttl_seconds`.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, ttl_seconds: float = 10.0) -> None:
        self.sessionmaker = sessionmaker
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[float, Identity | None]] = {}

    async def identify(self, presented: str) -> Identity:
        now = time.monotonic()
        cached = self._cache.get(presented)
        if cached is None or now - cached[0] > self.ttl_seconds:
            cached = (now, await self._lookup(presented))
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[presented] = cached
        if cached[1] is None:
            raise InvalidCredentials("The API key is unknown or revoked.")
        return cached[1]

    async def _lookup(self, presented: str) -> Identity | None:
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != _KEY_PREFIX or not key_id or not secret:
            return None
        async with self.sessionmaker() as session:
            key = await session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
        if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
            return None
        return Identity(
            tenant_id=str(key.tenant_id),
            principal=f"api_key:{key.id}",
            roles=tuple(key.roles),
            permissions=OWNER_PERMISSIONS if "owner" in key.roles else frozenset(),
        )

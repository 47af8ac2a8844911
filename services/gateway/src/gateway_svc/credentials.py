"""Tenants and their API keys, and recognising a caller by API key or operator access token."""

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway_svc.access import permissions_of, require_grantable, unknown_permissions
from gateway_svc.accounts.models import ApiKey, Operator
from gateway_svc.accounts.operators import create_operator
from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.exceptions import ApiKeyNotFound, InvalidCredentials, TenantNameTaken, UnknownPermission
from gateway_svc.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyRead, TenantCreate, TenantCreated
from gateway_svc.tenants.models import Tenant
from qunyun_shared.identity import Identity

_KEY_PREFIX = "qk"
K = TypeVar("K")
V = TypeVar("V")


def _hash(secret: str) -> bytes:
    # The secret is 256 random bits, so a fast hash is safe here (unlike for passwords).
    return hashlib.sha256(secret.encode()).digest()


async def create_tenant(*, session: AsyncSession, tenant_in: TenantCreate) -> TenantCreated:
    """Creates a tenant with its first API key for the owner, and its owner's account if one is given."""
    tenant = Tenant(name=tenant_in.name)
    session.add(tenant)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise TenantNameTaken(f"A tenant named {tenant_in.name!r} exists already.") from None
    if tenant_in.owner is not None:
        await create_operator(session=session, tenant_id=tenant.id, operator_in=tenant_in.owner, grantor=None)
    issued = await issue_api_key(
        session=session, tenant_id=tenant.id, key_in=ApiKeyCreate(name="owner", roles=["owner"]), issuer=None
    )
    return TenantCreated(tenant_id=tenant.id, name=tenant.name, api_key=issued.api_key)


async def issue_api_key(
    *, session: AsyncSession, tenant_id: uuid.UUID, key_in: ApiKeyCreate, issuer: Identity | None
) -> ApiKeyIssued:
    """Issues a key `qk_<id>_<secret>` within what the issuer holds; only the secret's hash is stored."""
    if key_in.scopes is not None and (unknown := unknown_permissions(key_in.scopes)):
        raise UnknownPermission(f"Unknown permissions: {', '.join(unknown)}.", field="scopes")
    roles = [str(role) for role in key_in.roles]
    if issuer is not None:
        require_grantable(issuer, permissions_of(roles, key_in.scopes))
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id,
        tenant_id=tenant_id,
        name=key_in.name,
        secret_hash=_hash(secret),
        roles=roles,
        scopes=key_in.scopes,
        created_by=issuer.principal if issuer else None,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return ApiKeyIssued(**read_api_key(key).model_dump(), api_key=f"{_KEY_PREFIX}_{key_id}_{secret}")


def read_api_key(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        roles=key.roles,
        scopes=key.scopes,
        permissions=sorted(permissions_of(key.roles, key.scopes)),
        created_by=key.created_by,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


async def list_api_keys(*, session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[ApiKey]:
    """The tenant's keys, revoked ones included, oldest first."""
    rows = await session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at))
    return rows.all()


async def revoke_api_key(*, session: AsyncSession, tenant_id: uuid.UUID, key_id: str, now: datetime) -> ApiKey:
    """Revokes a key of the tenant; revoking twice keeps the first time."""
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None or key.tenant_id != tenant_id:
        raise ApiKeyNotFound(f"No API key {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = now
    return key


@dataclass(frozen=True, slots=True)
class _OperatorState:
    tenant_id: uuid.UUID
    roles: tuple[str, ...]
    tokens_valid_after: datetime


class KeyLookupGuard(Protocol):
    """What limits a client's lookups of API keys the gateway does not remember (may raise RateLimited)."""

    async def before_lookup(self) -> None: ...

    async def after_unknown(self) -> None: ...


class CallerResolver:
    """Turns a presented credential into an identity, remembering answers for `ttl_seconds` to keep
    database lookups off the request path.

    So a revoked key, a disabled operator or an operator's changed roles take effect within
    `ttl_seconds` on each gateway replica. At most `max_entries` answers of each kind are remembered,
    the least recently used forgotten first, so a flood of made-up keys evicts only itself.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        tokens: AccessTokens,
        *,
        ttl_seconds: float = 10.0,
        max_entries: int = 10_000,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.tokens = tokens
        self._keys = _Recall[str, Identity | None](ttl_seconds, max_entries)
        self._operators = _Recall[uuid.UUID, _OperatorState | None](ttl_seconds, max_entries)

    async def identify(self, presented: str, *, guard: KeyLookupGuard | None = None) -> Identity:
        """The caller presenting `presented`; `guard` limits API keys looked up in the database."""
        if presented.startswith(f"{_KEY_PREFIX}_"):
            return await self._identify_key(presented, guard)
        return await self._identify_operator(presented)

    async def _identify_key(self, presented: str, guard: KeyLookupGuard | None) -> Identity:
        remembered = self._keys.fresh(presented)
        if remembered is not None:
            caller = remembered[0]
        else:
            if guard is not None:
                await guard.before_lookup()
            caller = await self._keys.get(presented, self._lookup_key)
            if caller is None and guard is not None:
                await guard.after_unknown()
        if caller is None:
            raise InvalidCredentials("The API key is unknown or revoked.")
        return caller

    async def _identify_operator(self, presented: str) -> Identity:
        claims = self.tokens.verify(presented)
        state = await self._operators.get(claims.operator_id, self._lookup_operator)
        if state is None or str(state.tenant_id) != claims.tenant_id or claims.issued_at < state.tokens_valid_after:
            raise InvalidCredentials("The access token was revoked; sign in again.")
        # The operator's roles now, not when the token was issued: a demotion applies at once.
        return Identity(
            tenant_id=claims.tenant_id,
            principal=f"operator:{claims.operator_id}",
            roles=state.roles,
            permissions=permissions_of(state.roles),
        )

    async def _lookup_key(self, presented: str) -> Identity | None:
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
            permissions=permissions_of(key.roles, key.scopes),
        )

    async def _lookup_operator(self, operator_id: uuid.UUID) -> _OperatorState | None:
        async with self.sessionmaker() as session:
            operator = await session.get(Operator, operator_id)
        if operator is None or operator.disabled_at is not None:
            return None
        return _OperatorState(operator.tenant_id, tuple(operator.roles), operator.tokens_valid_after)


class _Recall(Generic[K, V]):
    """Answers remembered for `ttl_seconds`, each looked up once however many requests ask at once:
    when a popular key's answer expires under load, one lookup runs and the others wait for it,
    rather than every request taking a database connection at the same moment.

    At most `max_entries` answers, the least recently used forgotten first: memory stays bounded
    under a flood of made-up credentials, and the credentials in use stay remembered through it.
    """

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._answers: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._pending: dict[K, asyncio.Future[V]] = {}

    def fresh(self, key: K) -> tuple[V] | None:
        """The remembered answer (in a 1-tuple, as it may be None itself), if it is still fresh."""
        answer = self._answers.get(key)
        if answer is None or time.monotonic() - answer[0] > self.ttl_seconds:
            return None
        self._answers.move_to_end(key)
        return (answer[1],)

    async def get(self, key: K, lookup: Callable[[K], Awaitable[V]]) -> V:
        remembered = self.fresh(key)
        if remembered is not None:
            return remembered[0]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(key, lookup))
            self._pending[key] = pending
        # Shielded: a waiter cancelled (its client went away) must not cancel the others' lookup.
        return await asyncio.shield(pending)

    async def _look_up(self, key: K, lookup: Callable[[K], Awaitable[V]]) -> V:
        try:
            value = await lookup(key)
        finally:
            del self._pending[key]
        self._answers[key] = (time.monotonic(), value)
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)
        return value

"""Recognising a caller by API key or operator access token."""

import asyncio
import hmac
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway_svc.access import permissions_of
from gateway_svc.accounts.models import ApiKey, Operator
from gateway_svc.accounts.service import API_KEY_PREFIX, hash_secret
from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.exceptions import InvalidCredentials
from qunyun_shared.identity import Identity

K = TypeVar("K")
V = TypeVar("V")


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
        if presented.startswith(f"{API_KEY_PREFIX}_"):
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
        if prefix != API_KEY_PREFIX or not key_id or not secret:
            return None
        async with self.sessionmaker() as session:
            key = await session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
        if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
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

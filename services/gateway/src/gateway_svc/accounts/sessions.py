"""Signing in, refreshing and signing out: refresh tokens rotate, and a reused one ends its session."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.accounts.models import Operator, RefreshToken
from gateway_svc.accounts.passwords import hash_password, needs_rehash, verify_password
from gateway_svc.accounts.schemas import TokenPair
from gateway_svc.accounts.tokens import AccessTokens

_PREFIX = "qr"


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a refresh was refused; what it did (revoking a stolen token's session) must still commit."""

    reason: str


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()  # 256 random bits: a fast hash is safe


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def sign_in(
    *, session: AsyncSession, tokens: AccessTokens, email: str, password: str, refresh_ttl: timedelta, now: datetime
) -> TokenPair | Refused:
    """A fresh session for an enabled operator whose password matches."""
    operator = await session.scalar(select(Operator).where(Operator.email == normalise_email(email)))
    if not await verify_password(password_hash=operator.password_hash if operator else None, password=password):
        return Refused("The email or password is wrong.")
    assert operator is not None
    if operator.disabled_at is not None:
        return Refused("The email or password is wrong.")  # no hint that the account exists
    if needs_rehash(operator.password_hash):
        operator.password_hash = await hash_password(password=password)
    return await start(session=session, tokens=tokens, operator=operator, refresh_ttl=refresh_ttl, now=now)


async def start(
    *, session: AsyncSession, tokens: AccessTokens, operator: Operator, refresh_ttl: timedelta, now: datetime
) -> TokenPair:
    """A new session (a new refresh-token family) for an operator already authenticated."""
    return await _issue(session, tokens, operator, family_id=secrets.token_hex(8), ttl=refresh_ttl, now=now)


async def refresh(
    *, session: AsyncSession, tokens: AccessTokens, presented: str, refresh_ttl: timedelta, now: datetime
) -> TokenPair | Refused:
    """The next pair of the session; the presented token is used up."""
    link = await _find(session, presented)
    if link is None or link.revoked_at is not None or link.expires_at <= now:
        return Refused("The refresh token is unknown, expired or revoked.")
    if link.used_at is not None:
        # Only a copy can be presented twice: end the session for the thief and the owner alike.
        await _revoke_family(session, link.family_id, now)
        return Refused("The refresh token was already used; the session is ended.")
    operator = await session.get(Operator, link.operator_id)
    if operator is None or operator.disabled_at is not None:
        return Refused("The account is disabled.")
    link.used_at = now
    return await _issue(session, tokens, operator, family_id=link.family_id, ttl=refresh_ttl, now=now)


async def sign_out(*, session: AsyncSession, presented: str, now: datetime) -> None:
    """Ends the session the refresh token belongs to; an unknown token ends nothing."""
    link = await _find(session, presented)
    if link is not None:
        await _revoke_family(session, link.family_id, now)


async def end_all_sessions(*, session: AsyncSession, operator: Operator, now: datetime) -> None:
    """Revokes every refresh token and, from `now`, every access token of the operator."""
    operator.tokens_valid_after = now
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.operator_id == operator.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def _issue(
    session: AsyncSession, tokens: AccessTokens, operator: Operator, *, family_id: str, ttl: timedelta, now: datetime
) -> TokenPair:
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            id=token_id,
            family_id=family_id,
            operator_id=operator.id,
            secret_hash=_hash(secret),
            issued_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    access = tokens.issue(operator_id=operator.id, tenant_id=operator.tenant_id, roles=operator.roles, now=now)
    return TokenPair(
        access_token=access,
        expires_in=int(tokens.ttl.total_seconds()),
        refresh_token=f"{_PREFIX}_{token_id}_{secret}",
    )


async def _find(session: AsyncSession, presented: str) -> RefreshToken | None:
    prefix, _, rest = presented.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != _PREFIX or not token_id or not secret:
        return None
    link = await session.get(RefreshToken, token_id, with_for_update=True)
    if link is None or not hmac.compare_digest(link.secret_hash, _hash(secret)):
        return None
    return link


async def _revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )

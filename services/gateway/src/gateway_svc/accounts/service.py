"""A tenant's operators (inviting them, changing their roles, disabling them, their passwords) and its API keys
(issued within what the issuer holds, listed, revoked)."""

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.access import permissions_of, require_grantable, unknown_permissions
from gateway_svc.accounts.models import ApiKey, Operator
from gateway_svc.accounts.passwords import hash_password, verify_password
from gateway_svc.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    OperatorCreate,
    OperatorRead,
    OperatorUpdate,
)
from gateway_svc.accounts.sessions import end_all_sessions, normalise_email
from gateway_svc.exceptions import (
    ApiKeyNotFound,
    EmailTaken,
    OperatorNotFound,
    OperatorSelfChange,
    UnknownPermission,
    WrongPassword,
)
from qunyun_shared.identity import Identity

# API keys are `qk_<id>_<secret>`.
API_KEY_PREFIX = "qk"


def hash_secret(secret: str) -> bytes:
    """What is kept of an API key's secret: 256 random bits, so a fast hash is safe (unlike for passwords)."""
    return hashlib.sha256(secret.encode()).digest()


def read_operator(operator: Operator) -> OperatorRead:
    return OperatorRead(
        id=operator.id,
        email=operator.email,
        display_name=operator.display_name,
        roles=operator.roles,
        disabled=operator.disabled_at is not None,
        created_at=operator.created_at,
    )


async def create_operator(
    *, session: AsyncSession, tenant_id: uuid.UUID, operator_in: OperatorCreate, grantor: Identity | None
) -> Operator:
    """Adds an operator to the tenant; `grantor` None is the platform onboarding the tenant's owner."""
    roles = [str(role) for role in operator_in.roles]
    if grantor is not None:
        require_grantable(grantor, permissions_of(roles))
    operator = Operator(
        tenant_id=tenant_id,
        email=normalise_email(operator_in.email),
        display_name=operator_in.display_name,
        password_hash=await hash_password(password=operator_in.password),
        roles=roles,
    )
    session.add(operator)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise EmailTaken(f"An operator with the email {operator.email} exists already.") from None
    await session.refresh(operator)
    return operator


async def list_operators(*, session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[Operator]:
    """The tenant's operators, oldest first."""
    rows = await session.scalars(
        select(Operator).where(Operator.tenant_id == tenant_id).order_by(Operator.created_at, Operator.id)
    )
    return rows.all()


async def get_operator(*, session: AsyncSession, tenant_id: uuid.UUID, operator_id: uuid.UUID) -> Operator:
    """The tenant's operator, or 404 (also for another tenant's, whose existence is not revealed)."""
    operator = await session.get(Operator, operator_id, with_for_update=True)
    if operator is None or operator.tenant_id != tenant_id:
        raise OperatorNotFound(f"No operator {operator_id}.")
    return operator


async def update_operator(
    *, session: AsyncSession, operator: Operator, change: OperatorUpdate, grantor: Identity, now: datetime
) -> Operator:
    """Renames, re-roles or disables; a new role or disabling takes effect on the next request."""
    if grantor.principal == f"operator:{operator.id}" and (change.roles is not None or change.disabled):
        raise OperatorSelfChange("Operators cannot change their own roles or disable themselves.")
    # Changing someone who holds more than the grantor would be an escalation too.
    require_grantable(grantor, permissions_of(operator.roles))
    if change.display_name is not None:
        operator.display_name = change.display_name
    if change.roles is not None:
        roles = [str(role) for role in change.roles]
        require_grantable(grantor, permissions_of(roles))
        operator.roles = roles
        await end_all_sessions(session=session, operator=operator, now=now)
    if change.disabled is True and operator.disabled_at is None:
        operator.disabled_at = now
        await end_all_sessions(session=session, operator=operator, now=now)
    elif change.disabled is False:
        operator.disabled_at = None
    await session.flush()
    return operator


async def change_password(
    *, session: AsyncSession, operator: Operator, current_password: str, new_password: str, now: datetime
) -> None:
    """Sets a new password after checking the current one; every session of the operator ends."""
    if not await verify_password(password_hash=operator.password_hash, password=current_password):
        raise WrongPassword("The current password is wrong.")
    operator.password_hash = await hash_password(password=new_password)
    await end_all_sessions(session=session, operator=operator, now=now)


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
        secret_hash=hash_secret(secret),
        roles=roles,
        scopes=key_in.scopes,
        created_by=issuer.principal if issuer else None,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return ApiKeyIssued(**read_api_key(key).model_dump(), api_key=f"{API_KEY_PREFIX}_{key_id}_{secret}")


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

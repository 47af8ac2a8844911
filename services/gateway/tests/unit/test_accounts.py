"""Operator accounts, sessions and scoped API keys, without HTTP."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway_svc import access
from gateway_svc.accounts import service as accounts
from gateway_svc.accounts import sessions
from gateway_svc.accounts.callers import CallerResolver
from gateway_svc.accounts.models import Operator
from gateway_svc.accounts.schemas import ApiKeyCreate, ApiKeyIssued, OperatorCreate, OperatorUpdate, TokenPair
from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.exceptions import (
    ApiKeyNotFound,
    EmailTaken,
    InvalidCredentials,
    OperatorNotFound,
    OperatorSelfChange,
    UnknownPermission,
    WrongPassword,
)
from gateway_svc.models import Base
from gateway_svc.tenants import service as tenants
from gateway_svc.tenants.schemas import TenantCreate
from qunyun_shared.identity import Identity
from qunyun_shared.testing import in_memory_database

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery staple"
REFRESH_TTL = timedelta(days=30)


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with in_memory_database(Base.metadata) as engine:
        yield engine


@pytest.fixture
def tokens() -> AccessTokens:
    return AccessTokens("platform-secret-" * 4, ttl=timedelta(minutes=15))


async def onboard(engine: AsyncEngine, email: str = "owner@acme.example") -> uuid.UUID:
    owner = OperatorCreate(email=email, display_name="Owner", password=PASSWORD, roles=["owner"])
    async with AsyncSession(engine) as session, session.begin():
        created = await tenants.create_tenant(
            session=session, tenant_in=TenantCreate(name=f"Acme {uuid.uuid4().hex[:6]}", owner=owner)
        )
    return created.tenant_id


async def sign_in(engine: AsyncEngine, tokens: AccessTokens, email: str, password: str = PASSWORD) -> TokenPair:
    async with AsyncSession(engine) as session, session.begin():
        outcome = await sessions.sign_in(
            session=session, tokens=tokens, email=email, password=password, refresh_ttl=REFRESH_TTL, now=_now()
        )
    assert isinstance(outcome, TokenPair), outcome
    return outcome


async def refresh(engine: AsyncEngine, tokens: AccessTokens, presented: str) -> TokenPair | sessions.Refused:
    async with AsyncSession(engine) as session, session.begin():
        return await sessions.refresh(
            session=session, tokens=tokens, presented=presented, refresh_ttl=REFRESH_TTL, now=_now()
        )


def resolver(engine: AsyncEngine, tokens: AccessTokens) -> CallerResolver:
    return CallerResolver(async_sessionmaker(engine), tokens, ttl_seconds=0)


def _now() -> datetime:
    return datetime.now(UTC)


async def test_an_operator_signs_in_and_is_the_tenants_owner(engine: AsyncEngine, tokens: AccessTokens) -> None:
    tenant_id = await onboard(engine)
    pair = await sign_in(engine, tokens, "Owner@Acme.example")  # emails compare case-insensitively
    caller = await resolver(engine, tokens).identify(pair.access_token)
    assert caller.tenant_id == str(tenant_id)
    assert caller.principal.startswith("operator:") and caller.permissions == {"*"}
    assert pair.expires_in == 15 * 60


@pytest.mark.parametrize(
    ("email", "password"), [("owner@acme.example", "wrong password!"), ("nobody@x.example", PASSWORD)]
)
async def test_a_wrong_email_or_password_is_refused_alike(
    engine: AsyncEngine, tokens: AccessTokens, email: str, password: str
) -> None:
    await onboard(engine)
    async with AsyncSession(engine) as session, session.begin():
        outcome = await sessions.sign_in(
            session=session, tokens=tokens, email=email, password=password, refresh_ttl=REFRESH_TTL, now=_now()
        )
    assert outcome == sessions.Refused("The email or password is wrong.")


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(
    engine: AsyncEngine, tokens: AccessTokens
) -> None:
    await onboard(engine)
    first = await sign_in(engine, tokens, "owner@acme.example")
    second = await refresh(engine, tokens, first.refresh_token)
    assert isinstance(second, TokenPair) and second.refresh_token != first.refresh_token
    # The first token, presented again, can only be a stolen copy: the whole session ends...
    assert isinstance(await refresh(engine, tokens, first.refresh_token), sessions.Refused)
    # ...including the legitimate holder's newer token.
    assert isinstance(await refresh(engine, tokens, second.refresh_token), sessions.Refused)
    # Another session of the same operator is untouched.
    other = await sign_in(engine, tokens, "owner@acme.example")
    assert isinstance(await refresh(engine, tokens, other.refresh_token), TokenPair)


async def test_sign_out_ends_the_session(engine: AsyncEngine, tokens: AccessTokens) -> None:
    await onboard(engine)
    pair = await sign_in(engine, tokens, "owner@acme.example")
    async with AsyncSession(engine) as session, session.begin():
        await sessions.sign_out(session=session, presented=pair.refresh_token, now=_now())
    assert isinstance(await refresh(engine, tokens, pair.refresh_token), sessions.Refused)


@pytest.mark.parametrize(
    "forge",
    [
        lambda key, claims: jwt.encode(claims, "another key of the same length as the real one", algorithm="HS256"),
        lambda key, claims: jwt.encode(claims, None, algorithm="none"),
        lambda key, claims: jwt.encode(claims | {"aud": "qunyun-internal"}, key, algorithm="HS256"),
        lambda key, claims: jwt.encode(claims | {"exp": claims["iat"] - 1}, key, algorithm="HS256"),
        lambda key, claims: jwt.encode(claims, key * 2, algorithm="HS512"),
    ],
    ids=["wrong key", "alg none", "wrong audience", "expired", "other algorithm"],
)
async def test_forged_or_expired_access_tokens_are_refused(tokens: AccessTokens, forge) -> None:  # type: ignore[no-untyped-def]
    genuine = tokens.issue(operator_id=uuid.uuid4(), tenant_id=uuid.uuid4(), roles=["owner"], now=_now())
    claims = jwt.decode(genuine, options={"verify_signature": False})
    with pytest.raises(InvalidCredentials):
        tokens.verify(forge(tokens._key, claims))


async def test_changing_the_password_revokes_access_tokens_issued_before(
    engine: AsyncEngine, tokens: AccessTokens
) -> None:
    tenant_id = await onboard(engine)
    before = await sign_in(engine, tokens, "owner@acme.example")
    caller = await resolver(engine, tokens).identify(before.access_token)
    async with AsyncSession(engine) as session, session.begin():
        operator = await accounts.get_operator(
            session=session, tenant_id=tenant_id, operator_id=uuid.UUID(caller.principal.split(":")[1])
        )
        with pytest.raises(WrongPassword):
            await accounts.change_password(
                session=session, operator=operator, current_password="not it", new_password="x" * 12, now=_now()
            )
        await accounts.change_password(
            session=session,
            operator=operator,
            current_password=PASSWORD,
            new_password="a new long password",
            now=_now(),
        )
    with pytest.raises(InvalidCredentials):
        await resolver(engine, tokens).identify(before.access_token)
    assert isinstance(await refresh(engine, tokens, before.refresh_token), sessions.Refused)
    after = await sign_in(engine, tokens, "owner@acme.example", "a new long password")
    assert (await resolver(engine, tokens).identify(after.access_token)).tenant_id == str(tenant_id)


async def invite(
    engine: AsyncEngine, tenant_id: uuid.UUID, grantor: Identity, email: str, roles: list[str]
) -> Operator:
    body = OperatorCreate(email=email, display_name="Someone", password=PASSWORD, roles=roles)  # type: ignore[arg-type]
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return await accounts.create_operator(session=session, tenant_id=tenant_id, operator_in=body, grantor=grantor)


def admin_of(tenant_id: uuid.UUID) -> Identity:
    return Identity(str(tenant_id), "operator:admin", ("admin",), access.permissions_of(["admin"]))


async def test_no_one_grants_more_than_they_hold(engine: AsyncEngine, tokens: AccessTokens) -> None:
    tenant_id = await onboard(engine)
    admin = admin_of(tenant_id)
    await invite(engine, tenant_id, admin, "op@acme.example", ["operator"])
    with pytest.raises(access.PermissionDenied):
        await invite(engine, tenant_id, admin, "owner2@acme.example", ["owner"])
    with pytest.raises(EmailTaken):
        await invite(engine, tenant_id, admin, "OP@acme.example", ["analyst"])


async def test_a_demoted_or_disabled_operator_loses_access_at_once(engine: AsyncEngine, tokens: AccessTokens) -> None:
    tenant_id = await onboard(engine)
    admin = admin_of(tenant_id)
    invited = await invite(engine, tenant_id, admin, "op@acme.example", ["operator"])
    pair = await sign_in(engine, tokens, "op@acme.example")
    assert "members:write" in (await resolver(engine, tokens).identify(pair.access_token)).permissions

    async with AsyncSession(engine) as session, session.begin():
        operator = await accounts.get_operator(session=session, tenant_id=tenant_id, operator_id=invited.id)
        await accounts.update_operator(
            session=session,
            operator=operator,
            change=OperatorUpdate(roles=["analyst"]),
            grantor=admin,
            now=_now(),  # type: ignore[list-item]
        )
    with pytest.raises(InvalidCredentials):  # tokens from before the change are revoked
        await resolver(engine, tokens).identify(pair.access_token)
    pair = await sign_in(engine, tokens, "op@acme.example")
    assert "members:write" not in (await resolver(engine, tokens).identify(pair.access_token)).permissions

    async with AsyncSession(engine) as session, session.begin():
        operator = await accounts.get_operator(session=session, tenant_id=tenant_id, operator_id=invited.id)
        await accounts.update_operator(
            session=session, operator=operator, change=OperatorUpdate(disabled=True), grantor=admin, now=_now()
        )
    with pytest.raises(InvalidCredentials):
        await resolver(engine, tokens).identify(pair.access_token)
    async with AsyncSession(engine) as session, session.begin():
        refused = await sessions.sign_in(
            session=session,
            tokens=tokens,
            email="op@acme.example",
            password=PASSWORD,
            refresh_ttl=REFRESH_TTL,
            now=_now(),
        )
    assert isinstance(refused, sessions.Refused)


async def test_operators_cannot_change_their_own_roles(engine: AsyncEngine) -> None:
    tenant_id = await onboard(engine)
    invited = await invite(engine, tenant_id, admin_of(tenant_id), "adm@acme.example", ["admin"])
    myself = Identity(str(tenant_id), f"operator:{invited.id}", ("admin",), access.permissions_of(["admin"]))
    async with AsyncSession(engine) as session, session.begin():
        operator = await accounts.get_operator(session=session, tenant_id=tenant_id, operator_id=invited.id)
        with pytest.raises(OperatorSelfChange):
            await accounts.update_operator(
                session=session, operator=operator, change=OperatorUpdate(disabled=True), grantor=myself, now=_now()
            )


async def test_another_tenants_operator_is_not_found(engine: AsyncEngine) -> None:
    tenant_id = await onboard(engine)
    invited = await invite(engine, tenant_id, admin_of(tenant_id), "op@acme.example", ["operator"])
    other = await onboard(engine, "owner@other.example")
    async with AsyncSession(engine) as session:
        with pytest.raises(OperatorNotFound):
            await accounts.get_operator(session=session, tenant_id=other, operator_id=invited.id)


async def issue(
    engine: AsyncEngine, tenant_id: uuid.UUID, issuer: Identity, roles: list[str], scopes: list[str] | None = None
) -> ApiKeyIssued:
    async with AsyncSession(engine) as session, session.begin():
        return await accounts.issue_api_key(
            session=session,
            tenant_id=tenant_id,
            key_in=ApiKeyCreate(name="shop sync", roles=roles, scopes=scopes),  # type: ignore[arg-type]
            issuer=issuer,
        )


async def test_api_keys_are_scoped_within_their_roles(engine: AsyncEngine, tokens: AccessTokens) -> None:
    tenant_id = await onboard(engine)
    admin = admin_of(tenant_id)
    issued = await issue(engine, tenant_id, admin, ["integration"], ["orders:write"])
    caller = await resolver(engine, tokens).identify(issued.api_key)
    assert caller.permissions == {"orders:write"} and issued.permissions == ["orders:write"]
    # A scope outside the key's roles is simply not granted.
    narrowed = await issue(engine, tenant_id, admin, ["integration"], ["orders:write", "analytics:read"])
    assert (await resolver(engine, tokens).identify(narrowed.api_key)).permissions == {"orders:write"}
    with pytest.raises(UnknownPermission):
        await issue(engine, tenant_id, admin, ["integration"], ["orders:steal"])
    analyst = Identity(str(tenant_id), "operator:a", ("analyst",), access.permissions_of(["analyst"]))
    with pytest.raises(access.PermissionDenied):
        await issue(engine, tenant_id, analyst, ["integration"])


async def test_a_revoked_key_identifies_nobody(engine: AsyncEngine, tokens: AccessTokens) -> None:
    tenant_id = await onboard(engine)
    issued = await issue(engine, tenant_id, admin_of(tenant_id), ["integration"])
    other = await onboard(engine, "owner@other.example")
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(ApiKeyNotFound):  # another tenant's key is not found, not forbidden
            await accounts.revoke_api_key(session=session, tenant_id=other, key_id=issued.id, now=_now())
        await accounts.revoke_api_key(session=session, tenant_id=tenant_id, key_id=issued.id, now=_now())
    with pytest.raises(InvalidCredentials):
        await resolver(engine, tokens).identify(issued.api_key)

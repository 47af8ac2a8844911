"""Routes of a tenant's accounts: operators signing in (access and refresh tokens, signing out, changing a
password), its operator accounts (`operators:manage`) and its API keys (`api_keys:manage`), issued (shown
once), listed and revoked."""

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, status

from gateway_svc import access
from gateway_svc.accounts import service as accounts
from gateway_svc.accounts import sessions
from gateway_svc.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    OperatorCreate,
    OperatorRead,
    OperatorUpdate,
    PasswordChange,
    RefreshRequest,
    SignIn,
    TokenPair,
    WhoAmI,
)
from gateway_svc.dependencies import Caller, RateLimitsDep, Runtime, TenantRoute, Tokens
from gateway_svc.exceptions import InvalidCredentials
from qunyun_shared import problem_responses
from qunyun_shared.dependencies import DbSession

# Sign-in and token routes take no Idempotency-Key: their answers are credentials for whoever presents them.
auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
operators_router = APIRouter(prefix="/api/v1/operators", tags=["operators"], route_class=TenantRoute)
api_keys_router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"], route_class=TenantRoute)
_HASHING_BUSY = "Too many passwords are being checked at once: retry in a second."
_HASHING_BUSY_RESPONSES = problem_responses.of(503, s503=_HASHING_BUSY)


def _refresh_ttl(runtime: Runtime) -> timedelta:
    return timedelta(days=runtime.settings.refresh_token_ttl_days)


@auth_router.post(
    "/login",
    response_model=TokenPair,
    responses=problem_responses.of(
        401, 429, 503, s401="Wrong email or password, or the operator is disabled.", s503=_HASHING_BUSY
    ),
)
async def login(
    body: SignIn, request: Request, runtime: Runtime, tokens: Tokens, rate_limits: RateLimitsDep
) -> TokenPair:
    await rate_limits.admit_sign_in(request, sessions.normalise_email(body.email))
    async with runtime.sessionmaker() as session, session.begin():
        outcome = await sessions.sign_in(
            session=session,
            tokens=tokens,
            email=body.email,
            password=body.password,
            refresh_ttl=_refresh_ttl(runtime),
            now=datetime.now(UTC),
        )
    if isinstance(outcome, sessions.Refused):
        raise InvalidCredentials(outcome.reason)
    return outcome


@auth_router.post("/refresh", response_model=TokenPair, responses=problem_responses.of(401))
async def refresh(body: RefreshRequest, runtime: Runtime, tokens: Tokens) -> TokenPair:
    # A refusal may have revoked a stolen token's session: that commits before the 401 is raised.
    async with runtime.sessionmaker() as session, session.begin():
        outcome = await sessions.refresh(
            session=session,
            tokens=tokens,
            presented=body.refresh_token,
            refresh_ttl=_refresh_ttl(runtime),
            now=datetime.now(UTC),
        )
    if isinstance(outcome, sessions.Refused):
        raise InvalidCredentials(outcome.reason)
    return outcome


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshRequest, session: DbSession) -> None:
    await sessions.sign_out(session=session, presented=body.refresh_token, now=datetime.now(UTC))


@auth_router.get("/me", response_model=WhoAmI)
async def me(caller: Caller) -> WhoAmI:
    return WhoAmI(
        tenant_id=caller.tenant_id,
        principal=caller.principal,
        roles=list(caller.roles),
        permissions=sorted(caller.permissions),
    )


@auth_router.post("/password", response_model=TokenPair, responses=_HASHING_BUSY_RESPONSES)
async def change_password(
    body: PasswordChange, caller: Caller, session: DbSession, runtime: Runtime, tokens: Tokens
) -> TokenPair:
    """Every session of the operator ends; the answer is a new one for the caller."""
    kind, _, operator_id = caller.principal.partition(":")
    if kind != "operator":
        raise InvalidCredentials("Only an operator signed in with an access token has a password to change.")
    operator = await accounts.get_operator(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), operator_id=uuid.UUID(operator_id)
    )
    now = datetime.now(UTC)
    await accounts.change_password(
        session=session,
        operator=operator,
        current_password=body.current_password,
        new_password=body.new_password,
        now=now,
    )
    return await sessions.start(
        session=session, tokens=tokens, operator=operator, refresh_ttl=_refresh_ttl(runtime), now=now
    )


@operators_router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=OperatorRead, responses=_HASHING_BUSY_RESPONSES
)
async def create_operator(body: OperatorCreate, caller: Caller, session: DbSession) -> OperatorRead:
    access.require(caller, "operators:manage")
    operator = await accounts.create_operator(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), operator_in=body, grantor=caller
    )
    return accounts.read_operator(operator)


@operators_router.get("", response_model=list[OperatorRead])
async def list_operators(caller: Caller, session: DbSession) -> list[OperatorRead]:
    access.require(caller, "operators:manage")
    return [
        accounts.read_operator(o)
        for o in await accounts.list_operators(session=session, tenant_id=uuid.UUID(caller.tenant_id))
    ]


@operators_router.get("/{operator_id}", response_model=OperatorRead)
async def get_operator(operator_id: uuid.UUID, caller: Caller, session: DbSession) -> OperatorRead:
    access.require(caller, "operators:manage")
    operator = await accounts.get_operator(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), operator_id=operator_id
    )
    return accounts.read_operator(operator)


@operators_router.patch("/{operator_id}", response_model=OperatorRead, responses=_HASHING_BUSY_RESPONSES)
async def update_operator(
    operator_id: uuid.UUID, body: OperatorUpdate, caller: Caller, session: DbSession
) -> OperatorRead:
    access.require(caller, "operators:manage")
    operator = await accounts.get_operator(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), operator_id=operator_id
    )
    updated = await accounts.update_operator(
        session=session, operator=operator, change=body, grantor=caller, now=datetime.now(UTC)
    )
    return accounts.read_operator(updated)


@api_keys_router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyIssued)
async def issue_api_key(body: ApiKeyCreate, caller: Caller, session: DbSession) -> ApiKeyIssued:
    access.require(caller, "api_keys:manage")
    return await accounts.issue_api_key(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), key_in=body, issuer=caller
    )


@api_keys_router.get("", response_model=list[ApiKeyRead])
async def list_api_keys(caller: Caller, session: DbSession) -> list[ApiKeyRead]:
    access.require(caller, "api_keys:manage")
    keys = await accounts.list_api_keys(session=session, tenant_id=uuid.UUID(caller.tenant_id))
    return [accounts.read_api_key(key) for key in keys]


@api_keys_router.delete("/{key_id}", response_model=ApiKeyRead)
async def revoke_api_key(key_id: str, caller: Caller, session: DbSession) -> ApiKeyRead:
    """Revoked at once in the database; each gateway replica stops honouring it within the credential cache."""
    access.require(caller, "api_keys:manage")
    key = await accounts.revoke_api_key(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), key_id=key_id, now=datetime.now(UTC)
    )
    return accounts.read_api_key(key)

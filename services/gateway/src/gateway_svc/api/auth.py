"""Operators signing in: access and refresh tokens, signing out, changing a password."""

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, status

from gateway_svc.accounts import operators, sessions
from gateway_svc.accounts.schemas import PasswordChange, RefreshRequest, SignIn, TokenPair, WhoAmI
from gateway_svc.config import Settings
from gateway_svc.dependencies import Caller, RateLimitsDep, Tokens
from gateway_svc.exceptions import InvalidCredentials
from qunyun_shared import problem_responses
from qunyun_shared.dependencies import DbSession, Runtime

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
_HASHING_BUSY = "Too many passwords are being checked at once: retry in a second."


def _refresh_ttl(runtime: Runtime) -> timedelta:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return timedelta(days=settings.refresh_token_ttl_days)


@router.post(
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


@router.post("/refresh", response_model=TokenPair, responses=problem_responses.of(401))
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


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshRequest, session: DbSession) -> None:
    await sessions.sign_out(session=session, presented=body.refresh_token, now=datetime.now(UTC))


@router.get("/me", response_model=WhoAmI)
async def me(caller: Caller) -> WhoAmI:
    return WhoAmI(
        tenant_id=caller.tenant_id,
        principal=caller.principal,
        roles=list(caller.roles),
        permissions=sorted(caller.permissions),
    )


@router.post("/password", response_model=TokenPair, responses=problem_responses.of(503, s503=_HASHING_BUSY))
async def change_password(
    body: PasswordChange, caller: Caller, session: DbSession, runtime: Runtime, tokens: Tokens
) -> TokenPair:
    """Every session of the operator ends; the answer is a new one for the caller."""
    kind, _, operator_id = caller.principal.partition(":")
    if kind != "operator":
        raise InvalidCredentials("Only an operator signed in with an access token has a password to change.")
    operator = await operators.get_operator(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), operator_id=uuid.UUID(operator_id)
    )
    now = datetime.now(UTC)
    await operators.change_password(
        session=session,
        operator=operator,
        current_password=body.current_password,
        new_password=body.new_password,
        now=now,
    )
    return await sessions.start(
        session=session, tokens=tokens, operator=operator, refresh_ttl=_refresh_ttl(runtime), now=now
    )

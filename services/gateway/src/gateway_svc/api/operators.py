"""A tenant's operator accounts, managed by those holding `operators:manage`."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status

from gateway_svc import access
from gateway_svc.accounts import operators
from gateway_svc.accounts.schemas import OperatorCreate, OperatorRead, OperatorUpdate
from gateway_svc.dependencies import Caller
from gateway_svc.idempotency import TenantRoute
from qunyun_shared import problem_responses
from qunyun_shared.dependencies import DbSession

router = APIRouter(prefix="/api/v1/operators", tags=["operators"], route_class=TenantRoute)
_HASHING_BUSY = problem_responses.of(503, s503="Too many passwords are being checked at once: retry in a second.")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OperatorRead, responses=_HASHING_BUSY)
async def create_operator(body: OperatorCreate, caller: Caller, session: DbSession) -> OperatorRead:
    access.require(caller, "operators:manage")
    operator = await operators.create_operator(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), operator_in=body, grantor=caller
    )
    return operators.read(operator)


@router.get("", response_model=list[OperatorRead])
async def list_operators(caller: Caller, session: DbSession) -> list[OperatorRead]:
    access.require(caller, "operators:manage")
    return [
        operators.read(o)
        for o in await operators.list_operators(session=session, tenant_id=uuid.UUID(caller.tenant_id))
    ]


@router.get("/{operator_id}", response_model=OperatorRead)
async def get_operator(operator_id: uuid.UUID, caller: Caller, session: DbSession) -> OperatorRead:
    access.require(caller, "operators:manage")
    operator = await operators.get_operator(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), operator_id=operator_id
    )
    return operators.read(operator)


@router.patch("/{operator_id}", response_model=OperatorRead, responses=_HASHING_BUSY)
async def update_operator(
    operator_id: uuid.UUID, body: OperatorUpdate, caller: Caller, session: DbSession
) -> OperatorRead:
    access.require(caller, "operators:manage")
    operator = await operators.get_operator(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), operator_id=operator_id
    )
    updated = await operators.update_operator(
        session=session, operator=operator, change=body, grantor=caller, now=datetime.now(UTC)
    )
    return operators.read(updated)

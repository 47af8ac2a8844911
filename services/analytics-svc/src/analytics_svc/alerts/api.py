"""Alert rules and the alerts they raised."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from analytics_svc.alerts import service as alerts
from analytics_svc.alerts.schemas import AlertRead, AlertRuleCreate, AlertRuleRead
from analytics_svc.dependencies import IdempotentRoute
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/analytics/alerts", tags=["alerts"], route_class=IdempotentRoute)


@router.post("/rules", status_code=status.HTTP_201_CREATED, summary="Watch a KPI: info, warning or critical")
async def create_rule(body: AlertRuleCreate, session: DbSession, caller: CurrentIdentity) -> AlertRuleRead:
    rule = await alerts.create_rule(session=session, tenant_id=caller.tenant_id, rule_in=body, now=datetime.now(UTC))
    return AlertRuleRead.model_validate(rule)


@router.get("/rules")
async def list_rules(session: DbSession, caller: CurrentIdentity) -> list[AlertRuleRead]:
    return [AlertRuleRead.model_validate(r) for r in await alerts.rules_of(session=session, tenant_id=caller.tenant_id)]


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> None:
    await alerts.delete_rule(session=session, tenant_id=caller.tenant_id, rule_id=rule_id)


@router.get("", summary="Alerts raised, newest first")
async def list_alerts(
    session: DbSession,
    caller: CurrentIdentity,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertRead]:
    return [
        AlertRead.model_validate(a)
        for a in await alerts.alerts_of(session=session, tenant_id=caller.tenant_id, open_only=open_only, limit=limit)
    ]

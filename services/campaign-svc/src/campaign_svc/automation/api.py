"""Routes for automation rules, their runs and the ready-made playbooks."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from campaign_svc.automation import service as automation
from campaign_svc.automation.schemas import (
    Playbook,
    PlaybookCreate,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    RunPage,
    RunRead,
    Trigger,
)
from campaign_svc.dependencies import IdempotentRoute
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/campaigns/automations", tags=["automation"], route_class=IdempotentRoute)

PageSize = Annotated[int, Query(ge=1, le=200)]


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Create a rule: when an event, if conditions, then actions"
)
async def create_rule(body: RuleCreate, session: DbSession, caller: CurrentIdentity) -> RuleRead:
    return RuleRead.model_validate(
        await automation.create_rule(session=session, tenant_id=caller.tenant_id, rule_in=body)
    )


@router.get("", summary="The tenant's rules, newest first")
async def list_rules(session: DbSession, caller: CurrentIdentity, trigger: Trigger | None = None) -> list[RuleRead]:
    return [
        RuleRead.model_validate(rule)
        for rule in await automation.list_rules(session=session, tenant_id=caller.tenant_id, trigger=trigger)
    ]


# Before "/{rule_id}", which would otherwise take "runs" for a rule id.
@router.get("/runs", summary="A member's evaluations by every rule, newest first")
async def member_runs(
    member_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    limit: PageSize = 50,
    cursor: str | None = None,
) -> RunPage:
    runs, next_cursor = await automation.runs_of(
        session=session, tenant_id=caller.tenant_id, member_id=member_id, limit=limit, cursor=cursor
    )
    return RunPage(runs=[RunRead.model_validate(run) for run in runs], next_cursor=next_cursor)


@router.post(
    "/playbooks/{playbook}",
    status_code=status.HTTP_201_CREATED,
    summary="Create a ready-made rule: welcome pack, first-order discount, birthday perk or win-back",
)
async def create_playbook(
    playbook: Playbook, body: PlaybookCreate, session: DbSession, caller: CurrentIdentity
) -> RuleRead:
    return RuleRead.model_validate(
        await automation.create_playbook(session=session, tenant_id=caller.tenant_id, playbook=playbook, body=body)
    )


@router.get("/{rule_id}")
async def get_rule(rule_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> RuleRead:
    return RuleRead.model_validate(
        await automation.get_rule(session=session, tenant_id=caller.tenant_id, rule_id=rule_id)
    )


@router.patch("/{rule_id}", summary="Enable or disable a rule")
async def update_rule(rule_id: uuid.UUID, body: RuleUpdate, session: DbSession, caller: CurrentIdentity) -> RuleRead:
    return RuleRead.model_validate(
        await automation.set_enabled(session=session, tenant_id=caller.tenant_id, rule_id=rule_id, enabled=body.enabled)
    )


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a rule; its runs stay logged")
async def delete_rule(rule_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> Response:
    await automation.delete_rule(session=session, tenant_id=caller.tenant_id, rule_id=rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{rule_id}/runs", summary="A rule's evaluations, newest first, each with its outcome and reason")
async def rule_runs(
    rule_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    limit: PageSize = 50,
    cursor: str | None = None,
) -> RunPage:
    runs, next_cursor = await automation.runs_of(
        session=session, tenant_id=caller.tenant_id, rule_id=rule_id, limit=limit, cursor=cursor
    )
    return RunPage(runs=[RunRead.model_validate(run) for run in runs], next_cursor=next_cursor)

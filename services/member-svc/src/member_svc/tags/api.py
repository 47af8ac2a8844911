"""Routes for tags: manual tags on a member, and tag rules (tags members carry exactly while they match the rule)."""

import uuid

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.dependencies import IdempotentRoute
from member_svc.exceptions import TagNotOnMember
from member_svc.members import service as members
from member_svc.tags import service as tags
from member_svc.tags.models import TagRule
from member_svc.tags.schemas import MemberTagRead, TagAdd, TagName, TagRuleBody, TagRuleRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/tags", tags=["tags"], route_class=IdempotentRoute)
# Tags on one member, under the member.
members_router = APIRouter(prefix="/members", tags=["members"], route_class=IdempotentRoute)


@router.get("/rules")
async def list_rules(session: DbSession, caller: CurrentIdentity) -> list[TagRuleRead]:
    return [await _read(session, rule) for rule in await tags.list_rules(session=session, tenant_id=caller.tenant_id)]


@router.post("/rules", status_code=status.HTTP_201_CREATED, summary="Create a rule; matching members are tagged now")
async def create_rule(
    body: TagRuleBody, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> TagRuleRead:
    rule = await tags.create_rule(session=session, outbox=outbox, tenant_id=caller.tenant_id, rule_in=body)
    return await _read(session, rule)


@router.get("/rules/{rule_id}")
async def get_rule(rule_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> TagRuleRead:
    return await _read(session, await tags.get_rule(session=session, tenant_id=caller.tenant_id, rule_id=rule_id))


@router.put("/rules/{rule_id}", summary="Replace a rule; members are re-tagged to match")
async def replace_rule(
    rule_id: uuid.UUID, body: TagRuleBody, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> TagRuleRead:
    rule = await tags.replace_rule(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, rule_id=rule_id, rule_in=body
    )
    return await _read(session, rule)


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a rule and its tag")
async def delete_rule(rule_id: uuid.UUID, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity) -> None:
    await tags.delete_rule(session=session, outbox=outbox, tenant_id=caller.tenant_id, rule_id=rule_id)


@members_router.post("/{member_id}/tags", summary="Put a manual tag on a member")
async def add_tag(
    member_id: uuid.UUID, body: TagAdd, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> list[MemberTagRead]:
    await members.get_active_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    await tags.add_manual(session=session, outbox=outbox, tenant_id=caller.tenant_id, member_id=member_id, tag=body.tag)
    return [
        MemberTagRead.model_validate(t)
        for t in (await tags.tags_of(session=session, member_ids=[member_id]))[member_id]
    ]


@members_router.delete(
    "/{member_id}/tags/{tag}", status_code=status.HTTP_204_NO_CONTENT, summary="Take a manual tag off"
)
async def remove_tag(
    member_id: uuid.UUID, tag: TagName, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> None:
    await members.get_active_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    if not await tags.remove_manual(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, member_id=member_id, tag=tag
    ):
        raise TagNotOnMember(f"Member {member_id} has no manual tag {tag!r}.")


async def _read(session: AsyncSession, rule: TagRule) -> TagRuleRead:
    carrying = await tags.carriers(session=session, tenant_id=rule.tenant_id, tag=rule.tag)
    return TagRuleRead.model_validate(
        {**TagRuleBody.model_validate(rule, from_attributes=True).model_dump(), "id": rule.id, "members": carrying}
    )

"""Entry rules: who may join a community directly, and applications where an operator decides."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import seating
from member_svc.communities.models import Application, Community, Membership, Purchase
from member_svc.communities.schemas import JoinRequest, JoinResult
from member_svc.exceptions import (
    AlreadyApplied,
    ApplicationDecided,
    ApplicationNotFound,
    EntryRefused,
    IncompleteAnswers,
)
from member_svc.members.models import Member
from qunyun_shared.db import upsert
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.outbox import Outbox


async def admit_or_apply(
    *, session: AsyncSession, outbox: Outbox, community: Community, member: Member, join: JoinRequest
) -> JoinResult:
    """Seats a member the rule lets in, files an application where an operator decides, refuses the rest."""
    if community.entry_rule == "approval":
        return await _apply(session, community, join)
    await _check(session, community, member, join)
    return await seating.place(session=session, outbox=outbox, community=community, join=join)


async def decide(
    *,
    session: AsyncSession,
    outbox: Outbox,
    community: Community,
    application_id: uuid.UUID,
    approve: bool,
    reason: str | None,
) -> JoinResult | None:
    """Approves (seating the member as a join would) or rejects a pending application."""
    application = await session.get(Application, application_id, with_for_update=True)
    if application is None or application.community_id != community.id:
        raise ApplicationNotFound(f"No application {application_id} to community {community.id}.")
    if application.status != "pending":
        raise ApplicationDecided(f"Application {application_id} was {application.status} already.")
    application.status, application.reason = ("approved" if approve else "rejected"), reason
    application.decided_at = datetime.now(UTC)
    if not approve:
        return None
    join = JoinRequest(member_id=application.member_id, channel=application.channel, inviter_id=application.inviter_id)
    return await seating.place(session=session, outbox=outbox, community=community, join=join)


async def applications(*, session: AsyncSession, community_id: uuid.UUID, status: str | None) -> list[Application]:
    """A community's applications, oldest first."""
    query = select(Application).where(Application.community_id == community_id).order_by(Application.applied_at)
    if status is not None:
        query = query.where(Application.status == status)
    return list((await session.scalars(query)).all())


async def record_purchases(*, session: AsyncSession, orders: Sequence[tuple[str, OrderPlacedV1]]) -> None:
    """Remembers which products members have ordered; only the first order of each counts."""
    rows = [
        {
            "tenant_id": tenant_id,
            "member_id": order.member_id,
            "product_id": product_id,
            "first_ordered_at": order.placed_at,
        }
        for tenant_id, order in orders
        for product_id in dict.fromkeys(order.product_ids)
    ]
    if rows:
        await session.execute(upsert(session, Purchase.__table__).on_conflict_do_nothing(), rows)


async def _check(session: AsyncSession, community: Community, member: Member, join: JoinRequest) -> None:
    if community.entry_rule == "invite_only":
        inviter_inside = join.inviter_id is not None and (
            await session.get(Membership, (community.id, join.inviter_id)) is not None
        )
        if not inviter_inside:
            raise EntryRefused(
                "This community is invite-only: the inviter must be one of its members.", rule="invite_only"
            )
    elif community.entry_rule == "purchased_product":
        bought = await session.get(Purchase, (member.id, community.entry_product_id))
        if bought is None or bought.tenant_id != community.tenant_id:
            raise EntryRefused(
                f"Only buyers of product {community.entry_product_id} may join.", rule="purchased_product"
            )
    elif community.entry_rule == "min_level" and member.level < (community.entry_min_level or 0):
        raise EntryRefused(f"Members join from level {community.entry_min_level}.", rule="min_level")


async def _apply(session: AsyncSession, community: Community, join: JoinRequest) -> JoinResult:
    questions = {q["id"]: q for q in community.questionnaire}
    unknown = sorted(set(join.answers) - set(questions))
    missing = sorted(q for q, spec in questions.items() if spec.get("required", True) and not join.answers.get(q))
    if unknown or missing:
        raise IncompleteAnswers("Answer the community's questionnaire.", missing=missing, unknown=unknown)
    pending = await session.scalar(
        select(Application.id).where(
            Application.community_id == community.id,
            Application.member_id == join.member_id,
            Application.status == "pending",
        )
    )
    if pending is not None:
        raise AlreadyApplied(f"Member {join.member_id} has a pending application {pending}.")
    application = Application(
        tenant_id=community.tenant_id,
        community_id=community.id,
        member_id=join.member_id,
        channel=join.channel,
        inviter_id=join.inviter_id,
        answers=join.answers,
        status="pending",
        applied_at=datetime.now(UTC),
    )
    session.add(application)
    await session.flush()
    return JoinResult(
        status="pending_approval", community_id=community.id, member_id=join.member_id, application_id=application.id
    )

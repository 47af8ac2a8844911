"""Communities and who is in them. Use cases never commit: the caller's transaction does, with the outbox rows."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import entry, seating
from member_svc.communities.models import Community, Membership, MembershipRecord, WaitlistEntry
from member_svc.communities.schemas import CommunityCreate, CommunityUpdate, JoinRequest, JoinResult
from member_svc.exceptions import (
    AlreadyMember,
    CapacityBelowMembers,
    CommunityArchived,
    CommunityNotFound,
    NotAMember,
)
from member_svc.imported import for_history
from member_svc.members import service as members
from member_svc.referrals import attribution
from qunyun_shared.events.analytics import CommunityStageChangedV1
from qunyun_shared.events.member import CommunityArchivedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox


async def create_community(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, community_in: CommunityCreate
) -> Community:
    """Creates a community for a tenant; one given the time it opened in the past is an imported brand's, and
    its `community.opened` is marked imported."""
    community = Community(tenant_id=tenant_id, member_count=0, **community_in.model_dump())
    announce = for_history(outbox, imported=community_in.opened_at is not None)
    await seating.open_named(session=session, outbox=announce, community=community)
    return community


async def get_community(
    *, session: AsyncSession, tenant_id: str, community_id: uuid.UUID, lock: bool = False
) -> Community:
    """Returns one of the tenant's communities, archived ones included. `lock` holds the row until commit:
    joins, leaves and changes of one community then run one after the other, so a seat that frees up
    always meets the waitlist written before it."""
    community = await session.get(Community, community_id, with_for_update=lock or None, populate_existing=lock)
    if community is None or community.tenant_id != tenant_id:
        raise CommunityNotFound(f"No community {community_id}.")
    return community


async def list_communities(
    *, session: AsyncSession, tenant_id: str, limit: int, after: uuid.UUID | None, include_archived: bool = False
) -> list[Community]:
    """Lists the tenant's communities in id order, `limit` after the cursor."""
    query = select(Community).where(Community.tenant_id == tenant_id).order_by(Community.id).limit(limit)
    if after is not None:
        query = query.where(Community.id > after)
    if not include_archived:
        query = query.where(Community.archived_at.is_(None))
    return list((await session.scalars(query)).all())


async def update_community(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, community_id: uuid.UUID, changes: CommunityUpdate
) -> Community:
    """Changes what an operator may change; capacity never below the members already in, and seats that a
    larger capacity opens go to the waitlist first."""
    community = await get_open_community(session=session, tenant_id=tenant_id, community_id=community_id)
    fields = {
        name: value
        for name, value in changes.model_dump(exclude_unset=True, exclude={"entry"}).items()
        if value is not None
    }
    if changes.entry is not None:
        fields |= changes.entry.model_dump()
    if fields.get("capacity", community.capacity) < community.member_count:
        raise CapacityBelowMembers(f"The community has {community.member_count} members already.")
    for name, value in fields.items():
        setattr(community, name, value)
    await seating.add_named(session=session, community=community)
    while await seating.admit_next_waiting(session=session, outbox=outbox, community=community):
        pass
    return community


async def archive_community(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, community_id: uuid.UUID
) -> Community:
    """Closes a community to joins; its members and history stay."""
    community = await get_open_community(session=session, tenant_id=tenant_id, community_id=community_id)
    community.archived_at = datetime.now(UTC)
    await session.execute(delete(WaitlistEntry).where(WaitlistEntry.community_id == community_id))
    archived = CommunityArchivedV1(community_id=community_id, archived_at=community.archived_at)
    await outbox.add(session, tenant_id=tenant_id, payloads=[archived])
    return community


async def join_community(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, community_id: uuid.UUID, join: JoinRequest
) -> JoinResult:
    """Puts a member into a community; when it is full, onto its waitlist, into a sibling, or nowhere."""
    # Member before community, in every use case that locks both: no two can wait on each other.
    member = await members.get_active_member(session=session, tenant_id=tenant_id, member_id=join.member_id, lock=True)
    community = await get_open_community(session=session, tenant_id=tenant_id, community_id=community_id)
    join = await attribution.resolve_inviter(session=session, tenant_id=tenant_id, join=join)
    if join.inviter_id is not None:
        await attribution.attribute(session=session, member=member, inviter_id=join.inviter_id)
    if await session.get(Membership, (community_id, join.member_id)) is not None:
        raise AlreadyMember(f"Member {join.member_id} is already in community {community_id}.")
    return await entry.admit_or_apply(session=session, outbox=outbox, community=community, member=member, join=join)


async def leave_community(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    community_id: uuid.UUID,
    member_id: uuid.UUID,
    reason: Literal["left", "removed"] = "left",
) -> None:
    """Takes a member out (`left` by themselves, `removed` by an operator); the seat goes to the waitlist's first."""
    community = await get_community(session=session, tenant_id=tenant_id, community_id=community_id, lock=True)
    removed = await session.execute(
        delete(Membership).where(Membership.community_id == community_id, Membership.member_id == member_id)
    )
    if removed.rowcount == 0:  # type: ignore[attr-defined]
        raise NotAMember(f"Member {member_id} is not in community {community_id}.")
    now = datetime.now(UTC)
    await session.execute(
        update(Community)
        .where(Community.id == community_id)
        .values(member_count=Community.member_count - 1)
        .execution_options(synchronize_session=False)
    )
    session.add(
        MembershipRecord(tenant_id=tenant_id, community_id=community_id, member_id=member_id, action=reason, at=now)
    )
    event = MemberLeftV1(member_id=member_id, community_id=community_id, reason=reason, left_at=now)
    await outbox.add(session, tenant_id=tenant_id, payloads=[event])
    if community.archived_at is None:
        await seating.admit_next_waiting(session=session, outbox=outbox, community=community)


async def decide_application(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    community_id: uuid.UUID,
    application_id: uuid.UUID,
    approve: bool,
    reason: str | None,
) -> JoinResult | None:
    """An operator's decision on an application; an approved member is seated as a join would be."""
    community = await get_open_community(session=session, tenant_id=tenant_id, community_id=community_id)
    return await entry.decide(
        session=session,
        outbox=outbox,
        community=community,
        application_id=application_id,
        approve=approve,
        reason=reason,
    )


async def record_stages(*, session: AsyncSession, stages: Sequence[tuple[str, CommunityStageChangedV1]]) -> None:
    """Takes on the lifecycle stages analytics-svc has judged, for the tenants' own communities."""
    for tenant_id, change in stages:
        await session.execute(
            update(Community)
            .where(Community.id == change.community_id, Community.tenant_id == tenant_id)
            .values(stage=change.to_stage)
            .execution_options(synchronize_session=False)
        )


async def get_open_community(
    *, session: AsyncSession, tenant_id: str, community_id: uuid.UUID, lock: bool = True
) -> Community:
    """Returns one of the tenant's communities still open to joins, locked as `get_community` does unless
    `lock` is false."""
    community = await get_community(session=session, tenant_id=tenant_id, community_id=community_id, lock=lock)
    if community.archived_at is not None:
        raise CommunityArchived(f"Community {community_id} is archived.")
    return community


async def membership_records(*, session: AsyncSession, member_id: uuid.UUID) -> list[MembershipRecord]:
    """A member's joins, rejoins, leaves and removals, oldest first."""
    query = select(MembershipRecord).where(MembershipRecord.member_id == member_id).order_by(MembershipRecord.at)
    return list((await session.scalars(query)).all())

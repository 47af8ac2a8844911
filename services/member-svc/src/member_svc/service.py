"""member-svc use cases. They never commit: the caller's transaction does, with the outbox rows."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.exceptions import (
    AlreadyMember,
    CommunityFull,
    CommunityNameTaken,
    CommunityNotFound,
    NotAMember,
    SelfInvite,
)
from member_svc.members import get_active_member, get_member
from member_svc.models import Community, Membership
from member_svc.schemas import CommunityCreate, JoinRequest, MembershipRead
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox


async def create_community(*, session: AsyncSession, tenant_id: str, community_in: CommunityCreate) -> Community:
    """Creates a community for a tenant."""
    community = Community(tenant_id=tenant_id, member_count=0, **community_in.model_dump())
    session.add(community)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise CommunityNameTaken(f"The tenant already has a community named {community_in.name!r}.") from None
    return community


async def get_community(*, session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> Community:
    """Returns one of the tenant's communities."""
    community = await session.get(Community, community_id)
    if community is None or community.tenant_id != tenant_id:
        raise CommunityNotFound(f"No community {community_id}.")
    return community


async def list_communities(
    *, session: AsyncSession, tenant_id: str, limit: int, after: uuid.UUID | None
) -> list[Community]:
    """Lists the tenant's communities in id order, `limit` after the cursor."""
    query = select(Community).where(Community.tenant_id == tenant_id).order_by(Community.id).limit(limit)
    if after is not None:
        query = query.where(Community.id > after)
    return list((await session.scalars(query)).all())


async def join_community(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, community_id: uuid.UUID, join: JoinRequest
) -> MembershipRead:
    """Puts a member into a community, claiming a seat, and records `member.joined`."""
    await get_active_member(session=session, tenant_id=tenant_id, member_id=join.member_id)
    if join.inviter_id is not None:
        if join.inviter_id == join.member_id:
            raise SelfInvite("A member cannot invite themselves.")
        await get_member(session=session, tenant_id=tenant_id, member_id=join.inviter_id)
    await _claim_seat(session, tenant_id, community_id)
    membership = MembershipRead(community_id=community_id, joined_at=datetime.now(UTC), **join.model_dump())
    try:
        # A duplicate join fails on the primary key; raising rolls back the seat claimed above too.
        await session.execute(insert(Membership).values(tenant_id=tenant_id, **membership.model_dump()))
    except IntegrityError:
        raise AlreadyMember(f"Member {join.member_id} is already in community {community_id}.") from None
    event = MemberJoinedV1(
        member_id=join.member_id,
        community_id=community_id,
        channel=join.channel,
        inviter_id=join.inviter_id,
        joined_at=membership.joined_at,
    )
    await outbox.add(session, tenant_id=tenant_id, payloads=[event])
    return membership


async def leave_community(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, community_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    """Takes a member out of a community, frees the seat and records `member.left`."""
    await get_community(session=session, tenant_id=tenant_id, community_id=community_id)
    removed = await session.execute(
        delete(Membership).where(Membership.community_id == community_id, Membership.member_id == member_id)
    )
    if removed.rowcount == 0:  # type: ignore[attr-defined]
        raise NotAMember(f"Member {member_id} is not in community {community_id}.")
    await session.execute(
        update(Community).where(Community.id == community_id).values(member_count=Community.member_count - 1)
    )
    event = MemberLeftV1(member_id=member_id, community_id=community_id, reason="left", left_at=datetime.now(UTC))
    await outbox.add(session, tenant_id=tenant_id, payloads=[event])


async def _claim_seat(session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> None:
    # One conditional UPDATE: concurrent joins can never push a community past its capacity.
    claimed = await session.execute(
        update(Community)
        .where(
            Community.id == community_id,
            Community.tenant_id == tenant_id,
            Community.member_count < Community.capacity,
        )
        .values(member_count=Community.member_count + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        await get_community(session=session, tenant_id=tenant_id, community_id=community_id)
        raise CommunityFull(f"Community {community_id} is full.")

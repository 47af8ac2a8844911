"""Communities and who is in them. Use cases never commit: the caller's transaction does, with the outbox rows."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.exceptions import (
    AlreadyMember,
    AlreadyWaitlisted,
    CapacityBelowMembers,
    CommunityArchived,
    CommunityFull,
    CommunityNameTaken,
    CommunityNotFound,
    NotAMember,
    SelfInvite,
)
from member_svc.members import get_active_member, require_personal_data_permission, wipe_personal_data
from member_svc.models import Community, Membership, MembershipRecord, WaitlistEntry
from member_svc.schemas import CommunityCreate, CommunityUpdate, JoinRequest, JoinResult
from qunyun_shared.events.analytics import CommunityStageChangedV1
from qunyun_shared.events.member import MemberErasedV1, MemberJoinedV1, MemberLeftV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox

_MAX_SIBLINGS = 99


async def create_community(*, session: AsyncSession, tenant_id: str, community_in: CommunityCreate) -> Community:
    """Creates a community for a tenant."""
    community = Community(tenant_id=tenant_id, member_count=0, **community_in.model_dump())
    await _add_named(session, community)
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
    community = await _open_community(session, tenant_id, community_id)
    fields = {name: value for name, value in changes.model_dump(exclude_unset=True).items() if value is not None}
    if fields.get("capacity", community.capacity) < community.member_count:
        raise CapacityBelowMembers(f"The community has {community.member_count} members already.")
    for name, value in fields.items():
        setattr(community, name, value)
    await _add_named(session, community)
    while await _admit_next_waiting(session, outbox, community):
        pass
    return community


async def archive_community(*, session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> Community:
    """Closes a community to joins; its members and history stay."""
    community = await _open_community(session, tenant_id, community_id)
    community.archived_at = datetime.now(UTC)
    await session.execute(delete(WaitlistEntry).where(WaitlistEntry.community_id == community_id))
    return community


async def join_community(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, community_id: uuid.UUID, join: JoinRequest
) -> JoinResult:
    """Puts a member into a community; when it is full, onto its waitlist, into a sibling, or nowhere."""
    # Member before community, in every use case that locks both: no two can wait on each other.
    await get_active_member(session=session, tenant_id=tenant_id, member_id=join.member_id, lock=True)
    community = await _open_community(session, tenant_id, community_id)
    if join.inviter_id is not None:
        if join.inviter_id == join.member_id:
            raise SelfInvite("A member cannot invite themselves.")
        await get_active_member(session=session, tenant_id=tenant_id, member_id=join.inviter_id)
    if await session.get(Membership, (community_id, join.member_id)) is not None:
        raise AlreadyMember(f"Member {join.member_id} is already in community {community_id}.")
    if await _claim_seat(session, community_id):
        await session.execute(
            delete(WaitlistEntry).where(
                WaitlistEntry.community_id == community_id, WaitlistEntry.member_id == join.member_id
            )
        )
        await _admit(session, outbox, community, join)
        return JoinResult(status="joined", community_id=community_id, member_id=join.member_id)
    if community.overflow == "waitlist":
        return await _queue(session, community, join)
    if community.overflow == "sibling":
        sibling = await _sibling_with_a_seat(session, community)
        await _admit(session, outbox, sibling, join)
        return JoinResult(status="joined", community_id=sibling.id, member_id=join.member_id)
    raise CommunityFull(f"Community {community_id} is full.")


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
        await _admit_next_waiting(session, outbox, community)


async def erase_member(*, session: AsyncSession, outbox: Outbox, caller: Identity, member_id: uuid.UUID) -> None:
    """Erases a member (PIPL deletion): out of every community and waitlist, personal fields wiped, and
    `member.erased` sent so every other service deletes or anonymises what it holds."""
    require_personal_data_permission(caller, "Erasing a member")
    tenant_id = caller.tenant_id
    member = await get_active_member(session=session, tenant_id=tenant_id, member_id=member_id, lock=True)
    await _remove_everywhere(session, outbox, tenant_id, member_id)
    wipe_personal_data(member)
    await outbox.add(session, tenant_id=tenant_id, payloads=[MemberErasedV1(member_id=member_id)])


async def _remove_everywhere(session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID) -> None:
    await session.execute(delete(WaitlistEntry).where(WaitlistEntry.member_id == member_id))
    communities = (
        await session.scalars(select(Membership.community_id).where(Membership.member_id == member_id))
    ).all()
    for community_id in communities:
        await leave_community(
            session=session,
            outbox=outbox,
            tenant_id=tenant_id,
            community_id=community_id,
            member_id=member_id,
            reason="removed",
        )


async def membership_records(*, session: AsyncSession, member_id: uuid.UUID) -> list[MembershipRecord]:
    """A member's joins, leaves and removals, oldest first."""
    query = select(MembershipRecord).where(MembershipRecord.member_id == member_id).order_by(MembershipRecord.at)
    return list((await session.scalars(query)).all())


async def record_stages(*, session: AsyncSession, stages: Sequence[tuple[str, CommunityStageChangedV1]]) -> None:
    """Takes on the lifecycle stages analytics-svc has judged, for the tenants' own communities."""
    for tenant_id, change in stages:
        await session.execute(
            update(Community)
            .where(Community.id == change.community_id, Community.tenant_id == tenant_id)
            .values(stage=change.to_stage)
            .execution_options(synchronize_session=False)
        )


async def _open_community(session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> Community:
    community = await get_community(session=session, tenant_id=tenant_id, community_id=community_id, lock=True)
    if community.archived_at is not None:
        raise CommunityArchived(f"Community {community_id} is archived.")
    return community


async def _claim_seat(session: AsyncSession, community_id: uuid.UUID) -> bool:
    # One conditional UPDATE: concurrent joins can never push a community past its capacity.
    claimed = await session.execute(
        update(Community)
        .where(Community.id == community_id, Community.member_count < Community.capacity)
        .values(member_count=Community.member_count + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def _admit(session: AsyncSession, outbox: Outbox, community: Community, join: JoinRequest) -> None:
    """Records a member in a community whose seat they hold, and `member.joined`."""
    now = datetime.now(UTC)
    values = {"tenant_id": community.tenant_id, "community_id": community.id, "joined_at": now, **join.model_dump()}
    try:
        # A duplicate fails on the primary key; raising rolls back the seat claimed too.
        await session.execute(insert(Membership).values(**values))
    except IntegrityError:
        raise AlreadyMember(f"Member {join.member_id} is already in community {community.id}.") from None
    before = await session.scalar(
        select(func.count())
        .select_from(MembershipRecord)
        .where(MembershipRecord.community_id == community.id, MembershipRecord.member_id == join.member_id)
    )
    action = "rejoined" if before else "joined"
    session.add(
        MembershipRecord(
            tenant_id=community.tenant_id, community_id=community.id, member_id=join.member_id, action=action, at=now
        )
    )
    event = MemberJoinedV1(
        member_id=join.member_id,
        community_id=community.id,
        channel=join.channel,
        inviter_id=join.inviter_id,
        joined_at=now,
    )
    await outbox.add(session, tenant_id=community.tenant_id, payloads=[event])


async def _queue(session: AsyncSession, community: Community, join: JoinRequest) -> JoinResult:
    session.add(
        WaitlistEntry(
            tenant_id=community.tenant_id, community_id=community.id, queued_at=datetime.now(UTC), **join.model_dump()
        )
    )
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise AlreadyWaitlisted(f"Member {join.member_id} is already waiting for community {community.id}.") from None
    position = await session.scalar(
        select(func.count()).select_from(WaitlistEntry).where(WaitlistEntry.community_id == community.id)
    )
    return JoinResult(
        status="waitlisted", community_id=community.id, member_id=join.member_id, waitlist_position=position
    )


async def _admit_next_waiting(session: AsyncSession, outbox: Outbox, community: Community) -> bool:
    """Gives a free seat to the longest-waiting member; False when there was no seat or no one waiting."""
    waiting = await session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.community_id == community.id).order_by(WaitlistEntry.queued_at)
    )
    for entry in waiting.all():
        if await session.get(Membership, (community.id, entry.member_id)) is not None:
            await session.delete(entry)  # got in some other way meanwhile
            continue
        if not await _claim_seat(session, community.id):
            return False
        await session.delete(entry)
        join = JoinRequest(member_id=entry.member_id, channel=entry.channel, inviter_id=entry.inviter_id)
        await _admit(session, outbox, community, join)
        return True
    return False


async def _sibling_with_a_seat(session: AsyncSession, community: Community) -> Community:
    """The first sibling of the family with a free seat (claimed), opening the next one (…2, …3) if none has.
    The family's root stays locked meanwhile, so concurrent joins fill one new sibling, not one each."""
    root_id = community.sibling_of or community.id
    root = await get_community(session=session, tenant_id=community.tenant_id, community_id=root_id, lock=True)
    siblings = (
        await session.scalars(select(Community).where(Community.sibling_of == root.id).order_by(Community.created_at))
    ).all()
    for sibling in siblings:
        if sibling.archived_at is None and await _claim_seat(session, sibling.id):
            return sibling
    taken = set(
        (
            await session.scalars(
                select(Community.name).where(
                    Community.tenant_id == root.tenant_id, Community.name.startswith(root.name, autoescape=True)
                )
            )
        ).all()
    )
    number = next((n for n in range(2, _MAX_SIBLINGS + 2) if f"{root.name}{n}" not in taken), None)
    if number is None:
        raise CommunityFull(f"Community {root.id} and its siblings are full.")
    sibling = Community(
        tenant_id=root.tenant_id,
        name=f"{root.name}{number}",
        kind=root.kind,
        tier=root.tier,
        capacity=root.capacity,
        member_count=1,
        overflow="sibling",
        sibling_of=root.id,
    )
    await _add_named(session, sibling)
    return sibling


async def _add_named(session: AsyncSession, community: Community) -> None:
    session.add(community)
    try:
        await session.flush()
    except IntegrityError:
        # Raising aborts the request's whole transaction, so no savepoint is needed.
        raise CommunityNameTaken(f"The tenant already has a community named {community.name!r}.") from None

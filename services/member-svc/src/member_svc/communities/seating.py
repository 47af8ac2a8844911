"""Seats: claiming one, admitting a member to it, and what happens when there is none (waitlist,
sibling community, refusal). Callers hold the community row locked (see `service.get_community`)."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities.models import Community, Membership, MembershipRecord, WaitlistEntry
from member_svc.communities.schemas import JoinRequest, JoinResult
from member_svc.exceptions import AlreadyMember, AlreadyWaitlisted, CommunityFull, CommunityNameTaken
from qunyun_shared.events.member import CommunityOpenedV1, MemberJoinedV1
from qunyun_shared.outbox import Outbox

_MAX_SIBLINGS = 99


async def place(*, session: AsyncSession, outbox: Outbox, community: Community, join: JoinRequest) -> JoinResult:
    """Seats a member who may enter: here, else on the waitlist, in a sibling, or nowhere (CommunityFull)."""
    if await claim_seat(session=session, community_id=community.id):
        await session.execute(
            delete(WaitlistEntry).where(
                WaitlistEntry.community_id == community.id, WaitlistEntry.member_id == join.member_id
            )
        )
        await admit(session=session, outbox=outbox, community=community, join=join)
        return JoinResult(status="joined", community_id=community.id, member_id=join.member_id)
    if community.overflow == "waitlist":
        return await queue(session=session, community=community, join=join)
    if community.overflow == "sibling":
        sibling = await sibling_with_a_seat(session=session, outbox=outbox, community=community)
        await admit(session=session, outbox=outbox, community=sibling, join=join)
        return JoinResult(status="joined", community_id=sibling.id, member_id=join.member_id)
    raise CommunityFull(f"Community {community.id} is full.")


async def claim_seat(*, session: AsyncSession, community_id: uuid.UUID) -> bool:
    # One conditional UPDATE: concurrent joins can never push a community past its capacity.
    claimed = await session.execute(
        update(Community)
        .where(Community.id == community_id, Community.member_count < Community.capacity)
        .values(member_count=Community.member_count + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def admit(*, session: AsyncSession, outbox: Outbox, community: Community, join: JoinRequest) -> None:
    """Records a member in a community whose seat they hold, and `member.joined`."""
    now = datetime.now(UTC)
    values = {
        "tenant_id": community.tenant_id,
        "community_id": community.id,
        "joined_at": now,
        **join.model_dump(exclude={"answers", "invite_code"}),
    }
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


async def queue(*, session: AsyncSession, community: Community, join: JoinRequest) -> JoinResult:
    session.add(
        WaitlistEntry(
            tenant_id=community.tenant_id,
            community_id=community.id,
            queued_at=datetime.now(UTC),
            **join.model_dump(exclude={"answers", "invite_code"}),
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


async def admit_next_waiting(*, session: AsyncSession, outbox: Outbox, community: Community) -> bool:
    """Gives a free seat to the longest-waiting member; False when there was no seat or no one waiting."""
    waiting = await session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.community_id == community.id).order_by(WaitlistEntry.queued_at)
    )
    for entry in waiting.all():
        if await session.get(Membership, (community.id, entry.member_id)) is not None:
            await session.delete(entry)  # got in some other way meanwhile
            continue
        if not await claim_seat(session=session, community_id=community.id):
            return False
        await session.delete(entry)
        join = JoinRequest(member_id=entry.member_id, channel=entry.channel, inviter_id=entry.inviter_id)
        await admit(session=session, outbox=outbox, community=community, join=join)
        return True
    return False


async def sibling_with_a_seat(*, session: AsyncSession, outbox: Outbox, community: Community) -> Community:
    """The first sibling of the family with a free seat (claimed), opening the next one (…2, …3) if none has.
    The family's root stays locked meanwhile, so concurrent joins fill one new sibling, not one each."""
    root_id = community.sibling_of or community.id
    root = await _locked(session, root_id)
    siblings = (
        await session.scalars(select(Community).where(Community.sibling_of == root.id).order_by(Community.created_at))
    ).all()
    for sibling in siblings:
        if sibling.archived_at is None and await claim_seat(session=session, community_id=sibling.id):
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
    await open_named(session=session, outbox=outbox, community=sibling)
    return sibling


async def add_named(*, session: AsyncSession, community: Community) -> None:
    session.add(community)
    try:
        await session.flush()
    except IntegrityError:
        # Raising aborts the request's whole transaction, so no savepoint is needed.
        raise CommunityNameTaken(f"The tenant already has a community named {community.name!r}.") from None


async def open_named(*, session: AsyncSession, outbox: Outbox, community: Community) -> None:
    """Adds a new community and tells the other services it exists (`community.opened`, from when it really
    opened)."""
    community.created_at = datetime.now(UTC)
    community.opened_at = community.opened_at or community.created_at
    await add_named(session=session, community=community)
    opened = CommunityOpenedV1(
        community_id=community.id,
        name=community.name,
        kind=community.kind,
        tier=community.tier,
        sibling_of=community.sibling_of,
        opened_at=community.opened_at,
    )
    await outbox.add(session, tenant_id=community.tenant_id, payloads=[opened])


async def _locked(session: AsyncSession, community_id: uuid.UUID) -> Community:
    community = await session.get(Community, community_id, with_for_update=True, populate_existing=True)
    assert community is not None
    return community

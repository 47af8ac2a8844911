"""What content-svc knows of communities and members, all learned from member-svc's and analytics-svc's
events: which communities exist, who is in them, and the tags and segment each member carries."""

import bisect
import uuid
from collections.abc import Sequence, Set
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience.models import AudienceMember, Community, MemberSegment, MemberTag
from content_svc.db import ERASED_MEMBERS
from content_svc.engagement.models import Engagement
from content_svc.exceptions import CommunityArchived, CommunityNotFound, MemberNotFound
from qunyun_shared.db import insert_rows, one_of, one_of_keys, upsert
from qunyun_shared.erasure import erased_among
from qunyun_shared.events.analytics import MemberSegmentChangedV1
from qunyun_shared.events.member import CommunityArchivedV1, CommunityOpenedV1, MemberJoinedV1, MemberTaggedV1


async def open_communities(*, session: AsyncSession, opened: Sequence[tuple[str, CommunityOpenedV1]]) -> None:
    """Records communities member-svc opened; a repeated announcement changes nothing."""
    rows = [{"id": o.community_id, "tenant_id": tenant_id, "name": o.name, "kind": o.kind} for tenant_id, o in opened]
    if rows:
        await session.execute(upsert(session, Community.__table__).on_conflict_do_nothing(), rows)


async def archive_communities(*, session: AsyncSession, archived: Sequence[tuple[str, CommunityArchivedV1]]) -> None:
    """Marks communities member-svc archived: nothing is scheduled into them any more."""
    for tenant_id, a in archived:
        await session.execute(
            update(Community)
            .where(Community.id == a.community_id, Community.tenant_id == tenant_id)
            .values(archived_at=a.archived_at)
        )


async def get_community(*, session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> Community:
    """The tenant's community, or CommunityNotFound."""
    community = await session.get(Community, community_id)
    if community is None or community.tenant_id != tenant_id:
        raise CommunityNotFound(f"No community {community_id}.")
    return community


async def open_community(*, session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> Community:
    """A community content may still go to."""
    community = await get_community(session=session, tenant_id=tenant_id, community_id=community_id)
    if community.archived_at is not None:
        raise CommunityArchived(f"Community {community_id} is archived.")
    return community


async def add_to_audience(*, session: AsyncSession, joins: Sequence[tuple[str, MemberJoinedV1]]) -> None:
    """Records members who joined communities; a repeated join, or a late one of an erased member,
    changes nothing."""
    erased = await erased_among(session, ERASED_MEMBERS, (j.member_id for _, j in joins))
    rows = [
        {"tenant_id": tenant_id, "community_id": j.community_id, "member_id": j.member_id, "joined_at": j.joined_at}
        for tenant_id, j in joins
        if j.member_id not in erased
    ]
    if rows:
        await session.execute(upsert(session, AudienceMember.__table__).on_conflict_do_nothing(), rows)


async def remove_from_audience(*, session: AsyncSession, leaves: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Forgets (community, member) pairs after `member.left`."""
    key = tuple_(AudienceMember.community_id, AudienceMember.member_id)
    await session.execute(delete(AudienceMember).where(key.in_(leaves)))


async def apply_tags(*, session: AsyncSession, tagged: Sequence[tuple[str, MemberTaggedV1]]) -> None:
    """Adds and removes member tags as member-svc's changes, in their order, leave them: a batch at once, each
    member's tag ending as its last change says (kept under the tenant of its first addition since it was
    last removed, if it is new)."""
    erased = await erased_among(session, ERASED_MEMBERS, (t.member_id for _, t in tagged))
    removed: set[tuple[uuid.UUID, str]] = set()
    added: dict[tuple[uuid.UUID, str], str | None] = {}  # the tenant it is kept under; None: removed last
    for tenant_id, t in tagged:
        if t.member_id in erased:
            continue
        key = (t.member_id, t.tag)
        if t.action == "removed":
            removed.add(key)
            added[key] = None
        elif added.get(key) is None:
            added[key] = tenant_id
    tags = cast(Table, MemberTag.__table__)
    if removed:
        pairs = one_of_keys(session, [tags.c.member_id, tags.c.tag], sorted(removed))
        await session.execute(delete(tags).where(pairs))
    rows = [
        {"member_id": member_id, "tag": tag, "tenant_id": tenant_id}
        for (member_id, tag), tenant_id in sorted(added.items())
        if tenant_id is not None
    ]
    if rows:
        statement, parameters = insert_rows(session, tags, rows)
        await session.execute(statement.on_conflict_do_nothing(), parameters)


async def apply_segments(*, session: AsyncSession, changes: Sequence[tuple[str, MemberSegmentChangedV1]]) -> None:
    """Records each member's latest value segment from analytics-svc: a batch at once, each member's last
    change kept (under the tenant of their first, if they are new here)."""
    erased = await erased_among(session, ERASED_MEMBERS, (c.member_id for _, c in changes))
    latest: dict[uuid.UUID, tuple[str, str]] = {}
    for tenant_id, c in changes:
        if c.member_id not in erased:
            latest[c.member_id] = (latest.get(c.member_id, (tenant_id, ""))[0], c.to_segment)
    if not latest:
        return
    rows = [
        {"member_id": member_id, "tenant_id": tenant_id, "segment": segment}
        for member_id, (tenant_id, segment) in sorted(latest.items())
    ]
    statement, parameters = insert_rows(session, cast(Table, MemberSegment.__table__), rows)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["member_id"], set_={"segment": statement.excluded.segment}),
        parameters,
    )


async def communities_of(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> list[uuid.UUID]:
    """The communities the member is in."""
    rows = await session.scalars(
        select(AudienceMember.community_id).where(
            AudienceMember.tenant_id == tenant_id, AudienceMember.member_id == member_id
        )
    )
    return list(rows.all())


async def require_member(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> None:
    """Refuses a member the tenant has never had in a community, tagged or seen engage with content here."""
    known = or_(
        *(
            exists().where(table.tenant_id == tenant_id, table.member_id == member_id)
            for table in (AudienceMember, MemberTag, Engagement)
        )
    )
    if not await session.scalar(select(known)):
        raise MemberNotFound(f"No member {member_id}.")


async def is_in(*, session: AsyncSession, community_id: uuid.UUID, member_id: uuid.UUID) -> bool:
    """Whether the member is in the community."""
    return await session.get(AudienceMember, (community_id, member_id)) is not None


async def tags_of(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> set[str]:
    """The tags member-svc put on the member."""
    rows = await session.scalars(
        select(MemberTag.tag).where(MemberTag.tenant_id == tenant_id, MemberTag.member_id == member_id)
    )
    return set(rows.all())


async def segment_of(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> str | None:
    """The member's value segment, if analytics-svc has judged one."""
    segment = await session.get(MemberSegment, member_id)
    return segment.segment if segment is not None and segment.tenant_id == tenant_id else None


async def audience_size(*, session: AsyncSession, community_id: uuid.UUID) -> int:
    """How many members the community has now."""
    count = await session.scalar(
        select(func.count()).select_from(AudienceMember).where(AudienceMember.community_id == community_id)
    )
    return count or 0


async def audience_sizes_at(
    *, session: AsyncSession, moments: Set[tuple[uuid.UUID, datetime]]
) -> dict[tuple[uuid.UUID, datetime], int]:
    """How many members each community had at each moment: those who had joined by then and are still known
    (a member who left since is forgotten, as live publication counts the members of its moment)."""
    joins: dict[uuid.UUID, list[datetime]] = {community_id: [] for community_id, _ in moments}
    if not joins:
        return {}
    found = await session.execute(
        select(AudienceMember.community_id, AudienceMember.joined_at).where(
            one_of(session, AudienceMember.community_id, set(joins))
        )
    )
    for community_id, joined_at in found:
        joins[community_id].append(joined_at)
    for times in joins.values():
        times.sort()
    return {(c, at): bisect.bisect_right(joins[c], at) for c, at in moments}


async def audience_tag_counts(*, session: AsyncSession, community_id: uuid.UUID, tags: Sequence[str]) -> dict[str, int]:
    """How many of a community's members carry each of `tags`."""
    rows = await session.execute(
        select(MemberTag.tag, func.count())
        .join(AudienceMember, AudienceMember.member_id == MemberTag.member_id)
        .where(AudienceMember.community_id == community_id, MemberTag.tag.in_(tags))
        .group_by(MemberTag.tag)
    )
    return {tag: count for tag, count in rows}

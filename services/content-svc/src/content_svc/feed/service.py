"""A member's feed (千人千面): what was published to their communities, limited to the items whose target
they fit, newest first, with the topics they engage with most lifted up.

Ranking is by an effective time: published_at plus up to `boost` for affinity (0..1). Because the lift is
bounded, pages are exact with a keyset cursor on (effective time, placement id): once the oldest
publication read is more than `boost` older than a candidate, nothing unread can outrank it."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience import service as audience
from content_svc.calendar.models import Placement
from content_svc.engagement.models import MemberAffinity
from content_svc.items.models import ContentItem
from qunyun_shared.pagination import decode_time_cursor, encode_time_cursor

_FIRST_BATCH = 50
# A member whose communities are full of items targeted at others still gets an answer quickly.
_MAX_SCANNED = 20_000


@dataclass(frozen=True)
class FeedEntry:
    item: ContentItem
    placement: Placement
    affinity: float
    effective_at: datetime


@dataclass(frozen=True)
class _Candidate:
    """What ranking needs of a publication; the item itself is loaded only for the page."""

    placement_id: uuid.UUID
    community_id: uuid.UUID
    published_at: datetime
    content_id: uuid.UUID
    tags: list[str]
    target_segments: list[str]
    target_tags: list[str]


async def feed_for(
    *,
    session: AsyncSession,
    tenant_id: str,
    member_id: uuid.UUID,
    limit: int,
    cursor: str | None,
    boost: timedelta,
) -> tuple[list[FeedEntry], str | None]:
    """A page of the member's feed and the cursor of the next one (None on the last page)."""
    await audience.require_member(session=session, tenant_id=tenant_id, member_id=member_id)
    after = decode_time_cursor(cursor) if cursor else None
    communities = await audience.communities_of(session=session, tenant_id=tenant_id, member_id=member_id)
    if not communities:
        return [], None
    tags = await audience.tags_of(session=session, tenant_id=tenant_id, member_id=member_id)
    segment = await audience.segment_of(session=session, tenant_id=tenant_id, member_id=member_id)
    interest = await _affinity(session, member_id)

    ranked: list[tuple[datetime, uuid.UUID, float, _Candidate]] = []
    seen: set[uuid.UUID] = set()
    # Per community still being read: the (published_at, id) of the oldest publication read so far.
    reading: dict[uuid.UUID, tuple[datetime, uuid.UUID] | None] = dict.fromkeys(communities)
    scanned, batch_size = 0, _FIRST_BATCH
    while reading:
        batch = await _publications(session, reading, upper=after[0] if after else None, batch_size=batch_size)
        for community_id in list(reading):
            rows = [c for c in batch if c.community_id == community_id]
            scanned += len(rows)
            if len(rows) < batch_size:
                del reading[community_id]
            else:
                reading[community_id] = (rows[-1].published_at, rows[-1].placement_id)
        for candidate in batch:
            if candidate.content_id in seen or not _fits(candidate, tags, segment):
                continue
            affinity = _affinity_of(candidate.tags, interest)
            key = (candidate.published_at + boost * affinity, candidate.placement_id)
            if after is None or key < after:
                seen.add(candidate.content_id)
                ranked.append((*key, affinity, candidate))
        if scanned >= _MAX_SCANNED:
            reading.clear()
        # Nothing unread is newer than the newest of the points reached, so nothing unread can outrank
        # an entry whose effective time is more than `boost` past it.
        horizon = max((at for at, _ in filter(None, reading.values())), default=None)
        certain = [r for r in ranked if horizon is None or r[0] > horizon + boost]
        if len(certain) > limit:
            break
        batch_size *= 2  # reach back `boost` in a few round trips however dense the communities are
    certain.sort(key=lambda r: (r[0], r[1]), reverse=True)
    page = certain[:limit]
    more = len(certain) > limit or bool(reading)
    next_cursor = encode_time_cursor(page[-1][0], page[-1][1]) if page and more else None
    return await _entries(session, page), next_cursor


async def _entries(session: AsyncSession, page: list[tuple[datetime, uuid.UUID, float, _Candidate]]) -> list[FeedEntry]:
    placements = {
        p.id: p for p in await session.scalars(select(Placement).where(Placement.id.in_([r[1] for r in page])))
    }
    items = {
        i.id: i
        for i in await session.scalars(select(ContentItem).where(ContentItem.id.in_([r[3].content_id for r in page])))
    }
    return [
        FeedEntry(items[c.content_id], placements[placement_id], affinity, at) for at, placement_id, affinity, c in page
    ]


async def _publications(
    session: AsyncSession,
    reading: dict[uuid.UUID, tuple[datetime, uuid.UUID] | None],
    *,
    upper: datetime | None,
    batch_size: int,
) -> list[_Candidate]:
    """The next live publications of each community being read, newest first per community: one index
    range scan per community, all in one statement."""
    per_community = []
    for community_id, older_than in reading.items():
        query = (
            select(
                Placement.id,
                Placement.community_id,
                Placement.published_at,
                Placement.content_id,
                ContentItem.tags,
                ContentItem.target_segments,
                ContentItem.target_tags,
            )
            .join(ContentItem, ContentItem.id == Placement.content_id)
            .where(
                Placement.community_id == community_id,
                Placement.status == "published",
                ContentItem.status == "ready",
            )
        )
        if upper is not None:
            query = query.where(Placement.published_at <= upper)
        if older_than is not None:
            query = query.where(
                (Placement.published_at < older_than[0])
                | ((Placement.published_at == older_than[0]) & (Placement.id < older_than[1]))
            )
        per_community.append(
            query.order_by(Placement.published_at.desc(), Placement.id.desc()).limit(batch_size).subquery().select()
        )
    rows = await session.execute(union_all(*per_community))
    candidates = [_Candidate(*row) for row in rows]
    candidates.sort(key=lambda c: (c.published_at, c.placement_id), reverse=True)
    return candidates


def _fits(candidate: _Candidate, tags: set[str], segment: str | None) -> bool:
    if candidate.target_segments and segment not in candidate.target_segments:
        return False
    return not candidate.target_tags or not tags.isdisjoint(candidate.target_tags)


async def _affinity(session: AsyncSession, member_id: uuid.UUID) -> dict[str, float]:
    """The member's interest per tag, scaled so their favourite tag is 1."""
    weights = dict(
        (
            await session.execute(
                select(MemberAffinity.tag, MemberAffinity.weight).where(MemberAffinity.member_id == member_id)
            )
        ).all()
    )
    top = max(weights.values(), default=0.0)
    return {tag: weight / top for tag, weight in weights.items()} if top else {}


def _affinity_of(item_tags: list[str], interest: dict[str, float]) -> float:
    return max((interest.get(tag, 0.0) for tag in item_tags), default=0.0)

"""Member actions on content, reported by front-ends in batches: each accepted action is stored once,
becomes `content.engaged`, and feeds the community's hour histogram and the member's tag affinity."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience import service as audience
from content_svc.calendar.models import Placement
from content_svc.db import ERASED_MEMBERS
from content_svc.engagement import learning
from content_svc.engagement.models import AttributedOrder, Engagement
from content_svc.engagement.schemas import ContentStats, EngagementReceipt, EngagementRow, RejectedRow
from content_svc.exceptions import ContentNotFound
from content_svc.items.models import ContentItem
from qunyun_shared.db import upsert
from qunyun_shared.erasure import erased_among, hold_against_erasure
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.outbox import Outbox

# Clocks on phones drift; an action from further ahead than this is a bad row, not an early one.
_CLOCK_SKEW = timedelta(minutes=5)
_OLDEST = timedelta(days=30)


async def ingest(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, rows: list[dict[str, Any]], now: datetime
) -> EngagementReceipt:
    """Accepts every good row of a batch and reports each bad one by its index."""
    rejected: list[RejectedRow] = []
    parsed: list[tuple[int, EngagementRow]] = []
    for index, raw in enumerate(rows):
        try:
            row = EngagementRow.model_validate(raw)
        except ValidationError as exc:
            rejected.append(RejectedRow(index=index, detail=_first_error(exc)))
            continue
        if row.occurred_at > now + _CLOCK_SKEW:
            rejected.append(RejectedRow(index=index, detail="occurred_at is in the future"))
        elif row.occurred_at < now - _OLDEST:
            rejected.append(RejectedRow(index=index, detail="occurred_at is more than 30 days ago"))
        else:
            parsed.append((index, row))

    published = await _published(session, tenant_id, {row.content_id for _, row in parsed})
    await hold_against_erasure(session, (row.member_id for _, row in parsed))
    erased = await erased_among(session, ERASED_MEMBERS, (row.member_id for _, row in parsed))
    accepted: list[dict[str, Any]] = []
    types: dict[uuid.UUID, str | None] = {}
    for index, row in parsed:
        content_type, communities = published.get(row.content_id, (None, None))
        community_id = row.community_id
        if communities is None:
            detail = f"content {row.content_id} is unknown or not published"
        elif row.member_id in erased:
            detail = f"member {row.member_id} was erased"
        elif community_id is not None and community_id not in communities:
            detail = f"content {row.content_id} was not published to community {community_id}"
        else:
            if community_id is None and len(communities) == 1:
                (community_id,) = communities
            accepted.append(
                {
                    "id": row.id or uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "content_id": row.content_id,
                    "member_id": row.member_id,
                    "community_id": community_id,
                    "action": row.action,
                    "occurred_at": row.occurred_at.astimezone(UTC),
                }
            )
            types[row.content_id] = content_type
            continue
        rejected.append(RejectedRow(index=index, detail=detail))

    stored = await _store_new(session, accepted)
    await learning.learn(session=session, tenant_id=tenant_id, stored=stored)
    events = [
        ContentEngagedV1(
            content_id=r["content_id"],
            member_id=r["member_id"],
            community_id=r["community_id"],
            content_type=types[r["content_id"]],
            action=r["action"],
            occurred_at=r["occurred_at"],
        )
        for r in stored
    ]
    await outbox.add(session, tenant_id=tenant_id, payloads=events)
    rejected.sort(key=lambda r: r.index)
    return EngagementReceipt(accepted=len(stored), duplicates=len(accepted) - len(stored), rejected=rejected)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


async def _published(
    session: AsyncSession, tenant_id: str, content_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, set[uuid.UUID]]]:
    """For each of the tenant's items among `content_ids` that is out, its type and the communities it
    went to."""
    if not content_ids:
        return {}
    rows = await session.execute(
        select(Placement.content_id, ContentItem.content_type, Placement.community_id)
        .join(ContentItem, ContentItem.id == Placement.content_id)
        .where(
            Placement.content_id.in_(content_ids),
            Placement.tenant_id == tenant_id,
            Placement.status == "published",
            ContentItem.status == "ready",
        )
    )
    published: dict[uuid.UUID, tuple[str, set[uuid.UUID]]] = {}
    for content_id, content_type, community_id in rows:
        published.setdefault(content_id, (content_type, set()))[1].add(community_id)
    return published


async def _store_new(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Inserts the rows whose id is new; a row resent by a front-end is stored once."""
    if not rows:
        return []
    statement = upsert(session, Engagement.__table__).on_conflict_do_nothing().returning(Engagement.id)
    inserted = set((await session.scalars(statement, rows)).all())
    # The same id twice in one batch: only its first row counts.
    seen: set[uuid.UUID] = set()
    stored = []
    for row in rows:
        if row["id"] in inserted and row["id"] not in seen:
            seen.add(row["id"])
            stored.append(row)
    return stored


async def attribute_orders(*, session: AsyncSession, orders: list[tuple[str, OrderPlacedV1]]) -> None:
    """Credits orders placed through an item's link to that item (the tenant's own items only)."""
    linked = [(tenant_id, o) for tenant_id, o in orders if o.attribution.content_id is not None]
    if not linked:
        return
    owners: dict[uuid.UUID | None, str] = dict(
        (
            await session.execute(
                select(ContentItem.id, ContentItem.tenant_id).where(
                    ContentItem.id.in_({o.attribution.content_id for _, o in linked})
                )
            )
        ).all()
    )
    rows = [
        {
            "order_id": o.order_id,
            "tenant_id": tenant_id,
            "content_id": o.attribution.content_id,
            "member_id": o.member_id,
            "amount_fen": o.amount_fen,
            "placed_at": o.placed_at,
        }
        for tenant_id, o in linked
        if owners.get(o.attribution.content_id) == tenant_id
    ]
    if rows:
        await session.execute(upsert(session, AttributedOrder.__table__).on_conflict_do_nothing(), rows)


async def stats_of(*, session: AsyncSession, tenant_id: str, content_id: uuid.UUID) -> ContentStats:
    """An item's effect; every rate is 0 while its denominator is."""
    item = await session.get(ContentItem, content_id)
    if item is None or item.tenant_id != tenant_id:
        raise ContentNotFound(f"No content {content_id}.")
    audience = await session.scalar(
        select(func.coalesce(func.sum(Placement.audience_size), 0)).where(
            Placement.content_id == content_id, Placement.status == "published"
        )
    )
    per_action = dict(
        (
            await session.execute(
                select(Engagement.action, func.count(func.distinct(Engagement.member_id)))
                .where(Engagement.content_id == content_id)
                .group_by(Engagement.action)
            )
        ).all()
    )
    counts = dict(
        (
            await session.execute(
                select(Engagement.action, func.count())
                .where(Engagement.content_id == content_id)
                .group_by(Engagement.action)
            )
        ).all()
    )
    reach = await _distinct_members(session, content_id, None)
    interacting = await _distinct_members(session, content_id, ("like", "comment", "share"))
    orders, gmv = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(AttributedOrder.amount_fen), 0)).where(
                AttributedOrder.content_id == content_id
            )
        )
    ).one()
    readers = per_action.get("view", 0)
    return ContentStats(
        content_id=content_id,
        audience=audience or 0,
        reach=reach,
        readers=readers,
        read_rate=_ratio(readers, audience or 0),
        completion_rate=_ratio(per_action.get("complete", 0), readers),
        interaction_rate=_ratio(interacting, reach),
        likes=counts.get("like", 0),
        comments=counts.get("comment", 0),
        shares=counts.get("share", 0),
        clicks=counts.get("click", 0),
        click_through_rate=_ratio(per_action.get("click", 0), readers),
        orders=orders,
        gmv_fen=gmv,
    )


async def _distinct_members(session: AsyncSession, content_id: uuid.UUID, actions: tuple[str, ...] | None) -> int:
    query = select(func.count(func.distinct(Engagement.member_id))).where(Engagement.content_id == content_id)
    if actions is not None:
        query = query.where(Engagement.action.in_(actions))
    return await session.scalar(query) or 0


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def history_of(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID, limit: int) -> list[Engagement]:
    """A member's latest actions, newest first; a member the tenant never had is not found."""
    await audience.require_member(session=session, tenant_id=tenant_id, member_id=member_id)
    rows = await session.scalars(
        select(Engagement)
        .where(Engagement.tenant_id == tenant_id, Engagement.member_id == member_id)
        .order_by(Engagement.occurred_at.desc())
        .limit(limit)
    )
    return list(rows.all())

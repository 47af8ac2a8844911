"""A brand's engagement history brought in: members' actions on items published here (live or imported),
each named by the merchant's own id, recorded as live reports are (statistics, reading hours, tag affinity)
and announced by `content.engaged` with their own times, marked imported.

Engagement is the bulk of an import, so a batch of 1,000 takes a fixed number of statements: one look-up of
its items with their publications, one of its merchant ids, the erasure locks and check, and one insert each
for the actions, the hour histogram, the affinities and the outbox."""

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import history
from content_svc.calendar.models import Placement
from content_svc.db import ERASED_MEMBERS
from content_svc.engagement import learning
from content_svc.engagement.models import Engagement
from content_svc.engagement.schemas import EngagementHistoryRow
from content_svc.items.models import ContentItem
from qunyun_shared.db import insert_rows, one_of
from qunyun_shared.erasure import erased_among, hold_against_erasure
from qunyun_shared.events.content import ContentEngagedV1, ContentType
from qunyun_shared.history import HistoryBatchRead, RowResult, check_rows, failed
from qunyun_shared.outbox import Outbox

_FIELD = "merchant_action_id"
_CONTENT = "merchant_content_id"
_ENGAGEMENTS = cast(Table, Engagement.__table__)


@dataclass(frozen=True)
class _Published:
    """An item of the tenant's that went out: its type and when it was published in each community."""

    id: uuid.UUID
    content_type: ContentType
    published: dict[uuid.UUID, datetime]


@dataclass(frozen=True)
class _Action:
    """A row that passed every check: the engagements row it would become."""

    number: int
    row: EngagementHistoryRow
    stored: dict[str, Any]
    content_type: ContentType

    @property
    def merchant_id(self) -> str:
        return self.row.merchant_action_id

    @property
    def record_id(self) -> uuid.UUID:
        return cast(uuid.UUID, self.stored["id"])

    @property
    def content(self) -> Hashable:
        return _said(self.stored)


async def import_actions(
    *, session: AsyncSession, tenant_id: str, outbox: Outbox, rows: Sequence[Any]
) -> HistoryBatchRead:
    """Members' actions as they happened: each on an item of the tenant's published by then (in the
    community it names, if it names one), by a member who is not erased."""
    good, results = check_rows(EngagementHistoryRow, rows)
    items = await _published(session, tenant_id, [row for _, row in good])
    await hold_against_erasure(session, (row.member_id for _, row in good))
    erased = await erased_among(session, ERASED_MEMBERS, (row.member_id for _, row in good))
    actions = []
    for number, row in good:
        item = items.get(row.content_id or row.merchant_content_id or "")
        refusal = _refusal(row, item, erased)
        if refusal is not None:
            results.append(failed(number, *refusal))
            continue
        assert item is not None
        actions.append(_Action(number, row, _stored(tenant_id, row, item), item.content_type))
    results += await _record(session=session, outbox=outbox, tenant_id=tenant_id, actions=actions)
    return HistoryBatchRead.of(results)


def _refusal(row: EngagementHistoryRow, item: _Published | None, erased: set[uuid.UUID]) -> tuple[str, str] | None:
    named, field = (row.content_id, "content_id") if row.content_id else (row.merchant_content_id, _CONTENT)
    if item is None:
        return f"content {named} is unknown or was never published", field
    if row.member_id in erased:
        return f"member {row.member_id} was erased", "member_id"
    if row.community_id is not None and row.community_id not in item.published:
        return f"content {named} was not published to community {row.community_id}", "community_id"
    published = item.published[row.community_id] if row.community_id else min(item.published.values())
    if row.occurred_at < published:
        return f"occurred before content {named} was published ({published.isoformat()})", "occurred_at"
    return None


def _stored(tenant_id: str, row: EngagementHistoryRow, item: _Published) -> dict[str, Any]:
    community_id = row.community_id
    if community_id is None and len(item.published) == 1:
        (community_id,) = item.published
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "content_id": item.id,
        "member_id": row.member_id,
        "community_id": community_id,
        "action": row.action,
        "occurred_at": row.occurred_at.astimezone(UTC),
        "merchant_action_id": row.merchant_action_id,
    }


def _said(stored: dict[str, Any]) -> tuple[Any, ...]:
    return (stored["content_id"], stored["member_id"], stored["action"], stored["occurred_at"], stored["community_id"])


def _same(action: _Action, before: history.Earlier) -> bool:
    """The same item, member, action and time; the same community too when the row names one (left out, it
    was inferred from where the item had gone, which may have changed)."""
    said, earlier = _said(action.stored), cast(tuple[Any, ...], before.content)
    if action.row.community_id is None:
        return said[:4] == earlier[:4]
    return said == earlier


async def _record(*, session: AsyncSession, outbox: Outbox, tenant_id: str, actions: list[_Action]) -> list[RowResult]:
    """Stores the actions whose merchant id is new and learns from them; answers the others against the
    actions their ids name."""
    if not actions:
        return []
    earlier = await _imported(session, tenant_id, {a.merchant_id for a in actions})
    results, new = history.sort_out(actions, earlier=earlier, same=_same, field=_FIELD, noun="engagement")
    created = await _insert(session, new)
    lost = {a.merchant_id for a in new if a.record_id not in created}
    if lost:
        earlier = await _imported(session, tenant_id, lost)
        results = history.settle_lost(
            results, actions, lost=lost, earlier=earlier, same=_same, field=_FIELD, noun="engagement"
        )
    kept = [a for a in new if a.record_id in created]
    stored = [a.stored for a in kept]
    await learning.learn(session=session, tenant_id=tenant_id, stored=stored)
    engaged = [
        ContentEngagedV1(
            content_id=a.stored["content_id"],
            member_id=a.stored["member_id"],
            community_id=a.stored["community_id"],
            content_type=a.content_type,
            action=a.stored["action"],
            occurred_at=a.stored["occurred_at"],
        )
        for a in kept
    ]
    await outbox.add(session, tenant_id=tenant_id, payloads=engaged, imported=True)
    return results + [RowResult(row=a.number, id=a.record_id, outcome="created") for a in kept]


async def _published(
    session: AsyncSession, tenant_id: str, rows: list[EngagementHistoryRow]
) -> dict[uuid.UUID | str, _Published]:
    """The tenant's published items the rows name, by our id and by the merchant's."""
    ids = {row.content_id for row in rows if row.content_id is not None}
    merchant_ids = {row.merchant_content_id for row in rows if row.merchant_content_id is not None}
    if not ids and not merchant_ids:
        return {}
    named = or_(
        one_of(session, ContentItem.id, ids) if ids else false(),
        one_of(session, ContentItem.merchant_content_id, merchant_ids) if merchant_ids else false(),
    )
    found = await session.execute(
        select(
            ContentItem.id,
            ContentItem.merchant_content_id,
            ContentItem.content_type,
            Placement.community_id,
            Placement.published_at,
        )
        .join(Placement, Placement.content_id == ContentItem.id)
        .where(ContentItem.tenant_id == tenant_id, Placement.status == "published", named)
    )
    items: dict[uuid.UUID | str, _Published] = {}
    for content_id, merchant_id, content_type, community_id, published_at in found:
        assert published_at is not None  # its placement was published
        item = items.get(content_id)
        if item is None:
            item = items[content_id] = _Published(content_id, cast(ContentType, content_type), {})
            if merchant_id is not None:
                items[merchant_id] = item
        # Published to a community twice: it was there from the first time.
        first = item.published.get(community_id)
        item.published[community_id] = published_at if first is None else min(first, published_at)
    return items


async def _imported(session: AsyncSession, tenant_id: str, merchant_ids: set[str]) -> dict[str, history.Earlier]:
    found = await session.execute(
        select(
            Engagement.merchant_action_id,
            Engagement.id,
            Engagement.content_id,
            Engagement.member_id,
            Engagement.action,
            Engagement.occurred_at,
            Engagement.community_id,
        ).where(Engagement.tenant_id == tenant_id, one_of(session, Engagement.merchant_action_id, merchant_ids))
    )
    return {str(row[0]): history.Earlier(row[1], tuple(row[2:])) for row in found}


async def _insert(session: AsyncSession, actions: list[_Action]) -> set[uuid.UUID]:
    """Inserts the actions; one whose merchant id another import took meanwhile is left out (its id not among
    those answered)."""
    if not actions:
        return set()
    # In merchant id order: imports of overlapping batches at once wait for each other, never deadlock.
    rows = [a.stored for a in sorted(actions, key=lambda a: a.merchant_id)]
    statement, parameters = insert_rows(session, _ENGAGEMENTS, rows)
    inserted = await session.scalars(statement.on_conflict_do_nothing().returning(Engagement.id), parameters)
    return set(inserted.all())

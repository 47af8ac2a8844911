"""A brand's content history brought in: operators' items and members' posts as they were published then,
each row named by the merchant's own id (one namespace for both, unique in the tenant).

History is recorded as it went out: published at its time in its communities (audience counted as it was
then), announced by `content.posted` with that time and marked imported. Moderation is not run again to hold
it, since holding it could not take it back; its masks still apply, so personal data is never kept in the
clear (`screening.as_published`), and no `content.moderated` or review case follows."""

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import history
from content_svc.audience.models import Community
from content_svc.calendar import publishing
from content_svc.calendar.models import Placement
from content_svc.db import ERASED_MEMBERS
from content_svc.items.models import ContentItem
from content_svc.items.schemas import ContentHistoryRow, PostHistoryRow
from content_svc.moderation import Lexicon, screening
from qunyun_shared.db import insert_rows, one_of
from qunyun_shared.erasure import erased_among, hold_against_erasure
from qunyun_shared.history import HistoryBatchRead, RowResult, check_rows, content_digest, failed
from qunyun_shared.outbox import Outbox

_FIELD = "merchant_content_id"
_ITEMS = cast(Table, ContentItem.__table__)


@dataclass(frozen=True)
class _Draft:
    """A row ready to become an item published in its communities at its time."""

    number: int
    item: dict[str, Any]  # the content_items row
    communities: tuple[uuid.UUID, ...]
    published_at: datetime

    @property
    def merchant_id(self) -> str:
        return str(self.item["merchant_content_id"])

    @property
    def record_id(self) -> uuid.UUID:
        return cast(uuid.UUID, self.item["id"])

    @property
    def content(self) -> Hashable:
        return str(self.item["history_digest"])


async def import_items(
    *, session: AsyncSession, outbox: Outbox, lexicon: Lexicon, tenant_id: str, rows: Sequence[Any], now: datetime
) -> HistoryBatchRead:
    """Operators' items as they were published: each into its communities (the tenant's, not archived by
    then, within the item's target) at `published_at`."""
    good, results = check_rows(ContentHistoryRow, rows)
    communities = await _communities(session, tenant_id, {c for _, row in good for c in row.community_ids})
    drafts = []
    for number, row in good:
        problem = _unpublishable(row, communities)
        if problem is not None:
            results.append(failed(number, problem, "community_ids"))
            continue
        drafts.append(_item_draft(number, row, lexicon, tenant_id, now))
    results += await _record(session=session, outbox=outbox, tenant_id=tenant_id, drafts=drafts)
    return HistoryBatchRead.of(results)


async def import_posts(
    *, session: AsyncSession, outbox: Outbox, lexicon: Lexicon, tenant_id: str, rows: Sequence[Any], now: datetime
) -> HistoryBatchRead:
    """Members' posts as they were posted: into a community of the tenant's (not archived by then), by a
    member who is not erased, a reply after its topic was published."""
    good, results = check_rows(PostHistoryRow, rows)
    communities = await _communities(session, tenant_id, {row.community_id for _, row in good})
    topics = await _topics(session, tenant_id, [row for _, row in good])
    await hold_against_erasure(session, (row.member_id for _, row in good))
    erased = await erased_among(session, ERASED_MEMBERS, (row.member_id for _, row in good))
    drafts = []
    for number, row in good:
        topic = topics.get(row.reply_to or row.reply_to_merchant_content_id or "")
        problem = _unpostable(row, communities, topic, erased)
        if problem is not None:
            results.append(failed(number, *problem))
            continue
        drafts.append(_post_draft(number, row, topic[0] if topic else None, lexicon, tenant_id, now))
    results += await _record(session=session, outbox=outbox, tenant_id=tenant_id, drafts=drafts)
    return HistoryBatchRead.of(results)


def _unpublishable(row: ContentHistoryRow, communities: dict[uuid.UUID, Community]) -> str | None:
    unknown = [c for c in row.community_ids if c not in communities]
    if unknown:
        return f"unknown communities: {', '.join(map(str, unknown))}"
    archived = [c for c in row.community_ids if _archived_by(communities[c], row.published_at)]
    if archived:
        return f"communities archived before it was published: {', '.join(map(str, archived))}"
    outside = [c for c in row.community_ids if row.target.communities and c not in row.target.communities]
    if outside:
        return f"communities outside the item's target: {', '.join(map(str, outside))}"
    return None


def _unpostable(
    row: PostHistoryRow,
    communities: dict[uuid.UUID, Community],
    topic: tuple[uuid.UUID, datetime] | None,
    erased: set[uuid.UUID],
) -> tuple[str, str] | None:
    community = communities.get(row.community_id)
    if community is None:
        return f"unknown community {row.community_id}", "community_id"
    if _archived_by(community, row.posted_at):
        return f"community {row.community_id} was archived before it was posted", "community_id"
    if row.member_id in erased:
        return f"member {row.member_id} was erased", "member_id"
    named = row.reply_to or row.reply_to_merchant_content_id
    field = "reply_to" if row.reply_to is not None else "reply_to_merchant_content_id"
    if named is not None and topic is None:
        return f"topic {named} is unknown or was never published", field
    if topic is not None and topic[1] > row.posted_at:
        return f"posted before its topic {named} was published ({topic[1].isoformat()})", "posted_at"
    return None


def _archived_by(community: Community, at: datetime) -> bool:
    return community.archived_at is not None and community.archived_at <= at


def _item_draft(number: int, row: ContentHistoryRow, lexicon: Lexicon, tenant_id: str, now: datetime) -> _Draft:
    verdict = screening.as_published(screening.screen(lexicon, title=row.title, body=row.body, ugc=False))
    item = _item_row(
        tenant_id,
        row,
        verdict,
        now=now,
        at=row.published_at,
        content_type=row.content_type,
        source=row.source,
        target_communities=[str(c) for c in row.target.communities],
        target_segments=list(row.target.segments),
        target_tags=list(row.target.tags),
        digest=content_digest(row, community_ids=sorted(map(str, row.community_ids))),
    )
    return _Draft(number, item, tuple(dict.fromkeys(row.community_ids)), row.published_at.astimezone(UTC))


def _post_draft(
    number: int, row: PostHistoryRow, topic_id: uuid.UUID | None, lexicon: Lexicon, tenant_id: str, now: datetime
) -> _Draft:
    verdict = screening.as_published(screening.screen(lexicon, title=row.title, body=row.body, ugc=True))
    item = _item_row(
        tenant_id,
        row,
        verdict,
        now=now,
        at=row.posted_at,
        content_type="activity",
        source="UGC",
        target_communities=[str(row.community_id)],
        target_segments=[],
        target_tags=[],
        author_member_id=row.member_id,
        post_kind=row.kind,
        reply_to=topic_id,
        fingerprint=screening.fingerprint(row.title + "\n" + row.body),
        # A topic named either way is the same topic.
        digest=content_digest(row, reply_to=str(topic_id), reply_to_merchant_content_id=None),
    )
    return _Draft(number, item, (row.community_id,), row.posted_at.astimezone(UTC))


def _item_row(
    tenant_id: str,
    row: ContentHistoryRow | PostHistoryRow,
    verdict: screening.Screening,
    *,
    now: datetime,
    at: datetime,
    digest: str,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "title": verdict.title,
        "body": verdict.body,
        "media": list(row.media),
        "tags": list(row.tags),
        "author_member_id": None,
        "post_kind": None,
        "reply_to": None,
        "fingerprint": None,
        **fields,
        "status": "ready",
        "moderation_outcome": verdict.outcome,
        "moderation_reasons": verdict.reasons,
        "created_at": at.astimezone(UTC),
        "updated_at": now,
        "merchant_content_id": row.merchant_content_id,
        "history_digest": digest,
    }


async def _record(*, session: AsyncSession, outbox: Outbox, tenant_id: str, drafts: list[_Draft]) -> list[RowResult]:
    """Creates the drafts whose merchant id is new and publishes them; answers the others against the
    records their ids name."""
    if not drafts:
        return []
    earlier = await _imported(session, tenant_id, {d.merchant_id for d in drafts})
    results, new = history.sort_out(drafts, earlier=earlier, same=_same, field=_FIELD, noun="content")
    created = await _insert_items(session, new)
    lost = {d.merchant_id for d in new if d.record_id not in created}
    if lost:
        earlier = await _imported(session, tenant_id, lost)
        results = history.settle_lost(
            results, drafts, lost=lost, earlier=earlier, same=_same, field=_FIELD, noun="content"
        )
    kept = [d for d in new if d.record_id in created]
    await publishing.publish_history(
        session=session,
        outbox=outbox,
        tenant_id=tenant_id,
        publications=[
            publishing.Publication(
                content_id=d.record_id,
                community_id=community_id,
                content_type=d.item["content_type"],
                source=d.item["source"],
                author_member_id=d.item["author_member_id"],
                published_at=d.published_at,
            )
            for d in kept
            for community_id in d.communities
        ],
    )
    return results + [RowResult(row=d.number, id=d.record_id, outcome="created") for d in kept]


def _same(draft: _Draft, before: history.Earlier) -> bool:
    return draft.content == before.content


async def _imported(session: AsyncSession, tenant_id: str, merchant_ids: set[str]) -> dict[str, history.Earlier]:
    found = await session.execute(
        select(ContentItem.merchant_content_id, ContentItem.id, ContentItem.history_digest).where(
            ContentItem.tenant_id == tenant_id, one_of(session, ContentItem.merchant_content_id, merchant_ids)
        )
    )
    return {str(merchant_id): history.Earlier(id, digest) for merchant_id, id, digest in found}


async def _insert_items(session: AsyncSession, drafts: list[_Draft]) -> set[uuid.UUID]:
    """Inserts the items; one whose merchant id another import took meanwhile is left out (its id not among
    those answered)."""
    if not drafts:
        return set()
    # In merchant id order: imports of overlapping batches at once wait for each other, never deadlock.
    rows = [d.item for d in sorted(drafts, key=lambda d: d.merchant_id)]
    statement, parameters = insert_rows(session, _ITEMS, rows)
    inserted = await session.scalars(statement.on_conflict_do_nothing().returning(ContentItem.id), parameters)
    return set(inserted.all())


async def _communities(session: AsyncSession, tenant_id: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, Community]:
    if not ids:
        return {}
    found = await session.scalars(
        select(Community).where(Community.tenant_id == tenant_id, one_of(session, Community.id, ids))
    )
    return {community.id: community for community in found}


async def _topics(
    session: AsyncSession, tenant_id: str, rows: list[PostHistoryRow]
) -> dict[uuid.UUID | str, tuple[uuid.UUID, datetime]]:
    """The tenant's published topics the replies name, by our id and by the merchant's: each with when it
    was first published."""
    ids = {row.reply_to for row in rows if row.reply_to is not None}
    merchant_ids = {row.reply_to_merchant_content_id for row in rows if row.reply_to_merchant_content_id}
    if not ids and not merchant_ids:
        return {}
    named = or_(
        one_of(session, ContentItem.id, ids) if ids else false(),
        one_of(session, ContentItem.merchant_content_id, merchant_ids) if merchant_ids else false(),
    )
    found = await session.execute(
        select(ContentItem.id, ContentItem.merchant_content_id, func.min(Placement.published_at))
        .join(Placement, Placement.content_id == ContentItem.id)
        .where(ContentItem.tenant_id == tenant_id, Placement.status == "published", named)
        .group_by(ContentItem.id, ContentItem.merchant_content_id)
    )
    topics: dict[uuid.UUID | str, tuple[uuid.UUID, datetime]] = {}
    for content_id, merchant_id, first_published in found:
        assert first_published is not None  # joined with its published placements
        topics[content_id] = (content_id, first_published)
        if merchant_id is not None:
            topics[merchant_id] = (content_id, first_published)
    return topics

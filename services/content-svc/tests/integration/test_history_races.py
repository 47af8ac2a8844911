"""History imports racing each other on real PostgreSQL: an import whose merchant ids another import is writing
at that moment waits for it, then answers each of those rows against the records it made (unchanged, or failed
naming them when it says otherwise) instead of failing the batch or storing them twice."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.engagement import history
from content_svc.engagement.models import Engagement
from content_svc.items import history as item_history
from content_svc.items.models import ContentItem
from content_svc.moderation import Lexicon
from qunyun_shared.history import HistoryBatchRead
from qunyun_shared.testing import eventually
from tests.support.harness import waiting_on_locks

from .world import OUTBOX, Tenant

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def item_rows(community_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
    return [
        {
            "merchant_content_id": f"k-{n}",
            "content_type": "knowledge",
            "title": f"辅食第{n}课",
            "body": "南瓜泥",
            "community_ids": [str(community_id)],
            "published_at": (NOW - timedelta(days=30 - n)).isoformat(),
        }
        for n in range(count)
    ]


def import_items(tenant: Tenant, rows: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    return lambda session: item_history.import_items(
        session=session, outbox=OUTBOX, lexicon=Lexicon([]), tenant_id=tenant.tenant_id, rows=rows, now=NOW
    )


def import_actions(tenant: Tenant, rows: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    return lambda session: history.import_actions(session=session, outbox=OUTBOX, tenant_id=tenant.tenant_id, rows=rows)


async def racing(tenant: Tenant, first: Any, second: Any) -> tuple[HistoryBatchRead, HistoryBatchRead]:
    """`first` written but not committed when `second` starts; committed once `second` waits for it."""
    async with AsyncSession(tenant.engine, expire_on_commit=False) as session:
        async with session.begin():
            first_answer = await first(session)
            later = asyncio.create_task(tenant.run(second))

            async def waiting() -> None:
                assert await waiting_on_locks(tenant.engine) >= 1

            await eventually(waiting)
        return first_answer, await later


async def test_items_imported_by_two_requests_at_once_are_created_once(tenant: Tenant) -> None:
    community = await tenant.community()
    rows = item_rows(community, 20)
    changed = [*rows[::-1]]
    changed[0] = changed[0] | {"title": "改过的标题"}  # k-19, saying otherwise

    first, second = await racing(tenant, import_items(tenant, rows), import_items(tenant, changed))

    assert (first.created, second.created, second.unchanged, second.failed) == (20, 0, 19, 1)
    ids = {r.row: r.id for r in first.results}
    assert [r.id for r in second.results[1:]] == [ids[18 - n] for n in range(19)]
    assert str(ids[19]) in second.results[0].problems[0].message
    async with AsyncSession(tenant.engine) as session:
        count = select(func.count()).where(ContentItem.tenant_id == tenant.tenant_id)
        assert await session.scalar(count) == 20
    assert len(await tenant.events("content.posted")) == 20


async def test_actions_imported_by_two_requests_at_once_are_stored_once(tenant: Tenant) -> None:
    community = await tenant.community()
    members = [await tenant.member(community) for _ in range(5)]
    await tenant.run(import_items(tenant, item_rows(community, 2)))
    rows = [
        {
            "merchant_action_id": f"a-{n}",
            "member_id": str(members[n % 5]),
            "merchant_content_id": f"k-{n % 2}",
            "action": ("view", "like", "share")[n % 3],
            "occurred_at": (NOW - timedelta(days=10, minutes=n)).isoformat(),
        }
        for n in range(300)
    ]
    changed = rows[::-1]
    changed[5] = changed[5] | {"action": "comment"}

    first, second = await racing(tenant, import_actions(tenant, rows), import_actions(tenant, changed))

    assert (first.created, second.created, second.unchanged, second.failed) == (300, 0, 299, 1)
    ids = {r.row: r.id for r in first.results}
    assert second.results[5].outcome == "failed" and str(ids[294]) in second.results[5].problems[0].message
    assert all(r.id == ids[299 - r.row] for r in second.results if r.outcome == "unchanged")
    async with AsyncSession(tenant.engine) as session:
        count = select(func.count()).where(Engagement.tenant_id == tenant.tenant_id)
        assert await session.scalar(count) == 300
    assert len(await tenant.events("content.engaged")) == 300

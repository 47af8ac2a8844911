"""The review queue on real PostgreSQL: reviewers deciding one case at once, a decision racing an edit of its
item, the publisher or the erasure of the post's author. Whatever the interleaving, the end is one that some
order of the requests would have reached: one decision per case, no pending case left behind a newer text,
nothing published twice or after its author is gone, and no request failing on a deadlock."""

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Update, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import erasure
from content_svc.calendar import publishing
from content_svc.calendar.models import Placement
from content_svc.items import service as items
from content_svc.items.models import ContentItem
from content_svc.items.schemas import ContentUpdate
from content_svc.moderation import Lexicon
from content_svc.moderation import service as moderation
from content_svc.moderation.models import ReviewCase
from content_svc.moderation.schemas import ReviewDecision
from qunyun_shared.testing import wait_until
from tests.support.harness import waiting_on_locks

from .world import OUTBOX, Tenant, at_once, outcome

pytestmark = pytest.mark.integration

RACES = 12


async def held_posts(tenant: Tenant, count: int) -> tuple[uuid.UUID, list[ContentItem]]:
    """`count` members' posts held for review in one community; each waits there to be published."""
    community = await tenant.community()
    posts = []
    for n in range(count):
        author = await tenant.member(community)
        posts.append(await tenant.post(author, community, f"第{n}条: 这里可以赌博"))
    assert {post.status for post in posts} == {"held"}
    return community, posts


async def case_of(tenant: Tenant, content_id: uuid.UUID) -> ReviewCase:
    async with AsyncSession(tenant.engine) as session:
        return (await session.scalars(select(ReviewCase).where(ReviewCase.content_id == content_id))).one()


async def decide(tenant: Tenant, case_id: uuid.UUID, decision: str, reviewer: str) -> ReviewCase:
    """One reviewer's `POST /content/reviews/{id}/decision`, in its own transaction."""
    return await tenant.run(
        lambda session: moderation.decide(
            session=session,
            outbox=OUTBOX,
            tenant_id=tenant.tenant_id,
            case_id=case_id,
            decision=ReviewDecision(decision=decision),  # type: ignore[arg-type]
            reviewer=reviewer,
        )
    )


async def state(tenant: Tenant, content_id: uuid.UUID) -> dict[str, object]:
    """The item's status, its review cases' statuses, and its placements' statuses."""
    async with AsyncSession(tenant.engine) as session:
        item = await session.get_one(ContentItem, content_id)
        cases = await session.scalars(select(ReviewCase.status).where(ReviewCase.content_id == content_id))
        placed = await session.scalars(select(Placement.status).where(Placement.content_id == content_id))
        return {"item": item.status, "cases": sorted(cases), "placements": sorted(placed)}


async def test_reviewers_deciding_one_case_at_once_decide_it_once(tenant: Tenant) -> None:
    _, posts = await held_posts(tenant, RACES)
    cases = [await case_of(tenant, post.id) for post in posts]

    answers = await at_once(
        *(
            decide(tenant, case.id, verdict, reviewer)
            for case in cases
            for verdict, reviewer in [("approve", "amy"), ("reject", "bo")]
        )
    )

    for n, post in enumerate(posts):
        approved, rejected = answers[2 * n], answers[2 * n + 1]
        assert sorted([outcome(approved), outcome(rejected)]) == ["AlreadyDecided", "ok"]
        winner = "approved" if outcome(approved) == "ok" else "rejected"
        expected = {"approved": ("ready", ["scheduled"]), "rejected": ("rejected", ["cancelled"])}[winner]
        assert await state(tenant, post.id) == {"item": expected[0], "cases": [winner], "placements": expected[1]}
    by_reviewer = Counter(e.reviewed_by for e in await tenant.events("content.moderated"))
    assert by_reviewer == {None: RACES, "amy": by_reviewer["amy"], "bo": RACES - by_reviewer["amy"]}


async def test_an_approval_racing_the_publisher_publishes_the_post_once(tenant: Tenant) -> None:
    _, posts = await held_posts(tenant, RACES)
    cases = [await case_of(tenant, post.id) for post in posts]

    async def publish(session: AsyncSession) -> int:
        return await publishing.publish_due(
            session=session, outbox=OUTBOX, now=datetime.now(UTC) + timedelta(minutes=1)
        )

    answers = await at_once(
        *(decide(tenant, case.id, "approve", "amy") for case in cases), *(tenant.run(publish) for _ in range(4))
    )
    await tenant.run(publish)  # what was approved after the racing rounds read the queue

    assert {outcome(a) for a in answers} == {"ok"}
    for post in posts:
        assert await state(tenant, post.id) == {"item": "ready", "cases": ["approved"], "placements": ["published"]}
    assert sorted(e.content_id for e in await tenant.events("content.posted")) == sorted(p.id for p in posts)


async def test_a_decision_racing_an_edit_of_its_item_leaves_no_stale_pending_case(tenant: Tenant) -> None:
    items_held = [await tenant.item("promotion", title=f"全网最低价{n}", body="国家级品质") for n in range(RACES)]
    assert {item.status for item in items_held} == {"held"}
    cases = [await case_of(tenant, item.id) for item in items_held]

    async def edit(content_id: uuid.UUID) -> ContentItem:
        changes = ContentUpdate(title="新品上市", body="限时 8 折")
        return await tenant.run(
            lambda session: items.update_item(
                session=session,
                outbox=OUTBOX,
                lexicon=Lexicon([]),
                tenant_id=tenant.tenant_id,
                item_id=content_id,
                changes=changes,
            )
        )

    answers = await at_once(
        *(op for case in cases for op in (decide(tenant, case.id, "reject", "amy"), edit(case.content_id)))
    )

    for n, item in enumerate(items_held):
        decided, edited = answers[2 * n], answers[2 * n + 1]
        assert outcome(edited) == "ok", edited
        assert outcome(decided) in {"ok", "AlreadyDecided"}, decided
        # Rejected first, then edited into clean text; or edited first, the old case superseded: ready either way.
        case = "rejected" if outcome(decided) == "ok" else "superseded"
        assert await state(tenant, item.id) == {"item": "ready", "cases": [case], "placements": []}


class PausingSession(AsyncSession):
    """A session that, once it has cancelled placements, holds its transaction open until let go: the moment
    an erasure is most in the way of a reviewer's decision."""

    def __init__(self, *args: Any, paused: asyncio.Event, go_on: asyncio.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.paused, self.go_on = paused, go_on

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = await super().execute(statement, *args, **kwargs)
        if isinstance(statement, Update) and statement.table.name == "placements" and not self.paused.is_set():
            self.paused.set()
            await self.go_on.wait()
        return result


async def test_a_rejection_while_the_post_s_author_is_erased_waits_for_the_erasure(tenant: Tenant) -> None:
    _, [post] = await held_posts(tenant, 1)
    case = await case_of(tenant, post.id)
    paused, go_on = asyncio.Event(), asyncio.Event()

    async def erase() -> None:
        async with PausingSession(tenant.engine, paused=paused, go_on=go_on) as session, session.begin():
            assert post.author_member_id is not None
            await erasure.forget_members(session=session, erased=[(tenant.tenant_id, post.author_member_id)])

    erasing = asyncio.create_task(erase())
    await asyncio.wait_for(paused.wait(), 10)
    deciding = asyncio.create_task(decide(tenant, case.id, "reject", "amy"))
    await wait_until(lambda: waiting_on_locks(tenant.engine), what="the decision waiting for the erasure")
    go_on.set()
    erased, decided = await at_once(erasing, deciding)

    # Neither fails on a deadlock: the decision finds the case superseded by the erasure.
    assert (outcome(erased), outcome(decided)) == ("ok", "AlreadyDecided")
    assert await state(tenant, post.id) == {"item": "erased", "cases": ["superseded"], "placements": ["cancelled"]}
    async with AsyncSession(tenant.engine) as session:
        erased_post = await session.get_one(ContentItem, post.id)
    assert (erased_post.body, erased_post.author_member_id) == ("", None)
    assert await tenant.events("content.posted") == []

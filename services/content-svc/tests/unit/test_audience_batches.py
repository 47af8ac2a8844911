"""Tags and segments of members, which member-svc and analytics-svc announce by the hundred thousand after a
history import, taken a consumer batch at once: the same tags and segments as one event at a time, in the
statements of a few events."""

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import erasure
from content_svc.audience.models import MemberSegment, MemberTag
from content_svc.handlers import HANDLERS
from content_svc.models import Base
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.analytics import MemberSegmentChangedV1
from qunyun_shared.events.member import MemberTaggedV1
from qunyun_shared.testing import in_memory_database, statements

from .conftest import OUTBOX, TENANT

pytestmark = pytest.mark.unit

OTHER = "tenant-b"
KEPT, DROPPED, READDED, ERASED, NEWCOMER, FOREIGN = (uuid.UUID(int=n) for n in range(1, 7))


async def world(session: AsyncSession) -> None:
    """Tags and segments content-svc knows already: some to be removed, re-added or changed; one member erased."""
    session.add_all(
        [
            MemberTag(member_id=KEPT, tag="宝妈", tenant_id=TENANT),
            MemberTag(member_id=DROPPED, tag="宝妈", tenant_id=TENANT),
            MemberTag(member_id=READDED, tag="宝妈", tenant_id=TENANT),
            MemberTag(member_id=FOREIGN, tag="宝妈", tenant_id=OTHER),
            MemberSegment(member_id=KEPT, tenant_id=TENANT, segment="ordinary"),
            MemberSegment(member_id=FOREIGN, tenant_id=OTHER, segment="ordinary"),
        ]
    )
    await session.flush()
    await erasure.forget_members(session=session, erased=[(TENANT, ERASED)])


def changes() -> list[Envelope]:
    def tagged(member_id: uuid.UUID, tag: str, action: str, tenant_id: str = TENANT) -> tuple[str, EventPayload]:
        return tenant_id, MemberTaggedV1(member_id=member_id, tag=tag, kind="rule", action=action)  # type: ignore[arg-type]

    def segment(member_id: uuid.UUID, to: str, tenant_id: str = TENANT) -> tuple[str, EventPayload]:
        return tenant_id, MemberSegmentChangedV1(member_id=member_id, to_segment=to)  # type: ignore[arg-type]

    tags = [
        tagged(KEPT, "宝妈", "added"),  # there already
        tagged(KEPT, "复购", "added"),
        tagged(DROPPED, "宝妈", "removed"),
        tagged(READDED, "宝妈", "removed"),
        tagged(READDED, "宝妈", "added", OTHER),  # back under the tenant of the addition after the removal
        tagged(READDED, "宝妈", "added"),
        tagged(NEWCOMER, "新人", "added"),
        tagged(NEWCOMER, "新人", "removed"),
        tagged(NEWCOMER, "活跃", "removed"),
        tagged(NEWCOMER, "活跃", "added"),
        tagged(ERASED, "宝妈", "added"),
        tagged(FOREIGN, "宝妈", "added", TENANT),
    ]
    segments = [
        segment(KEPT, "potential"),
        segment(KEPT, "high_value"),  # the last one stands
        segment(NEWCOMER, "ordinary", OTHER),  # new: under the tenant of the first change
        segment(NEWCOMER, "potential"),
        segment(ERASED, "churn_risk"),
        segment(FOREIGN, "churn_risk", TENANT),
    ]
    return [new_event(source="test", tenant_id=t, payload=p) for t, p in tags + segments]


async def audience(session: AsyncSession) -> dict[str, Any]:
    tags = await session.execute(select(MemberTag.member_id, MemberTag.tag, MemberTag.tenant_id))
    segments = await session.execute(select(MemberSegment.member_id, MemberSegment.tenant_id, MemberSegment.segment))
    return {"tags": sorted(tags.all()), "segments": sorted(segments.all())}


async def test_a_batch_of_tags_and_segments_leaves_what_one_event_at_a_time_leaves() -> None:
    run = changes()
    async with in_memory_database(Base.metadata) as one_by_one, in_memory_database(Base.metadata) as together:
        async with AsyncSession(one_by_one) as session, session.begin():
            await world(session)
            for envelope in run:
                await HANDLERS[envelope.type](session, OUTBOX, [envelope])
            expected = await audience(session)
        async with AsyncSession(together) as session, session.begin():
            await world(session)
            for type_ in ("member.tagged", "member.segment_changed"):
                await HANDLERS[type_](session, OUTBOX, [envelope for envelope in run if envelope.type == type_])
            assert await audience(session) == expected
    assert expected == {
        "tags": sorted(
            [
                (KEPT, "宝妈", TENANT),
                (KEPT, "复购", TENANT),
                (READDED, "宝妈", OTHER),
                (NEWCOMER, "活跃", TENANT),
                (FOREIGN, "宝妈", OTHER),
            ]
        ),
        "segments": sorted(
            [(KEPT, TENANT, "high_value"), (NEWCOMER, OTHER, "potential"), (FOREIGN, OTHER, "churn_risk")]
        ),
    }


async def test_a_batch_of_tags_or_segments_takes_the_statements_of_a_few() -> None:
    def batch(count: int) -> dict[str, list[Envelope]]:
        members = [uuid.uuid4() for _ in range(count)]
        tags = [
            MemberTaggedV1(member_id=m, tag=tag, kind="rule", action=action)  # type: ignore[arg-type]
            for m in members
            for tag, action in (("宝妈", "added"), ("新人", "added"), ("新人", "removed"))
        ]
        segments = [MemberSegmentChangedV1(member_id=m, to_segment="potential") for m in members]
        return {
            "member.tagged": [new_event(source="member-svc", tenant_id=TENANT, payload=p, imported=True) for p in tags],
            "member.segment_changed": [
                new_event(source="analytics-svc", tenant_id=TENANT, payload=p) for p in segments
            ],
        }

    sent: dict[tuple[str, int], list[str]] = {}
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine) as session, session.begin():
        for count in (3, 1000):
            for type_, run in batch(count).items():
                with statements(engine) as sent[type_, count]:
                    await HANDLERS[type_](session, OUTBOX, run)
        assert await session.scalar(select(MemberTag.tag).where(MemberTag.tag == "新人").limit(1)) is None
    # The erased look-up, the removals, the additions; the erased look-up, one upsert.
    assert len(sent["member.tagged", 1000]) == len(sent["member.tagged", 3]) == 3
    assert len(sent["member.segment_changed", 1000]) == len(sent["member.segment_changed", 3]) == 2

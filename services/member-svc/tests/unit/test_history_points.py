"""Imported history and points: by default it earns none (a tenant can say it does), while the facts it carries
move lifecycle, activity and tags as live events do; what member-svc announces because of it is marked imported."""

import base64
import os
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.handlers import HANDLERS
from member_svc.members import service as members
from member_svc.members.models import Member, MemberActivity
from member_svc.members.schemas import MemberCreate
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.points import policy
from member_svc.points.models import PointsEntry
from member_svc.points.policy import DEFAULT_POLICY
from member_svc.tags import service as tags
from member_svc.tags.schemas import TagRuleBody
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPlacedV1
from qunyun_shared.events.content import SurveyAnsweredV1
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
LAST_YEAR = datetime.now(UTC) - timedelta(days=400)
CHECKIN_DAY = date(2025, 10, 1)
CHECKED_IN = datetime(2025, 9, 30, 16, 0, tzinfo=UTC)  # the day's start in Asia/Shanghai, the default zone

session = in_memory_session_fixture(Base.metadata)


async def new_member(session: AsyncSession, invited_by: uuid.UUID | None = None) -> Member:
    member = await members.register(
        session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=TENANT, member_in=MemberCreate(nickname="小雨")
    )
    member.invited_by = invited_by
    return member


async def deliver(session: AsyncSession, *payloads: EventPayload, imported: bool) -> None:
    """Hands events to member-svc's handlers as the consumer would."""
    for payload in payloads:
        envelope = new_event(source="test", tenant_id=TENANT, payload=payload, imported=imported)
        await HANDLERS[envelope.type](session, OUTBOX, [envelope])


def history_of(inviter: Member, invitee: Member) -> list[EventPayload]:
    community_id = uuid.uuid4()
    return [
        MemberJoinedV1(member_id=inviter.id, community_id=community_id, channel="qr", joined_at=LAST_YEAR),
        MemberJoinedV1(
            member_id=invitee.id,
            community_id=community_id,
            channel="invite",
            inviter_id=inviter.id,
            joined_at=LAST_YEAR,
        ),
        OrderPlacedV1(order_id=uuid.uuid4(), member_id=invitee.id, amount_fen=250_000, placed_at=LAST_YEAR),
        CheckinRecordedV1(campaign_id=uuid.uuid4(), member_id=inviter.id, day=CHECKIN_DAY, streak=1),
    ]


async def announced_since(session: AsyncSession, first_id: int) -> list[tuple[str, bool]]:
    rows = (await session.execute(select(MESSAGING.outbox).where(MESSAGING.outbox.c.id > first_id))).all()
    events = [from_kafka(row.value, [(name, value.encode()) for name, value in row.headers]) for row in rows]
    return [(event.type, event.imported) for event in events]


async def last_outbox_id(session: AsyncSession) -> int:
    return await session.scalar(select(func.max(MESSAGING.outbox.c.id))) or 0


async def test_imported_history_earns_no_points_by_default_but_its_facts_count(session: AsyncSession) -> None:
    await tags.create_rule(
        session=session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        rule_in=TagRuleBody.model_validate(
            {"tag": "买过", "conditions": [{"field": "orders", "op": "gte", "value": 1}]}
        ),
    )
    inviter = await new_member(session)
    invitee = await new_member(session, invited_by=inviter.id)
    since = await last_outbox_id(session)
    await deliver(session, *history_of(inviter, invitee), imported=True)

    assert await session.scalar(select(func.count()).select_from(PointsEntry)) == 0
    assert (inviter.lifecycle, invitee.lifecycle) == ("loyal", "active")  # a friend referred; an order
    activity = await session.get(MemberActivity, invitee.id)
    assert activity is not None and (activity.orders, activity.last_active_at) == (1, LAST_YEAR)
    assert (await tags.tag_names_of(session=session, member_ids=[invitee.id]))[invitee.id] == ["买过"]
    assert await announced_since(session, since) == [("member.tagged", True)]


async def test_a_tenant_whose_history_earns_gets_the_points_live_events_would_give(session: AsyncSession) -> None:
    await policy.set_rules(
        session=session, tenant_id=TENANT, rules=DEFAULT_POLICY.model_copy(update={"history_earns_points": True})
    )
    assert (await policy.policy_of(session=session, tenant_id=TENANT)).rules.history_earns_points
    inviter = await new_member(session)
    invitee = await new_member(session, invited_by=inviter.id)
    since = await last_outbox_id(session)
    await deliver(session, *history_of(inviter, invitee), imported=True)

    earned = await session.execute(select(PointsEntry.member_id, PointsEntry.reason, PointsEntry.delta, PointsEntry.at))
    assert sorted((m == inviter.id, reason, delta, at) for m, reason, delta, at in earned.all()) == [
        (False, "join", 10, LAST_YEAR),
        (False, "order", 2500, LAST_YEAR),
        (True, "checkin", 5, CHECKED_IN),
        (True, "join", 10, LAST_YEAR),
        (True, "referral", 50, LAST_YEAR),
    ]
    assert invitee.level == 2  # 2,510 lifetime points: 金卡
    announced = await announced_since(session, since)
    assert {type_ for type_, _ in announced} == {"member.points_changed", "member.level_changed"}
    assert all(imported for _, imported in announced)


async def test_an_imported_survey_answer_counts_without_making_its_member_active_lately(session: AsyncSession) -> None:
    member = await new_member(session)
    answered = SurveyAnsweredV1(survey_id=uuid.uuid4(), member_id=member.id, nps=9)
    await deliver(session, answered, imported=True)
    activity = await session.get(MemberActivity, member.id)
    assert activity is not None and (activity.participations, activity.last_active_at) == (1, None)
    assert member.lifecycle == "active"
    await deliver(
        session,
        OrderPlacedV1(order_id=uuid.uuid4(), member_id=member.id, amount_fen=100, placed_at=LAST_YEAR),
        imported=True,
    )
    await deliver(session, answered.model_copy(update={"survey_id": uuid.uuid4()}), imported=True)
    await session.refresh(activity)
    assert (activity.participations, activity.orders, activity.last_active_at) == (2, 1, LAST_YEAR)


async def test_live_events_earn_whatever_the_history_setting(session: AsyncSession) -> None:
    inviter = await new_member(session)
    invitee = await new_member(session, invited_by=inviter.id)
    since = await last_outbox_id(session)
    await deliver(session, *history_of(inviter, invitee), imported=False)
    assert await session.scalar(select(func.count()).select_from(PointsEntry)) == 5
    assert not any(imported for _, imported in await announced_since(session, since))

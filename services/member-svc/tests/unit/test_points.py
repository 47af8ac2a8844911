"""Points and levels, without HTTP: earning from events, spending, claw-backs, expiry and levels."""

import base64
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.exceptions import IdempotencyKeyReused, InsufficientPoints
from member_svc.handlers import HANDLERS
from member_svc.members import service as members
from member_svc.members.models import Member
from member_svc.members.schemas import MemberCreate
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.points import policy
from member_svc.points import service as points
from member_svc.points.models import PointsAccount, PointsEntry
from member_svc.points.schemas import Levels, PointsPolicyBody
from member_svc.tags.models import MemberTag
from member_svc.tags.service import CHURN_RISK_TAG
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPlacedV1, OrderRefundedV1, RewardGrantedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import MemberJoinedV1, MemberLevelChangedV1, MemberPointsChangedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, staged_events

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")

session = in_memory_session_fixture(Base.metadata)


async def new_member(session: AsyncSession, tenant: str = TENANT) -> Member:
    return await members.register(
        session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=tenant, member_in=MemberCreate(nickname="小雨")
    )


async def deliver(session: AsyncSession, *payloads: EventPayload, tenant: str = TENANT) -> None:
    """Hands events to member-svc's handlers as the consumer would, one run per type."""
    for payload in payloads:
        envelope = new_event(source="test", tenant_id=tenant, payload=payload)
        await HANDLERS[envelope.type](session, OUTBOX, [envelope])


def order(member_id: uuid.UUID, amount_fen: int, order_id: uuid.UUID | None = None) -> OrderPlacedV1:
    return OrderPlacedV1(order_id=order_id or uuid.uuid4(), member_id=member_id, amount_fen=amount_fen, placed_at=NOW)


async def grant(
    session: AsyncSession,
    member_id: uuid.UUID,
    amount: int,
    *,
    note: str | None = None,
    key: str | None = None,
    at: datetime = NOW,
) -> PointsEntry:
    return await points.grant(
        session=session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        member_id=member_id,
        points=amount,
        note=note,
        idempotency_key=key,
        at=at,
    )


async def spend(
    session: AsyncSession,
    member_id: uuid.UUID,
    amount: int,
    *,
    note: str | None = None,
    key: str | None = None,
    at: datetime = NOW,
) -> PointsEntry:
    return await points.spend(
        session=session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        member_id=member_id,
        points=amount,
        note=note,
        idempotency_key=key,
        at=at,
    )


async def account(session: AsyncSession, member_id: uuid.UUID) -> PointsAccount:
    found = await session.get(PointsAccount, member_id, populate_existing=True)
    assert found is not None
    return found


async def ledger_sum(session: AsyncSession, member_id: uuid.UUID) -> int:
    return await session.scalar(select(func.sum(PointsEntry.delta)).where(PointsEntry.member_id == member_id)) or 0


async def lots_left(session: AsyncSession, member_id: uuid.UUID) -> int:
    query = select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(PointsEntry.member_id == member_id)
    return await session.scalar(query) or 0


async def assert_books_balance(session: AsyncSession, member_id: uuid.UUID) -> None:
    books = await account(session, member_id)
    assert books.balance - books.debt == await ledger_sum(session, member_id)
    assert books.balance == await lots_left(session, member_id)
    assert books.balance >= 0 and books.debt >= 0 and not (books.balance and books.debt)


async def test_events_earn_by_the_default_rules_and_each_source_earns_once(session: AsyncSession) -> None:
    member = await new_member(session)
    joined = MemberJoinedV1(member_id=member.id, community_id=uuid.uuid4(), channel="qr", joined_at=NOW)
    placed = order(member.id, 12_999)  # ¥129.99: 129 whole yuan, 1 point each
    checkin = CheckinRecordedV1(campaign_id=uuid.uuid4(), member_id=member.id, day=NOW.date(), streak=1)
    await deliver(session, joined, placed, checkin)
    await deliver(session, joined, placed, checkin)  # the same facts again (another join, a replay)
    assert (await account(session, member.id)).balance == 10 + 129 + 5
    reasons = (await session.scalars(select(PointsEntry.reason).order_by(PointsEntry.at))).all()
    assert sorted(reasons) == ["checkin", "join", "order"]
    changes = [e for t, e in await staged_events(session, MESSAGING.outbox) if t == "member.points_changed"]
    assert [(c.delta, c.balance) for c in changes] == [(10, 10), (129, 139), (5, 144)]
    await assert_books_balance(session, member.id)


async def test_daily_limits_count_days_in_the_tenants_zone(session: AsyncSession) -> None:
    member = await new_member(session)
    await policy.set_rules(
        session=session,
        tenant_id=TENANT,
        rules=PointsPolicyBody.model_validate(
            {"earn_rules": {"comment": {"points": 2, "daily_limit": 2}}, "timezone": "Asia/Shanghai"}
        ),
    )
    evening_in_shanghai = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    for minutes in (0, 5, 10, 40):  # the fourth comment is 00:10 the next day in Shanghai
        at = evening_in_shanghai + timedelta(minutes=minutes)
        comment = ContentEngagedV1(content_id=uuid.uuid4(), member_id=member.id, action="comment", occurred_at=at)
        await deliver(session, comment)
    assert (await account(session, member.id)).balance == 2 + 2 + 2


async def test_a_spend_beyond_the_balance_is_refused_and_changes_nothing(session: AsyncSession) -> None:
    member = await new_member(session)
    await grant(session, member.id, 50)
    before = len(await staged_events(session, MESSAGING.outbox))
    with pytest.raises(InsufficientPoints):
        await spend(session, member.id, 51)
    assert (await account(session, member.id)).balance == 50
    assert len(await staged_events(session, MESSAGING.outbox)) == before
    await assert_books_balance(session, member.id)


async def test_a_repeated_spend_key_returns_the_first_spend_and_another_payload_is_refused(
    session: AsyncSession,
) -> None:
    member = await new_member(session)
    await grant(session, member.id, 100)

    first = await spend(session, member.id, 30, note="杯子", key="k1")
    again = await spend(session, member.id, 30, note="杯子", key="k1")
    assert first.id == again.id and (await account(session, member.id)).balance == 70
    with pytest.raises(IdempotencyKeyReused):
        await spend(session, member.id, 40, note="杯子", key="k1")


async def test_spending_uses_the_soonest_expiring_points_and_expiry_takes_only_what_is_left(
    session: AsyncSession,
) -> None:
    member = await new_member(session)
    await policy.set_rules(
        session=session, tenant_id=TENANT, rules=PointsPolicyBody.model_validate({"earn_rules": {}, "expiry_days": 30})
    )

    await grant(session, member.id, 100, at=NOW - timedelta(days=20))  # expires in 10 days
    await grant(session, member.id, 100)  # expires in 30 days
    await spend(session, member.id, 60)
    assert await points.expire_due(session=session, outbox=OUTBOX, now=NOW + timedelta(days=11)) == 1
    assert (await account(session, member.id)).balance == 100  # the older lot's 40 left expired
    assert await points.expire_due(session=session, outbox=OUTBOX, now=NOW + timedelta(days=11)) == 0
    assert await points.expire_due(session=session, outbox=OUTBOX, now=NOW + timedelta(days=31)) == 1
    assert (await account(session, member.id)).balance == 0
    expiries = (await session.scalars(select(PointsEntry.delta).where(PointsEntry.reason == "expiry"))).all()
    assert sorted(expiries) == [-100, -40]
    await assert_books_balance(session, member.id)


async def test_a_refund_claws_back_in_proportion_and_spent_points_become_debt(session: AsyncSession) -> None:
    member = await new_member(session)
    order_id = uuid.uuid4()
    await deliver(session, order(member.id, 100_00, order_id))  # ¥100: 100 points
    await spend(session, member.id, 80)
    half = OrderRefundedV1(order_id=order_id, member_id=member.id, amount_fen=50_00, refunded_at=NOW)
    await deliver(session, half)
    books = await account(session, member.id)
    assert (books.balance, books.debt, books.lifetime) == (0, 30, 50)
    await deliver(session, OrderRefundedV1(order_id=order_id, member_id=member.id, amount_fen=80_00, refunded_at=NOW))
    books = await account(session, member.id)
    assert (books.balance, books.debt, books.lifetime) == (0, 80, 0)  # never more than the order earned
    await grant(session, member.id, 100)
    books = await account(session, member.id)
    assert (books.balance, books.debt) == (20, 0)  # the debt is paid first
    await assert_books_balance(session, member.id)


async def test_crossing_a_threshold_moves_the_level_up_and_a_claw_back_moves_it_down(session: AsyncSession) -> None:
    member = await new_member(session)
    ladder = Levels.model_validate(
        {"levels": [{"level": 0, "name": "普通", "threshold": 0}, {"level": 1, "name": "银卡", "threshold": 100}]}
    )
    await policy.set_levels(session=session, outbox=OUTBOX, tenant_id=TENANT, levels=ladder)
    order_id = uuid.uuid4()
    await deliver(session, order(member.id, 150_00, order_id))
    assert (await session.get(Member, member.id, populate_existing=True)).level == 1  # type: ignore[union-attr]
    await spend(session, member.id, 150)
    assert (await session.get(Member, member.id, populate_existing=True)).level == 1  # type: ignore[union-attr]
    await deliver(session, OrderRefundedV1(order_id=order_id, member_id=member.id, amount_fen=150_00, refunded_at=NOW))
    assert (await session.get(Member, member.id, populate_existing=True)).level == 0  # type: ignore[union-attr]
    moves = [e for t, e in await staged_events(session, MESSAGING.outbox) if t == "member.level_changed"]
    assert moves == [
        MemberLevelChangedV1(member_id=member.id, from_level=0, to_level=1),
        MemberLevelChangedV1(member_id=member.id, from_level=1, to_level=0),
    ]


async def test_a_new_ladder_moves_members_already_past_its_thresholds(session: AsyncSession) -> None:
    member = await new_member(session)
    await grant(session, member.id, 300)
    assert member.level == 0  # the default ladder starts silver at 500
    ladder = Levels.model_validate(
        {"levels": [{"level": 0, "name": "普通", "threshold": 0}, {"level": 1, "name": "银卡", "threshold": 200}]}
    )
    await policy.set_levels(session=session, outbox=OUTBOX, tenant_id=TENANT, levels=ladder)
    assert (await session.get(Member, member.id, populate_existing=True)).level == 1  # type: ignore[union-attr]


async def test_events_about_unknown_erased_or_foreign_members_earn_nothing(session: AsyncSession) -> None:
    foreign = await new_member(session, tenant="tenant-b")
    await deliver(session, order(foreign.id, 100_00), order(uuid.uuid4(), 100_00))
    assert await session.scalar(select(func.count()).select_from(PointsEntry)) == 0


def test_a_ladder_must_start_at_zero_and_rise() -> None:
    with pytest.raises(ValueError, match="level 0"):
        Levels.model_validate({"levels": [{"level": 1, "name": "银卡", "threshold": 100}]})
    with pytest.raises(ValueError, match="rise"):
        Levels.model_validate(
            {
                "levels": [
                    {"level": 0, "name": "a", "threshold": 0},
                    {"level": 1, "name": "b", "threshold": 500},
                    {"level": 2, "name": "c", "threshold": 500},
                ]
            }
        )


def test_points_changed_never_reports_a_negative_balance() -> None:
    with pytest.raises(ValueError):
        MemberPointsChangedV1(member_id=uuid.uuid4(), delta=-5, balance=-1, reason="spend")


async def test_a_campaigns_reward_earns_its_points_and_tag_once_and_a_system_tag_is_not_its_to_set(
    session: AsyncSession,
) -> None:
    member = await new_member(session)
    reward = RewardGrantedV1(reward_id=uuid.uuid4(), member_id=member.id, points=40, tag="打卡达人", reason="checkin")
    await deliver(session, reward)
    await deliver(session, reward)  # redelivered
    system_tag = RewardGrantedV1(reward_id=uuid.uuid4(), member_id=member.id, points=5, tag=CHURN_RISK_TAG, reason="x")
    await deliver(session, system_tag)
    assert (await account(session, member.id)).balance == 45
    tags = (await session.scalars(select(MemberTag.tag).where(MemberTag.member_id == member.id))).all()
    assert list(tags) == ["打卡达人"]

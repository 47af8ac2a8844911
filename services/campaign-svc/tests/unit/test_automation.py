"""Automation: rules fire on events only for consenting members, within their caps, outside quiet hours
(deferred to their end), once per event; every evaluation is logged with its outcome and reason."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.automation import engine as automation_engine
from campaign_svc.automation import service as automation
from campaign_svc.automation.models import AutomationRun
from campaign_svc.automation.schemas import PlaybookCreate
from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.schemas import CampaignCreate
from campaign_svc.db import ERASED_MEMBERS
from campaign_svc.handlers import HANDLERS
from campaign_svc.members import service as members
from campaign_svc.models import Base
from qunyun_shared.erasure import remember_erased
from qunyun_shared.testing import in_memory_session_fixture

from .automation_world import (
    NIGHT,
    NOON,
    OUTBOX,
    SHANGHAI,
    TENANT,
    coupons_of,
    engaged,
    event,
    join,
    joined,
    member,
    paid,
    rule,
    runs,
    set_consent,
    staged,
    template,
    without_quiet_hours,
)

pytestmark = pytest.mark.unit

session = in_memory_session_fixture(Base.metadata)


async def test_the_welcome_pack_is_issued_on_the_first_join_only(session: AsyncSession) -> None:
    coupon = await template(session)
    await automation.create_playbook(
        session=session, tenant_id=TENANT, playbook="welcome_pack", body=PlaybookCreate(coupon_template_id=coupon)
    )
    member_id = uuid.uuid4()
    await join(session, member_id)

    newcomer = uuid.uuid4()
    await members.record_joins(session=session, joins=[(TENANT, joined(newcomer))])
    await set_consent(session, newcomer, True)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(joined(newcomer))], now=NOON)
    await join(session, newcomer)

    assert await runs(session, newcomer) == [
        ("fired", None),
        ("skipped", "condition member.communities_joined eq 1 not met"),
    ]
    assert await coupons_of(session, newcomer) == 1
    assert await runs(session, member_id) == [("skipped", "no marketing consent")]


async def test_in_one_batch_each_member_is_evaluated_at_each_of_their_joins(session: AsyncSession) -> None:
    await without_quiet_hours(session, "Asia/Shanghai")
    coupon = await template(session)
    await automation.create_playbook(
        session=session, tenant_id=TENANT, playbook="welcome_pack", body=PlaybookCreate(coupon_template_id=coupon)
    )
    twice, once = uuid.uuid4(), uuid.uuid4()
    for member_id in (twice, once):
        await set_consent(session, member_id, True)
    batch = [event(joined(twice)), event(joined(once)), event(joined(twice))]
    await HANDLERS["member.joined"](session, OUTBOX, batch)
    assert await runs(session, twice) == [
        ("fired", None),
        ("skipped", "condition member.communities_joined eq 1 not met"),
    ]
    assert await runs(session, once) == [("fired", None)]
    assert (await coupons_of(session, twice), await coupons_of(session, once)) == (1, 1)


async def test_without_consent_nothing_reaches_the_member_and_the_log_says_why(session: AsyncSession) -> None:
    await rule(
        session, trigger="order.paid", actions=[{"type": "issue_coupon", "coupon_template_id": await template(session)}]
    )
    silent, unknown = await member(session, consent=False), uuid.uuid4()
    await automation_engine.evaluate(
        session=session, outbox=OUTBOX, envelopes=[event(paid(silent)), event(paid(unknown))], now=NOON
    )
    assert await runs(session, silent) == [("skipped", "no marketing consent")]
    assert await runs(session, unknown) == [("skipped", "no marketing consent")]
    assert await staged(session, "coupon.issued") == []


async def test_member_conditions_fail_for_a_member_campaigns_do_not_know(session: AsyncSession) -> None:
    tag = {"type": "add_tag", "tag": "vip"}
    condition = {"subject": "member", "field": "level", "op": "gte", "value": 2}
    await rule(session, trigger="order.paid", conditions=[condition], actions=[tag])
    unknown = uuid.uuid4()
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(unknown))], now=NOON)
    assert await runs(session, unknown) == [("skipped", "member unknown")]


async def test_consent_withdrawn_later_stops_marketing_but_not_tagging(session: AsyncSession) -> None:
    await rule(session, trigger="order.paid", actions=[{"type": "add_points", "points": 20}])
    await rule(session, trigger="order.paid", actions=[{"type": "add_tag", "tag": "buyer"}])
    member_id = await member(session)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NOON)
    await set_consent(session, member_id, False)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NOON)
    assert await runs(session, member_id) == [
        ("fired", None),
        ("fired", None),
        ("fired", None),
        ("skipped", "no marketing consent"),
    ]
    granted = await staged(session, "reward.granted")
    assert sorted((g.points, g.tag) for g in granted) == [(0, "buyer"), (0, "buyer"), (20, None)]


async def test_rewards_and_notices_go_out_as_events(session: AsyncSession) -> None:
    actions = [
        {"type": "add_points", "points": 50},
        {"type": "add_tag", "tag": "big-spender"},
        {"type": "notify_merchant", "message": "大单客户, 请跟进"},
    ]
    campaign = await campaigns.create_campaign(
        session=session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        campaign_in=CampaignCreate(kind="member_day", name="会员日"),
        now=NOON - timedelta(days=1),
    )
    rule_id = await rule(session, trigger="order.paid", actions=actions, campaign_id=campaign.id)
    member_id = await member(session)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NOON)
    [granted] = await staged(session, "reward.granted")
    assert (granted.member_id, granted.points, granted.tag, granted.campaign_id) == (
        member_id,
        50,
        "big-spender",
        campaign.id,
    )
    [notified] = await staged(session, "merchant.notified")
    assert (notified.rule_id, notified.member_id, notified.trigger) == (rule_id, member_id, "order.paid")
    assert notified.message == "大单客户, 请跟进"


async def test_event_conditions_decide_and_name_the_unmet_one(session: AsyncSession) -> None:
    condition = {"subject": "event", "field": "amount_fen", "op": "gte", "value": 10_000}
    await rule(session, trigger="order.paid", conditions=[condition], actions=[{"type": "add_points", "points": 5}])
    member_id = await member(session)
    await automation_engine.evaluate(
        session=session,
        outbox=OUTBOX,
        envelopes=[event(paid(member_id, 500)), event(paid(member_id, 20_000))],
        now=NOON,
    )
    assert await runs(session, member_id) == [
        ("fired", None),
        ("skipped", "condition event.amount_fen gte 10000 not met"),
    ]


async def test_the_frequency_cap_bounds_firings_per_member_in_its_window(session: AsyncSession) -> None:
    cap = {"max_fires": 1, "per_days": 7}
    await rule(session, trigger="content.engaged", actions=[{"type": "add_points", "points": 1}], frequency_cap=cap)
    member_id, other = await member(session), await member(session)
    batch = [event(engaged(member_id)), event(engaged(member_id)), event(engaged(other))]
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=batch, now=NOON)
    await automation_engine.evaluate(
        session=session, outbox=OUTBOX, envelopes=[event(engaged(member_id))], now=NOON + timedelta(days=7, seconds=1)
    )
    assert await runs(session, member_id) == [
        ("fired", None),
        ("fired", None),
        ("skipped", "frequency cap 1 per 7 days reached"),
    ]
    assert await runs(session, other) == [("fired", None)]


async def test_quiet_hours_defer_marketing_to_their_end(session: AsyncSession) -> None:
    await rule(
        session, trigger="order.paid", actions=[{"type": "issue_coupon", "coupon_template_id": await template(session)}]
    )
    member_id = await member(session)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NIGHT)
    [run] = (await automation.runs_of(session=session, tenant_id=TENANT, member_id=member_id, limit=10))[0]
    morning = datetime(2026, 6, 16, 8, tzinfo=SHANGHAI)
    assert (run.outcome, run.reason, run.deferred_until) == ("deferred", "quiet hours until 08:00", morning)
    assert await coupons_of(session, member_id) == 0

    assert await automation_engine.run_deferred(session=session, outbox=OUTBOX, now=morning - timedelta(minutes=1)) == 0
    assert await automation_engine.run_deferred(session=session, outbox=OUTBOX, now=morning) == 1
    assert await automation_engine.run_deferred(session=session, outbox=OUTBOX, now=morning) == 0
    await session.refresh(run)
    assert (run.outcome, run.executed_at) == ("fired", morning)
    assert await coupons_of(session, member_id) == 1


async def test_a_deferred_firing_is_skipped_if_consent_was_withdrawn_meanwhile(session: AsyncSession) -> None:
    await rule(session, trigger="order.paid", actions=[{"type": "add_points", "points": 10}])
    member_id = await member(session)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NIGHT)
    await set_consent(session, member_id, False)
    assert await automation_engine.run_deferred(session=session, outbox=OUTBOX, now=NIGHT + timedelta(hours=9)) == 1
    assert await runs(session, member_id) == [("skipped", "no marketing consent")]
    assert await staged(session, "reward.granted") == []


async def test_tagging_is_not_held_back_by_quiet_hours(session: AsyncSession) -> None:
    await rule(session, trigger="order.paid", actions=[{"type": "add_tag", "tag": "night-owl"}])
    member_id = await member(session, consent=False)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NIGHT)
    assert await runs(session, member_id) == [("fired", None)]


async def test_a_redelivered_event_neither_fires_nor_logs_twice(session: AsyncSession) -> None:
    coupon = await template(session, per_member_limit=5)
    actions = [
        {"type": "issue_coupon", "coupon_template_id": coupon},
        {"type": "add_points", "points": 10},
        {"type": "notify_merchant", "message": "新单"},
    ]
    await rule(session, trigger="order.paid", actions=actions)
    member_id = await member(session)
    delivery = event(paid(member_id))
    for _ in range(2):
        await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[delivery, delivery], now=NOON)
    assert await runs(session, member_id) == [("fired", None)]
    assert await coupons_of(session, member_id) == 1
    assert len(await staged(session, "reward.granted")) == len(await staged(session, "merchant.notified")) == 1


async def test_a_failed_action_is_logged_and_the_rest_of_the_batch_fires(session: AsyncSession) -> None:
    await rule(
        session,
        trigger="order.paid",
        actions=[{"type": "issue_coupon", "coupon_template_id": await template(session, total_stock=1)}],
    )
    await rule(session, trigger="order.paid", actions=[{"type": "add_tag", "tag": "buyer"}])
    first, second = await member(session), await member(session)
    await automation_engine.evaluate(
        session=session, outbox=OUTBOX, envelopes=[event(paid(first)), event(paid(second))], now=NOON
    )
    assert await runs(session, first) == [("fired", None), ("fired", None)]
    [(failed, reason), tagged] = sorted(await runs(session, second), key=lambda run: run[0] != "failed")
    assert failed == "failed" and reason is not None and reason.startswith("coupon out of stock: ")
    assert tagged == ("fired", None)
    assert (await coupons_of(session, first), await coupons_of(session, second)) == (1, 0)


async def test_disabled_and_deleted_rules_stop_firing(session: AsyncSession) -> None:
    rule_id = await rule(session, trigger="order.paid", actions=[{"type": "add_points", "points": 1}])
    member_id = await member(session)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NIGHT)
    await automation.set_enabled(session=session, tenant_id=TENANT, rule_id=rule_id, enabled=False)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NOON)
    assert await automation_engine.run_deferred(session=session, outbox=OUTBOX, now=NIGHT + timedelta(hours=9)) == 1
    assert await runs(session, member_id) == [("skipped", "rule disabled")]

    await automation.set_enabled(session=session, tenant_id=TENANT, rule_id=rule_id, enabled=True)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NIGHT)
    await automation.delete_rule(session=session, tenant_id=TENANT, rule_id=rule_id)
    assert await automation_engine.run_deferred(session=session, outbox=OUTBOX, now=NIGHT + timedelta(hours=9)) == 0
    assert await runs(session, member_id) == [("skipped", "rule deleted"), ("skipped", "rule disabled")]
    assert await staged(session, "reward.granted") == []


async def test_erased_members_are_never_touched(session: AsyncSession) -> None:
    await rule(session, trigger="order.paid", actions=[{"type": "add_tag", "tag": "a"}])
    member_id = await member(session)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NIGHT)
    await remember_erased(session, ERASED_MEMBERS, [(TENANT, member_id)])
    await automation.forget_members(session=session, erased=[(TENANT, member_id)])
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NOON)
    assert await runs(session, member_id) == []


async def test_latency_is_measured_from_the_event(session: AsyncSession) -> None:
    await rule(session, trigger="order.paid", actions=[{"type": "add_tag", "tag": "a"}])
    member_id = await member(session)
    delivery = event(paid(member_id))
    await automation_engine.evaluate(
        session=session, outbox=OUTBOX, envelopes=[delivery], now=delivery.time + timedelta(milliseconds=250)
    )
    [run] = (await automation.runs_of(session=session, tenant_id=TENANT, member_id=member_id, limit=1))[0]
    assert isinstance(run, AutomationRun) and run.latency_ms == 250

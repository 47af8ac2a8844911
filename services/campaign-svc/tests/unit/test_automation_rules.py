"""Rules as operators write them: refused when they could never mean anything, the tenant's own, their
runs paged; playbooks make the rules they promise, and the birthday one fires once a year, locally."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.automation import engine as automation_engine
from campaign_svc.automation import service as automation
from campaign_svc.automation.schemas import PlaybookCreate, RuleCreate
from campaign_svc.coupons import service as coupons
from campaign_svc.exceptions import AutomationRuleNotFound, CouponTemplateNotFound
from campaign_svc.models import Base
from qunyun_shared.testing import in_memory_session_fixture

from .automation_world import (
    NOON,
    OTHER,
    OUTBOX,
    SHANGHAI,
    TENANT,
    born,
    coupons_of,
    event,
    member,
    paid,
    rule,
    runs,
    staged,
    template,
    without_quiet_hours,
)

pytestmark = pytest.mark.unit

session = in_memory_session_fixture(Base.metadata)


@pytest.mark.parametrize(
    "fields",
    [
        {"trigger": "member.signed_up", "actions": [{"type": "add_tag", "tag": "x"}]},
        {"trigger": "order.paid", "actions": []},
        {"trigger": "order.paid", "actions": [{"type": "send_sms", "text": "hi"}]},
        {"trigger": "order.paid", "actions": [{"type": "add_points", "points": 0}]},
        {"trigger": "order.paid", "actions": [{"type": "add_tag", "tag": "a"}, {"type": "add_tag", "tag": "b"}]},
        {
            "trigger": "order.paid",
            "actions": [{"type": "add_tag", "tag": "a"}],
            "frequency_cap": {"max_fires": 0, "per_days": 7},
        },
        {
            "trigger": "order.paid",
            "actions": [{"type": "add_tag", "tag": "a"}],
            "conditions": [{"subject": "member", "field": "levle", "op": "gte", "value": 2}],
        },
        {
            "trigger": "order.paid",
            "actions": [{"type": "add_tag", "tag": "a"}],
            "conditions": [{"subject": "event", "field": "channel", "op": "eq", "value": "qr"}],
        },
        {
            "trigger": "order.paid",
            "actions": [{"type": "add_tag", "tag": "a"}],
            "conditions": [{"subject": "member", "field": "level", "op": "between", "value": 2}],
        },
        {
            "trigger": "order.paid",
            "actions": [{"type": "add_tag", "tag": "a"}],
            "conditions": [{"subject": "member", "field": "level", "op": "gte", "value": "two"}],
        },
        {
            "trigger": "order.paid",
            "actions": [{"type": "add_tag", "tag": "a"}],
            "conditions": [{"subject": "member", "field": "churn_risk", "op": "lt", "value": True}],
        },
    ],
)
def test_a_bad_rule_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RuleCreate(name="bad", **fields)


async def test_a_rule_cannot_use_another_tenants_coupon(session: AsyncSession) -> None:
    theirs = await template(session, OTHER)
    with pytest.raises(CouponTemplateNotFound):
        await rule(session, trigger="order.paid", actions=[{"type": "issue_coupon", "coupon_template_id": theirs}])
    with pytest.raises(CouponTemplateNotFound):
        await automation.create_playbook(
            session=session, tenant_id=TENANT, playbook="win_back", body=PlaybookCreate(coupon_template_id=theirs)
        )


async def test_rules_are_the_tenants_own(session: AsyncSession) -> None:
    rule_id = await rule(session, trigger="order.paid", actions=[{"type": "add_tag", "tag": "a"}])
    for attempt in (
        automation.get_rule(session=session, tenant_id=OTHER, rule_id=rule_id),
        automation.set_enabled(session=session, tenant_id=OTHER, rule_id=rule_id, enabled=False),
        automation.delete_rule(session=session, tenant_id=OTHER, rule_id=rule_id),
        automation.runs_of(session=session, tenant_id=OTHER, rule_id=rule_id, limit=10),
    ):
        with pytest.raises(AutomationRuleNotFound):
            await attempt
    assert await automation.list_rules(session=session, tenant_id=OTHER) == []
    stranger = await member(session, tenant_id=OTHER)
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(paid(stranger), OTHER)], now=NOON)
    assert (await automation.runs_of(session=session, tenant_id=OTHER, member_id=stranger, limit=10))[0] == []


async def test_runs_page_newest_first(session: AsyncSession) -> None:
    rule_id = await rule(session, trigger="order.paid", actions=[{"type": "add_tag", "tag": "a"}])
    member_id = await member(session)
    for minute in range(5):
        await automation_engine.evaluate(
            session=session, outbox=OUTBOX, envelopes=[event(paid(member_id))], now=NOON + timedelta(minutes=minute)
        )
    seen, cursor = [], None
    while True:
        page, cursor = await automation.runs_of(
            session=session, tenant_id=TENANT, rule_id=rule_id, limit=2, cursor=cursor
        )
        seen += [run.evaluated_at for run in page]
        if cursor is None:
            break
    assert seen == [NOON + timedelta(minutes=m) for m in (4, 3, 2, 1, 0)]


async def test_birthdays_fire_once_a_year_on_the_local_day(session: AsyncSession) -> None:
    await without_quiet_hours(session, "Asia/Shanghai")
    coupon = await template(session, per_member_limit=10)
    await automation.create_playbook(
        session=session,
        tenant_id=TENANT,
        playbook="birthday",
        body=PlaybookCreate(coupon_template_id=coupon, points=88),
    )
    today, tomorrow = await born(session, "06-15"), await born(session, "06-16")
    # 01:00 on June 15th in Shanghai, still June 14th in UTC.
    early = datetime(2026, 6, 14, 17, tzinfo=UTC)
    assert await automation_engine.fire_birthdays(session=session, outbox=OUTBOX, now=early) == 1
    assert await automation_engine.fire_birthdays(session=session, outbox=OUTBOX, now=early + timedelta(hours=12)) == 0
    assert await automation_engine.fire_birthdays(session=session, outbox=OUTBOX, now=early + timedelta(days=1)) == 1
    assert await automation_engine.fire_birthdays(session=session, outbox=OUTBOX, now=early + timedelta(days=365)) == 1
    assert await runs(session, today) == [("fired", None), ("fired", None)]
    assert await runs(session, tomorrow) == [("fired", None)]
    assert [g.points for g in await staged(session, "reward.granted")] == [88, 88, 88]


async def test_a_leap_day_birthday_is_kept_on_february_28th_in_other_years(session: AsyncSession) -> None:
    await without_quiet_hours(session, "America/New_York")
    await rule(session, trigger="member.birthday", actions=[{"type": "add_tag", "tag": "birthday"}])
    leapling = await born(session, "02-29")
    zone = ZoneInfo("America/New_York")
    for day in (
        datetime(2027, 2, 28, 9, tzinfo=zone),
        datetime(2028, 2, 28, 9, tzinfo=zone),
        datetime(2028, 2, 29, 9, tzinfo=zone),
    ):
        await automation_engine.fire_birthdays(session=session, outbox=OUTBOX, now=day)
    found, _ = await automation.runs_of(session=session, tenant_id=TENANT, member_id=leapling, limit=10)
    assert sorted(run.event_id.split(":")[1] for run in found) == ["2027", "2028"]
    assert sorted(run.evaluated_at.astimezone(zone).date().isoformat() for run in found) == ["2027-02-28", "2028-02-29"]


async def test_a_birthday_in_quiet_hours_waits_for_the_morning(session: AsyncSession) -> None:
    await automation.create_playbook(
        session=session,
        tenant_id=TENANT,
        playbook="birthday",
        body=PlaybookCreate(coupon_template_id=await template(session)),
    )
    member_id = await born(session, "06-16")
    midnight = datetime(2026, 6, 16, 0, 1, tzinfo=SHANGHAI)
    assert await automation_engine.fire_birthdays(session=session, outbox=OUTBOX, now=midnight) == 1
    assert await runs(session, member_id) == [("deferred", "quiet hours until 08:00")]
    assert (
        await automation_engine.run_deferred(
            session=session, outbox=OUTBOX, now=datetime(2026, 6, 16, 8, tzinfo=SHANGHAI)
        )
        == 1
    )
    assert await coupons_of(session, member_id) == 1


async def test_playbooks_make_their_rules(session: AsyncSession) -> None:
    coupon = await template(session)
    made = {
        playbook: await automation.create_playbook(
            session=session,
            tenant_id=TENANT,
            playbook=playbook,
            body=PlaybookCreate(coupon_template_id=coupon, points=10),
        )
        for playbook in ("welcome_pack", "first_order", "birthday", "win_back")
    }
    assert {p: r.trigger for p, r in made.items()} == {
        "welcome_pack": "member.joined",
        "first_order": "member.joined",
        "birthday": "member.birthday",
        "win_back": "member.churn_risk",
    }
    assert made["welcome_pack"].conditions == [
        {"subject": "member", "field": "communities_joined", "op": "eq", "value": 1}
    ]
    assert made["win_back"].frequency_cap == {"max_fires": 1, "per_days": 30}
    assert made["birthday"].actions == [
        {"type": "issue_coupon", "coupon_template_id": str(coupon)},
        {"type": "add_points", "points": 10},
    ]
    campaign_id = (await coupons.get_template(session=session, tenant_id=TENANT, template_id=coupon)).campaign_id
    assert {r.campaign_id for r in made.values()} == {campaign_id}

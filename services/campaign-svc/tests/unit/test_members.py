"""What campaign-svc learns about members from the events of other services."""

import uuid
from datetime import UTC, datetime

import pytest

from campaign_svc.automation import service as automation
from campaign_svc.automation.schemas import PlaybookCreate
from campaign_svc.exceptions import MemberNotFound
from campaign_svc.members import service as members
from qunyun_shared.events.analytics import MemberChurnRiskV1
from qunyun_shared.events.member import (
    MemberBirthdaySetV1,
    MemberConsentChangedV1,
    MemberErasedV1,
    MemberJoinedV1,
    MemberLevelChangedV1,
)

from .conftest import TENANT, World

pytestmark = pytest.mark.unit


def joined(member_id: uuid.UUID, inviter_id: uuid.UUID | None) -> MemberJoinedV1:
    return MemberJoinedV1(
        member_id=member_id,
        community_id=uuid.uuid4(),
        channel="invite",
        inviter_id=inviter_id,
        joined_at=datetime.now(UTC),
    )


async def test_the_first_join_fixes_the_inviter_and_later_joins_are_counted(world: World) -> None:
    member_id, inviter, later_inviter = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await world.deliver("member-svc", joined(member_id, inviter), joined(member_id, later_inviter))
    member = await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
    assert (member.inviter_id, member.communities_joined) == (inviter, 2)


async def test_marketing_consent_is_absent_until_given_and_follows_withdrawal(world: World) -> None:
    member_id = await world.member(consent=False)
    assert not (
        await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
    ).marketing_consent
    for granted in (True, False):
        change = MemberConsentChangedV1(member_id=member_id, purpose="marketing", granted=granted, source="h5")
        await world.deliver("member-svc", change)
        world.session.expire_all()
        assert (
            await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
        ).marketing_consent is granted
    service_only = MemberConsentChangedV1(member_id=member_id, purpose="service", granted=True, source="h5")
    await world.deliver("member-svc", service_only)
    assert not (
        await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
    ).marketing_consent


async def test_level_and_churn_risk_are_kept_even_before_a_join_is_seen(world: World) -> None:
    member_id = uuid.uuid4()
    await world.deliver("member-svc", MemberLevelChangedV1(member_id=member_id, from_level=0, to_level=2))
    await world.deliver("analytics-svc", MemberChurnRiskV1(member_id=member_id, score=0.8, reasons=["recency"]))
    await world.deliver("member-svc", joined(member_id, None))
    world.session.expire_all()
    member = await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
    assert (member.level, member.churn_risk, member.communities_joined) == (2, True, 1)
    assert member.first_joined_at is not None


async def test_a_churn_flag_analytics_clears_is_cleared_and_sets_off_no_win_back(world: World) -> None:
    member_id = await world.member()
    coupon = await world.template(await world.campaign(budget_fen=100_000))
    await automation.create_playbook(
        session=world.session, tenant_id=TENANT, playbook="win_back", body=PlaybookCreate(coupon_template_id=coupon.id)
    )

    async def flagged_and_runs() -> tuple[bool, int]:
        world.session.expire_all()
        member = await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
        runs, _ = await automation.runs_of(session=world.session, tenant_id=TENANT, member_id=member_id, limit=10)
        return member.churn_risk, len(runs)

    await world.deliver("analytics-svc", MemberChurnRiskV1(member_id=member_id, score=0.8, reasons=["silent"]))
    assert await flagged_and_runs() == (True, 1)
    # Cleared: the flag goes, and the win-back is not even evaluated.
    await world.deliver("analytics-svc", MemberChurnRiskV1(member_id=member_id, score=0.4, reasons=[], flagged=False))
    assert await flagged_and_runs() == (False, 1)
    # Raised again: evaluated again (and held back by the playbook's frequency cap).
    await world.deliver("analytics-svc", MemberChurnRiskV1(member_id=member_id, score=0.9, reasons=["silent"]))
    assert await flagged_and_runs() == (True, 2)


async def test_another_tenant_cannot_see_the_member(world: World) -> None:
    member_id = await world.member()
    with pytest.raises(MemberNotFound):
        await members.get_member(session=world.session, tenant_id="other", member_id=member_id)


async def test_an_erased_member_is_forgotten_even_as_an_inviter(world: World) -> None:
    erased_member, invitee = uuid.uuid4(), uuid.uuid4()
    await world.deliver("member-svc", joined(erased_member, None), joined(invitee, erased_member))
    await world.deliver("member-svc", MemberErasedV1(member_id=erased_member))
    await world.deliver("member-svc", joined(erased_member, None))  # a late redelivery
    with pytest.raises(MemberNotFound):
        await members.get_member(session=world.session, tenant_id=TENANT, member_id=erased_member)
    world.session.expire_all()
    assert (await members.get_member(session=world.session, tenant_id=TENANT, member_id=invitee)).inviter_id is None


async def test_a_birthday_is_kept_as_given_corrected_or_removed(world: World) -> None:
    member_id = await world.member()
    for birthday in ("02-29", "07-19", None):
        await world.deliver("member-svc", MemberBirthdaySetV1(member_id=member_id, birthday=birthday))
        world.session.expire_all()
        assert (
            await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
        ).birthday == birthday
    erased = await world.member()
    await world.deliver("member-svc", MemberErasedV1(member_id=erased))
    await world.deliver("member-svc", MemberBirthdaySetV1(member_id=erased, birthday="07-19"))  # late
    with pytest.raises(MemberNotFound):
        await members.get_member(session=world.session, tenant_id=TENANT, member_id=erased)

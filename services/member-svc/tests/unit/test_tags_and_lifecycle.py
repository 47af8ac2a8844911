"""Tags (manual, rule, system), lifecycle and member search, without HTTP."""

import base64
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.exceptions import TagOwnedElsewhere
from member_svc.handlers import HANDLERS
from member_svc.members import search
from member_svc.members import service as members
from member_svc.members.models import Member
from member_svc.members.schemas import MemberCreate
from member_svc.members.search import MemberQuery
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.tags import service as tags
from member_svc.tags.schemas import TagRuleBody
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.analytics import MemberChurnRiskV1, MemberSegmentChangedV1
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.events.content import SurveyAnsweredV1
from qunyun_shared.events.member import MemberJoinedV1, MemberTaggedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import InvalidInput
from qunyun_shared.testing import in_memory_session_fixture, staged_events

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

session = in_memory_session_fixture(Base.metadata)


async def new_member(session: AsyncSession, **profile: object) -> Member:
    body = MemberCreate.model_validate({"nickname": "小雨", **profile})
    return await members.register(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=TENANT, member_in=body)


async def deliver(session: AsyncSession, *payloads: EventPayload) -> None:
    for payload in payloads:
        envelope = new_event(source="test", tenant_id=TENANT, payload=payload)
        await HANDLERS[envelope.type](session, OUTBOX, [envelope])


def ordered(member_id: uuid.UUID, at: datetime = NOW) -> OrderPlacedV1:
    return OrderPlacedV1(order_id=uuid.uuid4(), member_id=member_id, amount_fen=5000, placed_at=at)


async def tags_on(session: AsyncSession, member: Member) -> dict[str, str]:
    return {t.tag: t.kind for t in (await tags.tags_of(session=session, member_ids=[member.id]))[member.id]}


async def fresh(session: AsyncSession, member: Member) -> Member:
    found = await session.get(Member, member.id, populate_existing=True)
    assert found is not None
    return found


async def test_lifecycle_moves_from_prospect_to_active_to_loyal_and_never_back(session: AsyncSession) -> None:
    buyer, surveyed, inviter = await new_member(session), await new_member(session), await new_member(session)
    assert buyer.lifecycle == "prospect"
    await deliver(session, ordered(buyer.id))
    assert (await fresh(session, buyer)).lifecycle == "active"
    await deliver(session, ordered(buyer.id))
    assert (await fresh(session, buyer)).lifecycle == "loyal"

    await deliver(session, SurveyAnsweredV1(survey_id=uuid.uuid4(), member_id=surveyed.id, nps=9))
    assert (await fresh(session, surveyed)).lifecycle == "active"

    invitee = await new_member(session)
    invitee.invited_by = inviter.id
    await session.flush()
    await deliver(
        session, MemberJoinedV1(member_id=invitee.id, community_id=uuid.uuid4(), channel="invite", joined_at=NOW)
    )
    assert (await fresh(session, inviter)).lifecycle == "loyal"  # referred a friend


async def test_a_rule_tags_exactly_the_members_matching_it_and_follows_their_activity(session: AsyncSession) -> None:
    shanghai_buyer = await new_member(session, region="上海")
    await deliver(session, ordered(shanghai_buyer.id), ordered(shanghai_buyer.id))
    shanghai_browser = await new_member(session, region="上海")
    beijing_buyer = await new_member(session, region="北京")
    await deliver(session, ordered(beijing_buyer.id), ordered(beijing_buyer.id))
    rule = TagRuleBody.model_validate(
        {
            "tag": "上海复购",
            "conditions": [
                {"field": "region", "op": "eq", "value": "上海"},
                {"field": "orders", "op": "gte", "value": 2},
            ],
        }
    )
    await tags.create_rule(session=session, outbox=OUTBOX, tenant_id=TENANT, rule_in=rule)
    assert await tags_on(session, shanghai_buyer) == {"上海复购": "rule"}
    assert await tags_on(session, shanghai_browser) == {} and await tags_on(session, beijing_buyer) == {}

    await deliver(session, ordered(shanghai_browser.id), ordered(shanghai_browser.id))  # now matches
    assert await tags_on(session, shanghai_browser) == {"上海复购": "rule"}
    tagged = [e for t, e in await staged_events(session, MESSAGING.outbox) if t == "member.tagged"]
    assert tagged == [
        MemberTaggedV1(member_id=shanghai_buyer.id, tag="上海复购", kind="rule", action="added"),
        MemberTaggedV1(member_id=shanghai_browser.id, tag="上海复购", kind="rule", action="added"),
    ]


async def test_rules_see_manual_tags_but_own_their_tag(session: AsyncSession) -> None:
    mum = await new_member(session, gender="female")
    await tags.add_manual(session=session, outbox=OUTBOX, tenant_id=TENANT, member_id=mum.id, tag="宝妈")
    rule = TagRuleBody.model_validate(
        {
            "tag": "宝妈非北京",
            "conditions": [
                {"field": "has_tag", "op": "eq", "value": "宝妈"},
                {"field": "region", "op": "ne", "value": "北京"},  # no region is not 北京 either
            ],
        }
    )
    await tags.create_rule(session=session, outbox=OUTBOX, tenant_id=TENANT, rule_in=rule)
    assert await tags_on(session, mum) == {"宝妈": "manual", "宝妈非北京": "rule"}
    with pytest.raises(TagOwnedElsewhere):
        await tags.add_manual(session=session, outbox=OUTBOX, tenant_id=TENANT, member_id=mum.id, tag="宝妈非北京")
    with pytest.raises(TagOwnedElsewhere):
        await tags.add_manual(session=session, outbox=OUTBOX, tenant_id=TENANT, member_id=mum.id, tag="churn_risk")
    await tags.remove_manual(session=session, outbox=OUTBOX, tenant_id=TENANT, member_id=mum.id, tag="宝妈")
    assert await tags_on(session, mum) == {}  # the rule follows the manual tag away


def test_rule_conditions_are_checked_against_their_field() -> None:
    for bad in (
        {"field": "orders", "op": "gte", "value": "many"},
        {"field": "region", "op": "gt", "value": "上海"},
        {"field": "region", "op": "in", "value": []},
        {"field": "churn_risk", "op": "eq", "value": "yes"},
        {"field": "in_community", "op": "eq", "value": "not-a-uuid"},
    ):
        with pytest.raises(ValueError):
            TagRuleBody.model_validate({"tag": "x", "conditions": [bad]})


async def test_analytics_sets_segment_and_churn_flags_and_activity_clears_the_flag(session: AsyncSession) -> None:
    member = await new_member(session)
    await deliver(session, MemberSegmentChangedV1(member_id=member.id, to_segment="potential"))
    await deliver(
        session, MemberSegmentChangedV1(member_id=member.id, from_segment="potential", to_segment="churn_risk")
    )
    risk = MemberChurnRiskV1(member_id=member.id, score=0.82, reasons=["no order for 60 days"])
    await deliver(session, risk)
    member = await fresh(session, member)
    assert (member.segment, member.churn_risk, member.churn_score) == ("churn_risk", True, 0.82)
    assert await tags_on(session, member) == {"segment:churn_risk": "system", "churn_risk": "system"}

    await deliver(session, ordered(member.id, at=datetime.now(UTC) - timedelta(days=1)))  # older than the flag
    assert (await fresh(session, member)).churn_risk is True
    await deliver(session, ordered(member.id, at=datetime.now(UTC) + timedelta(seconds=5)))
    assert (await fresh(session, member)).churn_risk is False
    assert await tags_on(session, member) == {"segment:churn_risk": "system"}


async def test_a_flag_analytics_clears_is_cleared_and_the_member_leaves_the_churn_list(session: AsyncSession) -> None:
    member, other = await new_member(session), await new_member(session)
    # An event from before `flagged` was added reads as a flag raised.
    raised = MemberChurnRiskV1.model_validate({"member_id": str(member.id), "score": 0.8, "reasons": ["silent"]})
    await deliver(session, raised, MemberChurnRiskV1(member_id=other.id, score=0.75, reasons=["silent"]))
    at_risk = MemberQuery(churn_risk=True)
    listed, _ = await search.search(session=session, tenant_id=TENANT, query=at_risk, limit=10, cursor=None)
    assert sorted(m.id for m in listed) == sorted([member.id, other.id])

    await deliver(session, MemberChurnRiskV1(member_id=member.id, score=0.42, reasons=[], flagged=False))
    member = await fresh(session, member)
    assert (member.churn_risk, member.churn_score) == (False, 0.42)
    assert "churn_risk" not in await tags_on(session, member)
    listed, _ = await search.search(session=session, tenant_id=TENANT, query=at_risk, limit=10, cursor=None)
    assert [m.id for m in listed] == [other.id]
    # Cleared again (a redelivery, or a refit after activity cleared it): nothing changes.
    await deliver(session, MemberChurnRiskV1(member_id=member.id, score=0.3, reasons=[], flagged=False))
    assert (await fresh(session, member)).churn_risk is False


async def test_search_combines_criteria_and_pages_with_a_cursor(session: AsyncSession) -> None:
    found = []
    for i in range(7):
        member = await new_member(session, region="上海" if i % 2 == 0 else "北京")
        await tags.add_manual(session=session, outbox=OUTBOX, tenant_id=TENANT, member_id=member.id, tag="宝妈")
        if i % 2 == 0:
            found.append(member.id)
    await new_member(session, region="上海")  # no tag
    criteria = MemberQuery(tags=["宝妈"], region="上海")
    pages, cursor = [], None
    while True:
        page, cursor = await search.search(session=session, tenant_id=TENANT, query=criteria, limit=3, cursor=cursor)
        pages.append([m.id for m in page])
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 1] and [m for p in pages for m in p] == sorted(found)
    other_tenant, _ = await search.search(session=session, tenant_id="tenant-b", query=criteria, limit=3, cursor=None)
    assert other_tenant == []
    with pytest.raises(InvalidInput):
        await search.search(session=session, tenant_id=TENANT, query=criteria, limit=3, cursor="!!garbage")

"""Entry rules: invite-only, buyers only, minimum level, and approval with a questionnaire."""

import base64
import os
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import entry
from member_svc.communities import service as communities
from member_svc.communities.schemas import CommunityCreate, CommunityUpdate, EntryRules, JoinRequest
from member_svc.db import MESSAGING
from member_svc.exceptions import AlreadyApplied, ApplicationDecided, EntryRefused, IncompleteAnswers
from member_svc.handlers import HANDLERS
from member_svc.members import service as members
from member_svc.members.schemas import MemberCreate
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared.events import new_event
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
QUESTION = {"id": "child_age", "text": "宝宝几个月了", "required": True}

OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
session = in_memory_session_fixture(Base.metadata)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")


async def community(session: AsyncSession, **rules: object) -> uuid.UUID:
    body = CommunityCreate(name=f"群{uuid.uuid4().hex[:6]}", kind="vip", **rules)  # type: ignore[arg-type]
    return (await communities.create_community(session=session, outbox=OUTBOX, tenant_id=TENANT, community_in=body)).id


async def member(session: AsyncSession) -> uuid.UUID:
    body = MemberCreate(nickname="会员")
    return (await members.register(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=TENANT, member_in=body)).id


async def join(session: AsyncSession, outbox: Outbox, community_id: uuid.UUID, member_id: uuid.UUID, **extra: object):  # type: ignore[no-untyped-def]
    request = JoinRequest(member_id=member_id, channel="qr", **extra)  # type: ignore[arg-type]
    return await communities.join_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=request
    )


async def change_rule(session: AsyncSession, outbox: Outbox, community_id: uuid.UUID, rules: EntryRules) -> None:
    await communities.update_community(
        session=session,
        outbox=outbox,
        tenant_id=TENANT,
        community_id=community_id,
        changes=CommunityUpdate(entry=rules),
    )


@pytest.mark.parametrize(
    "rules",
    [
        {"entry_rule": "purchased_product"},
        {"entry_rule": "min_level"},
        {"entry_rule": "approval"},
    ],
)
def test_a_rule_must_come_with_what_it_checks(rules: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CommunityCreate(name="群", kind="vip", **rules)  # type: ignore[arg-type]


async def test_invite_only_admits_those_invited_by_a_member(session: AsyncSession, outbox: Outbox) -> None:
    open_id, closed_id = await community(session), await community(session, entry_rule="invite_only")
    inviter, stranger, friend = await member(session), await member(session), await member(session)
    await join(session, outbox, open_id, stranger)
    with pytest.raises(EntryRefused):
        await join(session, outbox, closed_id, friend, inviter_id=stranger)  # a member of another community
    # An operator seats the founders while the community is open, then closes it to invitations.
    await change_rule(session, outbox, closed_id, EntryRules(entry_rule="open"))
    await join(session, outbox, closed_id, inviter)
    await change_rule(session, outbox, closed_id, EntryRules(entry_rule="invite_only"))
    assert (await join(session, outbox, closed_id, friend, inviter_id=inviter)).status == "joined"


async def test_buyers_of_the_product_get_in(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session, entry_rule="purchased_product", entry_product_id="sku-milk")
    buyer, browser = await member(session), await member(session)
    order = OrderPlacedV1(
        order_id=uuid.uuid4(), member_id=buyer, amount_fen=9900, product_ids=["sku-milk"], placed_at=datetime.now(UTC)
    )
    await HANDLERS["order.placed"](session, outbox, [new_event(source="campaign-svc", tenant_id=TENANT, payload=order)])
    assert (await join(session, outbox, community_id, buyer)).status == "joined"
    with pytest.raises(EntryRefused):
        await join(session, outbox, community_id, browser)


async def test_a_minimum_level_keeps_newcomers_out(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session, entry_rule="min_level", entry_min_level=3)
    newcomer, veteran = await member(session), await member(session)
    (await members.get_member(session=session, tenant_id=TENANT, member_id=veteran)).level = 3
    with pytest.raises(EntryRefused):
        await join(session, outbox, community_id, newcomer)
    assert (await join(session, outbox, community_id, veteran)).status == "joined"


async def test_approval_files_an_application_an_operator_decides(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session, entry_rule="approval", questionnaire=[QUESTION])
    applicant, refused = await member(session), await member(session)
    with pytest.raises(IncompleteAnswers):
        await join(session, outbox, community_id, applicant, answers={"pets": "cat"})
    filed = await join(session, outbox, community_id, applicant, answers={"child_age": "8个月"})
    assert filed.status == "pending_approval" and filed.application_id is not None
    with pytest.raises(AlreadyApplied):
        await join(session, outbox, community_id, applicant, answers={"child_age": "8个月"})

    seated = await communities.decide_application(
        session=session,
        outbox=outbox,
        tenant_id=TENANT,
        community_id=community_id,
        application_id=filed.application_id,
        approve=True,
        reason=None,
    )
    assert seated is not None and seated.status == "joined"
    with pytest.raises(ApplicationDecided):
        await communities.decide_application(
            session=session,
            outbox=outbox,
            tenant_id=TENANT,
            community_id=community_id,
            application_id=filed.application_id,
            approve=False,
            reason="changed my mind",
        )
    other = await join(session, outbox, community_id, refused, answers={"child_age": "2岁"})
    await communities.decide_application(
        session=session,
        outbox=outbox,
        tenant_id=TENANT,
        community_id=community_id,
        application_id=other.application_id,
        approve=False,
        reason="不在服务区域",  # type: ignore[arg-type]
    )
    decided = await entry.applications(session=session, community_id=community_id, status=None)
    assert [(a.status, a.reason) for a in decided] == [("approved", None), ("rejected", "不在服务区域")]

"""What campaign-svc learns about members from their joins."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc import service
from campaign_svc.exceptions import ProspectNotFound
from campaign_svc.handlers import HANDLERS
from campaign_svc.models import MESSAGING, Base
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberErasedV1, MemberJoinedV1
from qunyun_shared.outbox import Outbox
from tests.support.harness import in_memory_session_fixture

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="campaign-svc", topic_prefix="qunyun")


session = in_memory_session_fixture(Base.metadata)


def joined(member_id: uuid.UUID, inviter_id: uuid.UUID | None):  # type: ignore[no-untyped-def]
    payload = MemberJoinedV1(
        member_id=member_id,
        community_id=uuid.uuid4(),
        channel="invite",
        inviter_id=inviter_id,
        joined_at=datetime.now(UTC),
    )
    return new_event(source="member-svc", tenant_id="t", payload=payload)


async def test_the_first_join_fixes_the_inviter_and_later_joins_are_counted(session: AsyncSession) -> None:
    member_id, inviter, later_inviter = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await HANDLERS["member.joined"](session, OUTBOX, [joined(member_id, inviter), joined(member_id, later_inviter)])
    prospect = await service.get_prospect(session=session, tenant_id="t", member_id=member_id)
    assert (prospect.inviter_id, prospect.communities_joined) == (inviter, 2)


async def test_another_tenant_cannot_see_the_prospect(session: AsyncSession) -> None:
    member_id = uuid.uuid4()
    await HANDLERS["member.joined"](session, OUTBOX, [joined(member_id, None)])
    with pytest.raises(ProspectNotFound):
        await service.get_prospect(session=session, tenant_id="other", member_id=member_id)


async def test_an_erased_member_is_forgotten_even_as_an_inviter(session: AsyncSession) -> None:
    erased_member, invitee = uuid.uuid4(), uuid.uuid4()
    await HANDLERS["member.joined"](session, OUTBOX, [joined(erased_member, None), joined(invitee, erased_member)])
    erasure = new_event(source="member-svc", tenant_id="t", payload=MemberErasedV1(member_id=erased_member))
    await HANDLERS["member.erased"](session, OUTBOX, [erasure])
    await HANDLERS["member.joined"](session, OUTBOX, [joined(erased_member, None)])  # a late redelivery
    with pytest.raises(ProspectNotFound):
        await service.get_prospect(session=session, tenant_id="t", member_id=erased_member)
    assert (await service.get_prospect(session=session, tenant_id="t", member_id=invitee)).inviter_id is None

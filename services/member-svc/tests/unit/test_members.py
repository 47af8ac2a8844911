"""Member profiles, consent and personal-data rights, without HTTP."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import service as communities
from member_svc.communities.schemas import CommunityCreate, JoinRequest
from member_svc.db import MESSAGING
from member_svc.exceptions import MalformedPhone, MemberErased, MemberNotFound, PersonalDataNotAllowed, PhoneTaken
from member_svc.members import service as members
from member_svc.members.models import Member
from member_svc.members.schemas import MemberCreate, MemberUpdate
from member_svc.models import Base
from member_svc.personal_data import service as personal_data
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.personal_data.schemas import ConsentCreate
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, staged_events

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
OWNER = Identity(tenant_id=TENANT, principal="owner", roles=("owner",), permissions=frozenset({"*"}))
ANALYST = Identity(tenant_id=TENANT, principal="analyst", roles=("analyst",), permissions=frozenset({"members:read"}))

session = in_memory_session_fixture(Base.metadata)


@pytest.fixture
def cipher() -> PersonalDataCipher:
    return PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())


OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")


@pytest.fixture
def outbox() -> Outbox:
    return OUTBOX


async def register(session: AsyncSession, cipher: PersonalDataCipher, phone: str | None = "138 1234 5678") -> Member:
    body = MemberCreate(nickname="小雨妈妈", phone=phone, gender="female", persona_tags=["宝妈"], active_hours=[20, 21])
    return await members.register(session=session, outbox=OUTBOX, cipher=cipher, tenant_id=TENANT, member_in=body)


async def test_phones_are_stored_encrypted_and_shown_masked_to_roles_without_the_permission(
    session: AsyncSession, cipher: PersonalDataCipher
) -> None:
    member, twin = await register(session, cipher), await register(session, cipher, phone=None)
    assert member.phone_encrypted is not None
    assert len(member.phone_encrypted) == 1 + 12 + 11 + 16  # version, nonce, the 11 digits, GCM tag
    owner = f"{TENANT}\x00{member.id}\x00phone"
    assert cipher.decrypt(member.phone_encrypted, owner=owner) == "13812345678"
    assert cipher.encrypt("13812345678", owner=owner) != cipher.encrypt("13812345678", owner=owner)
    with pytest.raises(InvalidTag):  # moved onto another member, it no longer opens
        cipher.decrypt(member.phone_encrypted, owner=f"{TENANT}\x00{twin.id}\x00phone")
    assert (await members.view(session=session, cipher=cipher, caller=ANALYST, shown=[member]))[
        0
    ].phone == "138****5678"
    assert (await members.view(session=session, cipher=cipher, caller=OWNER, shown=[member]))[0].phone == "13812345678"


async def test_a_member_is_found_by_phone_in_any_notation(session: AsyncSession, cipher: PersonalDataCipher) -> None:
    member = await register(session, cipher)
    found = await members.find_by_phone(session=session, cipher=cipher, caller=OWNER, phone="+86 138-1234-5678")
    assert found.id == member.id
    other_tenant = Identity(tenant_id="tenant-b", principal="owner", permissions=frozenset({"*"}))
    with pytest.raises(MemberNotFound):
        await members.find_by_phone(session=session, cipher=cipher, caller=other_tenant, phone="13812345678")
    with pytest.raises(PersonalDataNotAllowed):  # else guessing numbers would unmask a masked phone
        await members.find_by_phone(session=session, cipher=cipher, caller=ANALYST, phone="13812345678")


@pytest.mark.parametrize("phone", ["12345", "23812345678", "138123456789", "phone"])
async def test_malformed_phones_are_refused(session: AsyncSession, cipher: PersonalDataCipher, phone: str) -> None:
    with pytest.raises(MalformedPhone):
        await register(session, cipher, phone)


async def test_a_phone_belongs_to_one_member_of_a_tenant(session: AsyncSession, cipher: PersonalDataCipher) -> None:
    await register(session, cipher)
    with pytest.raises(PhoneTaken):
        await register(session, cipher)


async def test_a_correction_records_which_fields_changed(
    session: AsyncSession, cipher: PersonalDataCipher, outbox: Outbox
) -> None:
    member = await register(session, cipher)
    changes = MemberUpdate(region="杭州", phone="13900001111")
    await members.correct(
        session=session, outbox=outbox, cipher=cipher, caller=OWNER, member_id=member.id, changes=changes
    )
    [(type_, payload)] = await staged_events(session, MESSAGING.outbox)
    assert type_ == "member.profile_updated"
    assert payload.changed_fields == ["phone", "region"]  # type: ignore[attr-defined]
    assert (await members.view(session=session, cipher=cipher, caller=OWNER, shown=[member]))[0].phone == "13900001111"


async def test_a_birthday_given_corrected_or_removed_is_announced_on_its_own_event(
    session: AsyncSession, cipher: PersonalDataCipher, outbox: Outbox
) -> None:
    born = await members.register(
        session=session,
        outbox=outbox,
        cipher=cipher,
        tenant_id=TENANT,
        member_in=MemberCreate(nickname="小雨", birthday="02-29"),
    )
    await register(session, cipher)  # no birthday, no announcement
    for birthday in ("07-19", None):
        changes = MemberUpdate(birthday=birthday)
        await members.correct(
            session=session, outbox=outbox, cipher=cipher, caller=OWNER, member_id=born.id, changes=changes
        )
    await members.correct(
        session=session,
        outbox=outbox,
        cipher=cipher,
        caller=OWNER,
        member_id=born.id,
        changes=MemberUpdate(region="杭州"),
    )
    staged = await staged_events(session, MESSAGING.outbox)
    assert [(p.member_id, p.birthday) for t, p in staged if t == "member.birthday_set"] == [  # type: ignore[attr-defined]
        (born.id, "02-29"),
        (born.id, "07-19"),
        (born.id, None),
    ]
    assert [p.changed_fields for t, p in staged if t == "member.profile_updated"] == [  # type: ignore[attr-defined]
        ["birthday"],
        ["birthday"],
        ["region"],
    ]


@pytest.mark.parametrize("birthday", ["02-30", "13-01", "7-19", "1990-07-19", ""])
def test_a_birthday_is_a_real_month_and_day(birthday: str) -> None:
    with pytest.raises(ValidationError, match="birthday"):
        MemberCreate(nickname="小雨", birthday=birthday)


async def test_the_latest_consent_per_purpose_is_in_force(
    session: AsyncSession, cipher: PersonalDataCipher, outbox: Outbox
) -> None:
    member = await register(session, cipher)
    for granted in (True, False):
        consent = ConsentCreate(purpose="marketing", granted=granted, source="小程序注册页")
        await personal_data.record_consent(
            session=session, outbox=outbox, tenant_id=TENANT, member_id=member.id, consent_in=consent
        )
    state = await personal_data.consent_state(session=session, tenant_id=TENANT, member_id=member.id)
    assert (state.marketing, state.service, len(state.history)) == (False, False, 2)
    assert [t for t, _ in await staged_events(session, MESSAGING.outbox)] == [
        "member.consent_changed",
        "member.consent_changed",
    ]


async def test_only_a_permitted_role_may_export(session: AsyncSession, cipher: PersonalDataCipher) -> None:
    member = await register(session, cipher)
    with pytest.raises(PersonalDataNotAllowed):
        await personal_data.export(session=session, cipher=cipher, caller=ANALYST, member_id=member.id)
    exported = await personal_data.export(session=session, cipher=cipher, caller=OWNER, member_id=member.id)
    assert exported.member.phone == "13812345678"


async def test_erasure_wipes_personal_fields_leaves_every_community_and_tells_everyone(
    session: AsyncSession, cipher: PersonalDataCipher, outbox: Outbox
) -> None:
    member = await register(session, cipher)
    member.birthday = "07-19"
    community = await communities.create_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_in=CommunityCreate(name="宝妈群", kind="vertical")
    )
    join = JoinRequest(member_id=member.id, channel="qr")
    await communities.join_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community.id, join=join
    )

    with pytest.raises(PersonalDataNotAllowed):
        await personal_data.erase_member(session=session, outbox=outbox, caller=ANALYST, member_id=member.id)
    await personal_data.erase_member(session=session, outbox=outbox, caller=OWNER, member_id=member.id)

    shown = (await members.view(session=session, cipher=cipher, caller=OWNER, shown=[member]))[0]
    assert shown.birthday is None
    assert (shown.nickname, shown.phone, shown.gender, shown.persona_tags, shown.active_hours, shown.erased) == (
        personal_data.ERASED_NICKNAME,
        None,
        None,
        [],
        [],
        True,
    )
    assert member.phone_hash is None
    assert [t for t, _ in await staged_events(session, MESSAGING.outbox)] == [
        "community.opened",
        "member.joined",
        "member.left",
        "member.erased",
    ]
    await session.refresh(community)
    assert community.member_count == 0
    with pytest.raises(MemberErased):
        await communities.join_community(
            session=session, outbox=outbox, tenant_id=TENANT, community_id=community.id, join=join
        )

"""Members named by the merchant's own ids: given at creation or in a CSV import, one member per id and tenant,
shown, searched by, and resolved in bulk to member ids."""

import base64
import os
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.exceptions import MerchantMemberIdTaken, PhoneTaken
from member_svc.imports import service as imports
from member_svc.imports.models import ImportRowError
from member_svc.members import search
from member_svc.members import service as members
from member_svc.members.models import Member
from member_svc.members.schemas import MemberCreate
from member_svc.members.search import MemberQuery
from member_svc.models import Base
from member_svc.personal_data import service as personal_data
from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
OWNER = Identity(tenant_id=TENANT, principal="owner", roles=("owner",), permissions=frozenset({"*"}))
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")

session = in_memory_session_fixture(Base.metadata)


async def register(session: AsyncSession, merchant_id: str | None, tenant: str = TENANT, **profile: str) -> Member:
    body = MemberCreate(nickname="小雨", merchant_member_id=merchant_id, **profile)  # type: ignore[arg-type]
    return await members.register(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=tenant, member_in=body)


async def test_a_merchant_id_names_one_member_of_a_tenant(session: AsyncSession) -> None:
    first = await register(session, "  VIP-001 ")
    [shown] = await members.view(session=session, cipher=CIPHER, caller=OWNER, shown=[first])
    assert shown.merchant_member_id == "VIP-001"
    await register(session, None)
    await register(session, None)  # members without one are many
    await register(session, "VIP-001", tenant="tenant-b")  # another tenant's id space
    with pytest.raises(MerchantMemberIdTaken) as refused:
        await register(session, "VIP-001")
    assert refused.value.extensions["member_id"] == str(first.id) and str(first.id) in refused.value.detail
    with pytest.raises(PhoneTaken):  # a phone conflict is still a phone conflict
        await register(session, "VIP-002", phone="13800000000")
        await register(session, "VIP-003", phone="13800000000")
    found, _ = await search.search(
        session=session, tenant_id=TENANT, query=MemberQuery(merchant_member_id="VIP-001"), limit=10, cursor=None
    )
    assert [m.id for m in found] == [first.id]


async def test_the_csv_import_takes_merchant_ids_and_refuses_one_taken(session: AsyncSession) -> None:
    taken = await register(session, "OLD-1")
    csv = (
        "merchant_member_id,nickname\n"
        "NEW-1,小雨\n"  # line 2
        "OLD-1,阿强\n"  # line 3: a member has it
        "NEW-1,小美\n"  # line 4: line 2 has it
        ",老王\n"  # line 5: none given
    )
    job = imports.accept(tenant_id=TENANT, upload=csv.encode())
    session.add(job)
    await session.flush()
    for chunk in imports.chunks_of(job):
        await imports.import_chunk(
            session=session, outbox=OUTBOX, cipher=CIPHER, job=job, chunk=chunk, now=job.created_at
        )
    errors = (await session.scalars(select(ImportRowError).order_by(ImportRowError.row))).all()
    assert [(e.row, e.field) for e in errors] == [(3, "merchant_member_id"), (4, "merchant_member_id")]
    assert str(taken.id) in errors[0].message
    imported = await session.execute(select(Member.nickname, Member.merchant_member_id).where(Member.id != taken.id))
    assert sorted(imported.all(), key=str) == sorted([("小雨", "NEW-1"), ("老王", None)], key=str)


async def test_merchant_ids_resolve_to_members_unknown_and_erased_apart(session: AsyncSession) -> None:
    kept, gone = await register(session, "M-1"), await register(session, "M-2")
    await register(session, "M-3", tenant="tenant-b")
    await personal_data.erase_member(session=session, outbox=OUTBOX, caller=OWNER, member_id=gone.id)
    resolved = await members.resolve_merchant_ids(
        session=session, tenant_id=TENANT, merchant_member_ids=["M-1", "M-2", "M-3", "M-1", f"M-{uuid.uuid4()}"]
    )
    assert resolved.members == {"M-1": kept.id}
    assert resolved.erased == ["M-2"]
    assert resolved.unknown[0] == "M-3" and len(resolved.unknown) == 2

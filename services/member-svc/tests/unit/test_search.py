"""Member search pages, without HTTP: every criterion past the cursor, and rows shown like members."""

import base64
import os
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import service as communities
from member_svc.communities.schemas import CommunityCreate, JoinRequest
from member_svc.db import MESSAGING
from member_svc.members import search
from member_svc.members import service as members
from member_svc.members.schemas import MemberCreate
from member_svc.members.search import MemberQuery
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.tags import service as tags
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
OWNER = Identity(tenant_id=TENANT, principal="owner", roles=("owner",), permissions=frozenset({"*"}))
ANALYST = Identity(tenant_id=TENANT, principal="analyst", roles=("analyst",), permissions=frozenset())

session = in_memory_session_fixture(Base.metadata)


async def community(session: AsyncSession, tenant: str = TENANT) -> uuid.UUID:
    body = CommunityCreate(name=f"群{uuid.uuid4().hex[:6]}", kind="vertical")
    return (await communities.create_community(session=session, outbox=OUTBOX, tenant_id=tenant, community_in=body)).id


async def member(session: AsyncSession, *, tenant: str = TENANT, tagged: list[str], seat: uuid.UUID) -> uuid.UUID:
    body = MemberCreate(nickname="小雨", phone=f"139{uuid.uuid4().int % 10**8:08d}", region="上海")
    found = await members.register(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=tenant, member_in=body)
    for tag in tagged:
        await tags.add_manual(session=session, outbox=OUTBOX, tenant_id=tenant, member_id=found.id, tag=tag)
    join = JoinRequest(member_id=found.id, channel="qr")
    await communities.join_community(session=session, outbox=OUTBOX, tenant_id=tenant, community_id=seat, join=join)
    return found.id


async def every_page(session: AsyncSession, criteria: MemberQuery, tenant: str = TENANT) -> list[list[uuid.UUID]]:
    pages, cursor = [], None
    while True:
        page, cursor = await search.search(session=session, tenant_id=tenant, query=criteria, limit=2, cursor=cursor)
        pages.append([m.id for m in page])
        if cursor is None:
            return pages


async def test_tag_and_community_criteria_hold_on_every_page(session: AsyncSession) -> None:
    here, there = await community(session), await community(session)
    inside, baking = [], []
    for i in range(9):
        hobby = "烘焙" if i % 2 else "健身"
        found = await member(session, tagged=["宝妈", hobby], seat=here if i % 3 else there)
        if i % 3:
            inside.append(found)
            baking += [found] if hobby == "烘焙" else []
    criteria = MemberQuery(tags=["宝妈"], any_tags=["烘焙", "健身"], community_id=here)
    pages = await every_page(session, criteria)
    assert [len(p) for p in pages] == [2, 2, 2] and [m for p in pages for m in p] == sorted(inside)
    only_baking = await every_page(session, MemberQuery(any_tags=["烘焙"], community_id=here))
    assert [m for p in only_baking for m in p] == sorted(baking) and len(baking) == 3


async def test_another_tenants_tags_and_members_are_not_found(session: AsyncSession) -> None:
    ours, theirs = await community(session), await community(session, tenant="tenant-b")
    mine = await member(session, tagged=["宝妈"], seat=ours)
    await member(session, tenant="tenant-b", tagged=["宝妈"], seat=theirs)
    assert await every_page(session, MemberQuery(tags=["宝妈"])) == [[mine]]


async def test_a_page_shows_members_as_reading_them_one_by_one_does(session: AsyncSession) -> None:
    seat = await community(session)
    found = await member(session, tagged=["宝妈", "VIP"], seat=seat)
    [row], _ = await search.search(session=session, tenant_id=TENANT, query=MemberQuery(), limit=5, cursor=None)
    one = await members.get_member(session=session, tenant_id=TENANT, member_id=found)
    for caller in (OWNER, ANALYST):
        assert await members.view(session=session, cipher=CIPHER, caller=caller, shown=[row]) == await members.view(
            session=session, cipher=CIPHER, caller=caller, shown=[one]
        )
    [shown] = await members.view(session=session, cipher=CIPHER, caller=ANALYST, shown=[row])
    assert shown.phone is not None and "****" in shown.phone and shown.tags == ["VIP", "宝妈"]

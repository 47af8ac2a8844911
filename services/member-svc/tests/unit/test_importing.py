"""Bulk import from CSV, without HTTP: checks at upload, row errors, whole members only, resuming."""

import base64
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.exceptions import MalformedCsv
from member_svc.imports import bulk
from member_svc.imports import service as imports
from member_svc.imports.models import ImportJob, ImportRowError
from member_svc.imports.service import RowError
from member_svc.members import service as members
from member_svc.members.models import Member
from member_svc.members.schemas import MemberCreate
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.tags import service as tags
from member_svc.tags.models import MemberTag
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, staged_events

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OWNER = Identity(tenant_id=TENANT, principal="owner", roles=("owner",), permissions=frozenset({"*"}))
HEADER = "nickname,phone,gender,age_band,region,persona_tags,active_hours,tags\n"

session = in_memory_session_fixture(Base.metadata)


async def run(session: AsyncSession, job: ImportJob) -> None:
    """What the worker does, in one session."""
    session.add(job)
    await session.flush()
    for chunk in imports.chunks_of(job):
        assert await imports.import_chunk(session=session, outbox=OUTBOX, cipher=CIPHER, job=job, chunk=chunk, now=NOW)
        job.processed_rows += len(chunk)
    await imports.finish(session=session, job_id=job.id, now=NOW)


def test_the_bulk_insert_writes_every_field_an_imported_row_has() -> None:
    """PostgreSQL's bulk insert names its columns; a profile field it left out would be dropped silently."""
    profile = set(MemberCreate.model_fields) - {"phone"}
    assert set(bulk.MEMBER_FIELDS) == profile | {"id", "phone_encrypted", "phone_hash"}


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (b"", "empty"),
        (HEADER.encode(), "no rows"),
        (b"nickname,email\n\xe5\xb0\x8f,a@b.c\n", "Unknown columns"),
        (b"phone\n13812341234\n", "Missing columns"),
        ("nickname\n小雨\n".encode("gbk"), "UTF-8"),
    ],
)
def test_an_upload_that_is_not_a_member_csv_is_refused_whole(upload: bytes, reason: str) -> None:
    with pytest.raises(MalformedCsv, match=reason):
        imports.accept(tenant_id=TENANT, upload=upload)


async def test_good_rows_are_imported_whole_and_bad_rows_reported_by_line(session: AsyncSession) -> None:
    await members.register(
        session=session,
        outbox=OUTBOX,
        cipher=CIPHER,
        tenant_id=TENANT,
        member_in=MemberCreate(nickname="老会员", phone="13900000000"),
    )
    csv = (
        "\ufeff"
        + HEADER
        + "小雨妈妈,138 1234 1234,female,25-34,上海,宝妈|烘焙爱好者,20|21,VIP|新客\n"  # line 2
        + "阿强,12345,male,,,,,\n"  # line 3: malformed phone
        + "\n"  # line 4: blank, skipped
        + ",13812340000,,,,,,\n"  # line 5: no nickname
        + "小美,13812341234,,,,,,\n"  # line 6: the phone of line 2
        + "老王,13900000000,,,,,,\n"  # line 7: a member has it already
        + "小李,,robot,,,,,\n"  # line 8: no such gender
        + "小周,,,,,,25,\n"  # line 9: no such hour
        + "小陈,,,,北京,,,\n"  # line 10: fine, no phone
    )
    job = imports.accept(tenant_id=TENANT, upload=csv.encode())
    assert job.total_rows == 8
    await run(session, job)
    job = await session.get(ImportJob, job.id, populate_existing=True)  # type: ignore[assignment]
    assert (job.status, job.processed_rows, job.imported, job.failed, job.csv) == ("done", 8, 2, 6, None)
    errors = (await session.scalars(select(ImportRowError).order_by(ImportRowError.row))).all()
    assert [(e.row, e.field) for e in errors] == [
        (3, "phone"),
        (5, "nickname"),
        (6, "phone"),
        (7, "phone"),
        (8, "gender"),
        (9, "active_hours"),
    ]
    imported = (await session.scalars(select(Member).where(Member.nickname == "小雨妈妈"))).one()
    found = await members.find_by_phone(session=session, cipher=CIPHER, caller=OWNER, phone="13812341234")
    assert found.id == imported.id and imported.persona_tags == ["宝妈", "烘焙爱好者"]
    assert imported.active_hours == [20, 21]
    assert [t.tag for t in (await tags.tags_of(session=session, member_ids=[imported.id]))[imported.id]] == [
        "VIP",
        "新客",
    ]
    tagged = [e for t, e in await staged_events(session, MESSAGING.outbox) if t == "member.tagged"]
    assert {(e.member_id, e.tag, e.kind) for e in tagged} == {
        (imported.id, "VIP", "manual"),
        (imported.id, "新客", "manual"),
    }
    bad_rows = await session.scalar(
        select(func.count()).select_from(Member).where(Member.nickname.in_(["阿强", "小美", "老王"]))
    )
    assert bad_rows == 0 and await session.scalar(select(func.count()).select_from(MemberTag)) == 2


async def test_imported_birthdays_are_checked_and_announced(session: AsyncSession) -> None:
    csv = "nickname,birthday\n小雨,07-19\n小明,02-30\n小红,\n"
    job = imports.accept(tenant_id=TENANT, upload=csv.encode())
    await run(session, job)
    [error] = (await session.scalars(select(ImportRowError))).all()
    assert (error.row, error.field) == (3, "birthday")
    born = (await session.scalars(select(Member).where(Member.nickname == "小雨"))).one()
    assert born.birthday == "07-19"
    staged = await staged_events(session, MESSAGING.outbox)
    assert [(p.member_id, p.birthday) for t, p in staged if t == "member.birthday_set"] == [(born.id, "07-19")]  # type: ignore[attr-defined]


async def test_a_resumed_job_goes_on_after_the_last_committed_chunk(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 3)
    rows = "".join(f"会员{i},138{i:08d},,,,,,\n" for i in range(10))
    job = imports.accept(tenant_id=TENANT, upload=(HEADER + rows).encode())
    session.add(job)
    await session.flush()
    first = next(imports.chunks_of(job))
    await imports.import_chunk(session=session, outbox=OUTBOX, cipher=CIPHER, job=job, chunk=first, now=NOW)
    # The worker dies here; the next one reads the job as committed and goes on.
    job = await session.get(ImportJob, job.id, populate_existing=True)  # type: ignore[assignment]
    assert job.processed_rows == 3
    stale = ImportJob(**{c.name: getattr(job, c.name) for c in ImportJob.__table__.columns} | {"processed_rows": 0})
    assert not await imports.import_chunk(
        session=session, outbox=OUTBOX, cipher=CIPHER, job=stale, chunk=first, now=NOW
    )  # a worker whose lease ran out finds the job moved on
    chunks = list(imports.chunks_of(job))
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert not any(isinstance(row, RowError) for chunk in chunks for row in chunk)
    first_line = chunks[0][0].row
    assert first_line == 5  # header is line 1, the first three rows were lines 2-4

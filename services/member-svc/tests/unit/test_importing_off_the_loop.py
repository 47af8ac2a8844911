"""A CSV upload is read off the event loop: at upload (the production route) and by the import worker,
so one large file does not hold up the process's other requests."""

import asyncio
import base64
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from member_svc import sweeps
from member_svc.db import MESSAGING
from member_svc.imports import api as imports_api
from member_svc.imports import service as imports
from member_svc.imports.models import ImportJob
from member_svc.members.models import Member
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_database, routes_client

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
OWNER = Identity(tenant_id=TENANT, principal="owner", roles=("owner",), permissions=frozenset({"*"}))
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
HEADER = "nickname,phone,gender,age_band,region,persona_tags,active_hours,tags\n"


def members_csv(rows: int) -> bytes:
    return (HEADER + "".join(f"会员{n},,female,25-34,上海,宝妈|健身,20|21,VIP\n" for n in range(rows))).encode()


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with in_memory_database(Base.metadata) as engine:
        yield engine


def threads_running(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """The threads that run `imports.<name>` from now on, one entry per call."""
    seen: list[int] = []
    original: Callable[..., Any] = getattr(imports, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(imports, name, spy)
    return seen


async def upload(engine: AsyncEngine, body: bytes) -> tuple[int, dict[str, Any]]:
    """POSTs a CSV to the production route: its status and answer, committed."""
    async with AsyncSession(engine) as session:
        async with routes_client(session, [imports_api.router], lambda: OWNER) as http:
            http._transport.app.state.imports_waiting = asyncio.Event()  # type: ignore[attr-defined]
            response = await http.post("/members/imports", content=body, headers={"Content-Type": "text/csv"})
        await session.commit()
    return response.status_code, response.json()


async def test_the_upload_route_checks_the_file_in_a_worker_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded_in = threads_running(monkeypatch, "_decode")

    status, job = await upload(engine, members_csv(3))

    assert (status, job["total_rows"], job["status"]) == (202, 3, "queued")
    assert decoded_in and threading.get_ident() not in decoded_in


async def test_the_loop_keeps_answering_while_a_large_upload_is_checked(engine: AsyncEngine) -> None:
    body = members_csv(300_000)
    started = time.perf_counter()
    imports.accept(tenant_id=TENANT, upload=body)
    checking = time.perf_counter() - started  # what the check holds the loop for when run on it
    longest_pause = 0.0
    uploaded = asyncio.create_task(upload(engine, body))
    while not uploaded.done():
        tick = time.perf_counter()
        await asyncio.sleep(0.001)  # the probe itself: how late the loop wakes a 1 ms sleep is its pause
        longest_pause = max(longest_pause, time.perf_counter() - tick)

    assert (await uploaded)[0] == 202
    assert longest_pause < checking / 3, f"the loop stalled {longest_pause:.3f} s of a {checking:.3f} s check"


async def test_a_bad_upload_is_refused_from_the_worker_thread_as_a_problem(engine: AsyncEngine) -> None:
    status, problem = await upload(engine, "nickname\n小雨\n".encode("gbk"))

    assert status == 422 and "UTF-8" in problem["detail"]
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(func.count()).select_from(ImportJob)) == 0


class Runtime:
    """What the import worker uses of the service runtime."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self.outbox = OUTBOX


async def test_the_import_worker_parses_each_chunk_in_a_worker_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    parsed_in = threads_running(monkeypatch, "parse_row")
    await upload(engine, members_csv(5))
    async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
        job = await imports.claim_next(session=session, now=datetime.now(UTC))
    assert job is not None

    await sweeps._import(Runtime(engine), CIPHER, job)  # type: ignore[arg-type]

    assert len(parsed_in) == 5 and threading.get_ident() not in parsed_in
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 5
        assert (await session.get_one(ImportJob, job.id)).status == "done"

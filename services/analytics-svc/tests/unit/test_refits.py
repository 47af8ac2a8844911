"""A refit asked for through the API is a job: answered at once with 202 and its URL, run in the background
by a worker, polled until it has succeeded (with the model it fitted, which GET /analytics/models then
answers) or failed; continued by another worker when the one running it stops."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from analytics_svc.db import MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.models import Base
from analytics_svc.scoring import api as scoring_api
from analytics_svc.scoring import refits
from analytics_svc.scoring.models import RefitJob
from qunyun_shared.db import create_engine, create_sessionmaker
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import routes_client

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-refits"
ANALYST = Identity(tenant_id=TENANT, principal="analyst", permissions=frozenset({"analytics:read", "analytics:write"}))
STRANGER = Identity(tenant_id="another-tenant", principal="analyst", permissions=ANALYST.permissions)


@pytest_asyncio.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A database file, for the requests and the worker's own transactions to meet in."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with engine.begin() as connection, AsyncSession(connection) as session:
        joined = [
            MemberJoinedV1(
                member_id=uuid.uuid4(), community_id=uuid.UUID(int=1), channel="qr", joined_at=datetime.now(UTC)
            )
            for _ in range(3)
        ]
        await HANDLERS["member.joined"](
            session, OUTBOX, [new_event(source="t", tenant_id=TENANT, payload=p) for p in joined]
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


async def ask(
    sessions: async_sessionmaker[AsyncSession], method: str, url: str, caller: Identity = ANALYST
) -> httpx.Response:
    """One request, in a transaction of its own that commits, as the service's requests do."""
    async with (
        sessions() as session,
        session.begin(),
        routes_client(session, [scoring_api.router], lambda: caller, OUTBOX) as http,
    ):
        return await http.request(method, url)


async def stored(sessions: async_sessionmaker[AsyncSession], job_id: str) -> RefitJob:
    async with sessions() as session:
        job = await session.get(RefitJob, uuid.UUID(job_id))
        assert job is not None
        return job


async def test_a_refit_is_queued_run_in_the_background_and_polled_to_its_model(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    unfitted = await ask(sessions, "GET", "/analytics/models", caller=STRANGER)  # a tenant with no members yet
    assert (unfitted.status_code, unfitted.json()["type"].rsplit("/", 1)[1]) == (404, "model-not-fitted")
    first_fit = (await ask(sessions, "GET", "/analytics/models")).json()["fitted_at"]  # by the members' batch

    accepted = await ask(sessions, "POST", "/analytics/segments/recompute")
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert (job["status"], job["attempts"], job["started_at"], job["result"], job["error"]) == (
        "queued",
        0,
        None,
        None,
        None,
    )
    location = httpx.URL("http://test/analytics/segments/recompute").join(accepted.headers["location"])
    assert location.path == f"/analytics/models/refits/{job['id']}"
    # Asked again while it waits: the same refit, not a second one.
    again = await ask(sessions, "POST", "/analytics/segments/recompute")
    assert (again.status_code, again.json()["id"]) == (202, job["id"])
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RefitJob)) == 1
    assert (await ask(sessions, "GET", location.path)).json()["status"] == "queued"

    assert await refits.run_next(sessionmaker=sessions, outbox=OUTBOX)
    assert not await refits.run_next(sessionmaker=sessions, outbox=OUTBOX)  # nothing else waits

    done = (await ask(sessions, "GET", location.path)).json()
    assert (done["status"], done["attempts"], done["error"]) == ("succeeded", 1, None)
    assert done["started_at"] <= done["finished_at"]
    model = (await ask(sessions, "GET", "/analytics/models")).json()
    assert done["result"] == model and model["fitted_at"] > first_fit
    assert model["members"] == 3 and model["summary"]["buyers"] == 0 and model["purchase_model"] is None
    assert len(model["breakpoints"]["recency_days"]) == 4
    # Once it is done, asking again queues a new refit; another tenant sees none of this one's.
    assert (await ask(sessions, "POST", "/analytics/segments/recompute")).json()["id"] != job["id"]
    hidden = await ask(sessions, "GET", location.path, caller=STRANGER)
    assert (hidden.status_code, hidden.json()["type"].rsplit("/", 1)[1]) == (404, "refit-not-found")


async def test_a_refit_whose_worker_stopped_is_taken_over_and_the_first_worker_records_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    job_id = (await ask(sessions, "POST", "/analytics/segments/recompute")).json()["id"]
    async with sessions() as session, session.begin():  # a worker claims it, then its process stops
        stopped = await refits.claim_next(session=session, now=datetime.now(UTC), lease=timedelta(seconds=60))
    assert stopped is not None and (await stored(sessions, job_id)).status == "running"
    assert not await refits.run_next(sessionmaker=sessions, outbox=OUTBOX)  # held while its lease lasts

    async with sessions() as session, session.begin():
        await session.execute(RefitJob.__table__.update().values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert await refits.run_next(sessionmaker=sessions, outbox=OUTBOX)
    job = await stored(sessions, job_id)
    assert (job.status, job.attempts, job.result is not None) == ("succeeded", 2, True)
    async with sessions() as session, session.begin():
        assert not await refits.fail(session=session, claim=stopped, error="late", now=datetime.now(UTC))
    assert (await stored(sessions, job_id)).status == "succeeded"


async def test_a_refit_that_fails_says_why_and_one_whose_workers_all_stop_is_given_up(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(**_: Any) -> int:
        raise RuntimeError("no numbers today")

    monkeypatch.setattr(refits.segments, "recompute", broken)
    job_id = (await ask(sessions, "POST", "/analytics/segments/recompute")).json()["id"]
    assert await refits.run_next(sessionmaker=sessions, outbox=OUTBOX)
    failed = (await ask(sessions, "GET", f"/analytics/models/refits/{job_id}")).json()
    assert (failed["status"], failed["error"], failed["result"]) == ("failed", "RuntimeError: no numbers today", None)
    assert failed["finished_at"] is not None

    job_id = (await ask(sessions, "POST", "/analytics/segments/recompute")).json()["id"]
    for _ in range(refits.MAX_ATTEMPTS):  # each worker stops at once: its lease is over as it begins
        async with sessions() as session, session.begin():
            assert await refits.claim_next(session=session, now=datetime.now(UTC), lease=timedelta(0)) is not None
    assert not await refits.run_next(sessionmaker=sessions, outbox=OUTBOX)
    given_up = await stored(sessions, job_id)
    assert given_up.status == "failed" and given_up.error is not None and "Given up" in given_up.error


async def test_a_refit_asked_for_without_the_permission_queues_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    reader = Identity(tenant_id=TENANT, principal="reader", permissions=frozenset({"analytics:read"}))
    refused = await ask(sessions, "POST", "/analytics/segments/recompute", caller=reader)
    assert (refused.status_code, refused.headers["content-type"]) == (403, "application/problem+json")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RefitJob)) == 0


async def test_a_finished_refit_is_forgotten_after_a_month(sessions: async_sessionmaker[AsyncSession]) -> None:
    job_id = (await ask(sessions, "POST", "/analytics/segments/recompute")).json()["id"]
    assert await refits.run_next(sessionmaker=sessions, outbox=OUTBOX)
    waiting = (await ask(sessions, "POST", "/analytics/segments/recompute")).json()["id"]
    sweep = refits.expiry_sweep()
    for days, left in ((29, 2), (31, 1)):
        async with sessions() as session, session.begin():
            await sweep(session, OUTBOX, datetime.now(UTC) + timedelta(days=days))
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(RefitJob)) == left
    assert (await ask(sessions, "GET", f"/analytics/models/refits/{job_id}")).status_code == 404
    assert (await ask(sessions, "GET", f"/analytics/models/refits/{waiting}")).json()["status"] == "queued"

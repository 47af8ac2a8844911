"""Background loops under watch: a dependency's failure is a stall, reported and waited out; a loop that
keeps crashing leaves readiness, then stops the process."""

import asyncio
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from qunyun_shared import health
from qunyun_shared.supervision import BackgroundHealth

pytestmark = pytest.mark.unit


class NoKafkaProblem:
    async def problem(self) -> None:
        return None


async def readiness(watch: BackgroundHealth) -> httpx.Response:
    """What the service's own /readyz answers with `watch` as its loops' health."""
    app = FastAPI()
    app.include_router(health.router)
    engine = create_async_engine("sqlite+aiosqlite://")
    app.state.runtime = SimpleNamespace(engine=engine, kafka_probe=NoKafkaProblem(), health=watch)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
            return await client.get("/readyz")
    finally:
        await engine.dispose()


def stalls(loop: str) -> float:
    return REGISTRY.get_sample_value("qunyun_background_stalls_total", {"loop": loop}) or 0.0


async def test_a_loop_failed_by_its_database_stalls_says_why_and_goes_on_once_it_answers() -> None:
    watch = BackgroundHealth(crashes_before_exit=2, first_stall_wait=0.01)
    failures, answered = 4, asyncio.Event()
    seen_while_down: list[httpx.Response] = []

    async def loop() -> None:
        nonlocal failures
        if failures:
            failures -= 1
            if failures == 1:
                seen_while_down.append(await readiness(watch))
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
        watch.resumed("sweep")
        answered.set()
        await asyncio.Event().wait()

    before = stalls("sweep")
    task = asyncio.create_task(watch.supervise("sweep", loop))
    try:
        await asyncio.wait_for(answered.wait(), 30)
    finally:
        task.cancel()
    [down] = seen_while_down
    assert down.status_code == 200 and down.json()["status"] == "degraded"
    assert down.json()["checks"]["sweep"].startswith("stalled: OperationalError")
    assert stalls("sweep") == before + 1  # one stall, however many retries
    assert (await readiness(watch)).json() == {"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}


async def test_a_loop_that_keeps_crashing_leaves_readiness_then_stops_the_process() -> None:
    stopped = asyncio.Event()
    watch = BackgroundHealth(
        crashes_before_unready=3, crashes_before_exit=5, first_restart_wait=0.01, stop_process=stopped.set
    )
    runs = 0
    unready_after: list[int] = []

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if not watch.ready and not unready_after:
            unready_after.append(runs - 1)
            answer = await readiness(watch)
            assert answer.status_code == 503, answer.text
            assert answer.json()["checks"]["relay"].startswith("crashing: 3 times in a row, last KeyError")
        raise KeyError("a bug, not a dependency")

    await asyncio.wait_for(watch.supervise("relay", loop), 30)  # returns once it has given up
    assert stopped.is_set() and runs == 5 and unready_after == [3]
    assert watch.gave_up and not watch.ready

"""Liveness, readiness (database and Kafka) and Prometheus metrics endpoints."""

import asyncio
import time

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

router = APIRouter(include_in_schema=False)


class KafkaProbe:
    """Asks the cluster for its metadata, at most every few seconds however often it is polled."""

    def __init__(self, bootstrap_servers: str, *, cache_seconds: float = 2.0) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.cache_seconds = cache_seconds
        self._checked_at = 0.0
        self._last: str | None = None
        self._lock = asyncio.Lock()

    async def problem(self) -> str | None:
        """None when Kafka answers, else why not."""
        async with self._lock:
            if time.monotonic() - self._checked_at > self.cache_seconds:
                self._last = await self._ask()
                self._checked_at = time.monotonic()
            return self._last

    async def _ask(self) -> str | None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), 3.0)
            await asyncio.wait_for(admin.describe_cluster(), 3.0)
            return None
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        finally:
            await admin.close()


async def database_problem(engine: AsyncEngine) -> str | None:
    try:
        async with engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("SELECT 1")), 3.0)
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Checks the database, Kafka and the background loops. The database decides readiness, and so does a
    loop that keeps crashing; while Kafka is away the outbox keeps every write, so taking the service out of
    rotation would refuse work it can do: Kafka, and a loop waiting for a dependency, only degrade it."""
    runtime = request.app.state.runtime
    database, kafka = await asyncio.gather(database_problem(runtime.engine), runtime.kafka_probe.problem())
    loops = runtime.health.checks()
    checks = {"database": database or "ok", "kafka": f"degraded: {kafka}" if kafka else "ok", **loops}
    if database is not None or not runtime.health.ready:
        return JSONResponse({"status": "not_ready", "checks": checks}, status_code=503)
    return JSONResponse({"status": "degraded" if kafka or loops else "ready", "checks": checks})


@router.get("/metrics")
async def metrics() -> PlainTextResponse:
    return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

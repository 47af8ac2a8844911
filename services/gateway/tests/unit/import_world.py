"""What the import tests share: stand-ins for the services' history endpoints on real local ports (each verifies
the gateway's signed identity, keeps each tenant's records by the merchant's id, answers a row again sent the
same as `unchanged` and one sent different as failed, and can be told to be away or to refuse), the imports
routes in process on a SQLite file, and a worker to run the jobs."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
from aiohttp import web
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway_svc import access
from gateway_svc.config import Settings
from gateway_svc.dependencies import rate_limited_caller
from gateway_svc.imports import api as imports_api
from gateway_svc.imports.feeding import Importer
from gateway_svc.models import Base
from gateway_svc.proxy.forwarding import UpstreamRouter, open_router
from gateway_svc.tenants.models import Tenant
from qunyun_shared import identity, problems
from qunyun_shared.db import create_engine, create_sessionmaker
from qunyun_shared.dependencies import get_runtime

SECRET = "imports-test-secret-" + "x" * 32
Behaviour = Literal["answer", "away", "refuse"]
Check = Callable[[dict[str, Any], str], list[tuple[str, str]]]


@dataclass
class Batch:
    path: str
    rows: list[dict[str, Any]]
    caller: identity.Identity


@dataclass
class HistoryServices:
    """The four services' history endpoints (and member-svc's look-up by merchant id) as one aiohttp app."""

    behaviour: Behaviour = "answer"
    records: dict[tuple[str, str, str], tuple[str, bytes]] = field(default_factory=dict)
    """(tenant, endpoint, merchant key) -> (record id, the row as first sent)."""
    batches: list[Batch] = field(default_factory=list)
    lookups: list[list[str]] = field(default_factory=list)
    erased: set[str] = field(default_factory=set)
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each tenant's members, merchant id -> member id."""
    member_ids: dict[str, set[str]] = field(default_factory=dict)
    """Merchant ids of members erased since."""
    url: str = ""
    stall_from: int | None = None
    """Batches from this one on are imported, but their answers wait for `released` (a worker dying meanwhile)."""
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        routes = {
            "/members/history": ("members", "merchant_member_id", _member_problems),
            "/campaigns/orders/history": ("orders", "merchant_order_id", self._order_problems),
            "/campaigns/{campaign_id}/checkins/history": ("checkins", None, self._member_named),
            "/content/items/history": ("items", "merchant_content_id", _no_problems),
            "/content/engagement/history": ("actions", "merchant_action_id", self._member_named),
        }
        for path, (rows, key, check) in routes.items():
            app.router.add_post(path, self._history(path, rows, key, check))
        app.router.add_post("/members/resolve", self._resolve)
        return app

    def members_of(self, tenant_id: str) -> dict[str, str]:
        """The tenant's members: merchant id -> member id."""
        return self.members.setdefault(tenant_id, {})

    def _history(
        self, path: str, rows_name: str, key: str | None, check: Check
    ) -> Callable[[web.Request], Awaitable[Any]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            caller = _caller(request)
            if caller is None:
                return problem(401, "Invalid internal identity.")
            if self.behaviour == "away":
                return problem(503, "The database is away.")
            if self.behaviour == "refuse":
                return problem(404, "No campaign.")
            rows = (await request.json())[rows_name]
            self.batches.append(Batch(request.path, rows, caller))
            results = [self._import(caller.tenant_id, path, index, row, key, check) for index, row in enumerate(rows)]
            if self.stall_from is not None and len(self.batches) > self.stall_from:
                await self.released.wait()
            counts = {outcome: sum(r["outcome"] == outcome for r in results) for outcome in ("created", "unchanged")}
            failed = len(results) - sum(counts.values())
            return web.json_response({"results": results, **counts, "failed": failed})

        return serve

    def _import(
        self, tenant: str, path: str, index: int, row: dict[str, Any], key: str | None, check: Check
    ) -> dict[str, Any]:
        problems = check(row, tenant)
        if problems:
            return _failed(index, problems)
        merchant_key = row[key] if key else f"{row['member_id']}@{row['checked_in_at']}"
        content = orjson.dumps(row, option=orjson.OPT_SORT_KEYS)
        earlier = self.records.get((tenant, path, merchant_key))
        if earlier is not None and earlier[1] != content:
            return _failed(index, [(key or "member_id", f"imported before with other content (record {earlier[0]})")])
        if earlier is not None:
            return {"row": index, "id": earlier[0], "outcome": "unchanged", "problems": []}
        record_id = str(uuid.uuid4())
        self.records[(tenant, path, merchant_key)] = (record_id, content)
        if path == "/members/history":
            self.members_of(tenant)[merchant_key] = record_id
            self.member_ids.setdefault(tenant, set()).add(record_id)
        return {"row": index, "id": record_id, "outcome": "created", "problems": []}

    def _member_named(self, row: dict[str, Any], tenant: str) -> list[tuple[str, str]]:
        known = row.get("member_id") in self.member_ids.setdefault(tenant, set())
        return [] if known else [("member_id", "no such member")]

    def _order_problems(self, row: dict[str, Any], tenant: str) -> list[tuple[str, str]]:
        problems = self._member_named(row, tenant)
        problems += [
            (f"items.{index}.quantity", "Input should be greater than or equal to 1")
            for index, item in enumerate(row["items"])
            if item["quantity"] < 1
        ]
        return problems

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        caller = _caller(request)
        if caller is None:
            return problem(401, "Invalid internal identity.")
        if self.behaviour == "away":
            return problem(503, "The database is away.")
        wanted = (await request.json())["merchant_member_ids"]
        self.lookups.append(wanted)
        members = self.members_of(caller.tenant_id)
        found = {merchant_id: members[merchant_id] for merchant_id in wanted if merchant_id in members}
        unknown = [merchant_id for merchant_id in wanted if merchant_id not in found and merchant_id not in self.erased]
        erased = [merchant_id for merchant_id in wanted if merchant_id in self.erased]
        return web.json_response({"members": found, "unknown": unknown, "erased": erased})


def _member_problems(row: dict[str, Any], tenant: str) -> list[tuple[str, str]]:
    now = datetime.now(UTC).isoformat()
    problems = [("nickname", "String should have at least 1 character")] if not row.get("nickname") else []
    return problems + [
        (f"memberships.{index}.joined_at", "is in the future: history is what already happened")
        for index, membership in enumerate(row.get("memberships", []))
        if membership.get("joined_at", "") > now
    ]


def _no_problems(row: dict[str, Any], tenant: str) -> list[tuple[str, str]]:
    return []


def _failed(index: int, problems: list[tuple[str, str]]) -> dict[str, Any]:
    described = [{"field": name, "message": message} for name, message in problems]
    return {"row": index, "id": None, "outcome": "failed", "problems": described}


def _caller(request: web.Request) -> identity.Identity | None:
    try:
        return identity.verify(request.headers.get(identity.IDENTITY_HEADER, ""), SECRET)
    except identity.InvalidIdentity:
        return None


def problem(status: int, detail: str) -> web.Response:
    body = {"type": "https://qunyun.dev/problems/x", "title": "Problem", "status": status, "detail": detail}
    return web.json_response(body, status=status, content_type="application/problem+json")


@dataclass
class Runtime:
    """What the routes read of the gateway's runtime: its settings and its sessions."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: Any


@dataclass
class ImportWorld:
    services: HistoryServices
    runtime: Runtime
    router: UpstreamRouter
    app: FastAPI
    caller: identity.Identity
    waiting: asyncio.Event

    def importer(self, lease: timedelta = timedelta(seconds=5)) -> Importer:
        """A worker that polls often and waits little before trying a service again."""
        return Importer(
            sessionmaker=self.runtime.sessionmaker,
            upstreams=self.router,
            settings=self.runtime.settings,
            waiting=self.waiting,
            lease=lease,
            poll_seconds=0.05,
            first_retry_seconds=0.05,
        )

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw/api/v1") as client:
            yield client

    @asynccontextmanager
    async def running(self, count: int = 1) -> AsyncIterator[list[Importer]]:
        """`count` workers running jobs until the block ends."""
        importers = [self.importer() for _ in range(count)]
        tasks = [asyncio.create_task(importer.run()) for importer in importers]
        try:
            yield importers
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def new_tenant(self) -> identity.Identity:
        """The owner of a new tenant."""
        async with self.runtime.sessionmaker() as session, session.begin():
            tenant = Tenant(name=f"tenant-{uuid.uuid4().hex[:8]}")
            session.add(tenant)
        return caller_of(str(tenant.id), "owner")


def caller_of(tenant_id: str, *roles: str) -> identity.Identity:
    return identity.Identity(
        tenant_id=tenant_id,
        principal=f"api_key:{uuid.uuid4().hex[:16]}",
        roles=roles,
        permissions=access.permissions_of(roles),
    )


@asynccontextmanager
async def import_world(tmp_path: Path, **configured: Any) -> AsyncIterator[ImportWorld]:
    """The imports routes and workers on a SQLite file, the history services on a local port."""
    services = HistoryServices()
    runner = web.AppRunner(services.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    services.url = f"http://{host}:{port}"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        internal_token_secret=SECRET,
        platform_admin_token="admin-" + "y" * 32,
        access_token_secret="access-" + "y" * 32,
        webhook_secret_key="a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        **{f"{name}_svc_url": services.url for name in ("member", "content", "campaign", "analytics")},
        **({"import_retry_max_seconds": 0.5} | configured),
    )
    engine = create_engine(settings.database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    runtime = Runtime(settings, engine, create_sessionmaker(engine))
    try:
        async with open_router(settings=settings) as router:
            app = FastAPI()
            problems.install(app)
            app.include_router(imports_api.router)
            app.state.runtime = runtime
            app.state.imports_waiting = waiting = asyncio.Event()
            world = ImportWorld(services, runtime, router, app, caller_of(str(uuid.uuid4()), "owner"), waiting)
            world.caller = await world.new_tenant()

            async def the_caller() -> identity.Identity:
                return world.caller

            async def the_runtime() -> Runtime:
                return runtime

            app.dependency_overrides.update({rate_limited_caller: the_caller, get_runtime: the_runtime})
            yield world
    finally:
        await engine.dispose()
        await runner.cleanup()

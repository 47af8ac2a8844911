"""Stand-ins for the four services behind the gateway, served over real HTTP on local ports: each verifies
the gateway's signed identity, answers only for the tenant it names (as the services do) and can be told
to hang or fail, so the views are tested against real sockets, timeouts and status codes."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from qunyun_shared import identity

SECRET = "views-test-secret-" + "x" * 32
TENANT, OTHER_TENANT = "tenant-a", "tenant-b"
MEMBER, COMMUNITY = uuid.uuid4(), uuid.uuid4()
PHONE = "13812341234"

Behaviour = Literal["answer", "hang", "fail", "garble", "reshape"]
Handler = Callable[[web.Request, identity.Identity], Awaitable[Any]]


@dataclass
class Seen:
    path: str
    query: list[tuple[str, str]]
    caller: identity.Identity


@dataclass
class FakeService:
    """One service: its routes, what it was asked, and how it behaves now."""

    name: str
    routes: dict[str, Handler]
    behaviour: Behaviour = "answer"
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        for path, handler in self.routes.items():
            app.router.add_get(path, self._serving(handler))
        return app

    def _serving(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            try:
                caller = identity.verify(request.headers.get(identity.IDENTITY_HEADER, ""), SECRET)
            except identity.InvalidIdentity:
                return problem(401, "Invalid internal identity.")
            self.seen.append(Seen(request.path, list(request.query.items()), caller))
            if self.behaviour == "hang":
                await self.released.wait()
            if self.behaviour == "fail":
                return problem(500, "The request failed unexpectedly.")
            if self.behaviour == "garble":
                return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
            answer = await handler(request, caller)
            if isinstance(answer, web.StreamResponse):
                return answer
            return web.json_response({"unexpected": True} if self.behaviour == "reshape" else answer)

        return serve


def problem(status: int, detail: str) -> web.Response:
    body = {"type": "https://qunyun.dev/problems/x", "title": "Problem", "status": status, "detail": detail}
    return web.json_response(body, status=status, content_type="application/problem+json")


def _ours(caller: identity.Identity, request: web.Request, key: str, known: uuid.UUID) -> bool:
    """Whether the id in the path is the tenant's own: another tenant's looks like no such thing."""
    return caller.tenant_id == TENANT and request.match_info[key] == str(known)


def _sees_personal_data(caller: identity.Identity) -> bool:
    return bool({"*", "members:personal_data"} & caller.permissions)


async def member(request: web.Request, caller: identity.Identity) -> Any:
    if not _ours(caller, request, "member_id", MEMBER):
        return problem(404, "No member.")
    phone = PHONE if _sees_personal_data(caller) else PHONE[:3] + "****" + PHONE[-4:]
    return {
        "id": str(MEMBER),
        "nickname": "小雨妈妈",
        "phone": phone,
        "gender": "female",
        "age_band": "25-34",
        "birthday": "07-19",
        "region": "上海",
        "persona_tags": ["宝妈"],
        "active_hours": [20, 21],
        "level": 1,
        "lifecycle": "active",
        "segment": "potential",
        "churn_risk": False,
        "tags": ["孕晚期"],
        "created_at": "2026-11-01T08:00:00Z",
        "erased": False,
    }


async def points(request: web.Request, caller: identity.Identity) -> Any:
    if not _ours(caller, request, "member_id", MEMBER):
        return problem(404, "No member.")
    level = {"level": 1, "name": "新人", "threshold": 0, "privileges": []}
    return {
        "member_id": str(MEMBER),
        "balance": 210,
        "debt": 0,
        "lifetime": 210,
        "level": level,
        "next_level": None,
        "expiring": [],
    }


async def community(request: web.Request, caller: identity.Identity) -> Any:
    if not _ours(caller, request, "community_id", COMMUNITY):
        return problem(404, "No community.")
    return {
        "id": str(COMMUNITY),
        "name": "宝妈交流群",
        "kind": "vertical",
        "tier": "active",
        "capacity": 500,
        "member_count": 1,
        "entry_rule": "open",
        "stage": None,
        "created_at": "2026-11-01T08:00:00Z",
        "archived_at": None,
    }


async def orders(request: web.Request, caller: identity.Identity) -> Any:
    mine = caller.tenant_id == TENANT and request.query.get("member_id") == str(MEMBER)
    order = {
        "id": str(uuid.uuid4()),
        "member_id": str(MEMBER),
        "community_id": str(COMMUNITY),
        "status": "paid",
        "items": [{"product_id": "sku-1", "quantity": 2, "unit_price_fen": 4950}],
        "subtotal_fen": 9900,
        "discount_fen": 0,
        "amount_fen": 9900,
        "refunded_fen": 0,
        "campaign_id": None,
        "coupon_id": None,
        "content_id": None,
        "inviter_id": None,
        "external_id": None,
        "placed_at": "2026-11-20T12:00:00Z",
        "paid_at": "2026-11-20T12:01:00Z",
        "closed_at": None,
    }
    return {"orders": [order] if mine else [], "next_cursor": None}


async def coupons(request: web.Request, caller: identity.Identity) -> Any:
    return []


async def campaigns(request: web.Request, caller: identity.Identity) -> Any:
    return [
        {
            "id": str(uuid.uuid4()),
            "kind": "member_day",
            "name": "会员日",
            "community_id": None,
            "status": "running",
            "starts_at": "2026-11-20T00:00:00Z",
            "ends_at": None,
            "budget_fen": None,
            "settings": {},
            "ended_reason": None,
            "created_at": "2026-11-19T00:00:00Z",
        }
    ]


async def scores(request: web.Request, caller: identity.Identity) -> Any:
    return {
        "member_id": request.match_info["member_id"],
        "segment": "potential",
        "recency_score": 5,
        "frequency_score": 1,
        "monetary_score": 3,
        "churn_score": 0.1,
        "churn_flagged": False,
        "churn_reasons": [],
        "probability_alive": 0.97,
        "lifetime_value_fen": 31000,
        "orders": 1,
        "spend_fen": 9900,
        "last_active_at": "2026-11-20T12:01:00Z",
        "scored_at": "2026-11-20T12:01:05Z",
    }


async def kpis(request: web.Request, caller: identity.Identity) -> Any:
    names = request.query.getall("kpi")
    windows = [
        {"days": int(days), "start": "2026-11-01", "end": "2026-11-23", "values": dict.fromkeys(names, 1.0)}
        for days in request.query.getall("days")
    ]
    return {
        "community_id": request.match_info["community_id"],
        "units": dict.fromkeys(names, "rate"),
        "windows": windows,
    }


async def health(request: web.Request, caller: identity.Identity) -> Any:
    return {
        "community_id": request.match_info["community_id"],
        "as_of": "2026-11-22",
        "members": 1,
        "age_days": 21,
        "score": 64.0,
        "stage": "startup",
        "dimensions": {"members": 70.0, "content": None, "business": 60.0, "health": None},
        "metrics": [{"dimension": "members", "name": "growth", "value": 0.2, "score": 70.0, "target": 0.1}],
    }


async def engagements(request: web.Request, caller: identity.Identity) -> Any:
    action = {"content_id": str(uuid.uuid4()), "community_id": str(COMMUNITY), "action": "like"}
    return [{**action, "occurred_at": "2026-11-20T20:00:00Z"}]


async def calendar(request: web.Request, caller: identity.Identity) -> Any:
    return [
        {
            "id": str(uuid.uuid4()),
            "content_id": str(uuid.uuid4()),
            "community_id": request.match_info["community_id"],
            "content_type": "knowledge",
            "publish_at": request.query["start"],
            "status": "scheduled",
            "published_at": None,
            "audience_size": None,
        }
    ]


def services() -> dict[str, FakeService]:
    return {
        "member": FakeService(
            "member",
            {
                "/members/{member_id}": member,
                "/members/{member_id}/points": points,
                "/communities/{community_id}": community,
            },
        ),
        "campaign": FakeService(
            "campaign", {"/campaigns/orders": orders, "/campaigns/coupons": coupons, "/campaigns": campaigns}
        ),
        "analytics": FakeService(
            "analytics",
            {
                "/analytics/members/{member_id}": scores,
                "/analytics/communities/{community_id}/kpis": kpis,
                "/analytics/communities/{community_id}/health": health,
            },
        ),
        "content": FakeService(
            "content",
            {
                "/content/members/{member_id}/engagements": engagements,
                "/content/communities/{community_id}/calendar": calendar,
            },
        ),
    }


@asynccontextmanager
async def serving(fakes: dict[str, FakeService]) -> AsyncIterator[dict[str, FakeService]]:
    """Every fake on a free port of 127.0.0.1, its `url` set, until the block ends."""
    async with AsyncExitStack() as stack:
        for fake in fakes.values():
            runner = web.AppRunner(fake.app())
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            stack.callback(fake.released.set)  # runs first: hanging handlers return before the cleanup
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            fake.url = f"http://{host}:{port}"
        yield fakes

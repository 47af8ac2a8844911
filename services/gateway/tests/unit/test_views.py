"""The aggregated views against stand-in services on real local ports: every section fetched as the caller,
a hung, failing, unreachable or garbled service costing only its own section, sections the caller may not
see forbidden and never asked for, and a subject of another tenant a 404."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway_svc.config import Settings
from gateway_svc.main import create_app
from gateway_svc.proxy.forwarding import open_router
from gateway_svc.views import api as views
from gateway_svc.views.examples import COMMUNITY_DASHBOARD_EXAMPLE, MEMBER_360_EXAMPLE
from gateway_svc.views.exceptions import MemberNotFound
from gateway_svc.views.schemas import CommunityDashboard, Member360
from gateway_svc.views.sections import ViewSource, concurrently
from gateway_svc.views.service import HEADLINE_KPIS
from qunyun_shared import problems
from qunyun_shared.identity import Identity
from qunyun_shared.testing import free_port

from .fake_services import COMMUNITY, MEMBER, OTHER_TENANT, PHONE, SECRET, TENANT, FakeService, services, serving

pytestmark = pytest.mark.unit

DEADLINE = 1.0
READS = frozenset({"members:read", "campaigns:read", "analytics:read", "content:read"})
OPERATOR = Identity(tenant_id=TENANT, principal="operator:1", roles=("operator",), permissions=READS)
MEMBER_SECTIONS = ("profile", "points", "orders", "coupons", "scores", "engagement")
COMMUNITY_SECTIONS = ("community", "kpis", "health", "schedule", "campaigns")


@dataclass
class Gateway:
    client: httpx.AsyncClient
    caller: Identity = OPERATOR

    async def member_360(self, member_id: uuid.UUID = MEMBER) -> httpx.Response:
        return await asyncio.wait_for(self.client.get(f"/api/v1/views/members/{member_id}"), timeout=10)

    async def dashboard(self, community_id: uuid.UUID = COMMUNITY) -> httpx.Response:
        return await asyncio.wait_for(self.client.get(f"/api/v1/views/communities/{community_id}"), timeout=10)


@asynccontextmanager
async def gateway(fakes: dict[str, FakeService], app: FastAPI | None = None) -> AsyncIterator[Gateway]:
    """The views' routes (alone, or in `app`) with a real upstream router pointed at the fakes, for whichever
    caller the test sets."""
    settings = Settings(
        database_url="sqlite+aiosqlite://",
        internal_token_secret=SECRET,
        platform_admin_token="admin-" + "y" * 32,
        access_token_secret="access-" + "y" * 32,
        webhook_secret_key="a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        **{f"{name}_svc_url": fake.url for name, fake in fakes.items()},
    )
    if app is None:
        app = FastAPI()
        problems.install(app)
        app.include_router(views.router)
    transport = httpx.ASGITransport(app=app)
    async with (
        open_router(settings=settings) as upstreams,
        httpx.AsyncClient(transport=transport, base_url="http://gw") as client,
    ):
        api = Gateway(client)

        async def source() -> ViewSource:
            return ViewSource(upstreams, api.caller, deadline=DEADLINE)

        app.dependency_overrides[views.view_source] = source
        yield api


@pytest.fixture
async def fakes() -> AsyncIterator[dict[str, FakeService]]:
    async with serving(services()) as running:
        yield running


def statuses(view: dict[str, Any], sections: tuple[str, ...]) -> dict[str, str]:
    return {name: view[name]["status"] for name in sections}


async def test_member_360_fetches_every_section_as_the_caller(fakes: dict[str, FakeService]) -> None:
    async with gateway(fakes) as api:
        answered = await api.member_360()
        assert answered.status_code == 200, answered.text
        view = answered.json()
        assert statuses(view, MEMBER_SECTIONS) == dict.fromkeys(MEMBER_SECTIONS, "ok")
        assert view["profile"]["data"]["phone"] == "138****1234" and view["profile"]["data"]["tags"] == ["孕晚期"]
        assert view["points"]["data"]["balance"] == 210 and view["points"]["data"]["level"]["name"] == "新人"
        assert [o["amount_fen"] for o in view["orders"]["data"]["orders"]] == [9900]
        assert view["coupons"]["data"] == [] and view["scores"]["data"]["lifetime_value_fen"] == 31000
        assert [e["action"] for e in view["engagement"]["data"]] == ["like"]

        seen = [s for fake in fakes.values() for s in fake.seen]
        assert len(seen) == 6 and {(s.caller.tenant_id, s.caller.principal, s.caller.permissions) for s in seen} == {
            (TENANT, "operator:1", READS)
        }
        (orders,) = [s for s in seen if s.path == "/campaigns/orders"]
        assert orders.query == [("member_id", str(MEMBER)), ("limit", "10")]

        api.caller = Identity(tenant_id=TENANT, principal="owner", permissions=frozenset({"*"}))
        assert (await api.member_360()).json()["profile"]["data"]["phone"] == PHONE


async def test_a_hung_and_a_failing_service_leave_only_their_sections_unavailable(
    fakes: dict[str, FakeService],
) -> None:
    fakes["analytics"].behaviour, fakes["campaign"].behaviour = "hang", "fail"
    async with gateway(fakes) as api:
        answered = await api.member_360()
    assert answered.status_code == 200, answered.text
    view = answered.json()
    assert statuses(view, MEMBER_SECTIONS) == {
        "profile": "ok",
        "points": "ok",
        "orders": "unavailable",
        "coupons": "unavailable",
        "scores": "unavailable",
        "engagement": "ok",
    }
    assert view["scores"] == {
        "status": "unavailable",
        "data": None,
        "reason": "analytics-svc did not answer within 1 s.",
    }
    assert view["orders"]["reason"] == "campaign-svc answered 500: The request failed unexpectedly."


async def test_a_hung_member_service_leaves_the_profile_unavailable_not_the_page(
    fakes: dict[str, FakeService],
) -> None:
    fakes["member"].behaviour = "hang"
    async with gateway(fakes) as api:
        member, community = (await api.member_360()).json(), (await api.dashboard()).json()
    assert (member["profile"]["status"], member["scores"]["status"]) == ("unavailable", "ok")
    assert (community["community"]["status"], community["health"]["status"]) == ("unavailable", "ok")


async def test_an_unreachable_service_and_answers_in_no_known_shape_are_unavailable(
    fakes: dict[str, FakeService],
) -> None:
    fakes["content"].url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    fakes["campaign"].behaviour, fakes["analytics"].behaviour = "garble", "reshape"
    async with gateway(fakes) as api:
        view = (await api.member_360()).json()
    assert statuses(view, MEMBER_SECTIONS) == {
        **dict.fromkeys(MEMBER_SECTIONS, "unavailable"),
        "profile": "ok",
        "points": "ok",
    }
    assert view["engagement"]["reason"].startswith("content-svc answered 503: The content service is unreachable")
    assert view["coupons"]["reason"] == "campaign-svc answered with something other than JSON."
    assert view["scores"]["reason"] == "analytics-svc answered in a shape this view does not know."


async def test_sections_the_caller_may_not_see_are_forbidden_and_never_asked_for(
    fakes: dict[str, FakeService],
) -> None:
    async with gateway(fakes) as api:
        api.caller = Identity(tenant_id=TENANT, principal="desk", permissions=frozenset({"members:read"}))
        view = (await api.member_360()).json()
        assert statuses(view, MEMBER_SECTIONS) == {
            **dict.fromkeys(MEMBER_SECTIONS, "forbidden"),
            "profile": "ok",
            "points": "ok",
        }
        assert view["scores"] == {
            "status": "forbidden",
            "data": None,
            "reason": "This needs the analytics:read permission.",
        }
        assert fakes["campaign"].seen == fakes["analytics"].seen == fakes["content"].seen == []

        # The member is still looked up, for a 404 when there is none, but not shown.
        api.caller = Identity(tenant_id=TENANT, principal="analyst", permissions=frozenset({"analytics:read"}))
        view = (await api.member_360()).json()
        assert (view["profile"], view["scores"]["status"]) == (
            {"status": "forbidden", "data": None, "reason": "This needs the members:read permission."},
            "ok",
        )
        assert (await api.member_360(uuid.uuid4())).status_code == 404


async def test_a_member_or_community_of_another_tenant_is_a_404(fakes: dict[str, FakeService]) -> None:
    async with gateway(fakes) as api:
        api.caller = Identity(tenant_id=OTHER_TENANT, principal="owner", permissions=frozenset({"*"}))
        for answered in (await api.member_360(), await api.dashboard()):
            assert (answered.status_code, answered.headers["content-type"]) == (404, "application/problem+json")
            assert "小雨妈妈" not in answered.text and "宝妈交流群" not in answered.text
        assert (await api.member_360()).json()["type"].endswith("/member-not-found")
        assert (await api.dashboard()).json()["type"].endswith("/community-not-found")
        assert (await api.client.get("/api/v1/views/members/not-a-uuid")).status_code == 422


async def test_the_community_dashboard_asks_each_service_for_its_part(fakes: dict[str, FakeService]) -> None:
    async with gateway(fakes) as api:
        answered = await api.dashboard()
    assert answered.status_code == 200, answered.text
    view = answered.json()
    assert statuses(view, COMMUNITY_SECTIONS) == dict.fromkeys(COMMUNITY_SECTIONS, "ok")
    assert view["community"]["data"]["name"] == "宝妈交流群" and view["health"]["data"]["stage"] == "startup"
    assert [w["days"] for w in view["kpis"]["data"]["windows"]] == [7, 30]
    assert list(view["kpis"]["data"]["units"]) == list(HEADLINE_KPIS)
    assert [c["name"] for c in view["campaigns"]["data"]] == ["会员日"]
    (kpis,) = [s for s in fakes["analytics"].seen if s.path.endswith("/kpis")]
    assert kpis.query == [*(("kpi", name) for name in HEADLINE_KPIS), ("days", "7"), ("days", "30")]
    (campaigns,) = fakes["campaign"].seen
    assert campaigns.query == [("status", "running"), ("community_id", str(COMMUNITY)), ("limit", "50")]
    (calendar,) = fakes["content"].seen
    start, end = (datetime.fromisoformat(dict(calendar.query)[bound]) for bound in ("start", "end"))
    assert start.tzinfo is not None and end - start == timedelta(days=7)
    assert view["schedule"]["data"][0]["publish_at"] == start.isoformat().replace("+00:00", "Z")


async def test_a_hung_analytics_service_costs_the_dashboard_its_kpis_and_health_only(
    fakes: dict[str, FakeService],
) -> None:
    fakes["analytics"].behaviour = "hang"
    async with gateway(fakes) as api:
        view = (await api.dashboard()).json()
    assert statuses(view, COMMUNITY_SECTIONS) == {
        **dict.fromkeys(COMMUNITY_SECTIONS, "ok"),
        "kpis": "unavailable",
        "health": "unavailable",
    }


async def test_the_first_error_of_concurrent_sections_is_raised_as_itself_and_cancels_the_rest() -> None:
    cancelled = asyncio.Event()

    async def waits() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def missing() -> None:
        raise MemberNotFound("No member.")

    with pytest.raises(MemberNotFound):
        async with concurrently() as group:
            group.create_task(waits())
            group.create_task(missing())
    assert cancelled.is_set()


async def test_the_gateway_routes_the_views_before_its_proxy(fakes: dict[str, FakeService]) -> None:
    async with gateway(fakes, create_app()) as api:
        answered = await api.member_360()
    assert answered.status_code == 200, answered.text
    assert statuses(answered.json(), MEMBER_SECTIONS) == dict.fromkeys(MEMBER_SECTIONS, "ok")


def test_the_views_are_documented_with_examples() -> None:
    document = create_app().openapi()
    for path, model in (
        ("/api/v1/views/members/{member_id}", Member360),
        ("/api/v1/views/communities/{community_id}", CommunityDashboard),
    ):
        operation = document["paths"][path]["get"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model.__name__}"} and "404" in operation["responses"]
        assert document["components"]["schemas"][model.__name__]["examples"]
    # As written: the document itself leaves out nulls (FastAPI drops None values from it).
    Member360.model_validate(MEMBER_360_EXAMPLE)
    CommunityDashboard.model_validate(COMMUNITY_DASHBOARD_EXAMPLE)

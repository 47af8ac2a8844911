"""analytics-svc's routes: answers, CSV export, and problem+json for every bad query."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.activity import REPORT_ZONE
from analytics_svc.alerts import api as alerts_api
from analytics_svc.cohorts import api as cohorts_api
from analytics_svc.communities import api as communities_api
from analytics_svc.db import MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.kpis import api as kpis_api
from analytics_svc.models import Base
from analytics_svc.referrals import api as referrals_api
from analytics_svc.scoring import api as scoring_api
from analytics_svc.scoring.models import RefitJob
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, routes_client

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-a"
COMMUNITY = uuid.UUID(int=7)
ANALYST = frozenset({"analytics:read", "analytics:write"})

session = in_memory_session_fixture(Base.metadata)


@pytest_asyncio.fixture
async def client(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    joined = MemberJoinedV1(member_id=uuid.uuid4(), community_id=COMMUNITY, channel="qr", joined_at=datetime.now(UTC))
    await HANDLERS["member.joined"](session, OUTBOX, [new_event(source="test", tenant_id=TENANT, payload=joined)])
    routers = [api.router for api in (communities_api, kpis_api, scoring_api, cohorts_api, referrals_api, alerts_api)]
    caller = Identity(tenant_id=TENANT, principal="test", permissions=ANALYST)
    async with routes_client(session, routers, lambda: caller, OUTBOX) as http:
        yield http


async def test_a_kpi_series_and_its_csv(client: httpx.AsyncClient) -> None:
    today = datetime.now(REPORT_ZONE).date().isoformat()
    query = {"from": "2026-01-01", "to": "2026-03-31", "granularity": "month"}
    series = await client.get("/analytics/kpis/members_new", params=query)
    assert series.status_code == 200, series.text
    assert [p["start"] for p in series.json()["points"]] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    exported = await client.get("/analytics/kpis/members_total/export", params={"from": today, "to": today})
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines() == ["start,end,members_total", f"{today},{today},1"]
    listed = (await client.get("/analytics/kpis")).json()
    assert {"weekly_active_rate", "repurchase_rate_30d", "nps"} <= {k["name"] for k in listed}
    by_community = (
        await client.get("/analytics/kpis/members_total/by-community", params={"from": today, "to": today})
    ).json()
    assert by_community["communities"] == [{"community_id": str(COMMUNITY), "value": 1.0}]


@pytest.mark.parametrize(
    ("path", "params", "status", "slug"),
    [
        ("/analytics/kpis/happiness", {"from": "2026-01-01", "to": "2026-01-02"}, 422, "invalid-input"),
        ("/analytics/kpis/gmv_fen", {"from": "2026-02-01", "to": "2026-01-01"}, 422, "invalid-input"),
        (
            "/analytics/kpis/gmv_fen",
            {"from": "2020-01-01", "to": "2026-01-01", "granularity": "day"},
            422,
            "invalid-input",
        ),
        (
            "/analytics/kpis/gmv_fen",
            {"from": "2026-01-01", "to": "2026-01-02", "granularity": "hour"},
            422,
            "invalid-input",
        ),
        ("/analytics/kpis/gmv_fen", {"from": "yesterday", "to": "2026-01-02"}, 422, "invalid-input"),
        (
            "/analytics/kpis/gmv_fen",
            {"from": "2026-01-01", "to": "2026-01-02", "community_id": str(uuid.uuid4())},
            404,
            "community-not-found",
        ),
        (f"/analytics/communities/{uuid.uuid4()}/health", {}, 404, "community-not-found"),
        (f"/analytics/members/{uuid.uuid4()}", {}, 404, "member-not-found"),
        (
            "/analytics/cohorts/retention",
            {"from": "2026-01-01", "to": "2026-01-02", "granularity": "day"},
            422,
            "invalid-input",
        ),
        ("/analytics/funnel", {"from": "2026-02-01", "to": "2026-01-01"}, 422, "invalid-input"),
    ],
)
async def test_a_bad_query_is_a_problem(
    client: httpx.AsyncClient, path: str, params: dict[str, str], status: int, slug: str
) -> None:
    response = await client.get(path, params=params)
    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    assert response.json()["type"].endswith(f"/{slug}")


async def test_alert_rules_are_created_listed_and_deleted(client: httpx.AsyncClient) -> None:
    body = {"kpi": "weekly_active_rate", "condition": "below", "threshold": 0.3, "level": "warning"}
    created = await client.post("/analytics/alerts/rules", json=body)
    assert created.status_code == 201, created.text
    assert (await client.post("/analytics/alerts/rules", json={**body, "level": "panic"})).status_code == 422
    assert (await client.post("/analytics/alerts/rules", json={**body, "threshold": "NaN"})).status_code == 422
    assert [r["id"] for r in (await client.get("/analytics/alerts/rules")).json()] == [created.json()["id"]]
    assert (await client.delete(f"/analytics/alerts/rules/{created.json()['id']}")).status_code == 204
    assert (await client.delete(f"/analytics/alerts/rules/{created.json()['id']}")).status_code == 404
    assert (await client.get("/analytics/alerts", params={"open": "true"})).json() == []


async def test_segments_and_a_members_scores(client: httpx.AsyncClient) -> None:
    counts = (await client.get("/analytics/segments")).json()
    assert [c["segment"] for c in counts] == ["high_value", "potential", "ordinary", "churn_risk"]
    assert sum(c["members"] for c in counts) == 1
    health = (await client.get(f"/analytics/communities/{COMMUNITY}/health")).json()
    assert health["stage"] == "startup" and len(health["metrics"]) == 12


@pytest.mark.parametrize("permissions", [frozenset(), frozenset({"analytics:read"}), frozenset({"members:write"})])
async def test_a_recompute_needs_the_analytics_write_permission(
    session: AsyncSession, permissions: frozenset[str]
) -> None:
    caller = Identity(tenant_id=TENANT, principal="reader", permissions=permissions)
    async with routes_client(session, [scoring_api.router], lambda: caller, OUTBOX) as http:
        refused = await http.post("/analytics/segments/recompute")
    assert (refused.status_code, refused.headers["content-type"]) == (403, "application/problem+json")
    assert "analytics:write" in refused.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(RefitJob)) == 0  # nothing queued


async def test_an_owner_may_recompute(session: AsyncSession) -> None:
    caller = Identity(tenant_id=TENANT, principal="owner", permissions=frozenset({"*"}))
    async with routes_client(session, [scoring_api.router], lambda: caller, OUTBOX) as http:
        recomputed = await http.post("/analytics/segments/recompute")
    assert recomputed.status_code == 202, recomputed.text
    assert recomputed.json()["status"] == "queued"

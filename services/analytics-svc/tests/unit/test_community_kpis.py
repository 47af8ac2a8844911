"""Several KPIs of a community over trailing windows at once: the same values each KPI's own series gives,
and problem+json for every bad query."""

import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.communities import api as communities_api
from analytics_svc.db import MESSAGING
from analytics_svc.handlers import MEASURED
from analytics_svc.ingestion.service import ingest
from analytics_svc.kpis import service as kpis
from analytics_svc.kpis.catalogue import NAMES, unit_of
from analytics_svc.models import Base
from qunyun_shared.events import new_event
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, routes_client
from tests.support.community_life import COMMUNITIES, DAYS, START, community_life

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-a"
COMMUNITY = COMMUNITIES[0]
LAST_DAY = START + timedelta(DAYS - 1)

session = in_memory_session_fixture(Base.metadata)


@pytest_asyncio.fixture
async def lived(session: AsyncSession) -> AsyncSession:
    """A month of three communities' events, those the consumer hands to ingestion ingested as it would."""
    life = [new_event(source="test", tenant_id=TENANT, payload=p) for p in community_life(random.Random(5), 60)]
    events = [e for e in life if e.type in MEASURED]
    await ingest(session=session, outbox=OUTBOX, events=events)
    return session


@pytest_asyncio.fixture
async def client(lived: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    identity = Identity(tenant_id=TENANT, principal="test")
    async with routes_client(lived, [communities_api.router], lambda: identity) as http:
        yield http


async def whole(session: AsyncSession, name: str, start: date, end: date) -> float | None:
    [(_, value)] = await kpis.series(
        session=session, tenant_id=TENANT, name=name, start=start, end=end, granularity="whole", community_id=COMMUNITY
    )
    return float(value) if value is not None else None


async def test_every_kpi_in_every_window_is_what_its_own_series_gives(lived: AsyncSession) -> None:
    found = await kpis.community_kpis(
        session=lived, tenant_id=TENANT, community_id=COMMUNITY, names=NAMES, days=[30, 7], end=LAST_DAY
    )
    assert [(w.days, w.start, w.end) for w in found.windows] == [
        (30, LAST_DAY - timedelta(29), LAST_DAY),
        (7, LAST_DAY - timedelta(6), LAST_DAY),
    ]
    for window in found.windows:
        assert list(window.values) == NAMES
        for name, value in window.values.items():
            assert value == pytest.approx(await whole(lived, name, window.start, window.end), nan_ok=True), name
    assert found.units == {name: unit_of(name) for name in NAMES}
    assert found.windows[0].values["members_total"] > 0 and found.windows[0].values["gmv_fen"] > 0


async def test_the_route_answers_windows_ending_on_the_day_asked(client: httpx.AsyncClient) -> None:
    query: dict[str, Any] = {"kpi": ["gmv_fen", "weekly_active_rate", "gmv_fen"], "days": [7, 30]}
    query["as_of"] = LAST_DAY.isoformat()
    answered = await client.get(f"/analytics/communities/{COMMUNITY}/kpis", params=query)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["units"] == {"gmv_fen": "fen", "weekly_active_rate": "rate"}
    assert [(w["days"], w["end"], list(w["values"])) for w in body["windows"]] == [
        (7, LAST_DAY.isoformat(), ["gmv_fen", "weekly_active_rate"]),
        (30, LAST_DAY.isoformat(), ["gmv_fen", "weekly_active_rate"]),
    ]


@pytest.mark.parametrize(
    ("community_id", "params", "status", "slug"),
    [
        (uuid.uuid4(), {"kpi": "gmv_fen", "days": 7}, 404, "community-not-found"),
        (COMMUNITY, {"kpi": "happiness", "days": 7}, 422, "invalid-input"),
        (COMMUNITY, {"days": 7}, 422, "invalid-input"),
        (COMMUNITY, {"kpi": "gmv_fen"}, 422, "invalid-input"),
        (COMMUNITY, {"kpi": "gmv_fen", "days": 0}, 422, "invalid-input"),
        (COMMUNITY, {"kpi": "gmv_fen", "days": 367}, 422, "invalid-input"),
        (COMMUNITY, {"kpi": "gmv_fen", "days": [7, 7]}, 422, "invalid-input"),
        (COMMUNITY, {"kpi": "gmv_fen", "days": [1, 2, 3, 4, 5]}, 422, "invalid-input"),
        (COMMUNITY, {"kpi": "gmv_fen", "days": 7, "as_of": "today"}, 422, "invalid-input"),
    ],
)
async def test_a_bad_query_is_a_problem(
    client: httpx.AsyncClient, community_id: uuid.UUID, params: dict[str, Any], status: int, slug: str
) -> None:
    response = await client.get(f"/analytics/communities/{community_id}/kpis", params=params)
    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    assert response.json()["type"].endswith(f"/{slug}")

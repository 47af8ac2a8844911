"""Numbers beyond what a column holds are a 422 problem at the edge, never a 500, and write nothing."""

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.imports import api as imports_api
from member_svc.models import Base
from member_svc.points import api as points_api
from member_svc.points.models import PointsPolicy
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, routes_client

pytestmark = pytest.mark.unit

OWNER = Identity(tenant_id="tenant-a", principal="owner", roles=("owner",), permissions=frozenset({"*"}))
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")

session = in_memory_session_fixture(Base.metadata)


@pytest.mark.parametrize("threshold", [2**31, 2**63, 2**64])
async def test_a_level_threshold_beyond_what_lifetime_points_hold_is_a_422(
    session: AsyncSession, threshold: int
) -> None:
    ladder = {
        "levels": [
            {"level": 0, "name": "普通会员", "threshold": 0},
            {"level": 1, "name": "金卡", "threshold": threshold},
        ]
    }
    async with routes_client(session, [points_api.router], lambda: OWNER, OUTBOX) as http:
        response = await http.put("/points/levels", json=ladder)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await session.scalar(select(func.count()).select_from(PointsPolicy)) == 0


async def test_a_page_of_import_errors_after_a_row_beyond_64_bits_is_a_422(session: AsyncSession) -> None:
    async with routes_client(session, [imports_api.router], lambda: OWNER) as http:
        response = await http.get(f"/members/imports/{uuid.uuid4()}/errors", params={"after_row": 2**64})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")

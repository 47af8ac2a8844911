"""content-svc on real PostgreSQL: one database for each test module, a tenant of its own for each test."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from content_svc.models import Base
from tests.support.harness import scratch_database

from .world import Tenant


@pytest_asyncio.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database(Base.metadata) as engine:
        yield engine


@pytest.fixture
def tenant(engine: AsyncEngine) -> Tenant:
    return Tenant(engine)

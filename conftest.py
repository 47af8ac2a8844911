"""Fixtures shared by every test tier: the real platform for integration and end-to-end tests."""

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.support.harness import SERVICES, Platform, TenantKey


@pytest_asyncio.fixture(scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """All five services as real processes on real PostgreSQL and Kafka, for the whole session."""
    started = await Platform.create(tmp_path_factory.mktemp("platform"), list(SERVICES))
    try:
        yield started
    finally:
        await started.close()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest_asyncio.fixture
async def tenant(platform: Platform, http: httpx.AsyncClient) -> TenantKey:
    """A brand-new tenant, onboarded through the gateway."""
    return await platform.new_tenant(http)


@pytest_asyncio.fixture
async def tenant_api(platform: Platform, tenant: TenantKey) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway's public API for `tenant`."""
    async with httpx.AsyncClient(
        base_url=f"{platform.url('gateway')}/api/v1", headers={"Authorization": f"Bearer {tenant.api_key}"}, timeout=30
    ) as client:
        yield client


@pytest_asyncio.fixture
async def other_tenant_api(platform: Platform, http: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway's public API for a second brand-new tenant: the one that must see nothing."""
    other = await platform.new_tenant(http)
    async with httpx.AsyncClient(
        base_url=f"{platform.url('gateway')}/api/v1", headers={"Authorization": f"Bearer {other.api_key}"}, timeout=30
    ) as client:
        yield client

"""The real processes of a suite on fresh databases and topics, with a tenant and its API client."""

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.support.harness import Platform, TenantKey


@asynccontextmanager
async def platform_with_tenant(services: list[str]) -> AsyncIterator[tuple[Platform, TenantKey, httpx.AsyncClient]]:
    """`services` started, a tenant onboarded, and a client of the gateway's `/api/v1` with its API key."""
    with tempfile.TemporaryDirectory() as workdir:
        platform = await Platform.create(Path(workdir), services)
        try:
            async with tenant_api(platform) as (tenant, api):
                yield platform, tenant, api
        finally:
            await platform.close()


@asynccontextmanager
async def tenant_api(platform: Platform) -> AsyncIterator[tuple[TenantKey, httpx.AsyncClient]]:
    """A tenant onboarded through the gateway, and a client of its `/api/v1` with the tenant's API key."""
    async with httpx.AsyncClient(timeout=120) as admin:
        tenant = await platform.new_tenant(admin)
    async with httpx.AsyncClient(
        base_url=f"{platform.url('gateway')}/api/v1",
        headers={"Authorization": f"Bearer {tenant.api_key}"},
        timeout=120,
    ) as api:
        yield tenant, api

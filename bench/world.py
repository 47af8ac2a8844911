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
            async with httpx.AsyncClient(timeout=120) as admin:
                tenant = await platform.new_tenant(admin)
            async with httpx.AsyncClient(
                base_url=f"{platform.url('gateway')}/api/v1",
                headers={"Authorization": f"Bearer {tenant.api_key}"},
                timeout=120,
            ) as api:
                yield platform, tenant, api
        finally:
            await platform.close()

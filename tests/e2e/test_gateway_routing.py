"""Routing through the gateway on the real platform: one merged API document, permissions checked before
forwarding, and a service that goes away answered at once while it is gone and used again when it is back."""

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from openapi_spec_validator import validate

from gateway_svc.proxy.resources import RESOURCES
from qunyun_shared import identity
from qunyun_shared.testing import eventually, free_port
from tests.e2e.helpers import new_community
from tests.support.harness import Platform, ServiceProcess, TenantKey

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
SERVICES = {"member": "member-svc", "content": "content-svc", "campaign": "campaign-svc", "analytics": "analytics-svc"}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


async def test_the_gateway_document_is_one_valid_api_with_every_public_service_path(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    document = (await http.get(f"{platform.url('gateway')}/openapi.json")).json()
    validate(document)
    schemes = document["components"]["securitySchemes"]
    proxied = set()
    for service, name in SERVICES.items():
        own = (await http.get(f"{platform.url(name)}/openapi.json")).json()
        public = {path: item for path, item in own["paths"].items() if _owner(path) == service}
        assert public, service
        for path, item in public.items():
            assert set(item) & METHODS <= set(document["paths"][f"/api/v1{path}"]), path
            proxied |= {(method, f"/api/v1{path}") for method in set(item) & METHODS}
    for path, item in document["paths"].items():
        assert not path.endswith(("/healthz", "/readyz", "/metrics")), path
        for method, operation in item.items():
            parameters = {parameter["name"].lower() for parameter in operation.get("parameters", [])}
            assert identity.IDENTITY_HEADER not in parameters, (method, path)
            if (method, path) in proxied:  # a credential the gateway takes, declared in the document
                assert operation["security"], (method, path)
                assert {name for scheme in operation["security"] for name in scheme} <= set(schemes), (method, path)
    assert "/admin/tenants" in document["paths"]
    page = await http.get(f"{platform.url('gateway')}/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text


@pytest.mark.parametrize("name", ["gateway", *SERVICES.values()])
async def test_the_api_pages_load_every_asset_from_the_service_itself(
    platform: Platform, http: httpx.AsyncClient, name: str
) -> None:
    # No CDN: a machine without internet shows the pages too.
    base = platform.url(name)
    for page in ("/docs", "/redoc"):
        answer = await http.get(f"{base}{page}")
        assert answer.status_code == 200, page
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", answer.text)
        assert assets and all(asset.startswith("/") for asset in assets), (page, assets)
        for asset in assets:
            loaded = await http.get(f"{base}{asset}")
            assert loaded.status_code == 200 and loaded.content, asset


async def test_a_credential_without_the_permission_is_refused_before_the_service(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    issued = await tenant_api.post(
        "/api-keys", json={"name": "reader", "roles": ["analyst"], "scopes": ["members:read"]}
    )
    assert issued.status_code == 201, issued.text
    before = (await tenant_api.get("/communities")).json()
    async with _api(platform, issued.json()["api_key"]) as reader:
        assert (await reader.get("/communities")).status_code == 200
        refused = await reader.post("/communities", json={"name": "不该有的群", "kind": "vertical"})
        assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"].endswith("/permission-denied")
        unknown = await reader.get("/nowhere")
        assert unknown.status_code == 404 and unknown.json()["type"].endswith("/unknown-route")
    assert (await tenant_api.get("/communities")).json() == before


async def test_a_service_that_is_away_is_rested_and_used_again_when_back(
    platform: Platform, tenant: TenantKey, tenant_api: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    community_id = await new_community(tenant_api)
    content_port = free_port()  # where content-svc will be, once it starts
    async with (
        _gateway(platform, CONTENT_SVC_URL=f"http://127.0.0.1:{content_port}") as gateway,
        _api(gateway, tenant.api_key) as api,
    ):
        audience = f"/content/communities/{community_id}/audience"
        unreachable = await api.get(audience)  # two attempts, two failures: the breaker opens
        assert unreachable.status_code == 503 and unreachable.json()["type"].endswith("/upstream-unavailable")
        started = time.perf_counter()
        rested = await api.get(audience)
        assert time.perf_counter() - started < 0.5
        assert rested.status_code == 503 and int(rested.headers["retry-after"]) >= 1
        assert (await api.get(f"/communities/{community_id}")).status_code == 200  # other services serve on
        assert 'qunyun_gateway_breaker_state{upstream="content"} 2.0' in (await http.get(f"{gateway.url}/metrics")).text
        partial = (await http.get(f"{gateway.url}/openapi.json")).json()
        assert not any(path.startswith("/api/v1/content/") for path in partial["paths"])
        assert "content-svc" in partial["info"]["description"]

        async with _content_svc(platform, content_port):

            async def served_again() -> None:
                assert (await api.get(audience)).status_code == 200

            await eventually(served_again, timeout=15, interval=0.5)
            complete = (await http.get(f"{gateway.url}/openapi.json")).json()
            assert any(path.startswith("/api/v1/content/") for path in complete["paths"])


def _owner(path: str) -> str | None:
    resource = RESOURCES.get(path.lstrip("/").split("/", 1)[0])
    return resource.service.value if resource else None


@asynccontextmanager
async def _api(gateway: Platform | ServiceProcess, key: str) -> AsyncIterator[httpx.AsyncClient]:
    url = gateway.url("gateway") if isinstance(gateway, Platform) else gateway.url
    async with httpx.AsyncClient(
        base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        yield client


@asynccontextmanager
async def _gateway(platform: Platform, **env: str) -> AsyncIterator[ServiceProcess]:
    """A second gateway on the platform's database and services, with `env` changed, and a quick breaker."""
    quick = {"BREAKER_FAILURE_THRESHOLD": "2", "BREAKER_COOL_DOWN_SECONDS": "1", "UPSTREAM_ATTEMPTS": "2"}
    second = await platform.replica("gateway", **quick, **env)
    try:
        yield second
    finally:
        second.stop()


@asynccontextmanager
async def _content_svc(platform: Platform, port: int) -> AsyncIterator[None]:
    """Another content-svc process of the platform's, at `port`."""
    first = platform.services["content-svc"]
    late = ServiceProcess(
        name="content-svc-late",
        spec=first.spec,
        log_path=platform.workdir / "content-late.log",
        env=dict(first.env),
        port=port,
    )
    late.start()
    try:
        await late.wait_ready()
        yield
    finally:
        late.stop()

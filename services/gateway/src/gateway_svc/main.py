"""gateway app factory (`uvicorn --factory gateway_svc.main:create_app`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway_svc.api import admin, proxy
from gateway_svc.config import Settings
from gateway_svc.credentials import ApiKeyResolver
from gateway_svc.models import MESSAGING
from gateway_svc.proxy import UpstreamRouter
from qunyun_shared.app import create_service_app
from qunyun_shared.http import new_session
from qunyun_shared.runtime import ServiceRuntime


@asynccontextmanager
async def _upstream_clients(app: FastAPI, runtime: ServiceRuntime) -> AsyncIterator[None]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    async with new_session(timeout=settings.upstream_timeout_seconds, max_connections=200) as session:
        app.state.upstreams = UpstreamRouter(settings, session)
        app.state.api_keys = ApiKeyResolver(runtime.sessionmaker)
        yield


def create_app() -> FastAPI:
    return create_service_app(
        name="gateway",
        description="The one API for front-ends and partners: tenants, credentials and routing to the services.",
        settings_factory=Settings,
        tables=MESSAGING,
        routers=[admin.router, proxy.router],
        resources=_upstream_clients,
    )

"""gateway app factory (`uvicorn --factory gateway_svc.main:create_app`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.api import admin, api_keys, auth, docs, operators, proxy, rate_limits, views, webhooks
from gateway_svc.config import Settings
from gateway_svc.credentials import CallerResolver
from gateway_svc.models import MESSAGING
from gateway_svc.proxy import open_router
from gateway_svc.ratelimit.admission import open_rate_limits
from gateway_svc.ratelimit.headers import RateLimitHeaders
from gateway_svc.webhooks.dispatcher import start_dispatching
from gateway_svc.webhooks.fanout import HANDLERS
from qunyun_shared.app import create_service_app
from qunyun_shared.runtime import ServiceRuntime


@asynccontextmanager
async def _upstream_clients(app: FastAPI, runtime: ServiceRuntime) -> AsyncIterator[None]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    async with (
        open_router(settings) as upstreams,
        open_rate_limits(settings, runtime.sessionmaker) as limits,
    ):
        app.state.rate_limits = limits
        app.state.upstreams = upstreams
        app.state.api_documents = docs.api_documents(app, upstreams)
        app.state.access_tokens = AccessTokens(
            settings.internal_token_secret.get_secret_value(),
            ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )
        app.state.callers = CallerResolver(
            runtime.sessionmaker, app.state.access_tokens, ttl_seconds=settings.credential_cache_seconds
        )
        start_dispatching(runtime)
        yield


def create_app() -> FastAPI:
    app = create_service_app(
        name="gateway",
        description="The one API for front-ends and partners: tenants, credentials and routing to the services.",
        settings_factory=Settings,
        tables=MESSAGING,
        # The resources' proxy route first (no route of the gateway's own starts with a resource), the
        # catch-all for unknown paths last.
        routers=[
            proxy.router,
            admin.router,
            rate_limits.router,
            auth.router,
            operators.router,
            api_keys.router,
            views.router,
            webhooks.router,
            proxy.fallback,
        ],
        handlers=HANDLERS,
        resources=_upstream_clients,
        middleware=[RateLimitHeaders],
    )
    docs.serve_merged_document(app)
    return app

"""gateway app factory (`uvicorn --factory gateway_svc.main:create_app`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from starlette.responses import Response

from gateway_svc.accounts import api as accounts_api
from gateway_svc.accounts.callers import CallerResolver
from gateway_svc.accounts.passwords import limit_hashing
from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.config import Settings
from gateway_svc.db import IDEMPOTENCY_KEYS, MESSAGING
from gateway_svc.exceptions import PasswordHashingBusy
from gateway_svc.handlers import HANDLERS
from gateway_svc.imports import api as imports_api
from gateway_svc.imports.feeding import start_importing
from gateway_svc.openapi import api as openapi_api
from gateway_svc.proxy import api as proxy_api
from gateway_svc.proxy.forwarding import open_router
from gateway_svc.ratelimit import api as ratelimit_api
from gateway_svc.ratelimit.admission import open_rate_limits
from gateway_svc.ratelimit.headers import RateLimitHeaders
from gateway_svc.tenants import api as tenants_api
from gateway_svc.views import api as views_api
from gateway_svc.webhooks import api as webhooks_api
from gateway_svc.webhooks.dispatcher import start_dispatching
from qunyun_shared import idempotency
from qunyun_shared.app import create_service_app
from qunyun_shared.problems import problem
from qunyun_shared.runtime import ServiceRuntime


@asynccontextmanager
async def _upstream_clients(app: FastAPI, runtime: ServiceRuntime[Settings]) -> AsyncIterator[None]:
    settings = runtime.settings
    async with (
        open_router(settings=settings) as upstreams,
        open_rate_limits(settings=settings, sessionmaker=runtime.sessionmaker) as limits,
    ):
        app.state.rate_limits = limits
        app.state.upstreams = upstreams
        app.state.api_documents = openapi_api.api_documents(app, upstreams)
        app.state.access_tokens = AccessTokens(
            settings.access_token_secret.get_secret_value(),
            ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )
        app.state.callers = CallerResolver(
            runtime.sessionmaker,
            app.state.access_tokens,
            ttl_seconds=settings.credential_cache_seconds,
            max_entries=settings.credential_cache_size,
        )
        limit_hashing(concurrency=settings.password_hashing_concurrency, queue=settings.password_hashing_queue)
        start_dispatching(runtime)
        app.state.imports_waiting = start_importing(runtime=runtime, upstreams=upstreams)
        runtime.run_sweep("idempotency-key-expiry", idempotency.expiry_sweep(IDEMPOTENCY_KEYS), every_seconds=3600)
        yield


async def _hashing_busy(request: Request, exc: Exception) -> Response:
    """503 with Retry-After: every slot for checking a password is taken (see accounts/passwords.py)."""
    assert isinstance(exc, PasswordHashingBusy)
    return problem(
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        headers={"Retry-After": str(exc.retry_after_seconds)},
    )


def create_app() -> FastAPI:
    app = create_service_app(
        name="gateway",
        description="The one API for front-ends and partners: tenants, credentials and routing to the services.",
        settings_factory=Settings,
        tables=MESSAGING,
        # The resources' proxy route first (no route of the gateway's own starts with a resource), the
        # catch-all for unknown paths last.
        routers=[
            proxy_api.router,
            tenants_api.router,
            ratelimit_api.router,
            accounts_api.auth_router,
            accounts_api.operators_router,
            accounts_api.api_keys_router,
            views_api.router,
            webhooks_api.router,
            imports_api.router,
            proxy_api.fallback,
        ],
        handlers=HANDLERS,
        resources=_upstream_clients,
        middleware=[RateLimitHeaders],
    )
    app.add_exception_handler(PasswordHashingBusy, _hashing_busy)
    openapi_api.serve_merged_document(app)
    return app

"""Builds a service's FastAPI app: lifespan, middleware, problem+json, health and metrics."""

import gc
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qunyun_shared import health, logs, metrics, problem_responses, problems
from qunyun_shared.correlation import CorrelationMiddleware
from qunyun_shared.inbox import Handler
from qunyun_shared.messaging import MessagingTables
from qunyun_shared.runtime import ServiceRuntime, SettingsT
from qunyun_shared.storable_text import StorableTextOnly

DOCS_ASSETS = "/docs-assets"


def create_service_app(
    *,
    name: str,
    description: str,
    settings_factory: Callable[[], SettingsT],
    tables: MessagingTables,
    routers: Sequence[APIRouter],
    handlers: Mapping[str, Handler] | None = None,
    resources: Callable[[FastAPI, ServiceRuntime[SettingsT]], AbstractAsyncContextManager[None]] | None = None,
    middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    version: str = "0.1.0",
) -> FastAPI:
    """The app of one service; settings and runtime are built in the lifespan, so importing does no I/O.

    `resources` opens whatever else the service needs for its lifetime (HTTP clients, ...); `middleware`
    runs inside the correlation and metrics middleware, just before routing.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(name=name, settings=settings_factory(), tables=tables, handlers=handlers)
        logs.configure(runtime.name, runtime.settings.log_level)
        app.state.runtime = runtime
        await runtime.start()
        try:
            async with resources(app, runtime) if resources is not None else nullcontext():
                # Everything built so far (modules, app, pools, clients) lives as long as the process.
                # Frozen, the collector stops rescanning it in every full collection, which a batch of
                # events or a chunk of an import sets off: rescanning was a fifth of an import's CPU.
                gc.freeze()
                yield
        finally:
            await runtime.stop()

    # FastAPI's own OpenTelemetry is off: the platform measures with Prometheus (below), and checking on
    # every request whether a tracer is configured cost a tenth of what refusing a flash-sale attempt costs.
    # The API pages (/docs, /redoc) load Swagger UI and ReDoc from the installed fastapi-offline package, not
    # from a CDN: they work on a machine without internet.
    app = FastAPIOffline(
        title=f"Qunyun {name}",
        version=version,
        description=description,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )
    problems.install(app)
    app.include_router(health.router)
    for router in routers:
        app.include_router(router)
    problem_responses.document(app)
    for inner in middleware:
        app.add_middleware(inner)
    app.add_middleware(StorableTextOnly)
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(CorrelationMiddleware)
    return app


class HttpMetricsMiddleware:
    """Counts and times requests by route template (not raw path, which would explode the labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            metrics.HTTP_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - started)

"""analytics-svc app factory (`uvicorn --factory analytics_svc.main:create_app`)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from analytics_svc.alerts import api as alerts_api
from analytics_svc.alerts import service as alerts
from analytics_svc.cohorts import api as cohorts_api
from analytics_svc.communities import api as communities_api
from analytics_svc.communities import health
from analytics_svc.config import Settings
from analytics_svc.db import IDEMPOTENCY_KEYS, MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.kpis import api as kpis_api
from analytics_svc.referrals import api as referrals_api
from analytics_svc.scoring import api as scoring_api
from analytics_svc.scoring import marks, refits, segments
from qunyun_shared import idempotency
from qunyun_shared.app import create_service_app
from qunyun_shared.runtime import ServiceRuntime


@asynccontextmanager
async def _analytics_resources(app: FastAPI, runtime: ServiceRuntime[Settings]) -> AsyncIterator[None]:
    config = runtime.settings
    app.state.refits_waiting = waiting = asyncio.Event()
    lease = timedelta(seconds=config.refit_lease_seconds)
    runtime.run_in_background(
        "refits",
        lambda: refits.work(sessionmaker=runtime.sessionmaker, outbox=runtime.outbox, waiting=waiting, lease=lease),
    )
    refit_every = timedelta(seconds=config.recompute_seconds)
    runtime.run_sweep(
        "segments-refit",
        lambda session, outbox, now: segments.refit_next(session=session, outbox=outbox, now=now, every=refit_every),
        min(config.recompute_seconds, 60.0),
    )
    settled = timedelta(seconds=config.rescore_seconds)
    runtime.run_sweep(
        "imported-rescore",
        lambda session, outbox, now: marks.rescore_next(session=session, outbox=outbox, now=now, quiet=settled),
        min(config.rescore_seconds, 10.0),
    )
    health_every = timedelta(seconds=config.health_seconds)
    runtime.run_sweep(
        "community-health",
        lambda session, outbox, now: health.evaluate_due(session=session, outbox=outbox, now=now, every=health_every),
        min(config.health_seconds, 60.0),
    )
    alert_every = timedelta(seconds=config.alert_seconds)
    runtime.run_sweep(
        "alerts",
        lambda session, outbox, now: alerts.evaluate_due(session=session, outbox=outbox, now=now, every=alert_every),
        min(config.alert_seconds, 60.0),
    )
    runtime.run_sweep("idempotency-key-expiry", idempotency.expiry_sweep(IDEMPOTENCY_KEYS), every_seconds=3600)
    runtime.run_sweep("refit-job-expiry", refits.expiry_sweep(), every_seconds=3600)
    yield


def create_app() -> FastAPI:
    return create_service_app(
        name="analytics-svc",
        description="KPIs, cohorts, funnels, RFM segments, churn risk, lifetime value, community health, alerts.",
        settings_factory=Settings,
        tables=MESSAGING,
        # Listed so each tag's routes keep their order in the API document.
        routers=[
            communities_api.router,
            kpis_api.router,
            scoring_api.router,
            cohorts_api.router,
            referrals_api.router,
            alerts_api.router,
        ],
        handlers=HANDLERS,
        resources=_analytics_resources,
    )

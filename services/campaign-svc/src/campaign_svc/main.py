"""campaign-svc app factory (`uvicorn --factory campaign_svc.main:create_app`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from campaign_svc import automation_engine, campaigns, coupons, group_buys
from campaign_svc.api import automation, checkins, experiments, lotteries, members, orders, settings
from campaign_svc.api import campaigns as campaign_routes
from campaign_svc.api import coupons as coupon_routes
from campaign_svc.api.sold_out_gate import SoldOutGate
from campaign_svc.config import Settings
from campaign_svc.handlers import HANDLERS
from campaign_svc.models import IDEMPOTENCY_KEYS, MESSAGING
from qunyun_shared import idempotency
from qunyun_shared.app import create_service_app
from qunyun_shared.runtime import ServiceRuntime


@asynccontextmanager
async def _campaign_resources(app: FastAPI, runtime: ServiceRuntime) -> AsyncIterator[None]:
    config = runtime.settings
    assert isinstance(config, Settings)
    app.state.refusals = idempotency.Refusals(runtime.engine, IDEMPOTENCY_KEYS)
    runtime.run_sweep("campaign-schedule", campaigns.advance, config.sweep_seconds)
    runtime.run_sweep("coupon-expiry", lambda session, _, now: coupons.expire_due(session, now), config.sweep_seconds)
    runtime.run_sweep("groupbuy-expiry", group_buys.expire_due, config.sweep_seconds)
    runtime.run_sweep("automation-deferred", automation_engine.run_deferred, config.sweep_seconds)
    runtime.run_sweep("automation-birthdays", automation_engine.fire_birthdays, config.sweep_seconds)
    runtime.run_sweep("idempotency-key-expiry", idempotency.expiry_sweep(IDEMPOTENCY_KEYS), every_seconds=3600)
    yield


def create_app() -> FastAPI:
    return create_service_app(
        name="campaign-svc",
        description="Orders, coupons, flash sales, group-buys, lotteries, check-ins, referral rewards, automation, A/B tests.",
        settings_factory=Settings,
        tables=MESSAGING,
        # The campaign routes come last: their `/campaigns/{campaign_id}` would shadow the fixed paths.
        routers=[
            orders.router,
            coupon_routes.router,
            members.router,
            experiments.router,
            automation.router,
            settings.router,
            lotteries.router,
            checkins.router,
            campaign_routes.router,
        ],
        handlers=HANDLERS,
        resources=_campaign_resources,
        middleware=[SoldOutGate],
    )

"""campaign-svc app factory (`uvicorn --factory campaign_svc.main:create_app`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from campaign_svc.automation import api as automation_api
from campaign_svc.automation import engine as automation_engine
from campaign_svc.campaigns import api as campaigns_api
from campaign_svc.campaigns import service as campaigns
from campaign_svc.checkins import api as checkins_api
from campaign_svc.config import Settings
from campaign_svc.coupons import api as coupons_api
from campaign_svc.coupons import service as coupons
from campaign_svc.db import IDEMPOTENCY_KEYS, MESSAGING
from campaign_svc.experiments import api as experiments_api
from campaign_svc.flash_sales import api as flash_sales_api
from campaign_svc.flash_sales.sold_out_gate import SoldOutGate
from campaign_svc.group_buys import api as group_buys_api
from campaign_svc.group_buys import service as group_buys
from campaign_svc.handlers import HANDLERS
from campaign_svc.lotteries import api as lotteries_api
from campaign_svc.members import api as members_api
from campaign_svc.orders import api as orders_api
from campaign_svc.referrals import api as referrals_api
from campaign_svc.tenants import api as tenants_api
from qunyun_shared import idempotency
from qunyun_shared.app import create_service_app
from qunyun_shared.runtime import ServiceRuntime


@asynccontextmanager
async def _campaign_resources(app: FastAPI, runtime: ServiceRuntime[Settings]) -> AsyncIterator[None]:
    config = runtime.settings
    app.state.refusals = idempotency.Refusals(runtime.engine, IDEMPOTENCY_KEYS)
    every = config.sweep_seconds
    runtime.run_sweep(
        "campaign-schedule",
        lambda session, outbox, now: campaigns.advance(session=session, outbox=outbox, now=now),
        every,
    )
    runtime.run_sweep("coupon-expiry", lambda session, _, now: coupons.expire_due(session=session, now=now), every)
    runtime.run_sweep(
        "groupbuy-expiry",
        lambda session, outbox, now: group_buys.expire_due(session=session, outbox=outbox, now=now),
        every,
    )
    runtime.run_sweep(
        "automation-deferred",
        lambda session, outbox, now: automation_engine.run_deferred(session=session, outbox=outbox, now=now),
        every,
    )
    runtime.run_sweep(
        "automation-birthdays",
        lambda session, outbox, now: automation_engine.fire_birthdays(session=session, outbox=outbox, now=now),
        every,
    )
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
            orders_api.router,
            coupons_api.router,
            members_api.router,
            experiments_api.router,
            automation_api.router,
            tenants_api.router,
            lotteries_api.router,
            checkins_api.router,
            campaigns_api.router,
            flash_sales_api.router,
            group_buys_api.router,
            referrals_api.router,
        ],
        handlers=HANDLERS,
        resources=_campaign_resources,
        middleware=[SoldOutGate],
    )

"""campaign-svc app factory (`uvicorn --factory campaign_svc.main:create_app`)."""

from fastapi import FastAPI

from campaign_svc.api import prospects
from campaign_svc.config import Settings
from campaign_svc.handlers import HANDLERS
from campaign_svc.models import MESSAGING
from qunyun_shared.app import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        name="campaign-svc",
        description="Orders, coupons, flash sales, group-buys, lotteries, check-ins, referral rewards, automation, A/B tests.",
        settings_factory=Settings,
        tables=MESSAGING,
        routers=[prospects.router],
        handlers=HANDLERS,
    )

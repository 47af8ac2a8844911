"""analytics-svc app factory (`uvicorn --factory analytics_svc.main:create_app`)."""

from fastapi import FastAPI

from analytics_svc.api import communities
from analytics_svc.config import Settings
from analytics_svc.handlers import HANDLERS
from analytics_svc.models import MESSAGING
from qunyun_shared.app import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        name="analytics-svc",
        description="KPIs, cohorts, funnels, RFM segments, churn risk, lifetime value, community health, alerts.",
        settings_factory=Settings,
        tables=MESSAGING,
        routers=[communities.router],
        handlers=HANDLERS,
    )

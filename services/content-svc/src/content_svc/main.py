"""content-svc app factory (`uvicorn --factory content_svc.main:create_app`)."""

from fastapi import FastAPI

from content_svc.api import audience
from content_svc.config import Settings
from content_svc.handlers import HANDLERS
from content_svc.models import MESSAGING
from qunyun_shared.app import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        name="content-svc",
        description="Content matrix, calendar and scheduling, moderation, engagement, targeted feeds, surveys.",
        settings_factory=Settings,
        tables=MESSAGING,
        routers=[audience.router],
        handlers=HANDLERS,
    )

"""content-svc app factory (`uvicorn --factory content_svc.main:create_app`)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from content_svc.audience import api as audience_api
from content_svc.calendar import api as calendar_api
from content_svc.calendar import publishing
from content_svc.config import Settings
from content_svc.db import IDEMPOTENCY_KEYS, MESSAGING
from content_svc.engagement import api as engagement_api
from content_svc.feed import api as feed_api
from content_svc.handlers import HANDLERS
from content_svc.items import api as items_api
from content_svc.moderation import api as moderation_api
from content_svc.moderation.service import LexiconCache
from content_svc.surveys import api as surveys_api
from qunyun_shared import idempotency
from qunyun_shared.app import create_service_app
from qunyun_shared.runtime import ServiceRuntime


@asynccontextmanager
async def _content_resources(app: FastAPI, runtime: ServiceRuntime[Settings]) -> AsyncIterator[None]:
    settings = runtime.settings
    app.state.lexicons = LexiconCache()
    app.state.publisher_wakeup = wakeup = asyncio.Event()
    runtime.run_in_background(
        "publisher",
        lambda: publishing.run_publisher(runtime=runtime, poll_seconds=settings.publish_poll_seconds, wakeup=wakeup),
    )
    runtime.run_sweep("idempotency-key-expiry", idempotency.expiry_sweep(IDEMPOTENCY_KEYS), every_seconds=3600)
    yield


def create_app() -> FastAPI:
    return create_service_app(
        name="content-svc",
        description="Content matrix, calendar and scheduling, moderation, engagement, targeted feeds, surveys.",
        settings_factory=Settings,
        tables=MESSAGING,
        # Listed so each tag's routes keep their order in the API document.
        routers=[
            items_api.router,
            calendar_api.items_router,
            engagement_api.items_router,
            items_api.posts_router,
            audience_api.router,
            calendar_api.router,
            moderation_api.router,
            engagement_api.router,
            feed_api.router,
            surveys_api.router,
        ],
        handlers=HANDLERS,
        resources=_content_resources,
    )

"""member-svc app factory (`uvicorn --factory member_svc.main:create_app`)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from member_svc import sweeps
from member_svc.communities import api as communities_api
from member_svc.config import Settings
from member_svc.db import IDEMPOTENCY_KEYS, MESSAGING
from member_svc.handlers import HANDLERS
from member_svc.history import api as history_api
from member_svc.imports import api as imports_api
from member_svc.members import api as members_api
from member_svc.personal_data import api as personal_data_api
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.points import api as points_api
from member_svc.points import service as points
from member_svc.referrals import api as referrals_api
from member_svc.tags import api as tags_api
from qunyun_shared import idempotency
from qunyun_shared.app import create_service_app
from qunyun_shared.runtime import ServiceRuntime


@asynccontextmanager
async def _member_resources(app: FastAPI, runtime: ServiceRuntime[Settings]) -> AsyncIterator[None]:
    settings = runtime.settings
    app.state.cipher = cipher = PersonalDataCipher(settings.personal_data_key.get_secret_value())
    app.state.imports_waiting = waiting = asyncio.Event()
    runtime.run_in_background(
        "member-import", lambda: sweeps.import_members(runtime=runtime, cipher=cipher, waiting=waiting)
    )
    runtime.run_sweep(
        "points-expiry",
        lambda session, outbox, now: points.expire_due(session=session, outbox=outbox, now=now),
        settings.points_expiry_sweep_seconds,
    )
    runtime.run_sweep("idempotency-key-expiry", idempotency.expiry_sweep(IDEMPOTENCY_KEYS), every_seconds=3600)
    yield


def create_app() -> FastAPI:
    return create_service_app(
        name="member-svc",
        description="Communities, members, tags, points and levels, referrals, consent and personal-data rights.",
        settings_factory=Settings,
        tables=MESSAGING,
        # Routes under /members come from several domains; in this order the OpenAPI document lists each
        # path's operations together, members' own first.
        routers=[
            communities_api.router,
            imports_api.router,
            history_api.router,
            members_api.router,
            personal_data_api.router,
            referrals_api.router,
            tags_api.members_router,
            points_api.members_router,
            points_api.router,
            tags_api.router,
        ],
        handlers=HANDLERS,
        resources=_member_resources,
    )

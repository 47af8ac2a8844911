"""member-svc app factory (`uvicorn --factory member_svc.main:create_app`)."""

from fastapi import FastAPI

from member_svc.api import communities, members
from member_svc.config import Settings
from member_svc.models import MESSAGING
from qunyun_shared.app import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        name="member-svc",
        description="Communities, members, tags, points and levels, referrals, consent.",
        settings_factory=Settings,
        tables=MESSAGING,
        routers=[communities.router, members.router],
    )

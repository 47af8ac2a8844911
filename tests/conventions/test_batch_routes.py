"""Routes that take a batch of rows hold back the cycle collector while they run (qunyun_shared.collection):
every history import endpoint of every service."""

import importlib
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from qunyun_shared.dependencies import COLLECTION_HELD_BACK

pytestmark = pytest.mark.unit

SERVICES = ("member_svc", "content_svc", "campaign_svc", "analytics_svc")


def test_every_history_import_route_holds_back_the_collector() -> None:
    history_routes = []
    for package in SERVICES:
        app = importlib.import_module(f"{package}.main").create_app()
        for route in _routes(app.routes):
            if isinstance(route, APIRoute) and route.path.endswith("/history") and "POST" in route.methods:
                history_routes.append(route)
                calls = [dependency.call for dependency in route.dependant.dependencies]
                assert COLLECTION_HELD_BACK.dependency in calls, (
                    f"{package} {route.path} handles its batch with the collector on"
                )
    assert len(history_routes) == 6


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, those of included routers too (FastAPI keeps each included router whole)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes) if included is not None else (route,)

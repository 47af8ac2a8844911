"""Outgoing calls carry the correlation id of the work that makes them."""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from qunyun_shared import correlation
from qunyun_shared.http import new_session

pytestmark = pytest.mark.unit


async def test_the_bound_correlation_id_goes_out_with_the_request() -> None:
    seen: list[str | None] = []

    async def upstream(request: web.Request) -> web.Response:
        seen.append(request.headers.get("x-correlation-id"))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/members/1", upstream)
    async with TestServer(app, host="127.0.0.1") as server:
        correlation.bind("from-an-event")
        async with new_session(timeout=5) as session, session.get(server.make_url("/members/1")) as response:
            assert response.status == 204
    assert seen == ["from-an-event"]

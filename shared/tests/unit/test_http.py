"""Outgoing calls carry the correlation id of the work that makes them."""

import httpx
import pytest

from qunyun_shared import correlation
from qunyun_shared.http import new_client

pytestmark = pytest.mark.unit


async def test_the_bound_correlation_id_goes_out_with_the_request() -> None:
    seen: list[str | None] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-correlation-id"))
        return httpx.Response(204)

    correlation.bind("from-an-event")
    async with new_client(timeout=5, transport=httpx.MockTransport(upstream)) as client:
        await client.get("http://member-svc/members/1")
    assert seen == ["from-an-event"]

"""Small steps the end-to-end tests take through the public API."""

import uuid

import httpx

from qunyun_shared.testing import eventually

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    """`response` is the problem+json of `status` and `slug`, with a detail saying what went wrong."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"].endswith("/" + slug) and body["detail"]


async def new_community(api: httpx.AsyncClient, *, capacity: int = 500, overflow: str = "waitlist") -> str:
    body = {"name": f"群-{uuid.uuid4().hex[:8]}", "kind": "vertical", "capacity": capacity, "overflow": overflow}
    response = await api.post("/communities", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_members(api: httpx.AsyncClient, count: int) -> list[str]:
    members = []
    for index in range(count):
        response = await api.post("/members", json={"nickname": f"member {index}"})
        assert response.status_code == 201, response.text
        members.append(str(response.json()["id"]))
    return members


async def join(api: httpx.AsyncClient, community_id: str, member_id: str) -> httpx.Response:
    return await api.post(f"/communities/{community_id}/members", json={"member_id": member_id, "channel": "qr"})


async def wait_for_count(api: httpx.AsyncClient, community_id: str, members: int, *, timeout: float = 30) -> None:
    """Waits until analytics shows exactly `members` joins and no leaves for the community."""

    async def counted() -> None:
        count = (await api.get(f"/analytics/communities/{community_id}/members")).json()
        assert (count["members"], count["joined_total"], count["left_total"]) == (members, members, 0), count

    await eventually(counted, timeout=timeout)


async def known_to_campaigns(api: httpx.AsyncClient, community_id: str, members: list[str]) -> None:
    """Joins the members and waits until campaign-svc has heard of every one of them."""
    for member_id in members:
        joined = await join(api, community_id, member_id)
        assert joined.status_code == 201, joined.text

    async def known() -> None:
        for member_id in members:
            assert (await api.get(f"/campaigns/members/{member_id}")).status_code == 200

    await eventually(known, timeout=30)


def idempotency_key() -> dict[str, str]:
    """A fresh `Idempotency-Key` header, for a write that moves money."""
    return {"Idempotency-Key": str(uuid.uuid4())}

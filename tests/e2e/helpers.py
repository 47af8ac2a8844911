"""Small steps the end-to-end tests take through the public API."""

import uuid
from typing import Any

import httpx

from qunyun_shared.testing import eventually

PROBLEM = "application/problem+json"
CSV = {"Content-Type": "text/csv"}


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


async def imported(
    api: httpx.AsyncClient, kind: str, text: str, *, timeout: float = 120, **params: str
) -> dict[str, Any]:
    """Uploads a file, waits for its job to end and answers the job with its errors and results."""
    upload = await api.post("/imports", params={"kind": kind, **params}, content=text.encode(), headers=CSV)
    assert upload.status_code == 202, upload.text
    location = upload.headers["location"].removeprefix("/api/v1")

    async def ended() -> dict[str, Any]:
        job = (await api.get(location)).json()
        assert job["status"] in ("done", "failed"), job
        return dict(job)

    job = await eventually(ended, timeout=timeout, interval=0.5)
    job["errors"] = await every_entry(api, f"{location}/errors", "errors")
    job["results"] = await every_entry(api, f"{location}/results", "results")
    return job


async def every_entry(api: httpx.AsyncClient, path: str, ledger: str) -> list[dict[str, Any]]:
    """Every entry of a paged ledger (`errors`, `results`), following its cursors."""
    entries: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 1000}
    while True:
        page = (await api.get(path, params=params)).json()
        entries += page[ledger]
        if page["next_cursor"] is None:
            return entries
        params["cursor"] = page["next_cursor"]

"""A client that lost an answer (a gateway 504 for a join member-svc then made) retries with the same
`Idempotency-Key` and gets the original outcome, on every service and the gateway's own writes."""

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import assert_problem, new_community, new_members

pytestmark = pytest.mark.e2e


def keyed() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def twice(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
    """The write sent, then sent again with the same key as a client retrying it would."""
    key = keyed()
    first = await api.post(path, json=body, headers=key)
    again = await api.post(path, json=body, headers=key)
    assert first.status_code in (200, 201, 202), first.text
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    return first, again


async def test_a_join_retried_with_its_key_joins_once_and_answers_the_same(tenant_api: httpx.AsyncClient) -> None:
    community_id = await new_community(tenant_api)
    [member_id] = await new_members(tenant_api, 1)
    join = {"member_id": member_id, "channel": "qr"}
    first, _ = await twice(tenant_api, f"/communities/{community_id}/members", join)
    assert first.status_code == 201
    community = (await tenant_api.get(f"/communities/{community_id}")).json()
    assert community["member_count"] == 1
    # The key stands for that join only: sent with another member it is refused, not replayed.
    [other] = await new_members(tenant_api, 1)
    key = {"Idempotency-Key": first.request.headers["Idempotency-Key"]}
    reused = await tenant_api.post(
        f"/communities/{community_id}/members", json={**join, "member_id": other}, headers=key
    )
    assert_problem(reused, 422, "idempotency-key-reused")


async def test_every_service_answers_a_retried_write_with_its_first_answer(tenant_api: httpx.AsyncClient) -> None:
    marker = uuid.uuid4().hex[:8]
    await twice(tenant_api, "/content/lexicon/terms", {"terms": [{"text": f"禁-{marker}", "action": "mask"}]})
    alert = {"kpi": "weekly_active_rate", "condition": "below", "threshold": 0.3, "level": "warning"}
    first, _ = await twice(tenant_api, "/analytics/alerts/rules", alert)
    rules = (await tenant_api.get("/analytics/alerts/rules")).json()
    assert [rule["id"] for rule in rules].count(first.json()["id"]) == 1
    campaign = {"kind": "coupon", "name": f"{marker} 券"}
    first, _ = await twice(tenant_api, "/campaigns", campaign)
    listed = (await tenant_api.get("/campaigns", params={"kind": "coupon", "limit": 200})).json()
    assert sum(1 for c in listed if c["name"] == campaign["name"]) == 1
    # The gateway's own write: a key shown once is shown again to the retry, and only one is issued.
    issued, _ = await twice(tenant_api, "/api-keys", {"name": f"{marker} key", "roles": ["analyst"]})
    keys = (await tenant_api.get("/api-keys")).json()
    assert sum(1 for k in keys if k["name"] == f"{marker} key") == 1 and issued.json()["api_key"]

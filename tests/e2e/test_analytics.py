"""Analytics through the gateway: joins and paid orders become KPIs, a segment follows an order at once
and reaches member-svc, a refit is a job polled to the model it fitted, and bad queries are problems."""

import uuid
from datetime import datetime

import httpx
import pytest

from analytics_svc.activity import REPORT_ZONE
from qunyun_shared.testing import eventually
from tests.e2e.helpers import idempotency_key, join, known_to_campaigns, new_community, new_members

pytestmark = pytest.mark.e2e


async def test_joins_and_orders_become_kpis_and_segments(tenant_api: httpx.AsyncClient) -> None:
    community_id, members = await new_community(tenant_api), await new_members(tenant_api, 3)
    await known_to_campaigns(tenant_api, community_id, members)
    buyer = members[0]
    order = {
        "member_id": buyer,
        "community_id": community_id,
        "items": [{"product_id": "sku-1", "quantity": 2, "unit_price_fen": 4_950}],
    }
    placed = await tenant_api.post("/campaigns/orders", json=order, headers=idempotency_key())
    assert placed.status_code == 201, placed.text
    paid = await tenant_api.post(f"/campaigns/orders/{placed.json()['id']}/payments", headers=idempotency_key())
    assert paid.status_code == 201, paid.text

    today = datetime.now(REPORT_ZONE).date().isoformat()
    day = {"from": today, "to": today}

    async def measured() -> None:
        gmv = (await tenant_api.get("/analytics/kpis/gmv_fen", params=day)).json()["points"]
        assert gmv == [{"start": today, "end": today, "value": 9_900.0}]
        members_total = await tenant_api.get(
            "/analytics/kpis/members_total", params={**day, "community_id": community_id}
        )
        assert members_total.json()["points"][0]["value"] == 3
        conversion = await tenant_api.get("/analytics/kpis/order_conversion_rate", params=day)
        assert conversion.json()["points"][0]["value"] == 1 / 3

    await eventually(measured)

    # The order moved its buyer at once: scored against the tenant's model, a new segment announced.
    async def scored() -> None:
        scores = (await tenant_api.get(f"/analytics/members/{buyer}")).json()
        assert scores["orders"] == 1 and scores["spend_fen"] == 9_900 and scores["recency_score"] == 5
        profile = (await tenant_api.get(f"/members/{buyer}")).json()
        assert profile["segment"] == scores["segment"] is not None

    await eventually(scored)
    csv = await tenant_api.get("/analytics/kpis/gmv_fen/export", params=day)
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.splitlines()[1] == f"{today},{today},9900"
    health = (await tenant_api.get(f"/analytics/communities/{community_id}/health")).json()
    assert health["stage"] == "startup" and {m["dimension"] for m in health["metrics"]} == {
        "members",
        "content",
        "business",
        "health",
    }


async def test_bad_analytics_queries_are_problems(tenant_api: httpx.AsyncClient) -> None:
    unknown = await tenant_api.get("/analytics/kpis/happiness", params={"from": "2026-01-01", "to": "2026-01-02"})
    reversed_range = await tenant_api.get("/analytics/kpis/gmv_fen", params={"from": "2026-02-01", "to": "2026-01-01"})
    foreign = await tenant_api.get(
        "/analytics/kpis/gmv_fen", params={"from": "2026-01-01", "to": "2026-01-02", "community_id": str(uuid.uuid4())}
    )
    assert [r.status_code for r in (unknown, reversed_range, foreign)] == [422, 422, 404]
    assert {r.headers["content-type"] for r in (unknown, reversed_range, foreign)} == {"application/problem+json"}


async def test_invitations_and_a_referral_campaign_reach_the_referral_figures(tenant_api: httpx.AsyncClient) -> None:
    created = await tenant_api.post(
        "/campaigns", json={"kind": "referral", "name": "邀请有礼", "settings": {"join_reward": {"points": 10}}}
    )
    assert created.status_code == 201, created.text
    community_id, (inviter, joiner) = await new_community(tenant_api), await new_members(tenant_api, 2)
    join = {"member_id": inviter, "channel": "qr"}
    assert (await tenant_api.post(f"/communities/{community_id}/members", json=join)).status_code == 201
    sent = await tenant_api.post(f"/members/{inviter}/invitations", json={"community_id": community_id})
    assert sent.status_code == 201, sent.text
    join = {"member_id": joiner, "channel": "invite", "invite_code": sent.json()["invite_code"]}
    assert (await tenant_api.post(f"/communities/{community_id}/members", json=join)).status_code == 201
    refused = await tenant_api.post(f"/members/{inviter}/invitations", json={"community_id": str(uuid.uuid4())})
    assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"

    today = datetime.now(REPORT_ZONE).date().isoformat()

    async def counted() -> None:
        found = (await tenant_api.get("/analytics/referrals", params={"from": today, "to": today})).json()
        assert [(i["member_id"], i["invites_sent"], i["joins"]) for i in found["inviters"]] == [(inviter, 1, 1)]
        assert [(c["community_id"], c["reach"]["invites_sent"]) for c in found["communities"]] == [(community_id, 1)]
        [campaign] = found["campaigns"]
        assert campaign["campaign_id"] == created.json()["id"]
        assert (campaign["reach"]["invites_sent"], campaign["reach"]["referred_joins"]) == (1, 1)

    await eventually(counted)


async def test_a_refit_through_the_gateway_is_a_job_polled_to_the_model_it_fitted(
    tenant_api: httpx.AsyncClient,
) -> None:
    community_id, members = await new_community(tenant_api), await new_members(tenant_api, 2)
    for member_id in members:
        assert (await join(tenant_api, community_id, member_id)).status_code == 201

    async def known() -> None:  # both joins consumed: the first fitted the tenant's first model
        for member_id in members:
            assert (await tenant_api.get(f"/analytics/members/{member_id}")).status_code == 200
        assert (await tenant_api.get("/analytics/models")).status_code == 200

    await eventually(known)
    accepted = await tenant_api.post("/analytics/segments/recompute", headers=idempotency_key())
    assert accepted.status_code == 202, accepted.text
    # Relative to the request, the job's address is under the gateway's prefix too.
    location = accepted.url.join(accepted.headers["location"])
    assert location.path == f"/api/v1/analytics/models/refits/{accepted.json()['id']}"

    async def succeeded() -> dict[str, object]:
        job = (await tenant_api.get(location)).json()
        assert job["status"] == "succeeded", job
        return dict(job)

    job = await eventually(succeeded)
    model = (await tenant_api.get("/analytics/models")).json()
    assert job["result"] == model and model["members"] == 2

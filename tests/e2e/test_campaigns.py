"""campaign-svc end to end through the gateway on PostgreSQL and Kafka: a flash sale under a crowd sells
exactly its stock, money writes are idempotent, coupons and orders move as they should, and a referral
reward reaches the inviter's points in member-svc."""

import asyncio
from collections import Counter

import httpx
import pytest

from qunyun_shared.testing import eventually
from tests.e2e.helpers import idempotency_key, known_to_campaigns, new_community, new_members

pytestmark = pytest.mark.e2e


async def test_a_crowd_buys_exactly_the_stock_of_a_flash_sale(tenant_api: httpx.AsyncClient) -> None:
    community_id, members = await new_community(tenant_api), await new_members(tenant_api, 60)
    await known_to_campaigns(tenant_api, community_id, members)
    settings = {"product_id": "sku-flash", "price_fen": 990, "stock": 25, "per_member_limit": 1}
    created = await tenant_api.post("/campaigns", json={"kind": "flash_sale", "name": "秒杀", "settings": settings})
    assert created.status_code == 201, created.text
    sale_id = created.json()["id"]
    attempts = [(members[i % len(members)], idempotency_key()) for i in range(240)]

    async def attempt(member_id: str, headers: dict[str, str]) -> httpx.Response:
        return await tenant_api.post(
            f"/campaigns/{sale_id}/flash-sale/orders", json={"member_id": member_id}, headers=headers
        )

    responses = await asyncio.gather(*(attempt(m, k) for m, k in attempts))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 25 and statuses[409] == 215, statuses
    buyers = Counter(r.json()["member_id"] for r in responses if r.status_code == 201)
    assert max(buyers.values()) == 1
    refusals = {r.json()["type"].rsplit("/", 1)[1] for r in responses if r.status_code == 409}
    assert refusals <= {"sold-out", "purchase-limit-reached"}
    stock = (await tenant_api.get(f"/campaigns/{sale_id}/flash-sale")).json()
    assert (stock["sold"], stock["total"]) == (25, 25)
    placed = (await tenant_api.get("/campaigns/orders", params={"limit": 200})).json()["orders"]
    assert sum(1 for o in placed if o["campaign_id"] == sale_id) == 25

    # Sold out now, attempts are refused early; a key still means the one answer it first got.
    won = [(attempt, r.json()) for attempt, r in zip(attempts, responses, strict=True) if r.status_code == 201]
    (member_id, headers), order = won[0]
    replayed = await attempt(member_id, headers)
    assert (replayed.status_code, replayed.json()) == (201, order)
    assert replayed.headers["idempotent-replayed"] == "true"
    other_member = next(m for m in members if m != member_id)
    assert (await attempt(other_member, headers)).json()["type"].endswith("/idempotency-key-reused")
    late = await attempt(other_member, idempotency_key())
    assert (late.status_code, late.json()["type"].rsplit("/", 1)[1]) == (409, "sold-out")


async def test_money_writes_need_a_key_and_a_key_means_one_effect(tenant_api: httpx.AsyncClient) -> None:
    community_id, members = await new_community(tenant_api), await new_members(tenant_api, 1)
    await known_to_campaigns(tenant_api, community_id, members)
    order = {"member_id": members[0], "items": [{"product_id": "sku-1", "quantity": 1, "unit_price_fen": 5900}]}
    missing = await tenant_api.post("/campaigns/orders", json=order)
    assert missing.status_code == 400 and missing.headers["content-type"] == "application/problem+json"
    headers = idempotency_key()
    first, again = [await tenant_api.post("/campaigns/orders", json=order, headers=headers) for _ in range(2)]
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers.get("idempotent-replayed") == "true"
    another = await tenant_api.post("/campaigns/orders", json=order, headers=idempotency_key())
    assert another.json()["id"] != first.json()["id"]
    reused = await tenant_api.post("/campaigns/orders", json={**order, "items": order["items"] * 2}, headers=headers)
    assert reused.status_code == 422 and reused.json()["type"].endswith("/idempotency-key-reused")
    placed = (await tenant_api.get("/campaigns/orders", params={"member_id": members[0]})).json()["orders"]
    assert len(placed) == 2


async def test_a_racing_repeat_of_one_key_places_one_order(tenant_api: httpx.AsyncClient) -> None:
    community_id, members = await new_community(tenant_api), await new_members(tenant_api, 1)
    await known_to_campaigns(tenant_api, community_id, members)
    order = {"member_id": members[0], "items": [{"product_id": "sku-1", "quantity": 1, "unit_price_fen": 100}]}
    headers = idempotency_key()
    responses = await asyncio.gather(
        *(tenant_api.post("/campaigns/orders", json=order, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    placed = (await tenant_api.get("/campaigns/orders", params={"member_id": members[0]})).json()["orders"]
    assert len(placed) == 1


async def test_a_coupon_is_issued_redeemed_once_and_costs_its_campaign(tenant_api: httpx.AsyncClient) -> None:
    community_id, members = await new_community(tenant_api), await new_members(tenant_api, 1)
    await known_to_campaigns(tenant_api, community_id, members)
    campaign = (
        await tenant_api.post("/campaigns", json={"kind": "coupon", "name": "满减", "budget_fen": 10_000})
    ).json()
    template = {
        "campaign_id": campaign["id"],
        "name": "满99减20",
        "discount": "amount_off",
        "amount_off_fen": 2000,
        "min_spend_fen": 9900,
        "valid_days": 7,
    }
    template_id = (await tenant_api.post("/campaigns/coupon-templates", json=template)).json()["id"]
    issued = await tenant_api.post(
        f"/campaigns/coupon-templates/{template_id}/coupons", json={"member_id": members[0]}, headers=idempotency_key()
    )
    assert issued.status_code == 201, issued.text
    coupon_id = issued.json()["id"]
    order = {
        "member_id": members[0],
        "coupon_id": coupon_id,
        "items": [{"product_id": "sku-1", "quantity": 1, "unit_price_fen": 12_000}],
    }
    placed = await tenant_api.post("/campaigns/orders", json=order, headers=idempotency_key())
    assert placed.status_code == 201 and placed.json()["amount_fen"] == 10_000
    twice = await tenant_api.post("/campaigns/orders", json=order, headers=idempotency_key())
    assert twice.status_code == 409 and twice.json()["type"].endswith("/coupon-not-redeemable")
    paid = await tenant_api.post(f"/campaigns/orders/{placed.json()['id']}/payments", headers=idempotency_key())
    assert paid.status_code == 201 and paid.json()["status"] == "paid"
    report = (await tenant_api.get(f"/campaigns/{campaign['id']}/report")).json()
    assert (report["cost_fen"], report["gmv_fen"], report["roi"]) == (2000, 10_000, 4.0)
    too_much = await tenant_api.post(
        f"/campaigns/orders/{placed.json()['id']}/refunds", json={"amount_fen": 10_001}, headers=idempotency_key()
    )
    assert too_much.status_code == 422 and too_much.json()["type"].endswith("/refund-too-large")


async def test_a_referral_reward_reaches_the_inviters_points(tenant_api: httpx.AsyncClient) -> None:
    settings = {"join_reward": {"points": 50}, "max_rewards_per_inviter": 5}
    created = await tenant_api.post("/campaigns", json={"kind": "referral", "name": "邀请有礼", "settings": settings})
    assert created.status_code == 201, created.text
    community_id, (inviter, invitee) = await new_community(tenant_api), await new_members(tenant_api, 2)
    for member_id, inviter_id in ((inviter, None), (invitee, inviter)):
        join = {"member_id": member_id, "channel": "invite", "inviter_id": inviter_id}
        assert (await tenant_api.post(f"/communities/{community_id}/members", json=join)).status_code == 201

    async def rewarded() -> None:
        ledger = (await tenant_api.get(f"/members/{inviter}/points/ledger")).json()
        reasons = [entry["reason"] for entry in ledger.get("entries", [])]
        assert "campaign" in reasons, ledger

    await eventually(rewarded, timeout=30)
    rewards = (await tenant_api.get(f"/campaigns/{created.json()['id']}/referral-rewards")).json()
    assert [(r["invitee_id"], r["outcome"]) for r in rewards] == [(invitee, "rewarded")]

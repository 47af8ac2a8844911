"""The gateway's aggregated views on the real platform: a member with a tag, points, a coupon, a paid order
and engagement, and their community with a scheduled item and a campaign, each read whole in one request;
phone numbers masked for a key without personal data; and nothing for another tenant."""

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from qunyun_shared.testing import eventually
from tests.e2e.helpers import assert_problem, idempotency_key, known_to_campaigns, new_community
from tests.support.harness import Platform

pytestmark = pytest.mark.e2e

PHONE = "13700001111"
MEMBER_SECTIONS = ("profile", "points", "orders", "coupons", "scores", "engagement")
COMMUNITY_SECTIONS = ("community", "kpis", "health", "schedule", "campaigns")


async def created(request: Awaitable[httpx.Response], status: int = 201) -> Any:
    """The body of the answer to `request`, which must have the status `status`."""
    answered = await request
    assert answered.status_code == status, answered.text
    return answered.json()


async def member_with_a_life(api: httpx.AsyncClient) -> tuple[str, str, dict[str, str]]:
    """A community and a member in it with a tag, points, a coupon, a paid order and a like; the community has
    an item scheduled for tomorrow and a campaign of its own. Returns the ids and what was made."""
    community_id = await new_community(api)
    member_id = (await created(api.post("/members", json={"nickname": "小雨妈妈", "phone": PHONE})))["id"]
    await known_to_campaigns(api, community_id, [member_id])
    await created(api.post(f"/members/{member_id}/tags", json={"tag": "孕晚期"}), 200)
    await created(api.post(f"/members/{member_id}/points/grants", json={"points": 50, "note": "见面礼"}))

    campaign = await created(
        api.post("/campaigns", json={"kind": "coupon", "name": "宝妈群满减", "community_id": community_id})
    )
    terms = {"campaign_id": campaign["id"], "name": "满99减20", "discount": "amount_off", "amount_off_fen": 2000}
    template = await created(api.post("/campaigns/coupon-templates", json={**terms, "valid_days": 7}))
    coupon = await created(
        api.post(
            f"/campaigns/coupon-templates/{template['id']}/coupons",
            json={"member_id": member_id},
            headers=idempotency_key(),
        )
    )
    order = {
        "member_id": member_id,
        "community_id": community_id,
        "items": [{"product_id": "sku-oat-1kg", "quantity": 2, "unit_price_fen": 4950}],
    }
    placed = await created(api.post("/campaigns/orders", json=order, headers=idempotency_key()))
    await created(api.post(f"/campaigns/orders/{placed['id']}/payments", headers=idempotency_key()))

    async def content_knows_the_member() -> None:
        assert (await api.get(f"/content/communities/{community_id}/audience")).json().get("members") == 1

    await eventually(content_knows_the_member)
    post = {"member_id": member_id, "community_id": community_id, "kind": "show_order", "body": "燕麦到了, 宝宝爱吃"}
    posted = await created(api.post("/content/posts", json=post))
    liked = {"content_id": posted["id"], "member_id": member_id, "action": "like"}
    receipt = await created(
        api.post("/content/engagements", json={"actions": [{**liked, "occurred_at": datetime.now(UTC).isoformat()}]}),
        200,
    )
    assert receipt["accepted"] == 1, receipt
    item = {"content_type": "knowledge", "title": "辅食入门: 南瓜泥", "body": "南瓜泥的做法"}
    scheduled_item = await created(api.post("/content/items", json=item))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    schedule = {"community_ids": [community_id], "publish_at": tomorrow}
    await created(api.post(f"/content/items/{scheduled_item['id']}/schedule", json=schedule))
    made = {"campaign": campaign["id"], "coupon": coupon["id"], "order": placed["id"], "item": scheduled_item["id"]}
    return community_id, member_id, made


def statuses(view: dict[str, Any], sections: tuple[str, ...]) -> dict[str, str]:
    return {name: view[name]["status"] for name in sections}


async def test_member_360_and_community_dashboard_show_every_section(
    tenant_api: httpx.AsyncClient, other_tenant_api: httpx.AsyncClient
) -> None:
    community_id, member_id, made = await member_with_a_life(tenant_api)

    async def member_360_whole() -> dict[str, Any]:
        answered = await tenant_api.get(f"/views/members/{member_id}")
        assert answered.status_code == 200, answered.text
        view: dict[str, Any] = answered.json()
        assert statuses(view, MEMBER_SECTIONS) == dict.fromkeys(MEMBER_SECTIONS, "ok"), view
        assert view["scores"]["data"]["orders"] == 1, view["scores"]  # analytics has had the payment
        return view

    view = await eventually(member_360_whole)
    profile = view["profile"]["data"]
    assert (profile["id"], profile["phone"]) == (member_id, PHONE)  # the owner key may see personal data
    assert "孕晚期" in profile["tags"]
    assert view["points"]["data"]["balance"] >= 50
    assert [(o["id"], o["status"]) for o in view["orders"]["data"]["orders"]] == [(made["order"], "paid")]
    assert [c["id"] for c in view["coupons"]["data"]] == [made["coupon"]]
    assert view["scores"]["data"]["spend_fen"] == 9_900
    assert "like" in {e["action"] for e in view["engagement"]["data"]}

    async def dashboard_whole() -> dict[str, Any]:
        answered = await tenant_api.get(f"/views/communities/{community_id}")
        assert answered.status_code == 200, answered.text
        dashboard: dict[str, Any] = answered.json()
        assert statuses(dashboard, COMMUNITY_SECTIONS) == dict.fromkeys(COMMUNITY_SECTIONS, "ok"), dashboard
        week, month = dashboard["kpis"]["data"]["windows"]
        assert week["values"]["gmv_fen"] == month["values"]["gmv_fen"] == 9_900, dashboard["kpis"]
        return dashboard

    dashboard = await eventually(dashboard_whole)
    assert dashboard["community"]["data"]["member_count"] == 1
    week, month = dashboard["kpis"]["data"]["windows"]
    assert (week["days"], month["days"], week["values"]["members_total"]) == (7, 30, 1)
    assert dashboard["health"]["data"]["stage"] == "startup"
    assert [p["content_id"] for p in dashboard["schedule"]["data"]] == [made["item"]]
    assert made["campaign"] in {c["id"] for c in dashboard["campaigns"]["data"]}

    assert_problem(await other_tenant_api.get(f"/views/members/{member_id}"), 404, "member-not-found")
    assert_problem(await other_tenant_api.get(f"/views/communities/{community_id}"), 404, "community-not-found")


async def test_a_key_without_personal_data_sees_the_phone_masked(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    member_id = (await created(tenant_api.post("/members", json={"nickname": "阿杰", "phone": PHONE})))["id"]
    analyst_key = await created(tenant_api.post("/api-keys", json={"name": "报表", "roles": ["analyst"]}))
    narrow_key = await created(
        tenant_api.post("/api-keys", json={"name": "会员台", "roles": ["analyst"], "scopes": ["members:read"]})
    )
    for key, sections in ((analyst_key, "ok"), (narrow_key, "forbidden")):
        async with httpx.AsyncClient(
            base_url=f"{platform.url('gateway')}/api/v1", headers={"Authorization": f"Bearer {key['api_key']}"}
        ) as client:
            view = (await client.get(f"/views/members/{member_id}")).json()
        assert (view["profile"]["status"], view["profile"]["data"]["phone"]) == ("ok", "137****1111")
        assert {view[name]["status"] for name in ("orders", "coupons", "engagement")} == {sections}, view

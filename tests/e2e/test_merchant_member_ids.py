"""Live pushes name members by the merchant's own id, as imports do: the gateway looks the member up
(gateway_svc.proxy.naming); a merchant id that names no member of the caller's tenant is refused and
nothing is written."""

import uuid

import httpx
import pytest

from qunyun_shared.testing import eventually
from tests.e2e.helpers import assert_problem, idempotency_key, new_community
from tests.support.harness import Platform

pytestmark = pytest.mark.e2e

ITEMS = [{"product_id": "sku-oat-1kg", "quantity": 2, "unit_price_fen": 5900}]


async def a_customer(api: httpx.AsyncClient) -> tuple[str, str]:
    """A member with a merchant id of their own: (merchant id, member id)."""
    merchant_id = f"shop-{uuid.uuid4().hex[:12]}"
    created = await api.post("/members", json={"nickname": "顾客", "merchant_member_id": merchant_id})
    assert created.status_code == 201, created.text
    return merchant_id, str(created.json()["id"])


async def orders_of(api: httpx.AsyncClient, member_id: str) -> list[dict[str, object]]:
    answered = await api.get("/campaigns/orders", params={"member_id": member_id})
    assert answered.status_code == 200, answered.text
    orders: list[dict[str, object]] = answered.json()["orders"]
    return orders


async def test_a_join_and_an_order_name_their_member_by_the_merchants_id(tenant_api: httpx.AsyncClient) -> None:
    merchant_id, member_id = await a_customer(tenant_api)
    community_id = await new_community(tenant_api)
    joined = await tenant_api.post(
        f"/communities/{community_id}/members", json={"merchant_member_id": merchant_id, "channel": "store"}
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["member_id"] == member_id

    async def known_to_campaigns() -> None:
        assert (await tenant_api.get(f"/campaigns/members/{member_id}")).status_code == 200

    await eventually(known_to_campaigns, timeout=30)
    order = {"merchant_member_id": merchant_id, "community_id": community_id, "items": ITEMS}
    placed = await tenant_api.post("/campaigns/orders", json=order, headers=idempotency_key())
    assert placed.status_code == 201, placed.text
    assert placed.json()["member_id"] == member_id
    assert [o["id"] for o in await orders_of(tenant_api, member_id)] == [placed.json()["id"]]


async def test_a_merchant_id_naming_no_member_of_the_tenant_is_refused_and_writes_nothing(
    tenant_api: httpx.AsyncClient, other_tenant_api: httpx.AsyncClient
) -> None:
    merchant_id, member_id = await a_customer(tenant_api)
    erased_merchant_id, erased_id = await a_customer(tenant_api)
    assert (await tenant_api.delete(f"/members/{erased_id}")).status_code == 204
    refusals = {
        "unknown": (tenant_api, {"merchant_member_id": f"shop-{uuid.uuid4().hex}"}, "no member of this tenant"),
        "another tenant's": (other_tenant_api, {"merchant_member_id": merchant_id}, "no member of this tenant"),
        "erased": (tenant_api, {"merchant_member_id": erased_merchant_id}, "was erased"),
        "both ids": (tenant_api, {"merchant_member_id": merchant_id, "member_id": member_id}, "not both"),
        "not a string": (tenant_api, {"merchant_member_id": 42}, "a string of 1 to 64"),
    }
    for case, (api, naming, message) in refusals.items():
        answered = await api.post("/campaigns/orders", json=naming | {"items": ITEMS}, headers=idempotency_key())
        assert_problem(answered, 422, "invalid-input")
        [error] = answered.json()["errors"]
        assert error["field"] == "body.merchant_member_id" and message in error["message"].lower(), (case, error)
    assert await orders_of(tenant_api, member_id) == []
    community_id = await new_community(tenant_api)
    refused = await tenant_api.post(
        f"/communities/{community_id}/members", json={"merchant_member_id": erased_merchant_id, "channel": "qr"}
    )
    assert_problem(refused, 422, "invalid-input")
    members = (await tenant_api.get("/members", params={"community_id": community_id})).json()["members"]
    assert members == []


async def test_the_api_document_offers_the_merchant_id_wherever_a_write_takes_a_member_id(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    document = (await http.get(f"{platform.url('gateway')}/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for name in ("OrderCreate", "JoinRequest", "CheckinCreate"):
        schema = schemas[name]
        assert "merchant_member_id" in schema["properties"], name
        assert "member_id" not in schema.get("required", []), name
    # A member's own record holds the merchant id as a field of its own, not as a way of naming someone.
    assert "member_id" not in schemas["MemberCreate"]["properties"]

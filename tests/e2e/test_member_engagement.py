"""Points, tags, search and bulk import end to end: through the gateway, events on real Kafka,
member-svc on real PostgreSQL."""

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from qunyun_shared.events.analytics import MemberChurnRiskV1
from qunyun_shared.events.campaign import OrderPlacedV1, OrderRefundedV1
from qunyun_shared.testing import eventually
from tests.e2e.helpers import join, new_community
from tests.support.harness import Platform, TenantKey

pytestmark = pytest.mark.e2e


async def balance(api: httpx.AsyncClient, member_id: str) -> dict[str, int]:
    return dict((await api.get(f"/members/{member_id}/points")).json())


async def test_points_follow_joins_orders_and_refunds_and_stay_exact_under_concurrent_spends(
    platform: Platform, tenant: TenantKey, tenant_api: httpx.AsyncClient
) -> None:
    member_id = (await tenant_api.post("/members", json={"nickname": "积分达人"})).json()["id"]
    community_id = await new_community(tenant_api)
    assert (await join(tenant_api, community_id, member_id)).status_code == 201
    order_id = uuid.uuid4()
    placed = OrderPlacedV1(order_id=order_id, member_id=member_id, amount_fen=200_00, placed_at=datetime.now(UTC))
    await platform.publish("campaign-svc", tenant.tenant_id, placed, placed)  # delivered twice: earns once

    async def earned() -> None:
        assert (await balance(tenant_api, member_id))["balance"] == 10 + 200

    await eventually(earned)

    async def grant(i: int) -> httpx.Response:
        return await tenant_api.post(f"/members/{member_id}/points/grants", json={"points": 3, "note": f"g{i}"})

    async def spend(i: int) -> httpx.Response:
        return await tenant_api.post(
            f"/members/{member_id}/points/spend", json={"points": 5}, headers={"Idempotency-Key": f"spend-{i}"}
        )

    responses = await asyncio.gather(*(op(i) for i in range(100) for op in (grant, spend)))
    grants, spends = responses[0::2], responses[1::2]
    assert {r.status_code for r in grants} == {201}
    assert {r.status_code for r in spends} <= {201, 409}
    refused = [r for r in spends if r.status_code == 409]
    assert all(r.json()["type"].endswith("/insufficient-points") for r in refused)
    spent = sum(1 for r in spends if r.status_code == 201)
    expected = 210 + 3 * 100 - 5 * spent
    assert (await balance(tenant_api, member_id))["balance"] == expected

    accepted = next(i for i, r in enumerate(spends) if r.status_code == 201)
    replay = await spend(accepted)  # the same Idempotency-Key again: the first spend, not a second one
    assert replay.status_code == 201 and replay.json()["id"] == spends[accepted].json()["id"]
    ledger, cursor = [], None
    while True:
        page = (
            await tenant_api.get(
                f"/members/{member_id}/points/ledger", params={"limit": 100, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        ledger += page["entries"]
        if (cursor := page["next_cursor"]) is None:
            break
    assert sum(entry["delta"] for entry in ledger) == expected and len({e["id"] for e in ledger}) == len(ledger)

    await platform.publish(
        "campaign-svc",
        tenant.tenant_id,
        OrderRefundedV1(order_id=order_id, member_id=member_id, amount_fen=200_00, refunded_at=datetime.now(UTC)),
    )

    async def clawed_back() -> None:
        points = await balance(tenant_api, member_id)
        assert points["balance"] - points["debt"] == expected - 200 and points["lifetime"] == 10 + 300

    await eventually(clawed_back)


async def test_tags_rules_and_analytics_flags_make_members_findable(
    platform: Platform, tenant: TenantKey, tenant_api: httpx.AsyncClient
) -> None:
    ids = []
    for region in ("上海", "上海", "北京"):
        ids.append((await tenant_api.post("/members", json={"nickname": "会员", "region": region})).json()["id"])
    rule = {"tag": "上海会员", "conditions": [{"field": "region", "op": "eq", "value": "上海"}]}
    created = await tenant_api.post("/tags/rules", json=rule)
    assert created.status_code == 201 and created.json()["members"] == 2
    assert (await tenant_api.post(f"/members/{ids[0]}/tags", json={"tag": "VIP"})).status_code == 200
    stolen = await tenant_api.post(f"/members/{ids[2]}/tags", json={"tag": "上海会员"})
    assert stolen.status_code == 409 and stolen.headers["content-type"] == "application/problem+json"

    page = (await tenant_api.get("/members", params=[("tag", "上海会员"), ("tag", "VIP")])).json()
    assert [m["id"] for m in page["members"]] == [ids[0]] and page["members"][0]["tags"] == ["VIP", "上海会员"]
    await platform.publish(
        "analytics-svc", tenant.tenant_id, MemberChurnRiskV1(member_id=ids[1], score=0.9, reasons=["silent 45 days"])
    )

    async def flagged() -> None:
        risky = (await tenant_api.get("/members", params={"churn_risk": "true"})).json()["members"]
        assert [m["id"] for m in risky] == [ids[1]] and "churn_risk" in risky[0]["tags"]

    await eventually(flagged)
    bad = await tenant_api.get("/members", params={"lifecycle": "vip"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    bad_rule = await tenant_api.post(
        "/tags/rules", json={"tag": "x", "conditions": [{"field": "orders", "op": "gte", "value": "lots"}]}
    )
    assert bad_rule.status_code == 422


async def test_a_csv_import_reports_progress_and_bad_rows_and_its_members_are_searchable(
    tenant_api: httpx.AsyncClient,
) -> None:
    header = "nickname,phone,gender,region,tags\n"
    rows = [f"会员{i},139{i:08d},female,杭州,导入批次A\n" for i in range(3000)]
    rows[10] = "坏手机,12345,female,杭州,导入批次A\n"  # line 12
    rows[20] = "重复,13900000000,female,杭州,导入批次A\n"  # line 22: the phone of line 2
    rows[30] = "性别错,,robot,杭州,导入批次A\n"  # line 32
    upload = await tenant_api.post(
        "/members/imports", content=(header + "".join(rows)).encode(), headers={"Content-Type": "text/csv"}
    )
    assert upload.status_code == 202, upload.text
    job = upload.json()
    assert job["total_rows"] == 3000

    async def done() -> dict[str, object]:
        progress = (await tenant_api.get(f"/members/imports/{job['id']}")).json()
        assert progress["status"] == "done", progress
        return dict(progress)

    finished = await eventually(done, timeout=60)
    assert (finished["imported"], finished["failed"], finished["progress"]) == (2997, 3, 1.0)
    errors = (await tenant_api.get(f"/members/imports/{job['id']}/errors")).json()
    assert [(e["row"], e["field"]) for e in errors["errors"]] == [(12, "phone"), (22, "phone"), (32, "gender")]

    found, cursor = 0, None
    while True:
        params = {"tag": "导入批次A", "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await tenant_api.get("/members", params=params)).json()
        found += len(page["members"])
        if (cursor := page["next_cursor"]) is None:
            break
    assert found == 2997
    refused = await tenant_api.post(
        "/members/imports", content=b"name,email\nx,y\n", headers={"Content-Type": "text/csv"}
    )
    assert refused.status_code == 422 and refused.json()["type"].endswith("/malformed-csv")

"""History imports through the gateway on the real platform: files of members, orders, content, engagement and
check-ins uploaded as a merchant would, each fed by the gateway's import worker to its service's history
endpoint, every record landing where the results say with what the file said, each bad line reported on
its line, and partners' webhooks told nothing of the imported past while a live order still reaches them."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from qunyun_shared.testing import eventually
from tests.e2e.helpers import CSV, idempotency_key, imported
from tests.support.harness import Platform
from tests.support.webhook_receiver import Receiver, serving

pytestmark = pytest.mark.e2e

MEMBERS = 1_200  # two batches
NOW = datetime.now(UTC).replace(microsecond=0)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


async def community(api: httpx.AsyncClient, name: str) -> str:
    body = {"name": f"{name}-{uuid.uuid4().hex[:6]}", "kind": "vertical", "opened_at": ago(days=400)}
    created = await api.post("/communities", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def members_file(communities: list[str]) -> str:
    lines = ["merchant_member_id,nickname,region,tags,community_id,joined_at,channel,inviter_merchant_member_id\n"]
    for n in range(MEMBERS):
        inviter = f"M{n - 1}" if n % 10 == 1 else ""
        lines.append(f"M{n},会员{n},上海,老客|导入,{communities[0]},{ago(days=300, minutes=-n)},qr,{inviter}\n")
        if n % 5 == 0:
            lines.append(f"M{n},,,,{communities[1]},{ago(days=200, minutes=-n)},invite,\n")
    lines.append(f"M-late,迟到,,,{communities[0]},{ago(days=10)},qr,\n")
    lines.append(f"M-late,,,,{communities[1]},{(NOW + timedelta(days=30)).isoformat()},qr,\n")  # in the future
    return "".join(lines)


async def test_a_brands_history_lands_through_import_jobs_and_partners_hear_nothing_of_it(
    tenant_api: httpx.AsyncClient,
) -> None:
    communities = [await community(tenant_api, "宝妈群"), await community(tenant_api, "福利群")]
    async with serving(Receiver()) as receiver:
        endpoint = await tenant_api.post(
            "/webhooks/endpoints", json={"url": receiver.url, "event_types": ["order.paid"]}
        )
        assert endpoint.status_code == 201, endpoint.text

        members = await imported(tenant_api, "members", members_file(communities))
        assert (members["status"], members["records"], members["created"], members["failed"]) == (
            "done",
            MEMBERS + 1,
            MEMBERS,
            1,
        )
        total = members["total_lines"]
        assert [(e["line"], e["field"]) for e in members["errors"]] == [(total + 1, "joined_at")]
        member_ids = {r["merchant_id"]: r["id"] for r in members["results"] if r["id"]}
        assert len(member_ids) == MEMBERS
        shown = (await tenant_api.get(f"/members/{member_ids['M5']}")).json()
        assert (shown["merchant_member_id"], shown["nickname"], shown["region"]) == ("M5", "会员5", "上海")
        resolved = await tenant_api.post("/members/resolve", json={"merchant_member_ids": ["M0", "M1199", "M-late"]})
        assert resolved.json()["members"] == {"M0": member_ids["M0"], "M1199": member_ids["M1199"]}

        orders = [
            "merchant_order_id,merchant_member_id,placed_at,paid_at,coupon_code,discount_fen,product_id,quantity,unit_price_fen\n"
        ]
        for n in range(300):
            placed = ago(days=200 - n % 150, hours=3)
            orders.append(f"TB-{n},M{n},{placed},{placed},,,sku-oat,2,5900\n")
            if n % 3 == 0:
                orders.append(f"TB-{n},,,,,,sku-cup,1,1900\n")
        orders.append(f"TB-x,M-nobody,{ago(days=50)},,,,sku-oat,1,5900\n")
        orders.append(f"TB-y,M7,{ago(days=50)},,,,sku-oat,0,5900\n")
        order_job = await imported(tenant_api, "orders", "".join(orders))
        assert (order_job["status"], order_job["created"], order_job["failed"]) == ("done", 300, 2)
        assert [e["field"] for e in order_job["errors"]] == ["merchant_member_id", "quantity"]
        first = next(r for r in order_job["results"] if r["merchant_id"] == "TB-0")
        order = (await tenant_api.get(f"/campaigns/orders/{first['id']}")).json()
        assert (order["member_id"], order["merchant_order_id"], order["amount_fen"]) == (
            member_ids["M0"],
            "TB-0",
            13700,
        )
        assert [item["product_id"] for item in order["items"]] == ["sku-oat", "sku-cup"]
        assert datetime.fromisoformat(order["placed_at"]) == datetime.fromisoformat(ago(days=200, hours=3))

        content = "merchant_content_id,content_type,title,body,tags,community_ids,published_at\n"
        content += f"P-1,knowledge,三分钟早餐,燕麦 40g,早餐|宝妈,{communities[0]},{ago(days=250)}\n"
        items = await imported(tenant_api, "content", content)
        assert (items["status"], items["created"]) == ("done", 1)
        actions = "merchant_action_id,merchant_member_id,merchant_content_id,action,occurred_at\n"
        actions += "".join(
            f"A-{n},M{n % MEMBERS},P-1,{'like' if n % 4 else 'view'},{ago(days=240, minutes=n)}\n" for n in range(2000)
        )
        engaged = await imported(tenant_api, "engagement", actions)
        assert (engaged["status"], engaged["created"], engaged["failed"]) == ("done", 2000, 0), engaged["errors"][:3]

        challenge = {"kind": "checkin", "name": "21天打卡", "starts_at": ago(days=30), "settings": {"days": 21}}
        campaign = await tenant_api.post("/campaigns", json=challenge, headers=idempotency_key())
        assert campaign.status_code == 201, campaign.text
        checkins = "merchant_member_id,checked_in_at\n" + "".join(
            f"M{n},{ago(days=day, hours=2)}\n" for n in range(10) for day in (12, 11, 10)
        )
        checked = await imported(tenant_api, "checkins", checkins, campaign_id=campaign.json()["id"])
        assert (checked["status"], checked["created"], checked["failed"]) == ("done", 30, 0), checked["errors"][:3]

        # The past reached no partner; a live order does.
        live = {
            "member_id": member_ids["M1"],
            "items": [{"product_id": "sku-oat", "quantity": 1, "unit_price_fen": 5900}],
        }
        live["merchant_order_id"], live["paid_at"] = "TB-live", NOW.isoformat()
        pushed = await tenant_api.post("/campaigns/orders", json=live, headers=idempotency_key())
        assert pushed.status_code == 201, pushed.text

        async def delivered() -> None:
            log = (await tenant_api.get(f"/webhooks/endpoints/{endpoint.json()['id']}/deliveries")).json()
            assert len(receiver.received) >= 1, log

        await eventually(delivered, timeout=90, interval=1)
    assert [json.loads(body)["data"]["order_id"] for _, body in receiver.received] == [pushed.json()["id"]]


async def test_a_file_the_gateway_cannot_read_as_its_kind_is_refused_and_another_tenant_sees_no_import(
    tenant_api: httpx.AsyncClient, platform: Platform, http: httpx.AsyncClient
) -> None:
    refused = await tenant_api.post("/imports", params={"kind": "orders"}, content=b"order,who\n1,2\n", headers=CSV)
    assert refused.status_code == 422 and refused.json()["type"].endswith("/malformed-import")
    assert (await tenant_api.get("/imports")).json()["imports"] == []

    job = await tenant_api.post(
        "/imports", params={"kind": "members"}, content=b"merchant_member_id,nickname\nM1,x\n", headers=CSV
    )
    assert job.status_code == 202, job.text
    other = await platform.new_tenant(http)
    async with httpx.AsyncClient(
        base_url=f"{platform.url('gateway')}/api/v1", headers={"Authorization": f"Bearer {other.api_key}"}
    ) as other_api:
        assert (await other_api.get(f"/imports/{job.json()['id']}")).status_code == 404
        assert (await other_api.get("/imports")).json()["imports"] == []

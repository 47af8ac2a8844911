"""Partner webhooks on the real platform: a partner's integration key subscribes its endpoint, real events
arrive signed (verified by the independent `standardwebhooks` package), and none is lost when the gateway
is killed in the middle of delivering them."""

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from qunyun_shared.events.member import MemberTaggedV1
from qunyun_shared.testing import eventually
from tests.e2e.helpers import join, new_community, new_members
from tests.support.harness import Platform, TenantKey
from tests.support.webhook_receiver import Receiver, serving

pytestmark = pytest.mark.e2e


@pytest.fixture
async def partner_api(platform: Platform, tenant_api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway with a key the tenant issued to a partner (role `integration`)."""
    issued = await tenant_api.post("/api-keys", json={"name": "CRM partner", "roles": ["integration"]})
    assert issued.status_code == 201, issued.text
    async with httpx.AsyncClient(
        base_url=f"{platform.url('gateway')}/api/v1/webhooks",
        headers={"Authorization": f"Bearer {issued.json()['api_key']}"},
        timeout=30,
    ) as client:
        yield client


async def subscribe(api: httpx.AsyncClient, receiver: Receiver, event_types: list[str]) -> dict[str, str]:
    created = await api.post("/endpoints", json={"url": receiver.url, "event_types": event_types})
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_a_partner_receives_a_real_event_signed_and_sees_it_in_its_delivery_log(
    platform: Platform, tenant_api: httpx.AsyncClient, partner_api: httpx.AsyncClient
) -> None:
    async with serving(Receiver()) as receiver:
        endpoint = await subscribe(partner_api, receiver, ["member.joined"])
        community_id = await new_community(tenant_api)
        (member_id,) = await new_members(tenant_api, 1)
        assert (await join(tenant_api, community_id, member_id)).status_code == 201

        async def arrived() -> None:
            assert len(receiver.received) == 1

        await eventually(arrived)
    [event_id] = receiver.verified_event_ids(endpoint["secret"])
    [(headers, body)] = receiver.received
    assert headers["webhook-id"].startswith("msg_")
    joined = json.loads(body)
    assert joined["id"] == event_id and joined["type"] == "member.joined"
    assert joined["data"]["member_id"] == member_id and joined["data"]["community_id"] == community_id

    async def logged() -> dict[str, object]:
        page = (await partner_api.get(f"/endpoints/{endpoint['id']}/deliveries")).json()
        assert [d["status"] for d in page["deliveries"]] == ["delivered"], page
        return dict(page["deliveries"][0])

    delivery = await eventually(logged)
    assert delivery["id"] == headers["webhook-id"] and delivery["event_id"] == event_id
    detail = (await partner_api.get(f"/endpoints/{endpoint['id']}/deliveries/{delivery['id']}")).json()
    assert detail["payload"] == joined and [a["http_status"] for a in detail["attempt_log"]] == [204]
    # The owner sees the partner's endpoint; it never shows its secret again.
    shown = (await tenant_api.get(f"/webhooks/endpoints/{endpoint['id']}")).json()
    assert shown["created_by"].startswith("api_key:") and "secret" not in shown


async def test_another_partner_key_cannot_see_or_touch_the_endpoint(
    platform: Platform, tenant_api: httpx.AsyncClient, partner_api: httpx.AsyncClient
) -> None:
    endpoint = (
        await partner_api.post("/endpoints", json={"url": "http://127.0.0.1:9/hooks", "event_types": ["order.paid"]})
    ).json()
    other = await tenant_api.post("/api-keys", json={"name": "other partner", "roles": ["integration"]})
    async with httpx.AsyncClient(
        base_url=f"{platform.url('gateway')}/api/v1/webhooks",
        headers={"Authorization": f"Bearer {other.json()['api_key']}"},
    ) as intruder:
        for response in (
            await intruder.get(f"/endpoints/{endpoint['id']}"),
            await intruder.delete(f"/endpoints/{endpoint['id']}"),
        ):
            assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
        assert (await intruder.get("/endpoints")).json() == []
    assert (await partner_api.get(f"/endpoints/{endpoint['id']}")).status_code == 200


async def test_every_delivery_arrives_when_the_gateway_is_killed_mid_delivery(
    platform: Platform, tenant: TenantKey, partner_api: httpx.AsyncClient
) -> None:
    async with serving(Receiver(pace_seconds=0.05)) as receiver:
        endpoint = await subscribe(partner_api, receiver, ["member.tagged"])
        tags = [
            MemberTaggedV1(member_id=uuid.uuid4(), tag=f"tag-{index}", kind="manual", action="added")
            for index in range(300)
        ]
        await platform.publish("member-svc", tenant.tenant_id, *tags)

        async def under_way() -> None:
            assert len(receiver.received) >= 30

        await eventually(under_way)
        gateway = platform.services["gateway"]
        gateway.kill()
        cut_off = len(receiver.webhook_ids())
        assert cut_off < len(tags)
        gateway.start()
        await gateway.wait_ready()

        async def all_arrived() -> None:
            assert len(receiver.webhook_ids()) == len(tags)

        await eventually(all_arrived, timeout=90)
    assert len(receiver.verified_event_ids(endpoint["secret"])) == len(tags)
    tagged = {json.loads(body)["data"]["tag"] for _, body in receiver.received}
    assert tagged == {tag.tag for tag in tags}

"""Personal data end to end: protected in member-svc, erased everywhere on request (PIPL)."""

from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared.testing import eventually
from tests.e2e.helpers import join, new_community
from tests.support.harness import Platform, TenantKey
from tests.support.webhook_receiver import Receiver, serving

pytestmark = pytest.mark.e2e


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def rows_about(platform: Platform, service: str, query: str, member_id: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(plain(platform.databases[service]))
    try:
        return list(await connection.fetch(query, member_id))
    finally:
        await connection.close()


async def tables_holding(platform: Platform, service: str, values: list[str]) -> list[str]:
    """Every table of a service's database whose rows, as text, contain any of `values`."""
    connection = await asyncpg.connect(plain(platform.databases[service]))
    try:
        tables = await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        holding = []
        for (table,) in tables:
            rows = await connection.fetch(f'SELECT t::text AS row FROM "{table}" t')
            if any(value in row["row"] for row in rows for value in values):
                holding.append(table)
        return holding
    finally:
        await connection.close()


async def test_phones_are_encrypted_at_rest_and_masked_without_the_permission(
    platform: Platform, tenant: TenantKey, tenant_api: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    created = await tenant_api.post("/members", json={"nickname": "阿杰", "phone": "13912345678"})
    assert created.status_code == 201 and created.json()["phone"] == "13912345678"  # the owner may see it
    member_id = created.json()["id"]

    [stored] = await rows_about(
        platform, "member-svc", "SELECT phone_encrypted FROM members WHERE id = $1::uuid", member_id
    )
    cipher = PersonalDataCipher(platform.personal_data_key)
    owner = f"{tenant.tenant_id}\x00{member_id}\x00phone"
    assert cipher.decrypt(stored["phone_encrypted"], owner=owner) == "13912345678"

    analyst = platform.identity_header(tenant.tenant_id, permissions=frozenset({"members:read"}))
    seen = await http.get(f"{platform.url('member-svc')}/members/{member_id}", headers=analyst)
    assert seen.json()["phone"] == "139****5678"
    refused = await http.get(f"{platform.url('member-svc')}/members/{member_id}/export", headers=analyst)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    guessing = await http.post(
        f"{platform.url('member-svc')}/members/lookup", json={"phone": "13912345678"}, headers=analyst
    )
    assert guessing.status_code == 403

    found = await tenant_api.post("/members/lookup", json={"phone": "+86 139-1234-5678"})
    assert found.json()["id"] == member_id
    malformed = await tenant_api.post("/members", json={"nickname": "x", "phone": "12345"})
    assert malformed.status_code == 422 and malformed.json()["type"].endswith("/malformed-phone")
    taken = await tenant_api.post("/members", json={"nickname": "y", "phone": "13912345678"})
    assert taken.status_code == 409


async def test_an_erased_member_leaves_no_personal_field_in_any_service(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    async with serving(Receiver()) as partner:
        await erase_a_member_known_everywhere(platform, tenant_api, partner)


async def erase_a_member_known_everywhere(platform: Platform, tenant_api: httpx.AsyncClient, partner: Receiver) -> None:
    # A partner's webhook endpoint: the gateway's delivery log then holds the member's tag too.
    subscribed = await tenant_api.post(
        "/webhooks/endpoints", json={"url": partner.url, "event_types": ["member.tagged", "member.erased"]}
    )
    assert subscribed.status_code == 201, subscribed.text
    community_id = await new_community(tenant_api)
    member = await tenant_api.post(
        "/members",
        json={
            "nickname": "小雨妈妈",
            "phone": "13700001111",
            "gender": "female",
            "birthday": "07-19",
            "region": "舟山",
            "persona_tags": ["双胞胎宝妈"],
        },
    )
    member_id = member.json()["id"]
    assert (await join(tenant_api, community_id, member_id)).status_code == 201
    assert (await tenant_api.post(f"/members/{member_id}/tags", json={"tag": "孕晚期"})).status_code == 200
    consent = {"purpose": "marketing", "granted": True, "source": "小程序注册页"}
    assert (await tenant_api.post(f"/members/{member_id}/consents", json=consent)).status_code == 201

    async def known_everywhere() -> None:
        assert (await tenant_api.get(f"/analytics/communities/{community_id}/members")).json()["members"] == 1
        assert (await tenant_api.get(f"/content/communities/{community_id}/audience")).json().get("members") == 1
        assert (await tenant_api.get(f"/campaigns/members/{member_id}")).json()["birthday"] == "07-19"
        assert "孕晚期" in b"".join(body for _, body in partner.received).decode()

    await eventually(known_everywhere)
    post = await tenant_api.post(
        "/content/posts",
        json={"member_id": member_id, "community_id": community_id, "kind": "show_order", "body": "小雨妈妈的晒单"},
    )
    assert post.status_code == 201, post.text
    liked = {"content_id": post.json()["id"], "member_id": member_id, "action": "like"}
    liked["occurred_at"] = datetime.now(UTC).isoformat()
    assert (await tenant_api.post("/content/engagements", json={"actions": [liked]})).json()["accepted"] == 1

    exported = (await tenant_api.get(f"/members/{member_id}/export")).json()
    assert exported["member"]["phone"] == "13700001111" and len(exported["memberships"]) == 1
    # Beside the operator's tag, analytics' segment arrives as a system tag.
    assert exported["consents"][0]["purpose"] == "marketing" and "孕晚期" in {t["tag"] for t in exported["tags"]}

    assert (await tenant_api.delete(f"/members/{member_id}")).status_code == 204

    async def forgotten_everywhere() -> None:
        assert (await tenant_api.get(f"/content/communities/{community_id}/audience")).json().get("members") == 0
        assert (await tenant_api.get(f"/campaigns/members/{member_id}")).status_code == 404
        assert (await tenant_api.get(f"/analytics/communities/{community_id}/members")).json()["members"] == 0
        # Partners hear of it to erase the member too; the gateway scrubbed its log in that same transaction.
        assert b'"member.erased"' in b"".join(body for _, body in partner.received)

    await eventually(forgotten_everywhere)

    for service in platform.databases:
        assert (
            await tables_holding(platform, service, ["小雨妈妈", "13700001111", "舟山", "双胞胎宝妈", "孕晚期"]) == []
        ), service
    assert (await tenant_api.post("/members/lookup", json={"phone": "13700001111"})).status_code == 404
    [tombstone] = await rows_about(platform, "member-svc", "SELECT * FROM members WHERE id = $1::uuid", member_id)
    personal = {k: tombstone[k] for k in ("phone_encrypted", "phone_hash", "gender", "age_band", "birthday", "region")}
    assert personal == dict.fromkeys(personal)
    assert tombstone["nickname"] != "小雨妈妈" and tombstone["persona_tags"] == "[]"
    assert not await rows_about(
        platform, "member-svc", "SELECT 1 FROM memberships WHERE member_id = $1::uuid", member_id
    )
    assert not await rows_about(
        platform, "content-svc", "SELECT 1 FROM audience_members WHERE member_id = $1::uuid", member_id
    )
    assert not await rows_about(
        platform, "content-svc", "SELECT 1 FROM engagements WHERE member_id = $1::uuid", member_id
    )
    assert not await rows_about(platform, "campaign-svc", "SELECT 1 FROM members WHERE member_id = $1::uuid", member_id)
    logged = await rows_about(
        platform,
        "gateway",
        "SELECT event_type, status, body, erased_at FROM webhook_deliveries WHERE endpoint_id = $1::uuid",
        subscribed.json()["id"],
    )
    tag_deliveries = [row for row in logged if row["event_type"] == "member.tagged"]
    assert tag_deliveries and all(row["body"] is None and row["erased_at"] for row in tag_deliveries)
    assert "delivered" in {row["status"] for row in tag_deliveries}
    shown = (await tenant_api.get(f"/members/{member_id}")).json()
    assert shown["erased"] is True and shown["phone"] is None
    assert (await join(tenant_api, community_id, member_id)).status_code == 409

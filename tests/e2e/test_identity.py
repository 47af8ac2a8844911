"""Operators, roles and API keys through the real gateway: who may do what, and credentials that end."""

import asyncio
import secrets

import httpx
import pytest

from tests.e2e.helpers import assert_problem, new_community, new_members
from tests.support.harness import Platform

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"


async def onboard_with_owner(platform: Platform, http: httpx.AsyncClient) -> tuple[str, str]:
    """A new tenant whose owner has an account: (tenant id, owner email)."""
    email = f"owner-{secrets.token_hex(4)}@acme.example"
    response = await http.post(
        f"{platform.url('gateway')}/admin/tenants",
        json={
            "name": f"tenant-{secrets.token_hex(4)}",
            "owner": {"email": email, "display_name": "Owner", "password": PASSWORD, "roles": ["owner"]},
        },
        headers={"Authorization": f"Bearer {platform.admin_token}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["tenant_id"], email


async def login(platform: Platform, http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await http.post(
        f"{platform.url('gateway')}/api/v1/auth/login", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def api(platform: Platform, credential: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{platform.url('gateway')}/api/v1", headers={"Authorization": f"Bearer {credential}"}, timeout=30
    )


async def test_an_operator_signs_in_refreshes_and_signs_out(platform: Platform, http: httpx.AsyncClient) -> None:
    tenant_id, email = await onboard_with_owner(platform, http)
    tokens = await login(platform, http, email)
    async with api(platform, tokens["access_token"]) as owner:
        me = (await owner.get("/auth/me")).json()
        assert me["tenant_id"] == tenant_id and me["permissions"] == ["*"]
        assert (await owner.post("/communities", json={"name": "VIP", "kind": "vip"})).status_code == 201

    gateway = f"{platform.url('gateway')}/api/v1/auth"
    rotated = await http.post(f"{gateway}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != tokens["refresh_token"]
    # The used token again: a stolen copy, so the session ends for everyone holding it.
    used, newer = tokens["refresh_token"], rotated.json()["refresh_token"]
    assert_problem(await http.post(f"{gateway}/refresh", json={"refresh_token": used}), 401, "invalid-credentials")
    assert_problem(await http.post(f"{gateway}/refresh", json={"refresh_token": newer}), 401, "invalid-credentials")
    assert_problem(
        await http.post(f"{gateway}/login", json={"email": email, "password": "not the password"}),
        401,
        "invalid-credentials",
    )


async def test_roles_decide_what_an_operator_may_do(platform: Platform, http: httpx.AsyncClient) -> None:
    _, email = await onboard_with_owner(platform, http)
    async with api(platform, (await login(platform, http, email))["access_token"]) as owner:
        community_id = await new_community(owner)
        (member_id,) = await new_members(owner, 1)
        assert (await owner.patch(f"/members/{member_id}", json={"phone": "13812345678"})).status_code == 200
        analyst_email = f"analyst-{secrets.token_hex(4)}@acme.example"
        invited = await owner.post(
            "/operators",
            json={"email": analyst_email, "display_name": "An Analyst", "password": PASSWORD, "roles": ["analyst"]},
        )
        assert invited.status_code == 201, invited.text
        assert owner_phone(await owner.get(f"/members/{member_id}")) == "13812345678"

    async with api(platform, (await login(platform, http, analyst_email))["access_token"]) as analyst:
        assert (await analyst.get(f"/communities/{community_id}")).status_code == 200
        assert owner_phone(await analyst.get(f"/members/{member_id}")) == "138****5678"  # no personal-data right
        assert_problem(await analyst.post("/communities", json={"name": "X", "kind": "vip"}), 403, "permission-denied")
        assert_problem(await analyst.get("/operators"), 403, "permission-denied")
        assert_problem(
            await analyst.post("/api-keys", json={"name": "k", "roles": ["owner"]}), 403, "permission-denied"
        )


def owner_phone(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["phone"])


async def test_an_integration_key_pushes_members_once_and_stops_when_revoked(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    _, email = await onboard_with_owner(platform, http)
    async with api(platform, (await login(platform, http, email))["access_token"]) as owner:
        issued = await owner.post(
            "/api-keys", json={"name": "shop sync", "roles": ["integration"], "scopes": ["members:write"]}
        )
        assert issued.status_code == 201, issued.text
        key = issued.json()
        assert key["permissions"] == ["members:write"]
        assert key["api_key"] not in (await owner.get("/api-keys")).text  # shown once, never listed

        async with api(platform, key["api_key"]) as shop:
            push = {"nickname": "Mei", "phone": "13912345678"}
            headers = {"Idempotency-Key": secrets.token_hex(8)}
            first = await shop.post("/members", json=push, headers=headers)
            again = await shop.post("/members", json=push, headers=headers)
            assert first.status_code == again.status_code == 201, again.text
            assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
            assert_problem(await shop.get("/members"), 403, "permission-denied")  # scoped to writes

            assert (await owner.delete(f"/api-keys/{key['id']}")).json()["revoked_at"] is not None
            # Waits out the gateway's credential cache (1 s in tests): a revocation takes that long by design.
            await asyncio.sleep(1.5)
            assert_problem(await shop.post("/members", json={"nickname": "Late"}), 401, "invalid-credentials")


async def test_password_guessing_is_throttled_per_account(platform: Platform, http: httpx.AsyncClient) -> None:
    _, email = await onboard_with_owner(platform, http)
    url = f"{platform.url('gateway')}/api/v1/auth/login"
    guesses = [await http.post(url, json={"email": email, "password": f"guess {n}"}) for n in range(11)]
    assert [r.status_code for r in guesses] == [401] * 10 + [429]
    assert_problem(guesses[-1], 429, "rate-limited")
    assert int(guesses[-1].headers["retry-after"]) > 0
    # Even the right password waits now: the guesser must not learn it by the answer changing.
    assert (await http.post(url, json={"email": email, "password": PASSWORD})).status_code == 429

"""Credentials under abuse, through real gateway processes: sign-in guesses limited per account and per
client address (one client locks out nobody else), still limited with Redis unreachable; argon2 work
bounded; made-up API keys refused per address; an access token only the gateway's key can sign."""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from gateway_svc.accounts.tokens import AccessTokens
from qunyun_shared.testing import free_port
from tests.e2e.helpers import assert_problem
from tests.e2e.test_identity import PASSWORD, login, onboard_with_owner
from tests.support.harness import Platform, ServiceProcess

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def gateway_replica(platform: Platform, **env: str) -> AsyncIterator[ServiceProcess]:
    second = await platform.replica("gateway", **env)
    try:
        yield second
    finally:
        second.stop()


def from_address(address: str) -> dict[str, str]:
    # uvicorn takes the client's address from X-Forwarded-For when the peer is trusted (127.0.0.1 here).
    return {"X-Forwarded-For": address}


async def sign_in(http: httpx.AsyncClient, gateway: str, email: str, password: str, address: str) -> httpx.Response:
    return await http.post(
        f"{gateway}/api/v1/auth/login", json={"email": email, "password": password}, headers=from_address(address)
    )


async def test_one_address_spraying_accounts_is_stopped_without_locking_anyone_else_out(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    _, owner = await onboard_with_owner(platform, http)
    async with gateway_replica(platform, SIGN_IN_PER_ADDRESS="3") as gateway:
        sprayed = [
            await sign_in(http, gateway.url, f"victim-{n}@acme.example", "a guessed password", "203.0.113.9")
            for n in range(5)
        ]
        owner_elsewhere = await sign_in(http, gateway.url, owner, PASSWORD, "198.51.100.7")
    assert [r.status_code for r in sprayed] == [401, 401, 401, 429, 429]
    assert_problem(sprayed[3], 429, "rate-limited")
    assert sprayed[3].json()["violated-policies"] == ["address"]
    assert int(sprayed[3].headers["retry-after"]) > 0
    assert owner_elsewhere.status_code == 200, owner_elsewhere.text


async def test_with_redis_unreachable_guessing_is_still_limited(platform: Platform, http: httpx.AsyncClient) -> None:
    _, owner = await onboard_with_owner(platform, http)
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    async with gateway_replica(platform, REDIS_URL=closed) as gateway:
        guesses = [await sign_in(http, gateway.url, owner, f"guess {n}", f"198.51.100.{n}") for n in range(11)]
        right_password = await sign_in(http, gateway.url, owner, PASSWORD, "198.51.100.99")
        metrics = (await http.get(f"{gateway.url}/metrics")).text
    assert [r.status_code for r in guesses] == [401] * 10 + [429]
    assert_problem(guesses[-1], 429, "rate-limited")
    assert right_password.status_code == 429
    unchecked = [line for line in metrics.splitlines() if line.startswith("qunyun_gateway_rate_limit_unchecked_total")]
    assert unchecked and float(unchecked[0].split()[-1]) > 0  # Redis really was asked and failed


async def test_a_burst_of_sign_ins_is_refused_past_the_hashing_slots_not_queued(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    async with gateway_replica(platform, PASSWORD_HASHING_CONCURRENCY="1", PASSWORD_HASHING_QUEUE="1") as gateway:
        burst = await asyncio.gather(
            *(
                sign_in(http, gateway.url, f"nobody-{n}@acme.example", "a guessed password", f"198.51.100.{n}")
                for n in range(12)
            )
        )
    statuses = sorted(r.status_code for r in burst)
    assert set(statuses) == {401, 503}, statuses
    busy = next(r for r in burst if r.status_code == 503)
    assert_problem(busy, 503, "sign-in-busy")
    assert busy.headers["retry-after"] == "1"


async def test_made_up_api_keys_are_refused_per_address_before_authentication(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    tenant = await platform.new_tenant(http)
    async with gateway_replica(platform, UNKNOWN_KEYS_PER_ADDRESS="3") as gateway:
        made_up = [
            await http.get(
                f"{gateway.url}/api/v1/members",
                headers={"X-Api-Key": f"qk_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"}
                | from_address("203.0.113.9"),
            )
            for _ in range(5)
        ]
        real = await http.get(
            f"{gateway.url}/api/v1/members", headers={"X-Api-Key": tenant.api_key} | from_address("198.51.100.7")
        )
    assert [r.status_code for r in made_up] == [401, 401, 401, 429, 429]
    assert_problem(made_up[3], 429, "rate-limited")
    assert made_up[3].json()["violated-policies"] == ["address"]
    assert int(made_up[3].headers["retry-after"]) > 0
    assert real.status_code == 200, real.text


async def test_a_token_signed_with_the_services_secret_is_refused(platform: Platform, http: httpx.AsyncClient) -> None:
    tenant_id, owner = await onboard_with_owner(platform, http)
    genuine = (await login(platform, http, owner))["access_token"]
    operator_id = uuid.UUID(jwt.decode(genuine, options={"verify_signature": False})["sub"].split(":")[1])
    # Every service holds INTERNAL_TOKEN_SECRET; the access-token key used to be derived from it.
    forged = AccessTokens(platform.secret, ttl=timedelta(minutes=15)).issue(
        operator_id=operator_id, tenant_id=uuid.UUID(tenant_id), roles=["owner"], now=datetime.now(UTC)
    )
    me = f"{platform.url('gateway')}/api/v1/auth/me"
    assert (await http.get(me, headers={"Authorization": f"Bearer {genuine}"})).status_code == 200
    assert_problem(await http.get(me, headers={"Authorization": f"Bearer {forged}"}), 401, "invalid-credentials")

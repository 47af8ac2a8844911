"""The tenant comes only from the credential: no route shows one tenant another tenant's data."""

import asyncio
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from qunyun_shared import identity
from qunyun_shared.testing import eventually
from tests.e2e.helpers import PROBLEM, idempotency_key, join, new_community, new_members, wait_for_count
from tests.e2e.tenant_world import a_bystanders_world, a_tenants_world, resource_key
from tests.support.harness import Platform, TenantKey
from tests.support.webhook_receiver import PATH as RECEIVER_PATH
from tests.support.webhook_receiver import Receiver, serving

pytestmark = pytest.mark.e2e


async def test_another_tenant_sees_nothing_of_a_community(
    tenant_api: httpx.AsyncClient, other_tenant_api: httpx.AsyncClient
) -> None:
    community_id = await new_community(tenant_api)
    (member_id,) = await new_members(tenant_api, 1)
    assert (await join(tenant_api, community_id, member_id)).status_code == 201
    await wait_for_count(tenant_api, community_id, 1)

    assert (await other_tenant_api.get(f"/communities/{community_id}")).status_code == 404
    assert (await other_tenant_api.get(f"/members/{member_id}")).status_code == 404
    assert community_id not in {c["id"] for c in (await other_tenant_api.get("/communities")).json()}
    (intruder,) = await new_members(other_tenant_api, 1)
    assert (await join(other_tenant_api, community_id, intruder)).status_code == 404
    assert (await other_tenant_api.get(f"/analytics/communities/{community_id}/members")).json()["members"] == 0
    assert (await other_tenant_api.get(f"/content/communities/{community_id}/audience")).status_code == 404
    assert (await other_tenant_api.get(f"/campaigns/members/{member_id}")).status_code == 404


async def test_client_supplied_identity_headers_are_ignored(
    platform: Platform, tenant: TenantKey, tenant_api: httpx.AsyncClient, other_tenant_api: httpx.AsyncClient
) -> None:
    community_id = await new_community(tenant_api)
    assert (await tenant_api.get(f"/communities/{community_id}")).status_code == 200
    # A validly signed identity of the owning tenant, smuggled in by another tenant's client:
    # honoured, it would open the community; the gateway replaces it with the caller's own.
    smuggled = platform.identity_header(tenant.tenant_id) | {"X-Tenant-Id": tenant.tenant_id}
    assert (await other_tenant_api.get(f"/communities/{community_id}", headers=smuggled)).status_code == 404
    direct = f"{platform.url('member-svc')}/communities/{community_id}"
    async with httpx.AsyncClient() as client:  # the smuggled header really is a key to the community
        assert (await client.get(direct, headers=smuggled)).status_code == 200


async def test_services_refuse_calls_without_a_valid_gateway_signature(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    url = f"{platform.url('member-svc')}/communities"
    assert (await http.get(url)).status_code == 401
    forged = identity.sign(identity.Identity(tenant_id="t", principal="p"), "not-the-platform-secret" * 2)
    assert (await http.get(url, headers={identity.IDENTITY_HEADER: forged})).status_code == 401
    assert (await http.get(url, headers=platform.identity_header("t"))).status_code == 200


async def test_every_route_keeps_each_tenants_resources_to_itself(
    platform: Platform, http: httpx.AsyncClient, tenant_api: httpx.AsyncClient, other_tenant_api: httpx.AsyncClient
) -> None:
    """Every route of the public API (from the gateway's merged OpenAPI document) with one tenant's ids in its
    path: the owner reads each resource (200); another tenant reads nothing (404, as for an id that does not
    exist) and its writes, well-formed and with ids of its own in their bodies, find nothing (404) and change
    nothing the owner then reads back. A path parameter no resource here fills fails the test, so a new route
    cannot slip through unchecked."""
    marker = f"secret{uuid.uuid4().hex[:10]}"
    document = (await http.get(f"{platform.url('gateway')}/openapi.json")).json()
    async with serving(Receiver()) as receiver:
        world = await a_tenants_world(tenant_api, marker, f"http://127.0.0.1:{receiver.port}{RECEIVER_PATH}")
        theirs = await a_bystanders_world(other_tenant_api)
        routes = _tenant_routes(document)
        unfilled = {
            f"{method} {route}": p
            for method, route in routes
            for p in _parameters(route)
            if resource_key(route, p) not in world
        }
        assert not unfilled, f"no resource of the test fills these path parameters: {unfilled}"

        await asyncio.gather(
            *(
                _reads_only_its_own(route, document, world, marker, tenant_api, other_tenant_api)
                for method, route in routes
                if method == "get"
            )
        )
        before = await _settled_reads(routes, document, world, tenant_api)
        for method, route in routes:
            if method != "get" and (_ids_in(route) or f"{method.upper()} {route}" in FOREIGN_WRITE_BODIES):
                await _writes_nothing_foreign(method, route, world, theirs, other_tenant_api)
        after = await _reads(routes, document, world, tenant_api)
        changed = {route: (read, after[route]) for route, read in before.items() if after[route] != read}
        assert not changed, f"another tenant's writes changed what the owner reads: {changed}"


async def test_the_admin_routes_refuse_a_tenants_key(
    platform: Platform, tenant: TenantKey, other_tenant_api: httpx.AsyncClient
) -> None:
    """The platform's own routes (outside /api/v1) take the platform token, never a tenant's key."""
    limits = f"{platform.url('gateway')}/admin/tenants/{tenant.tenant_id}/rate-limits"
    plan = {"per_credential": 1, "per_tenant": 1, "window_seconds": 60}
    for method in ("get", "put", "delete"):
        body = plan if method == "put" else None
        answered = await other_tenant_api.request(method, limits, json=body, headers=idempotency_key())
        assert answered.status_code in (401, 403), f"{method} {limits}: {answered.text}"


# The one exception to "another tenant's id reads as 404": analytics learns of a community from its first join
# (it does not consume community.opened), so it cannot tell the caller's own brand-new community from another
# tenant's, and counts both as empty rather than refusing one a console polls while it fills. The answer must
# be exactly that empty count, which shows nothing of the owner's.
EMPTY_COUNT_FOR_ANY_COMMUNITY = "/analytics/communities/{community_id}/members"

# Fields of a read that move with the clock or a periodic sweep (analytics judges a community's stage once a
# minute), not with any request.
SWEPT_FIELDS = frozenset({"exported_at", "stage"})

# Path parameters that name an entry of the platform's own catalogue, the same for every tenant, not a
# resource a tenant owns: a route with only these reads the caller's own data, checked for leaks instead.
CATALOGUE_NAMES = frozenset({"kpi", "playbook"})

# Well-formed bodies for the writes, with the other tenant's own ids (`theirs`) wherever a body names one, so
# that only the path's foreign id can be why the write is refused. Keyed by method and route.
Body = Callable[[dict[str, str], dict[str, str]], dict[str, Any]]


def _their_member(owner: dict[str, str], theirs: dict[str, str]) -> dict[str, Any]:
    return {"member_id": theirs["member_id"]}


FOREIGN_WRITE_BODIES: dict[str, Body] = {
    "PATCH /communities/{community_id}": lambda owner, theirs: {"name": "taken over"},
    "POST /communities/{community_id}/members": lambda owner, theirs: {
        "member_id": theirs["member_id"],
        "channel": "qr",
    },
    "POST /communities/{community_id}/applications/{application_id}/reject": lambda owner, theirs: {"reason": "x"},
    "PATCH /members/{member_id}": lambda owner, theirs: {"nickname": "taken over"},
    "POST /members/{member_id}/consents": lambda owner, theirs: {
        "purpose": "marketing",
        "granted": False,
        "source": "x",
    },
    "POST /members/{member_id}/invitations": lambda owner, theirs: {"community_id": theirs["community_id"]},
    "POST /members/{member_id}/tags": lambda owner, theirs: {"tag": "taken-over"},
    "POST /members/{member_id}/points/spend": lambda owner, theirs: {"points": 1},
    "POST /members/{member_id}/points/grants": lambda owner, theirs: {"points": 1},
    "PUT /tags/rules/{rule_id}": lambda owner, theirs: {
        "tag": "taken-over",
        "conditions": [{"field": "orders", "op": "gte", "value": 1}],
    },
    "PATCH /content/items/{content_id}": lambda owner, theirs: {"title": "taken over"},
    "POST /content/items/{content_id}/schedule": lambda owner, theirs: {
        "community_ids": [theirs["community_id"]],
        "publish_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
    },
    "PUT /content/communities/{community_id}/policy": lambda owner, theirs: {
        "max_pushes_per_day": 1,
        "max_promotion_share": 0.5,
        "timezone": "Asia/Shanghai",
    },
    "POST /content/reviews/{case_id}/decision": lambda owner, theirs: {"decision": "approve"},
    "POST /content/surveys/{survey_id}/answers": lambda owner, theirs: {
        "member_id": theirs["member_id"],
        "answers": {"nps": 0},
    },
    "POST /campaigns/orders/{order_id}/refunds": lambda owner, theirs: {},
    "POST /campaigns/coupon-templates/{template_id}/coupons": _their_member,
    "POST /campaigns/experiments/{experiment_id}/exposures": _their_member,
    "POST /campaigns/experiments/{experiment_id}/conversions": _their_member,
    # A playbook is the catalogue's: what is foreign here is the owner's coupon template the body names.
    "POST /campaigns/automations/playbooks/{playbook}": lambda owner, theirs: {
        "coupon_template_id": owner["template_id"]
    },
    "PATCH /campaigns/automations/{rule_id}": lambda owner, theirs: {"enabled": False},
    "POST /campaigns/{campaign_id}/lottery/draws": _their_member,
    "POST /campaigns/{campaign_id}/checkins": _their_member,
    "POST /campaigns/{campaign_id}/checkins/history": lambda owner, theirs: {
        "checkins": [{"member_id": theirs["member_id"], "checked_in_at": datetime.now(UTC).isoformat()}]
    },
    "POST /campaigns/{campaign_id}/flash-sale/orders": _their_member,
    "POST /campaigns/{campaign_id}/teams": _their_member,
    "POST /campaigns/{campaign_id}/teams/{team_id}/members": _their_member,
    "PATCH /operators/{operator_id}": lambda owner, theirs: {"display_name": "taken over"},
    "PATCH /webhooks/endpoints/{endpoint_id}": lambda owner, theirs: {"description": "taken over"},
    "POST /webhooks/endpoints/{endpoint_id}/secret/rotate": lambda owner, theirs: {},
    "POST /webhooks/endpoints/{endpoint_id}/replay": lambda owner, theirs: {
        "since": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "include_delivered": True,
    },
}


def _tenant_routes(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, route) of every operation a tenant's credential calls, the route without /api/v1."""
    routes = [
        (method, path.removeprefix("/api/v1"))
        for path, operations in document["paths"].items()
        for method in operations
        if path.startswith("/api/v1/") and method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(routes) > 100
    return routes


def _parameters(route: str) -> list[str]:
    return re.findall(r"{(\w+)}", route)


def _ids_in(route: str) -> bool:
    """Whether the route's path names a resource of a tenant."""
    return any(parameter not in CATALOGUE_NAMES for parameter in _parameters(route))


def _path(route: str, world: dict[str, str]) -> str:
    path = route
    for parameter in _parameters(route):
        path = path.replace(f"{{{parameter}}}", world[resource_key(route, parameter)])
    return path


async def _reads_only_its_own(
    route: str,
    document: dict[str, Any],
    world: dict[str, str],
    marker: str,
    owner: httpx.AsyncClient,
    other: httpx.AsyncClient,
) -> None:
    path, query = _path(route, world), _query(document, "get", route, world)
    owned = await owner.get(path, params=query)
    assert owned.status_code == 200, f"GET {route}, its owner: {owned.status_code} {owned.text}"
    if not _ids_in(route):
        answered = await other.get(path, params=query)
        assert answered.status_code < 500, f"GET {route}: {answered.text}"
        secrets_ = [marker, *(value for name, value in world.items() if name.endswith("_id"))]
        leaked = [value for value in secrets_ if value in answered.text and value not in path]
        assert not leaked, f"GET {route} shows another tenant's {leaked}"
        return
    foreign = await other.get(path, params=query)
    if route == EMPTY_COUNT_FOR_ANY_COMMUNITY:
        empty = {"community_id": world["community_id"], "members": 0, "joined_total": 0, "left_total": 0}
        assert (foreign.status_code, foreign.json()) == (200, empty), f"GET {route}: {foreign.text}"
        return
    assert (foreign.status_code, foreign.headers["content-type"]) == (404, PROBLEM), (
        f"GET {route}, another tenant: {foreign.status_code} {foreign.text}"
    )


async def _writes_nothing_foreign(
    method: str, route: str, owner: dict[str, str], theirs: dict[str, str], other: httpx.AsyncClient
) -> None:
    # Strictly 404: no route needs a 403 allowance, since the other tenant's key is an owner's and passes every
    # permission gate; a 403 here would be a gate that looked at the resource's tenant, which should not exist.
    operation = f"{method.upper()} {route}"
    body = FOREIGN_WRITE_BODIES[operation](owner, theirs) if operation in FOREIGN_WRITE_BODIES else None
    answered = await other.request(method, _path(route, owner), json=body, headers=idempotency_key())
    assert (answered.status_code, answered.headers.get("content-type")) == (404, PROBLEM), (
        f"{operation} with another tenant's ids: {answered.status_code} {answered.text}"
    )


async def _reads(
    routes: list[tuple[str, str]], document: dict[str, Any], world: dict[str, str], owner: httpx.AsyncClient
) -> dict[str, Any]:
    """What the owner reads on every route that names one of its resources."""
    own = [route for method, route in routes if method == "get" and _ids_in(route)]
    answers = await asyncio.gather(
        *(owner.get(_path(route, world), params=_query(document, "get", route, world)) for route in own)
    )
    return {route: _unswept(answered.json()) for route, answered in zip(own, answers, strict=True)}


def _unswept(read: Any) -> Any:
    if isinstance(read, dict):
        return {name: _unswept(value) for name, value in read.items() if name not in SWEPT_FIELDS}
    if isinstance(read, list):
        return [_unswept(value) for value in read]
    return read


async def _settled_reads(
    routes: list[tuple[str, str]], document: dict[str, Any], world: dict[str, str], owner: httpx.AsyncClient
) -> dict[str, Any]:
    """The owner's reads once the events of its own making have all been applied: two alike in a row."""
    last = await _reads(routes, document, world, owner)

    async def alike() -> dict[str, Any]:
        nonlocal last
        now, last = last, await _reads(routes, document, world, owner)
        assert now == last
        return now

    return await eventually(alike, timeout=30, interval=0.5)


def _query(document: dict[str, Any], method: str, route: str, world: dict[str, str]) -> dict[str, str]:
    """Values for an operation's required query parameters: the world's ids by name, a date range where one is
    needed."""
    today = datetime.now(UTC).date()
    values = world | {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat(), "days": "7"}
    values |= {"start": f"{today}T00:00:00Z", "end": f"{today + timedelta(days=7)}T00:00:00Z"}
    parameters = document["paths"][f"/api/v1{route}"][method].get("parameters", [])
    required = [p["name"] for p in parameters if p["in"] == "query" and p.get("required")]
    unfilled = [name for name in required if name not in values]
    assert not unfilled, f"{method.upper()} {route}: no value for the query parameters {unfilled}"
    return {name: values[name] for name in required}

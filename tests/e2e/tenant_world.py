"""One of every resource a tenant can own, made through the public API, for the cross-tenant tests: the ids,
by the names of the path parameters (and query parameters) that take them."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from qunyun_shared.testing import eventually
from tests.e2e.helpers import idempotency_key, join, known_to_campaigns, new_community

# A path parameter names the resource it takes, except where one name serves several kinds: there the route
# says which (the first pattern found in the route wins).
KIND_OF_PARAMETER: list[tuple[str, str, str]] = [
    ("/tags/rules/", "rule_id", "tag_rule_id"),
    ("/campaigns/automations/", "rule_id", "automation_id"),
    ("/analytics/alerts/rules/", "rule_id", "alert_rule_id"),
    ("/applications", "community_id", "approval_community_id"),
    ("/lottery/", "campaign_id", "lottery_id"),
    ("/checkins", "campaign_id", "checkin_campaign_id"),
    ("/flash-sale", "campaign_id", "flash_sale_id"),
    ("/teams", "campaign_id", "group_buy_id"),
    ("/referral-rewards", "campaign_id", "referral_campaign_id"),
    ("/models/refits/", "job_id", "refit_id"),
]


def resource_key(route: str, parameter: str) -> str:
    """The key in a tenant's world of what `parameter` of `route` takes."""
    for fragment, name, key in KIND_OF_PARAMETER:
        if name == parameter and fragment in route:
            return key
    return parameter


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _created(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


async def _id(response: httpx.Response, status: int = 201) -> str:
    return str((await _created(response, status))["id"])


async def _finished(api: httpx.AsyncClient, job: str) -> None:
    """Waits for a background job to end, so that the job's own progress is not read as another tenant's doing."""

    async def ended() -> None:
        status = (await api.get(job)).json()["status"]
        assert status in ("succeeded", "failed"), status

    await eventually(ended, timeout=60, interval=0.5)


async def a_tenants_world(api: httpx.AsyncClient, marker: str, webhook_url: str) -> dict[str, str]:
    """Makes one of every kind of resource in the tenant of `api`, each named with `marker` where it has a name."""
    world = {"kpi": "gmv_fen", "playbook": "welcome_pack", "tag": "vip", "term": f"{marker}词"}
    world["endpoint_id"] = await _id(
        await api.post("/webhooks/endpoints", json={"url": webhook_url, "event_types": ["member.joined"]})
    )
    await _members_and_communities(api, marker, world)
    await _content(api, marker, world)
    await _campaigns(api, marker, world)
    await _accounts_and_alerts(api, marker, world)
    world["webhook_id"] = await _a_delivery(api, world["endpoint_id"])
    return world


async def _members_and_communities(api: httpx.AsyncClient, marker: str, world: dict[str, str]) -> None:
    world["community_id"] = await new_community(api)
    await _created(await api.patch(f"/communities/{world['community_id']}", json={"name": f"{marker} 群"}), 200)
    member = {"nickname": f"{marker} member", "phone": "13800001111"}
    world["member_id"] = await _id(await api.post("/members", json=member))
    applicant = await _id(await api.post("/members", json={"nickname": f"{marker} applicant"}))
    await known_to_campaigns(api, world["community_id"], [world["member_id"]])
    approval = {
        "name": f"{marker} VIP",
        "kind": "vip",
        "entry_rule": "approval",
        "questionnaire": [{"id": "city", "text": "您在哪个城市"}],
    }
    world["approval_community_id"] = await _id(await api.post("/communities", json=approval))
    applied = {"member_id": applicant, "channel": "qr", "answers": {"city": marker}}
    await _created(await api.post(f"/communities/{world['approval_community_id']}/members", json=applied), 202)
    pending = (await api.get(f"/communities/{world['approval_community_id']}/applications")).json()
    world["application_id"] = pending[0]["id"]
    member_path = f"/members/{world['member_id']}"
    await _created(await api.post(f"{member_path}/tags", json={"tag": world["tag"]}), 200)
    await _created(await api.post(f"{member_path}/points/grants", json={"points": 100}, headers=idempotency_key()))
    rule = {"tag": "loyal", "conditions": [{"field": "orders", "op": "gte", "value": 3}], "description": marker}
    world["rule_id"] = world["tag_rule_id"] = await _id(await api.post("/tags/rules", json=rule))
    csv = f"nickname,phone\n{marker} imported,13900001111\n".encode()
    job = await api.post("/members/imports", content=csv, headers={"Content-Type": "text/csv"})
    world["job_id"] = await _id(job, 202)
    history = f"merchant_member_id,nickname\n{marker}-M1,{marker} historical\n".encode()
    upload = await api.post(
        "/imports", params={"kind": "members"}, content=history, headers={"Content-Type": "text/csv"}
    )
    world["import_id"] = await _id(upload, 202)


async def _content(api: httpx.AsyncClient, marker: str, world: dict[str, str]) -> None:
    lexicon = {"terms": [{"text": world["term"], "category": "sensitive", "action": "mask"}]}
    await _created(await api.put("/content/lexicon", json=lexicon), 200)
    item = {"content_type": "knowledge", "title": f"{marker} lesson", "body": marker, "tags": ["辅食"]}
    world["content_id"] = await _id(await api.post("/content/items", json=item))
    schedule = {"community_ids": [world["community_id"]], "publish_at": _later(days=2)}
    placed = await api.post(f"/content/items/{world['content_id']}/schedule", json=schedule)
    assert placed.status_code == 201, placed.text
    world["placement_id"] = placed.json()[0]["id"]
    spam = {
        "member_id": world["member_id"],
        "community_id": world["community_id"],
        "kind": "show_order",
        "body": f"{marker} 加微信 qunyun888 领券",
    }

    async def held() -> str:
        post = await api.post("/content/posts", json=spam)
        assert post.status_code == 201, post.text  # content-svc may not have heard of the join yet
        return str(post.json()["id"])

    held_id = await eventually(held, timeout=30, interval=0.3)
    cases = (await api.get("/content/reviews")).json()["cases"]
    world["case_id"] = next(case["id"] for case in cases if case["content_id"] == held_id)
    survey = {"title": f"{marker} survey", "questions": [{"id": "nps", "text": marker, "kind": "nps"}]}
    world["survey_id"] = await _id(await api.post("/content/surveys", json=survey))


async def _campaigns(api: httpx.AsyncClient, marker: str, world: dict[str, str]) -> None:
    member_id = world["member_id"]

    async def campaign(kind: str, **settings: object) -> str:
        body = {"kind": kind, "name": f"{marker} {kind}", "settings": settings}
        return await _id(await api.post("/campaigns", json=body, headers=idempotency_key()))

    world["campaign_id"] = await campaign("coupon")
    template = {
        "campaign_id": world["campaign_id"],
        "name": f"{marker} coupon",
        "discount": "amount_off",
        "amount_off_fen": 100,
        "valid_days": 7,
    }
    world["template_id"] = await _id(
        await api.post("/campaigns/coupon-templates", json=template, headers=idempotency_key())
    )
    issued = await api.post(
        f"/campaigns/coupon-templates/{world['template_id']}/coupons",
        json={"member_id": member_id},
        headers=idempotency_key(),
    )
    world["coupon_id"] = await _id(issued)
    order = {"member_id": member_id, "items": [{"product_id": marker, "quantity": 1, "unit_price_fen": 990}]}
    world["order_id"] = await _id(await api.post("/campaigns/orders", json=order, headers=idempotency_key()))
    world["flash_sale_id"] = await campaign("flash_sale", product_id=marker, price_fen=990, stock=10)
    world["group_buy_id"] = await campaign("group_buy", product_id=marker, price_fen=990, team_size=3)
    team = await api.post(
        f"/campaigns/{world['group_buy_id']}/teams", json={"member_id": member_id}, headers=idempotency_key()
    )
    world["team_id"] = str((await _created(team))["team"]["id"])
    prize = {"key": "first", "name": marker, "probability_ppm": 1000, "stock": 1, "reward": {"points": 1}}
    world["lottery_id"] = await campaign("lottery", prizes=[prize])
    world["checkin_campaign_id"] = await campaign("checkin", days=7)
    await _created(
        await api.post(
            f"/campaigns/{world['checkin_campaign_id']}/checkins",
            json={"member_id": member_id},
            headers=idempotency_key(),
        )
    )
    world["referral_campaign_id"] = await campaign("referral", join_reward={"points": 10})
    experiment = {
        "name": f"{marker} A/B",
        "subject_kind": "content",
        "subject_id": world["content_id"],
        "variants": [{"key": "a"}, {"key": "b"}],
    }
    world["experiment_id"] = await _id(
        await api.post("/campaigns/experiments", json=experiment, headers=idempotency_key())
    )
    automation = {"name": f"{marker} 买家", "trigger": "order.paid", "actions": [{"type": "add_tag", "tag": "buyer"}]}
    world["automation_id"] = await _id(
        await api.post("/campaigns/automations", json=automation, headers=idempotency_key())
    )


async def _accounts_and_alerts(api: httpx.AsyncClient, marker: str, world: dict[str, str]) -> None:
    alert = {"kpi": "weekly_active_rate", "condition": "below", "threshold": 0.3, "level": "warning"}
    world["alert_rule_id"] = await _id(await api.post("/analytics/alerts/rules", json=alert))
    world["refit_id"] = await _id(await api.post("/analytics/segments/recompute", headers=idempotency_key()), 202)
    await _finished(api, f"/analytics/models/refits/{world['refit_id']}")
    operator = {
        "email": f"{marker}@example.com",
        "display_name": f"{marker} operator",
        "password": f"pw-{uuid.uuid4()}",
        "roles": ["operator"],
    }
    world["operator_id"] = await _id(await api.post("/operators", json=operator))
    world["key_id"] = await _id(await api.post("/api-keys", json={"name": f"{marker} key", "roles": ["analyst"]}))


async def _a_delivery(api: httpx.AsyncClient, endpoint_id: str) -> str:
    """The webhook id of the endpoint's delivery of the member's join, once it is logged."""

    async def logged() -> str:
        page = (await api.get(f"/webhooks/endpoints/{endpoint_id}/deliveries")).json()
        assert page["deliveries"], page
        return str(page["deliveries"][0]["id"])

    return await eventually(logged, timeout=30)


async def a_bystanders_world(api: httpx.AsyncClient) -> dict[str, str]:
    """What the other tenant needs of its own to send well-formed requests: a community and a member in it."""
    world = {"community_id": await new_community(api)}
    world["member_id"] = await _id(await api.post("/members", json={"nickname": "bystander"}))
    assert (await join(api, world["community_id"], world["member_id"])).status_code == 201
    return world

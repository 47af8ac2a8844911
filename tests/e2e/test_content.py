"""content-svc end to end: through the gateway, on real PostgreSQL and Kafka, with member-svc feeding it
communities and members and rewarding posts."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka.structs import ConsumerRecord

from qunyun_shared.events.content import ContentPostedV1
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.testing import eventually
from tests.e2e.helpers import join, new_community
from tests.support.harness import Platform

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


async def community_with_members(api: httpx.AsyncClient, count: int) -> tuple[str, list[str]]:
    """A community content-svc knows about, with `count` members in its audience."""
    community_id = await new_community(api)
    members = []
    for index in range(count):
        member_id = (await api.post("/members", json={"nickname": f"读者{index}"})).json()["id"]
        assert (await join(api, community_id, member_id)).status_code == 201
        members.append(member_id)

    async def known() -> None:
        audience = await api.get(f"/content/communities/{community_id}/audience")
        assert audience.status_code == 200 and audience.json()["members"] == count, audience.text

    await eventually(known)
    return community_id, members


def posted_of(records: list[ConsumerRecord], content_ids: set[str]) -> list[str]:
    """The content ids of the `content.posted` events among `records` for `content_ids`, in order."""
    events = [from_kafka(r.value, list(r.headers)) for r in records]
    return [
        str(e.data.content_id)
        for e in events
        if isinstance(e.data, ContentPostedV1) and str(e.data.content_id) in content_ids
    ]


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM and response.json()["type"].endswith(slug), response.text


async def test_items_scheduled_with_two_replicas_running_are_published_exactly_once(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    community_id, members = await community_with_members(tenant_api, 2)
    policy = {"max_pushes_per_day": 50, "max_promotion_share": 0.3, "timezone": "Asia/Shanghai"}
    assert (await tenant_api.put(f"/content/communities/{community_id}/policy", json=policy)).status_code == 200
    created = []
    for n in range(20):
        item = {"content_type": "knowledge", "title": f"辅食第{n}课", "body": "南瓜泥的做法", "tags": ["辅食"]}
        response = await tenant_api.post("/content/items", json=item)
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    replica = await platform.replica("content-svc")
    try:
        publish_at = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
        for content_id in created:
            scheduled = await tenant_api.post(
                f"/content/items/{content_id}/schedule",
                json={"community_ids": [community_id], "publish_at": publish_at},
            )
            assert scheduled.status_code == 201, scheduled.text

        async def all_published() -> None:
            for content_id in created:
                placements = (await tenant_api.get(f"/content/items/{content_id}/placements")).json()
                assert [(p["status"], p["audience_size"]) for p in placements] == [("published", 2)]

        await eventually(all_published)
    finally:
        replica.stop()
    records = await platform.read_topic("content", until=lambda rs: len(posted_of(rs, set(created))) >= 20)
    published = posted_of(records, set(created))
    assert sorted(published) == sorted(created)  # each once: none missing, none twice

    feed = (await tenant_api.get(f"/content/members/{members[0]}/feed", params={"limit": 50})).json()
    assert {e["content"]["id"] for e in feed["entries"]} == set(created)


async def test_bad_schedules_are_refused_with_their_reason(tenant_api: httpx.AsyncClient) -> None:
    community_id, _ = await community_with_members(tenant_api, 1)
    item = (
        await tenant_api.post(
            "/content/items", json={"content_type": "promotion", "title": "周末特惠", "body": "满99减20"}
        )
    ).json()
    schedule = f"/content/items/{item['id']}/schedule"
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert_problem(
        await tenant_api.post(schedule, json={"community_ids": [community_id], "publish_at": past}),
        422,
        "schedule-in-past",
    )
    assert_problem(
        await tenant_api.post(schedule, json={"community_ids": [str(uuid.uuid4())], "publish_at": future}),
        404,
        "community-not-found",
    )
    # A promotion alone is all of its week: above the 30% ceiling.
    refused = await tenant_api.post(schedule, json={"community_ids": [community_id], "publish_at": future})
    assert_problem(refused, 409, "flooding-policy-breached")
    assert "promotion would be 100%" in refused.json()["detail"]
    assert (
        await tenant_api.get(f"/content/communities/{community_id}/calendar", params={"start": past, "end": future})
    ).json() == []
    oversized = {"content_type": "knowledge", "title": "长文", "body": "字" * 20_001}
    assert_problem(await tenant_api.post("/content/items", json=oversized), 422, "invalid-input")


async def test_member_posts_engagement_and_surveys_flow_to_statistics_and_points(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    community_id, (author, reader) = await community_with_members(tenant_api, 2)
    terms = {"terms": [{"text": "傻瓜", "category": "sensitive", "action": "mask"}]}
    assert (await tenant_api.put("/content/lexicon", json=terms)).status_code == 200
    post = await tenant_api.post(
        "/content/posts",
        json={
            "member_id": author,
            "community_id": community_id,
            "kind": "show_order",
            "body": "傻瓜才不买这个",
        },
    )
    assert post.status_code == 201, post.text
    assert post.json()["status"] == "ready" and "傻瓜" not in post.json()["body"]
    spam = await tenant_api.post(
        "/content/posts",
        json={"member_id": author, "community_id": community_id, "kind": "show_order", "body": "加微信 qunyun888 领券"},
    )
    assert spam.json()["status"] == "held"
    pending = (await tenant_api.get("/content/reviews")).json()["cases"]
    assert [c["content_id"] for c in pending] == [spam.json()["id"]]

    async def rewarded() -> None:  # member-svc awards points for a post (content.posted, UGC)
        points = (await tenant_api.get(f"/members/{author}/points")).json()
        assert points["lifetime"] >= 10 + 10, points

    await eventually(rewarded)

    now = datetime.now(UTC).isoformat()
    actions = [
        {"content_id": post.json()["id"], "member_id": reader, "action": "view", "occurred_at": now},
        {"content_id": post.json()["id"], "member_id": reader, "action": "like", "occurred_at": now},
        {"content_id": post.json()["id"], "member_id": reader, "action": "wave", "occurred_at": now},
    ]
    receipt = await tenant_api.post("/content/engagements", json={"actions": actions})
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["accepted"] == 2 and [r["index"] for r in receipt.json()["rejected"]] == [2]
    assert_problem(await tenant_api.post("/content/engagements", json={"actions": [actions[2]]}), 422, "invalid-input")
    stats = (await tenant_api.get(f"/content/items/{post.json()['id']}/stats")).json()
    assert (stats["readers"], stats["likes"], stats["read_rate"]) == (1, 1, 0.5)

    survey = await tenant_api.post(
        "/content/surveys",
        json={"title": "推荐意愿调查", "questions": [{"id": "nps", "text": "你会推荐我们吗", "kind": "nps"}]},
    )
    assert survey.status_code == 201, survey.text
    answers = f"/content/surveys/{survey.json()['id']}/answers"
    assert_problem(
        await tenant_api.post(answers, json={"member_id": reader, "answers": {"nps": 11}}), 422, "invalid-answers"
    )
    assert (await tenant_api.post(answers, json={"member_id": reader, "answers": {"nps": 10}})).status_code == 201
    assert_problem(
        await tenant_api.post(answers, json={"member_id": reader, "answers": {"nps": 3}}),
        409,
        "survey-already-answered",
    )
    results = (await tenant_api.get(f"/content/surveys/{survey.json()['id']}/results")).json()
    assert (results["respondents"], results["nps"]) == (1, 100.0)

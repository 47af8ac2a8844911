"""History imports through the running campaign-svc on real PostgreSQL and Kafka: a few hundred orders of
members campaigns have not heard of yet land, read back as orders of their own times, and reach Kafka as
`order.placed`, `order.paid` and `order.refunded` at their historical times, marked imported; a batch resent
is unchanged; 1,000-order batches land in well under a second; check-in history makes its streaks."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from qunyun_shared.events.kafka_binding import from_kafka
from tests.support.harness import Platform

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)


@pytest_asyncio.fixture(scope="module")
async def campaign_service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """campaign-svc alone as a real process, on a PostgreSQL database and Kafka topics of its own."""
    started = await Platform.create(Path(tmp_path_factory.mktemp("campaign-history")), ["campaign-svc"])
    try:
        yield started
    finally:
        await started.close()


class Brand:
    """A tenant of the running service, called as the gateway would call it."""

    def __init__(self, platform: Platform, client: httpx.AsyncClient) -> None:
        self.platform, self.client = platform, client
        self.tenant_id = f"t-{uuid.uuid4().hex[:12]}"
        self.headers = platform.identity_header(self.tenant_id)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        url = f"{self.platform.url('campaign-svc')}{path}"
        response = await self.client.post(url, json=body, headers=self.headers, timeout=30)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def get(self, path: str, **params: Any) -> Any:
        url = f"{self.platform.url('campaign-svc')}{path}"
        response = await self.client.get(url, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def all_orders(self) -> list[dict[str, Any]]:
        """Every order of the tenant, page by page, newest first."""
        orders, cursor = [], None
        while True:
            page = await self.get("/campaigns/orders", limit=200, **({"cursor": cursor} if cursor else {}))
            orders += page["orders"]
            if (cursor := page["next_cursor"]) is None:
                return orders


def shop_history(count: int, members: list[uuid.UUID], prefix: str) -> list[dict[str, Any]]:
    """`count` orders over the last 18 months: most paid, every 7th never paid, every 10th paid one refunded
    (every 20th in part)."""
    rows = []
    for i in range(count):
        placed = NOW - 540 * DAY + i * (530 * DAY / count)
        price = 1990 + 37 * i
        row: dict[str, Any] = {
            "merchant_order_id": f"{prefix}-{i:05d}",
            "member_id": str(members[i % len(members)]),
            "placed_at": placed.isoformat(),
            "items": [{"product_id": f"sku-{i % 13}", "quantity": 1 + i % 3, "unit_price_fen": price}],
        }
        if i % 7:
            row["paid_at"] = (placed + timedelta(minutes=3)).isoformat()
            if i % 10 == 0:
                row["refunded_at"] = (placed + 4 * DAY).isoformat()
                row["refund_fen"] = price if i % 20 == 0 else None
        rows.append({key: value for key, value in row.items() if value is not None})
    return rows


def amount_of(row: dict[str, Any]) -> int:
    return sum(item["quantity"] * item["unit_price_fen"] for item in row["items"])


async def test_a_few_hundred_orders_land_read_back_and_reach_kafka_as_imported_history(
    campaign_service: Platform,
) -> None:
    # Members whose joins have not reached campaigns yet: not refused for that alone.
    members = [uuid.uuid4() for _ in range(60)]
    rows = shop_history(300, members, "TB")
    async with httpx.AsyncClient() as client:
        brand = Brand(campaign_service, client)
        bad = shop_history(1, members, "BAD")[0] | {"paid_at": (NOW - 600 * DAY).isoformat()}
        answer = await brand.post("/campaigns/orders/history", {"orders": [*rows, bad]})
        assert (answer["created"], answer["unchanged"], answer["failed"]) == (300, 0, 1), answer["results"][-1]
        assert answer["results"][300]["problems"][0]["field"] == "paid_at"
        ids = {row["merchant_order_id"]: result["id"] for row, result in zip(rows, answer["results"], strict=False)}

        again = await brand.post("/campaigns/orders/history", {"orders": rows})
        assert (again["created"], again["unchanged"]) == (0, 300)
        assert [r["id"] for r in again["results"]] == list(ids.values())

        stored = {order["merchant_order_id"]: order for order in await brand.all_orders()}
        assert set(stored) == set(ids)
        for row in rows:
            order = stored[row["merchant_order_id"]]
            refunded = amount_of(row) if "refunded_at" in row and "refund_fen" not in row else row.get("refund_fen", 0)
            assert order["id"] == ids[row["merchant_order_id"]] and order["imported"] is True
            assert (order["member_id"], order["amount_fen"], order["refunded_fen"]) == (
                row["member_id"],
                amount_of(row),
                refunded,
            )
            assert datetime.fromisoformat(order["placed_at"]) == datetime.fromisoformat(row["placed_at"])
            paid_at = order["paid_at"] and datetime.fromisoformat(order["paid_at"])
            assert paid_at == (datetime.fromisoformat(row["paid_at"]) if "paid_at" in row else None)
        one_member = await brand.get("/campaigns/orders", member_id=str(members[0]), limit=200)
        expected = sorted((r for r in rows if r["member_id"] == str(members[0])), key=lambda r: r["placed_at"])
        assert [o["merchant_order_id"] for o in one_member["orders"]] == [
            r["merchant_order_id"] for r in expected[::-1]
        ]

    order_ids = set(ids.values())

    def announced(records: list[Any]) -> list[Any]:
        events = [from_kafka(r.value, r.headers) for r in records]
        return [e for e in events if e.type.startswith("order.") and str(e.data.order_id) in order_ids]

    paid, refunds = [r for r in rows if "paid_at" in r], [r for r in rows if "refunded_at" in r]
    records = await campaign_service.read_topic(
        "campaign", until=lambda records: len(announced(records)) >= len(rows) + len(paid) + len(refunds)
    )
    events = announced(records)
    assert all(e.imported and e.tenantid == brand.tenant_id for e in events)
    by_type: dict[str, dict[str, Any]] = {}
    for event in events:
        by_type.setdefault(event.type, {})[str(event.data.order_id)] = event.data
    assert {t: len(found) for t, found in by_type.items()} == {
        "order.placed": 300,
        "order.paid": len(paid),
        "order.refunded": len(refunds),
    }
    for row in rows:
        order_id = ids[row["merchant_order_id"]]
        assert by_type["order.placed"][order_id].placed_at == datetime.fromisoformat(row["placed_at"])
        if "paid_at" in row:
            assert by_type["order.paid"][order_id].paid_at == datetime.fromisoformat(row["paid_at"])


async def test_check_in_history_makes_its_streaks(campaign_service: Platform) -> None:
    members = [uuid.uuid4() for _ in range(20)]
    async with httpx.AsyncClient() as client:
        brand = Brand(campaign_service, client)
        zone = await brand.client.put(
            f"{campaign_service.url('campaign-svc')}/campaigns/settings",
            json={"timezone": "Asia/Shanghai"},
            headers=brand.headers,
        )
        assert zone.status_code == 200, zone.text
        campaign = await brand.post(
            "/campaigns",
            {
                "kind": "checkin",
                "name": "21天打卡",
                "starts_at": (NOW - 60 * DAY).isoformat(),
                "settings": {"days": 21},
            },
        )
        # Ten days in a row at 08:00 Shanghai, the fifth skipped by every other member.
        rows = [
            {"member_id": str(m), "checked_in_at": (NOW - (40 - d) * DAY).isoformat()}
            for n, m in enumerate(members)
            for d in range(10)
            if not (n % 2 and d == 4)
        ]
        answer = await brand.post(f"/campaigns/{campaign['id']}/checkins/history", {"checkins": rows})
        assert (answer["created"], answer["failed"]) == (len(rows), 0)
        again = await brand.post(f"/campaigns/{campaign['id']}/checkins/history", {"checkins": rows})
        assert again["unchanged"] == len(rows)
        longest = [
            (await brand.get(f"/campaigns/{campaign['id']}/checkins/{m}"))["longest_streak"] for m in members[:2]
        ]
        assert longest == [10, 5]

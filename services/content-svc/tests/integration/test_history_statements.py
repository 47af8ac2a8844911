"""An engagement history batch on real PostgreSQL takes the same statements whatever its size: no look-up or
write per row, so 1,000 actions cost little more than 10."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from content_svc.engagement import history
from content_svc.items import history as item_history
from content_svc.moderation import Lexicon
from qunyun_shared.testing import statements

from .world import OUTBOX, Tenant

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def actions(prefix: str, count: int, members: list[uuid.UUID], items: int) -> list[dict[str, Any]]:
    return [
        {
            "merchant_action_id": f"{prefix}-{n}",
            "member_id": str(members[n % len(members)]),
            "merchant_content_id": f"k-{n % items}",
            "action": ("view", "like", "comment", "share")[n % 4],
            "occurred_at": (NOW - timedelta(days=1, minutes=n)).isoformat(),
        }
        for n in range(count)
    ]


async def test_a_batch_of_a_thousand_actions_takes_the_statements_of_a_batch_of_ten(tenant: Tenant) -> None:
    community = await tenant.community()
    members = [await tenant.member(community) for _ in range(50)]
    rows = [
        {
            "merchant_content_id": f"k-{n}",
            "content_type": "knowledge",
            "title": "辅食课",
            "body": "南瓜泥",
            "tags": ["辅食", f"第{n}课"],
            "community_ids": [str(community)],
            "published_at": (NOW - timedelta(days=30)).isoformat(),
        }
        for n in range(40)
    ]
    await tenant.run(
        lambda session: item_history.import_items(
            session=session, outbox=OUTBOX, lexicon=Lexicon([]), tenant_id=tenant.tenant_id, rows=rows, now=NOW
        )
    )
    sent = {}
    for count in (10, 1000):
        batch = actions(f"b{count}", count, members, 40)
        with statements(tenant.engine) as sent[count]:
            answer = await tenant.run(
                lambda session, batch=batch: history.import_actions(
                    session=session, outbox=OUTBOX, tenant_id=tenant.tenant_id, rows=batch
                )
            )
        assert answer.created == count

    assert len(sent[1000]) == len(sent[10]) <= 15, sent[1000]

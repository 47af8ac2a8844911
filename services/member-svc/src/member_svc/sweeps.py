"""member-svc's own background work: expiring points when their time comes."""

import asyncio
from datetime import UTC, datetime

from member_svc import points
from qunyun_shared.runtime import ServiceRuntime


async def expire_points(runtime: ServiceRuntime, every_seconds: float) -> None:
    """Expires due points forever: batch after batch while there are any, then waits for the next sweep.
    Replicas may sweep at once: each skips the accounts another holds."""
    while True:
        async with runtime.sessionmaker() as session:
            async with session.begin():
                expired = await points.expire_due(session=session, outbox=runtime.outbox, now=datetime.now(UTC))
            if session.info.get("outbox_written"):
                runtime.outbox.committed()
        if not expired:
            await asyncio.sleep(every_seconds)

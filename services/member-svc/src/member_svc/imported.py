"""The outbox as it is for imported history: every event staged through it is marked `imported`, so whatever a
use case announces about what happened before the brand came to Qunyun (joins, leaves, tags, points and levels
that follow from them) says so, and automations and webhooks take it as history, not news."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from qunyun_shared.events import Envelope, EventPayload
from qunyun_shared.outbox import Outbox


class ImportedOutbox(Outbox):
    """The service's outbox (same table, source, topics and relay wake-up), marking every event imported."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(table=outbox.table, source=outbox.source, topic_prefix=outbox.topic_prefix)
        self.wakeup = outbox.wakeup

    async def add(
        self, session: AsyncSession, *, tenant_id: str, payloads: Sequence[EventPayload], imported: bool = True
    ) -> list[Envelope]:
        """Stages events as the outbox does, always marked imported."""
        return await super().add(session, tenant_id=tenant_id, payloads=payloads, imported=True)


def for_history(outbox: Outbox, *, imported: bool) -> Outbox:
    """`outbox` itself for live facts, or as it is for imported ones."""
    if not imported or isinstance(outbox, ImportedOutbox):
        return outbox
    return ImportedOutbox(outbox)

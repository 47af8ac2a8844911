"""Events the gateway consumes, each type to one handler: every public event fans out to the webhook
endpoints subscribed to it."""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.webhooks import fanout
from qunyun_shared.events import Envelope
from qunyun_shared.inbox import Handler
from qunyun_shared.outbox import Outbox


async def on_public_events(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await fanout.fan_out(session=session, events=events, now=datetime.now(UTC))


HANDLERS: dict[str, Handler] = dict.fromkeys(fanout.PUBLIC_EVENT_TYPES, on_public_events)

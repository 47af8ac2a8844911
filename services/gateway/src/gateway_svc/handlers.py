"""Events the gateway consumes, each type to one handler: every public live event fans out to the webhook
endpoints subscribed to it.

Events announcing imported history (`ce_imported`) go to no endpoint: a merchant importing last year's orders
must not have each partner's system send a notice for every one of them. The consumer passes them over by
their header (qunyun_shared.inbox.news_only), counted as `skipped_imported` in `qunyun_events_consumed_total`;
nothing of them is decoded, logged or delivered."""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.webhooks import fanout
from qunyun_shared.events import Envelope
from qunyun_shared.inbox import Handler, news_only
from qunyun_shared.outbox import Outbox


@news_only
async def on_public_events(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await fanout.fan_out(session=session, events=events, now=datetime.now(UTC))


HANDLERS: dict[str, Handler] = dict.fromkeys(fanout.PUBLIC_EVENT_TYPES, on_public_events)

"""The background loop that sends due deliveries: claims them in batches, sends them concurrently over one
pooled session, and records what they came to in bulk.

At-least-once: a delivery is claimed under a lease and settled only once its attempt is recorded, so one
sent when the process died (or a recording that failed) goes out again, under the same webhook id, once
its lease runs out. A slow partner is not flooded: its rate limit is applied when claiming, and at most
`webhook_endpoint_max_in_flight` of its deliveries are on the wire at once from one process.

The dispatcher has database connections of its own, whose commits do not wait for the write-ahead log to
reach the disk. A claim or a record lost in a database crash (the last fraction of a second of them) only
means that its deliveries go out again under the same webhook ids, which at-least-once delivery allows;
waiting for each of these many small transactions to be flushed, on the other hand, held dispatch back.
"""

import asyncio
import contextlib
import logging
import random
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway_svc.config import Settings
from gateway_svc.webhooks.claims import Claim, Claimed, claim_due
from gateway_svc.webhooks.deliveries import retention_sweep
from gateway_svc.webhooks.flight import Flight
from gateway_svc.webhooks.outcomes import Outcome, RetryPolicy, record
from gateway_svc.webhooks.schedule import DisablePolicy
from gateway_svc.webhooks.sealed_secrets import SecretBox
from gateway_svc.webhooks.transport import GuardedResolver, delivery_session, send
from qunyun_shared.db import create_engine, create_sessionmaker
from qunyun_shared.outbox import Outbox
from qunyun_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

# The lease covers a delivery's wait in the flight (at most about two rounds of its endpoint's sends),
# its own send, and slack for recording it.
_LEASE_ROUNDS = 3
_LEASE_SLACK = timedelta(seconds=5)
_CLAIM_BATCH = 500
_POLL_SECONDS = 0.2
# Outcomes are recorded a moment after the first one is in, so that one transaction carries many.
_RECORD_LINGER_SECONDS = 0.01
_PAUSE_AFTER_ERROR_SECONDS = 1.0
_CONNECTIONS = 2  # one claiming, one recording
_NO_FLUSH_WAIT = {"synchronous_commit": "off"}


class Dispatcher:
    """Sends the deliveries that are due, from any number of processes and replicas at once."""

    def __init__(self, *, outbox: Outbox, settings: Settings) -> None:
        self.outbox = outbox
        self.settings = settings
        self.box = SecretBox(settings.webhook_secret_key.get_secret_value())
        self.timeout = timedelta(seconds=settings.webhook_timeout_seconds)
        self.lease = self.timeout * _LEASE_ROUNDS + _LEASE_SLACK
        self.policy = RetryPolicy(
            schedule=settings.webhook_retry_seconds,
            disabling=DisablePolicy(
                notice_after=timedelta(seconds=settings.webhook_failing_notice_seconds),
                notice_period=timedelta(seconds=settings.webhook_disable_notice_seconds),
                min_failures=settings.webhook_failing_min_failures,
            ),
        )
        self.rng = random.Random()

    async def run(self) -> None:
        """Dispatches until cancelled; in-flight sends are abandoned then, to go out again after their lease."""
        flight = Flight(self.settings.webhook_max_in_flight, self.settings.webhook_endpoint_max_in_flight)
        resolver = GuardedResolver(allow_private=self.settings.webhook_allow_private_targets)
        engine = create_engine(self.settings.database_url, pool_size=_CONNECTIONS, server_settings=_NO_FLUSH_WAIT)
        sessions = create_sessionmaker(engine)
        try:
            async with (
                delivery_session(
                    resolver,
                    timeout=self.settings.webhook_timeout_seconds,
                    max_connections=self.settings.webhook_max_in_flight,
                ) as http,
                asyncio.TaskGroup() as tasks,
            ):
                tasks.create_task(self._record_forever(sessions, flight))
                await self._claim_forever(sessions, flight, tasks, http, resolver)
        finally:
            await engine.dispose()

    async def _claim_forever(
        self,
        sessions: async_sessionmaker[AsyncSession],
        flight: Flight,
        tasks: asyncio.TaskGroup,
        http: aiohttp.ClientSession,
        resolver: GuardedResolver,
    ) -> None:
        while True:
            flight.room.clear()
            wanted = min(flight.total_depth - flight.total, _CLAIM_BATCH)
            claimed = await self._claim(sessions, flight, wanted) if wanted > 0 else Claimed([], more_due=True)
            for claim in claimed.claims:
                if flight.take(claim):
                    tasks.create_task(self._work_for(flight, claim.endpoint_id, http, resolver))
            if not claimed.more_due:
                await asyncio.sleep(_POLL_SECONDS)  # nothing else is due: new work comes with time only
                continue
            # More is due than there was room for: claim again once sends have made room.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(flight.room.wait(), _POLL_SECONDS)

    async def _claim(self, sessions: async_sessionmaker[AsyncSession], flight: Flight, wanted: int) -> Claimed:
        try:
            async with sessions() as session, session.begin():
                return await claim_due(
                    session=session,
                    now=datetime.now(UTC),
                    limit=wanted,
                    lease=self.lease,
                    room=flight.room_by_endpoint(),
                    default_room=flight.first_depth,
                    box=self.box,
                )
        except Exception:
            # The database is away: what is claimed keeps going out; claiming resumes after a pause.
            log.exception("claiming webhook deliveries failed")
            await asyncio.sleep(_PAUSE_AFTER_ERROR_SECONDS)
            return Claimed([], more_due=False)

    async def _work_for(
        self, flight: Flight, endpoint_id: uuid.UUID, http: aiohttp.ClientSession, resolver: GuardedResolver
    ) -> None:
        """One of an endpoint's workers: sends its claims one after another while there are any."""
        while (claim := flight.next_for(endpoint_id)) is not None:
            await self._deliver(flight, http, resolver, claim)

    async def _deliver(
        self, flight: Flight, http: aiohttp.ClientSession, resolver: GuardedResolver, claim: Claim
    ) -> None:
        outcome: Outcome | None = None
        try:
            async with flight.wire:
                # Sent only if it can be answered within its lease; otherwise it is due again after it.
                if datetime.now(UTC) + self.timeout < claim.leased_until:
                    outcome = await send(http=http, resolver=resolver, claim=claim)
        except Exception:
            log.exception("sending a webhook failed unexpectedly", extra={"webhook_id": claim.webhook_id})
            outcome = Outcome(
                claim=claim, attempted_at=datetime.now(UTC), duration_ms=0, error="The gateway could not send it."
            )
        finally:
            flight.release(claim.endpoint_id, outcome.duration_ms / 1000 if outcome else None)
        if outcome is not None:
            flight.finished(outcome)

    async def _record_forever(self, sessions: async_sessionmaker[AsyncSession], flight: Flight) -> None:
        while True:
            await flight.outcome_ready.wait()
            await asyncio.sleep(_RECORD_LINGER_SECONDS)
            flight.outcome_ready.clear()
            outcomes, flight.outcomes = flight.outcomes, []
            try:
                await self._record(sessions, outcomes)
            except Exception:
                # Unrecorded deliveries stay leased and go out again once their lease runs out.
                log.exception("recording webhook attempts failed", extra={"attempts": len(outcomes)})
                await asyncio.sleep(_PAUSE_AFTER_ERROR_SECONDS)

    async def _record(self, sessions: async_sessionmaker[AsyncSession], outcomes: list[Outcome]) -> None:
        async with sessions() as session:
            async with session.begin():
                await record(
                    session=session,
                    outbox=self.outbox,
                    outcomes=outcomes,
                    policy=self.policy,
                    now=datetime.now(UTC),
                    rng=self.rng,
                )
            if session.info.get("outbox_written"):
                self.outbox.committed()


def start_dispatching(runtime: ServiceRuntime[Settings]) -> None:
    """Runs the dispatcher and the pruning of the delivery log in the background of a gateway process."""
    settings = runtime.settings
    dispatcher = Dispatcher(outbox=runtime.outbox, settings=settings)
    runtime.run_in_background("webhook-dispatcher", dispatcher.run)
    retention = timedelta(days=settings.webhook_log_retention_days)
    runtime.run_sweep("webhook-log-retention", retention_sweep(retention), every_seconds=3600)

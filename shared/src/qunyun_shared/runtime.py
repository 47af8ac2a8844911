"""A service's composition root: what it opens at start and closes at shutdown."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qunyun_shared.db import create_engine, create_sessionmaker
from qunyun_shared.health import KafkaProbe
from qunyun_shared.identity import IdentityVerifier
from qunyun_shared.inbox import LOOP, EventConsumer, Handler
from qunyun_shared.messaging import MessagingTables
from qunyun_shared.outbox import Outbox, OutboxRelay
from qunyun_shared.settings import ServiceSettings
from qunyun_shared.supervision import BackgroundHealth

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

# One batch of a background sweep: does what is due at `now`, returns how much it did.
Sweep = Callable[[AsyncSession, Outbox, datetime], Awaitable[int]]


class ServiceRuntime(Generic[SettingsT]):
    """Engine, outbox relay and event consumer of one service process, and its settings (typed as the
    service's own: `ServiceRuntime[Settings]`)."""

    def __init__(
        self,
        *,
        name: str,
        settings: SettingsT,
        tables: MessagingTables,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.engine: AsyncEngine = create_engine(settings.database_url)
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.outbox = Outbox(table=tables.outbox, source=name, topic_prefix=settings.kafka_topic_prefix)
        self.kafka_probe = KafkaProbe(settings.kafka_bootstrap_servers)
        self.identities = IdentityVerifier(settings.internal_token_secret.get_secret_value())
        self.health = BackgroundHealth()
        client_id = f"{name}-{settings.service_instance}" if settings.service_instance else name
        self.relay = OutboxRelay(
            engine=self.engine,
            outbox=self.outbox,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id=client_id,
            health=self.health,
        )
        self.consumer = (
            EventConsumer(
                name=name,
                engine=self.engine,
                inbox=tables.inbox,
                handlers=handlers,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topic_prefix=settings.kafka_topic_prefix,
                outbox=self.outbox,
                health=self.health,
            )
            if handlers
            else None
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Starts the relay and the consumer in the background."""
        self.run_in_background("outbox-relay", self.relay.run)
        if self.consumer is not None:
            self.run_in_background(LOOP, self.consumer.run)

    def run_in_background(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Runs a service's own background loop (sweeps, schedulers) beside the relay, under watch (see
        BackgroundHealth.supervise) and cancelled at shutdown."""
        self._tasks.append(asyncio.create_task(self.health.supervise(name, loop), name=name))

    def run_sweep(self, name: str, sweep: Sweep, every_seconds: float) -> None:
        """Runs `sweep` in a transaction of its own, batch after batch while it finds work, then every
        `every_seconds`. Replicas may sweep at once: sweeps take their rows with SKIP LOCKED."""

        async def loop() -> None:
            while True:
                async with self.sessionmaker() as session:
                    async with session.begin():
                        done = await sweep(session, self.outbox, datetime.now(UTC))
                    if session.info.get("outbox_written"):
                        self.outbox.committed()
                self.health.resumed(name)
                if not done:
                    await asyncio.sleep(every_seconds)

        self.run_in_background(name, loop)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.engine.dispose()

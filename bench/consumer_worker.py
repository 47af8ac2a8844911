"""The real EventConsumer with analytics-svc's handlers, in a process of its own as in production.

`python -m bench.consumer_worker` with DATABASE_URL and KAFKA_TOPIC_PREFIX set; stops on SIGTERM or after
MAX_SECONDS.
"""

import asyncio
import contextlib
import os
import signal

from analytics_svc.handlers import HANDLERS
from analytics_svc.models import MESSAGING
from qunyun_shared.db import create_engine
from qunyun_shared.inbox import EventConsumer
from qunyun_shared.outbox import Outbox
from tests.support.harness import KAFKA_BOOTSTRAP

MAX_SECONDS = 600


async def main() -> None:
    engine = create_engine(os.environ["DATABASE_URL"])
    consumer = EventConsumer(
        name="analytics-svc",
        engine=engine,
        inbox=MESSAGING.inbox,
        handlers=HANDLERS,
        bootstrap_servers=KAFKA_BOOTSTRAP,
        topic_prefix=os.environ["KAFKA_TOPIC_PREFIX"],
        outbox=Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix=os.environ["KAFKA_TOPIC_PREFIX"]),
    )
    task = asyncio.create_task(consumer.run())
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, MAX_SECONDS)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())

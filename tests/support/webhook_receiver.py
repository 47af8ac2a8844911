"""A partner's webhook endpoint on 127.0.0.1, for the tests and the benchmark: it records what arrives and can
be told to fail, stall or pace its answers. In process (`serving`) or as a process of its own
(`python -m tests.support.webhook_receiver --port N`), which answers `GET /stats` and `GET /received`."""

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvloop
from aiohttp import web
from standardwebhooks.webhooks import Webhook

PATH = "/qunyun/hooks"


@dataclass
class Receiver:
    """Answers each delivery after `pace_seconds`; the first `failures_first` tries of each message get a 500
    and the first `stalls_first` are held for `stall_seconds`."""

    failures_first: int = 0
    stalls_first: int = 0
    stall_seconds: float = 0.0
    pace_seconds: float = 0.0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    tries: Counter[str] = field(default_factory=Counter)
    first_at: float | None = None
    last_at: float | None = None
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        msg_id = headers.get("webhook-id", "")
        self.tries[msg_id] += 1
        self.received.append((headers, body))
        self.last_at = time.time()
        self.first_at = self.first_at or self.last_at
        if self.tries[msg_id] <= self.stalls_first:
            await asyncio.sleep(self.stall_seconds)
        if self.pace_seconds:
            await asyncio.sleep(self.pace_seconds)
        if self.tries[msg_id] <= self.failures_first:
            return web.Response(status=500, text="down for maintenance")
        return web.Response(status=204)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def webhook_ids(self) -> set[str]:
        return {headers["webhook-id"] for headers, _ in self.received}

    def verified_event_ids(self, secret: str) -> set[str]:
        """The event ids of everything received, each delivery verified with `secret` by `standardwebhooks`."""
        return verified_event_ids(self.received, secret)

    def stats(self) -> dict[str, Any]:
        return {
            "received": len(self.received),
            "webhook_ids": len(self.tries),
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


def verified_event_ids(received: list[tuple[dict[str, str], bytes]], secret: str) -> set[str]:
    """The event ids of deliveries, each verified with `secret`; raises WebhookVerificationError on a bad one."""
    return {Webhook(secret).verify(body, headers)["id"] for headers, body in received}


def application(receiver: Receiver) -> web.Application:
    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(receiver.stats())

    async def received(_request: web.Request) -> web.Response:
        return web.json_response([{"headers": h, "body": b.decode()} for h, b in receiver.received])

    app = web.Application()
    app.router.add_post(PATH, receiver.handle)
    app.router.add_get("/stats", stats)
    app.router.add_get("/received", received)
    return app


@asynccontextmanager
async def serving(receiver: Receiver, port: int = 0) -> AsyncIterator[Receiver]:
    """Runs the receiver on 127.0.0.1 (any free port unless one is given) until the block ends."""
    runner = web.AppRunner(application(receiver), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    receiver.port = runner.addresses[0][1]
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def _serve_forever(port: int) -> None:
    async with serving(Receiver(), port):
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A webhook receiver on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(_serve_forever(parser.parse_args().port))

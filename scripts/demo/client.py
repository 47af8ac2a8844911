"""The demo's client of the gateway: every write with an Idempotency-Key (kept across its retries), waits
out rate limits and a service that is briefly away, and stops the seeding on anything else."""

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
# Waited out: rate limits, a service away or resting behind the gateway's breaker, and a 500 (on SQLite, a
# database locked past its busy timeout) that the request's Idempotency-Key makes safe to send again.
_TRANSIENT = {429, 500, 502, 503, 504}
_PATIENCE = 90.0  # seconds a call keeps being retried
_CONCURRENCY = 8


class SeedingFailed(Exception):
    """The platform refused something the demo needs."""


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.calls = 0
        self._slots = asyncio.Semaphore(_CONCURRENCY)
        self._started = time.monotonic()

    def say(self, what: str) -> None:
        """A line of progress, with the seconds since the seeding started."""
        print(f"  {what} ({time.monotonic() - self._started:.0f} s)", flush=True)

    async def call(
        self, method: str, path: str, *, json: Any = None, params: Any = None, ok: Iterable[int] = (200, 201)
    ) -> httpx.Response:
        """The answer, once it is one of `ok`; transient refusals are retried under the same key."""
        headers = {} if method == "GET" else {"Idempotency-Key": str(uuid.uuid4())}
        deadline = time.monotonic() + _PATIENCE
        for attempt in itertools.count(1):
            async with self._slots:
                self.calls += 1
                try:
                    response = await self.client.request(method, path, json=json, params=params, headers=headers)
                except httpx.TransportError as exc:
                    if time.monotonic() > deadline:
                        raise SeedingFailed(f"{method} {path}: {exc!r}") from exc
                    await asyncio.sleep(min(attempt, 5))
                    continue
            if response.status_code in ok:
                return response
            if response.status_code not in _TRANSIENT or time.monotonic() > deadline:
                raise SeedingFailed(f"{method} {path} answered {response.status_code}: {response.text[:1500]}")
            await asyncio.sleep(float(response.headers.get("Retry-After", min(attempt, 5))))
        raise AssertionError("unreachable")

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return (await self.call("POST", path, json=body, **kwargs)).json()

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.call("GET", path, params=params or None)).json()

    async def each(self, work: Iterable[Awaitable[T]]) -> list[T]:
        """Runs the calls side by side, as many at once as the client allows."""
        return list(await asyncio.gather(*work))

    async def history(self, path: str, rows_name: str, rows: list[dict[str, Any]], batch: int = 1000) -> list[str]:
        """Imports `rows` in batches: the id of each row's record, in order. Rows that fail are sent again for a
        while (what they refer to may still be on its way to the service); rows failing still stop the seeding."""
        ids: list[str] = []
        for start in range(0, len(rows), batch):
            ids.extend(await self._batch(path, rows_name, rows[start : start + batch]))
        return ids

    async def _batch(self, path: str, rows_name: str, rows: list[dict[str, Any]], patience: float = 30) -> list[str]:
        ids: list[str | None] = [None] * len(rows)
        pending = list(range(len(rows)))
        deadline = time.monotonic() + patience
        while True:
            answer = await self.post(path, {rows_name: [rows[n] for n in pending]})
            failed = []
            for result in answer["results"]:
                number = pending[result["row"]]
                if result["outcome"] == "failed":
                    failed.append((number, result["problems"]))
                else:
                    ids[number] = str(result["id"])
            if not failed:
                return [str(found) for found in ids]
            if time.monotonic() > deadline:
                shown = "; ".join(f"row {rows[n]}: {problems}" for n, problems in failed[:3])
                raise SeedingFailed(f"POST {path}: {len(failed)} of {len(rows)} rows failed, e.g. {shown}")
            pending = [number for number, _ in failed]
            await asyncio.sleep(1)


async def eventually(check: Callable[[], Awaitable[T]], *, what: str, timeout: float) -> T:
    """`check`'s answer once it stops failing its assertions, or SeedingFailed after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError as exc:
            if time.monotonic() > deadline:
                raise SeedingFailed(f"{what} did not happen within {timeout:.0f} s: {exc}") from None
        await asyncio.sleep(0.5)

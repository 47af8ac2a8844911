"""The HTTP client deliveries go out on: pooled, and connecting only to addresses the SSRF guard passed.

One resolver answers both the guard's check before each attempt and the connector's lookups when it
opens a connection, re-checking every answer: a host that starts resolving to an internal address
(DNS rebinding, a changed record) is refused at connection time too, not only when the URL was saved.
"""

import socket
import time
from datetime import UTC, datetime
from ipaddress import ip_address

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from gateway_svc.webhooks import signing
from gateway_svc.webhooks.claims import Claim
from gateway_svc.webhooks.outcomes import Outcome
from gateway_svc.webhooks.targets import IPAddress, WebhookTargetRefused, check_addresses, check_target

USER_AGENT = "Qunyun-Webhooks/1.0"
# A partner's answer is read only to keep the connection reusable; past this much it is dropped instead.
_MAX_ANSWER_BYTES = 64 * 1024
# How long a host's checked addresses are reused: short, as DNS records of partners do change.
_DNS_TTL_SECONDS = 10.0
_MAX_CACHED_HOSTS = 10_000


class GuardedResolver(AbstractResolver):
    """Resolves webhook hosts, refusing any whose addresses the SSRF guard does not pass."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._system = ThreadedResolver()
        self._cache: dict[tuple[str, int], tuple[float, list[ResolveResult]]] = {}
        self._passed: dict[str, float] = {}

    async def check(self, url: str) -> None:
        """The SSRF guard before an attempt; a URL that passed is trusted as long as its host's addresses are."""
        now = time.monotonic()
        if self._passed.get(url, 0.0) > now:
            return
        await check_target(url=url, allow_private=self.allow_private, resolve=self.addresses)
        if len(self._passed) >= _MAX_CACHED_HOSTS:
            self._passed.clear()
        self._passed[url] = now + _DNS_TTL_SECONDS

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of `host`, for `targets.check_target` (which checks them)."""
        try:
            return [ip_address(host)]
        except ValueError:
            return [ip_address(result["host"]) for result in await self._lookup(host, port)]

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The connector's lookup: only checked addresses, or WebhookTargetRefused."""
        results = await self._lookup(host, port)
        check_addresses(host, [ip_address(result["host"]) for result in results], allow_private=self.allow_private)
        return [result for result in results if family in (socket.AF_UNSPEC, result["family"])]

    async def close(self) -> None:
        await self._system.close()

    async def _lookup(self, host: str, port: int) -> list[ResolveResult]:
        now = time.monotonic()
        cached = self._cache.get((host, port))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            results = await self._system.resolve(host, port, family=socket.AF_UNSPEC)
        except OSError:
            raise WebhookTargetRefused(f"The webhook host {host!r} does not resolve.") from None
        if len(self._cache) >= _MAX_CACHED_HOSTS:
            self._cache.clear()
        self._cache[(host, port)] = (now + _DNS_TTL_SECONDS, results)
        return results


def delivery_session(resolver: GuardedResolver, *, timeout: float, max_connections: int) -> aiohttp.ClientSession:
    """The session every delivery of a process goes out on; whoever opens it closes it."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=max_connections,
            resolver=resolver,
            # Every new connection asks the guarded resolver, whose own cache is re-checked on every answer.
            use_dns_cache=False,
            keepalive_timeout=15.0,
        ),
        timeout=aiohttp.ClientTimeout(total=timeout),
        # Partners' cookies must not travel from one endpoint to another, nor environment proxies be used.
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        auto_decompress=False,
        headers={"User-Agent": USER_AGENT},
    )


async def send(*, http: aiohttp.ClientSession, resolver: GuardedResolver, claim: Claim) -> Outcome:
    """One attempt: the URL checked again, the body signed with the endpoint's active secrets and POSTed."""
    attempted_at = datetime.now(UTC)
    started = time.perf_counter()
    status, error = None, None
    try:
        await resolver.check(claim.url)
        headers = signing.headers(claim.secrets, claim.webhook_id, attempted_at, claim.body)
        headers["Content-Type"] = "application/json"
        async with http.post(claim.url, data=claim.body, headers=headers, allow_redirects=False) as response:
            status = response.status
            await _drain(response)
        if not 200 <= status < 300:
            error = f"The endpoint answered HTTP {status}" + (
                " (redirects are not followed)." if 300 <= status < 400 else "."
            )
    except WebhookTargetRefused as refused:
        error = refused.detail
    except TimeoutError:
        error = "The endpoint did not answer in time."
    except aiohttp.ClientError as failure:
        error = f"{type(failure).__name__}: {failure}"
    duration_ms = round((time.perf_counter() - started) * 1000)
    return Outcome(claim=claim, attempted_at=attempted_at, duration_ms=duration_ms, http_status=status, error=error)


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Reads the (small) answer so the connection can carry the next delivery; a large one is cut off."""
    received = 0
    async for chunk in response.content.iter_chunked(16 * 1024):
        received += len(chunk)
        if received > _MAX_ANSWER_BYTES:
            response.close()
            return

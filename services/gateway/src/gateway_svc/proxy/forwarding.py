"""Forwarding `/api/v1/...` to the service that owns the resource, with the caller's identity signed in."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway_svc import access
from gateway_svc.config import Settings
from gateway_svc.exceptions import PayloadTooLarge, UnknownRoute, UpstreamTimeout
from gateway_svc.proxy import naming
from gateway_svc.proxy.resources import Service, resource_of
from gateway_svc.upstreams.breaker import CircuitBreaker
from gateway_svc.upstreams.clients import Interrupted, NotSent, UpstreamAnswer, UpstreamClient, open_client
from gateway_svc.upstreams.metrics import UPSTREAM_RETRIES
from gateway_svc.upstreams.retries import RETRIED_STATUSES, RetryPolicy, is_idempotent
from qunyun_shared import correlation, identity
from qunyun_shared.problems import DomainError, InvalidInput, UpstreamUnavailable

_PREFIX = "/api/v1/"
FORWARDED_REQUEST_HEADERS = frozenset({b"content-type", b"accept", b"idempotency-key"})
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "content-disposition",
    "location",
    "retry-after",
    "idempotent-replayed",
)
# A signed identity lives 60 s; reusing it for 30 keeps signing (the costliest step of a hop) off most requests.
_IDENTITY_REUSE_SECONDS = 30.0
_IDENTITIES_KEPT = 10_000


class UpstreamRouter:
    """Knows the upstream of every route and sends requests to it: pooled, bounded in time, retried only
    when that cannot repeat an effect, and refused at once while the upstream's breaker is open."""

    def __init__(self, settings: Settings, client: UpstreamClient) -> None:
        self.client = client
        self.secret = settings.internal_token_secret.get_secret_value()
        self.max_body_bytes = settings.max_body_bytes
        self.max_upload_bytes = settings.max_upload_bytes
        self.timeout = settings.upstream_timeout_seconds
        self.retries = RetryPolicy(settings.upstream_attempts, settings.upstream_backoff_seconds)
        self.bases: Mapping[Service, str] = {
            Service.MEMBER: settings.member_svc_url.rstrip("/"),
            Service.CONTENT: settings.content_svc_url.rstrip("/"),
            Service.CAMPAIGN: settings.campaign_svc_url.rstrip("/"),
            Service.ANALYTICS: settings.analytics_svc_url.rstrip("/"),
        }
        self.breakers: Mapping[Service, CircuitBreaker] = {
            service: CircuitBreaker(
                service,
                failure_threshold=settings.breaker_failure_threshold,
                cool_down_seconds=settings.breaker_cool_down_seconds,
            )
            for service in Service
        }
        self._signed: dict[identity.Identity, tuple[float, str]] = {}

    async def forward(self, request: Request, path: str, caller: identity.Identity) -> Response:
        """Sends the request to its service as `caller`, and the service's answer back."""
        resource = resource_of(path)
        if resource is None:
            raise UnknownRoute(f"No API at {_PREFIX}{path}.")
        body = await self._bounded_body(request)
        if naming.names_a_member(path, request.method, body):
            # The look-up tells whether a merchant's id names a member (or one erased): a read of members.
            access.require(caller, naming.LOOKUP_PERMISSION)
            body = await naming.with_member_id(
                body=body, lookup=lambda merchant_ids: self.look_up_members(caller, merchant_ids)
            )
        headers = {
            name.decode(): value.decode("latin-1")
            for name, value in request.scope["headers"]
            if name in FORWARDED_REQUEST_HEADERS
        }
        headers[identity.IDENTITY_HEADER] = self._identity_token(caller)
        answer = await self.exchange(
            resource.service, request.method, _target(request, path), headers, body, idempotent=None
        )
        return Response(answer.content, status_code=answer.status, headers=answer.headers)

    async def fetch(
        self, path: str, caller: identity.Identity, params: Sequence[tuple[str, str]] = ()
    ) -> tuple[int, Any]:
        """GETs `path` (what follows /api/v1/) as `caller`, for the gateway's own views: the status and JSON
        body a client would get, the gateway's own 503 or 504 problem when the service cannot answer."""
        resource = resource_of(path)
        if resource is None:
            raise UnknownRoute(f"No API at {_PREFIX}{path}.")
        target = "/" + quote(path) + (f"?{urlencode(params)}" if params else "")
        headers = {identity.IDENTITY_HEADER: self._identity_token(caller), "accept": "application/json"}
        try:
            answer = await self.exchange(resource.service, "GET", target, headers, idempotent=True)
        except (UpstreamUnavailable, UpstreamTimeout) as exc:
            return exc.status, _problem_body(exc)
        return answer.status, orjson.loads(answer.content)

    async def send_as(
        self, caller: identity.Identity, path: str, body: bytes, *, timeout: float | None = None
    ) -> UpstreamAnswer:
        """POSTs a JSON `body` to `path` (what follows /api/v1/) as `caller`, for the gateway's own jobs, whose
        requests are safe to repeat; raises UpstreamUnavailable or UpstreamTimeout when no answer comes."""
        resource = resource_of(path)
        if resource is None:
            raise UnknownRoute(f"No API at {_PREFIX}{path}.")
        headers = {
            identity.IDENTITY_HEADER: self._identity_token(caller),
            "content-type": "application/json",
            "accept": "application/json",
        }
        return await self.exchange(
            resource.service, "POST", "/" + quote(path), headers, body, idempotent=True, timeout=timeout
        )

    async def look_up_members(self, caller: identity.Identity, merchant_ids: list[str]) -> naming.Resolution:
        """The members of the caller's tenant the merchant's ids name, from member-svc."""
        body = orjson.dumps({"merchant_member_ids": merchant_ids})
        answer = await self.send_as(caller, naming.RESOLVE_PATH, body)
        if answer.status == 200:
            with contextlib.suppress(ValueError):
                return naming.Resolution.of(answer.content)
        elif answer.status < 500:
            raise InvalidInput(f"The member service refused to look the member up (status {answer.status}).")
        raise UpstreamUnavailable(f"The member service could not look the member up (status {answer.status}).")

    async def exchange(
        self,
        service: Service,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        idempotent: bool | None,
        timeout: float | None = None,
    ) -> UpstreamAnswer:
        """One request to `service` (`target` is its percent-encoded path and query), retried within the
        timeout (UPSTREAM_TIMEOUT_SECONDS unless given) when that is safe; `idempotent=None` decides from the
        method and headers."""
        if idempotent is None:
            idempotent = is_idempotent(method, headers)
        if correlation_id := correlation.current():
            headers = {**headers, correlation.CORRELATION_HEADER: correlation_id}
        url = self.bases[service] + target
        timeout = self.timeout if timeout is None else timeout
        deadline = asyncio.get_running_loop().time() + timeout
        attempt = 1
        while True:
            outcome: UpstreamAnswer | Exception
            try:
                outcome = await self._attempt(service, deadline, timeout, method, url, headers, body)
            except NotSent as exc:
                outcome, reason = exc, "not-sent"
            except Interrupted as exc:
                if not idempotent:
                    raise UpstreamUnavailable(f"The {service} service broke off the exchange: {exc}") from None
                outcome, reason = exc, "interrupted"
            else:
                if outcome.status not in RETRIED_STATUSES or not idempotent:
                    return outcome
                reason = str(outcome.status)
            delay = self.retries.delay(attempt)
            if attempt >= self.retries.attempts or asyncio.get_running_loop().time() + delay >= deadline:
                if isinstance(outcome, UpstreamAnswer):
                    return outcome
                raise UpstreamUnavailable(f"The {service} service is unreachable: {outcome}") from None
            UPSTREAM_RETRIES.labels(service, reason).inc()
            await asyncio.sleep(delay)
            attempt += 1

    async def _attempt(
        self,
        service: Service,
        deadline: float,
        timeout: float,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> UpstreamAnswer:
        breaker = self.breakers[service]
        breaker.acquire()
        try:
            async with asyncio.timeout_at(deadline):
                answer = await self.client.send(method, url, headers, body)
        except TimeoutError:
            breaker.failed()
            raise UpstreamTimeout(f"The {service} service did not answer within {timeout:g} s.") from None
        except (NotSent, Interrupted):
            breaker.failed()
            raise
        except BaseException:
            breaker.released()
            raise
        if answer.status >= 500:
            breaker.failed()
        else:
            breaker.succeeded()
        return answer

    async def _bounded_body(self, request: Request) -> bytes:
        """The body, refused as soon as it passes the limit rather than after buffering all of it."""
        declared = request.headers.get("content-length", "")
        if not declared and "transfer-encoding" not in request.headers:
            return b""  # neither a length nor chunks: HTTP/1.1 has no body then
        is_upload = request.headers.get("content-type", "").split(";")[0].strip() == "text/csv"
        limit = self.max_upload_bytes if is_upload else self.max_body_bytes
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)

    def _identity_token(self, caller: identity.Identity) -> str:
        now = time.monotonic()
        cached = self._signed.get(caller)
        if cached is None or now - cached[0] > _IDENTITY_REUSE_SECONDS:
            cached = (now, identity.sign(caller, self.secret))
            if len(self._signed) >= _IDENTITIES_KEPT:
                self._signed.clear()
            self._signed[caller] = cached
        return cached[1]


@asynccontextmanager
async def open_router(*, settings: Settings) -> AsyncIterator[UpstreamRouter]:
    """The router with its pooled client, for the gateway's lifetime."""
    async with open_client(
        name=settings.upstream_client,
        timeout=settings.upstream_timeout_seconds,
        connect_timeout=settings.upstream_connect_timeout_seconds,
        max_connections=settings.upstream_max_connections,
        kept=FORWARDED_RESPONSE_HEADERS,
    ) as client:
        yield UpstreamRouter(settings, client)


def _target(request: Request, path: str) -> str:
    """The path and query to ask the service for: the client's own bytes, so nothing decoded is re-read
    as a delimiter (an escaped `?` or `#` in a segment stays escaped)."""
    raw_path: bytes | None = request.scope.get("raw_path")
    if raw_path is not None and raw_path.startswith(_PREFIX.encode()):
        target = raw_path[len(_PREFIX) - 1 :].decode("latin-1")
    else:
        target = "/" + quote(path)
    query: bytes = request.scope["query_string"]
    return f"{target}?{query.decode('latin-1')}" if query else target


def _problem_body(exc: DomainError) -> dict[str, Any]:
    return {"title": exc.title, "status": exc.status, "detail": exc.detail}

"""The platform's merged OpenAPI document, built from the services' own documents and kept between requests."""

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from gateway_svc.exceptions import UpstreamTimeout
from gateway_svc.openapi.merge import Document, merge
from gateway_svc.proxy.forwarding import UpstreamRouter
from gateway_svc.proxy.resources import Service
from qunyun_shared.problems import UpstreamUnavailable

log = logging.getLogger(__name__)


class ApiDocuments:
    """Asks each service for its document, keeps it for `refresh_seconds` and asks again after that (a new
    release may have changed it); a service that could not be asked is asked again on the next request."""

    def __init__(
        self,
        upstreams: UpstreamRouter,
        gateway: Callable[[], Document],
        *,
        security: Mapping[str, Any],
        requirement: list[Any],
        refresh_seconds: float = 300.0,
        fetch_timeout_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = upstreams
        self.gateway = gateway
        self.security = security
        self.requirement = requirement
        self.refresh_seconds = refresh_seconds
        self.fetch_timeout_seconds = fetch_timeout_seconds
        self.clock = clock
        self._fetched: dict[Service, tuple[float, Document]] = {}
        self._merged: Document | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> Document:
        """The merged document, with every service that answers now or answered lately."""
        async with self._lock:
            due = [service for service in Service if self._due(service)]
            if due or self._merged is None:
                answers = await asyncio.gather(*(self._fetch(service) for service in due))
                fresh = {service: answer for service, answer in zip(due, answers, strict=True) if answer is not None}
                self._fetched.update({service: (self.clock(), document) for service, document in fresh.items()})
                if fresh or self._merged is None:
                    self._merged = self._build()
            return self._merged

    def _due(self, service: Service) -> bool:
        fetched = self._fetched.get(service)
        return fetched is None or self.clock() - fetched[0] > self.refresh_seconds

    def _build(self) -> Document:
        services = {service: document for service, (_, document) in self._fetched.items()}
        merged = merge(self.gateway(), services, security=self.security, requirement=self.requirement)
        if missing := [f"{service}-svc" for service in Service if service not in services]:
            info = merged.setdefault("info", {})
            note = f"Not shown: {', '.join(missing)} could not be asked for its operations; reload later."
            info["description"] = f"{info.get('description', '')}\n\n{note}".strip()
        return merged

    async def _fetch(self, service: Service) -> Document | None:
        try:
            async with asyncio.timeout(self.fetch_timeout_seconds):
                answer = await self.upstreams.exchange(service, "GET", "/openapi.json", {}, idempotent=True)
        except (TimeoutError, UpstreamUnavailable, UpstreamTimeout) as exc:
            log.warning("service API document unavailable", extra={"service": service, "reason": str(exc)})
            return None
        if answer.status != 200:
            log.warning("service API document unavailable", extra={"service": service, "status": answer.status})
            return None
        document: Document = orjson.loads(answer.content)
        return document

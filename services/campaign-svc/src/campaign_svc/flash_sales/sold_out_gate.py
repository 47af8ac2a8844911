"""Attempts on a flash sale this process has just seen sold out, refused before routing.

Thousands of attempts arrive after the last unit is gone; each would otherwise go through routing,
dependency injection and the sale's reads only to be refused. Here such an attempt costs its share of
one claim of the keys refused together (`idempotency.Refusals`), rolled back: an earlier request with
the key still gets its own response replayed, a key used for another request is still refused, and
anything this gate does not fully understand (another path, no or bad identity, no key, a malformed
body) goes on to the app unchanged.
"""

import re
import uuid
from typing import Any

import pydantic
from starlette.types import ASGIApp, Receive, Scope, Send

from campaign_svc.config import Settings
from campaign_svc.flash_sales.schemas import FlashSaleAttempt
from campaign_svc.flash_sales.service import SOLD_OUT, sold_out
from qunyun_shared import idempotency, identity, problems
from qunyun_shared.asgi import buffered_body
from qunyun_shared.runtime import ServiceRuntime

ROUTE = "/campaigns/{campaign_id}/flash-sale/orders"
_PATH = re.compile(r"/campaigns/([0-9a-fA-F-]{36})/flash-sale/orders")


class _Route:
    """What the metrics middleware reads of a matched route: the path template."""

    path = ROUTE


class SoldOutGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = await self._refusal(scope, receive) if scope["type"] == "http" else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        response, replay = refused
        if response is None:
            await self.app(scope, replay, send)
            return
        scope["route"] = _Route
        await response(scope, replay, send)

    async def _refusal(self, scope: Scope, receive: Receive) -> tuple[Any, Receive] | None:
        """None if the request is not an attempt on a sale seen sold out; else the response (None to let
        the app answer after all) and a `receive` that gives the body again."""
        match = _PATH.fullmatch(scope["path"])
        if scope["method"] != "POST" or match is None:
            return None
        try:
            campaign_id = uuid.UUID(match[1])
        except ValueError:
            return None
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        runtime: ServiceRuntime[Settings] = scope["app"].state.runtime
        try:
            caller = runtime.identities.verify(headers.get(identity.IDENTITY_HEADER.lower(), ""))
        except identity.InvalidIdentity:
            return None
        key = headers.get(idempotency.HEADER.lower(), "").strip()
        if not SOLD_OUT.sold_out(campaign_id, caller.tenant_id) or not key or len(key) > idempotency.MAX_KEY_LENGTH:
            return None
        body, replay = await buffered_body(receive)
        try:
            attempt = FlashSaleAttempt.model_validate_json(body)
        except pydantic.ValidationError:
            return None, replay
        refusals: idempotency.Refusals = scope["app"].state.refusals
        try:
            response = await refusals.refuse(
                tenant_id=caller.tenant_id,
                key=key,
                fingerprint=idempotency.fingerprint(f"POST {scope['path']}", attempt),
                refusal=sold_out(campaign_id, 0),
            )
        except problems.DomainError as exc:
            response = problems.problem_of(exc, instance=scope["path"])
        return response, replay

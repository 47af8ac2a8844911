"""Writes that move money run once per `Idempotency-Key`, answered by their first response ever after."""

from collections.abc import Awaitable, Callable

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from campaign_svc.models import IDEMPOTENCY_KEYS
from qunyun_shared import idempotency
from qunyun_shared.identity import Identity


async def once(
    request: Request,
    session: AsyncSession,
    caller: Identity,
    key: str,
    body: BaseModel | None,
    perform: Callable[[], Awaitable[BaseModel]],
) -> Response:
    """Runs a money write once per key, answering repeats with its first response."""
    return await idempotency.request_once(
        request, session, IDEMPOTENCY_KEYS, tenant_id=caller.tenant_id, key=key, body=body, perform=perform
    )

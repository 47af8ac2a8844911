"""FastAPI dependencies every service uses: the request's transaction and the caller's identity."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from qunyun_shared import collection, identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import Unauthorized
from qunyun_shared.runtime import ServiceRuntime


# Dependencies are `async def` even when they await nothing: FastAPI runs plain functions in a thread
# pool, a hop that costs more than the work itself on the request path.
async def get_runtime(request: Request) -> ServiceRuntime[Any]:
    runtime: ServiceRuntime[Any] = request.app.state.runtime
    return runtime


# A service whose routes read its own settings declares `Annotated[ServiceRuntime[Settings], Depends(get_runtime)]`.
Runtime = Annotated[ServiceRuntime[Any], Depends(get_runtime)]


async def transaction(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent: state and outbox rows
    commit together, and a client never sees success for a write that did not commit."""
    async with runtime.sessionmaker() as session:
        async with session.begin():
            yield session
        if session.info.get("outbox_written"):
            runtime.outbox.committed()


DbSession = Annotated[AsyncSession, Depends(transaction, scope="function")]


async def _collection_held_back() -> AsyncIterator[None]:
    with collection.held_back():
        yield


# For a route taking a batch of rows (a history import's thousand): no cycle collection while it is handled.
COLLECTION_HELD_BACK = Depends(_collection_held_back)


async def get_outbox(runtime: Runtime) -> Outbox:
    return runtime.outbox


EventOutbox = Annotated[Outbox, Depends(get_outbox)]


async def current_identity(request: Request, runtime: Runtime) -> identity.Identity:
    """The caller as signed by the gateway; anything else is refused."""
    token = request.headers.get(identity.IDENTITY_HEADER)
    if not token:
        raise Unauthorized("Missing internal identity: call this service through the gateway.")
    try:
        return runtime.identities.verify(token)
    except identity.InvalidIdentity as exc:
        raise Unauthorized(f"Invalid internal identity: {exc}") from None


CurrentIdentity = Annotated[identity.Identity, Depends(current_identity)]

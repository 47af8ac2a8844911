"""Every state-changing route takes an `Idempotency-Key`: a route class runs such a route once per key and
answers a repeat with the first answer (status and body), remembered in the route's own transaction.

A router opts in once (`APIRouter(route_class=service_route)`, with `service_route = route_class(KEYS)`);
each of its POST, PUT, PATCH and DELETE routes then declares the header and, when a request sends one,
claims the key in the request's transaction before the route runs (`idempotency.once`). A POST that
changes nothing (a query sent as a body) is marked `@read_only` and left as it is.
"""

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

import orjson
from fastapi import Depends, Request, Response
from fastapi.dependencies.utils import get_typed_return_annotation, get_typed_signature
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from qunyun_shared import idempotency
from qunyun_shared.dependencies import CurrentIdentity, DbSession

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The parameter the wrapper adds to a route; no route names one of its own so.
_PARAMETER = "idempotent_write"
_READ_ONLY = "__qunyun_read_only__"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def read_only(endpoint: Endpoint) -> Endpoint:
    """Marks a POST that changes nothing (a query sent as a body): retried without a key, its answer not kept."""
    setattr(endpoint, _READ_ONLY, True)
    return endpoint


async def caller_tenant(caller: CurrentIdentity) -> str:
    """Keys are the caller's tenant's: one tenant never sees another's answers."""
    return caller.tenant_id


TenantOf = Callable[..., Awaitable[str]]


@dataclass(frozen=True)
class _Write:
    """A request sent with a key: where its answer is remembered, and what makes it this request."""

    request: Request
    sub_response: Response  # where a route may have set its status
    session: AsyncSession
    tenant_id: str
    key: str

    async def fingerprint(self, body: object) -> str:
        """The method, path and query, and the body: parsed if the route parses it, else its bytes."""
        query = self.request.url.query
        operation = f"{self.request.method} {self.request.url.path}" + (f"?{query}" if query else "")
        parsed = body if isinstance(body, BaseModel) else await self.request.body()
        return idempotency.fingerprint(operation, parsed)


def _write_dependency(tenant_of: TenantOf) -> Callable[..., Awaitable[_Write | None]]:
    async def write(
        request: Request,
        sub_response: Response,
        key: idempotency.OptionalIdempotencyKey,
        session: DbSession,
        tenant_id: Annotated[str, Depends(tenant_of)],
    ) -> _Write | None:
        return _Write(request, sub_response, session, tenant_id, key) if key is not None else None

    return write


class IdempotentRoute(APIRoute):
    """A route whose writes run once per `Idempotency-Key` (see `route_class`)."""

    keys: ClassVar[Table]
    sealed: ClassVar[bool]
    write: ClassVar[Callable[..., Awaitable[_Write | None]]]

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        methods = {method.upper() for method in options.get("methods") or ()}
        if methods & WRITE_METHODS and not getattr(endpoint, _READ_ONLY, False):
            endpoint = self._once_per_key(endpoint)
        super().__init__(path, endpoint, **options)

    def _once_per_key(self, endpoint: Callable[..., Any]) -> Callable[..., Any]:
        """`endpoint` with one more parameter, the request's key, run once per key when there is one."""
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"{endpoint.__name__}: an idempotent write must be `async def`")
        route, keys, sealed = self, type(self).keys, type(self).sealed

        @functools.wraps(endpoint)
        async def once_per_key(**values: Any) -> Any:
            write: _Write | None = values.pop(_PARAMETER)
            if write is None:
                return await endpoint(**values)

            async def perform() -> idempotency.Answer:
                return await route._answer(await endpoint(**values), write.sub_response)

            bodies = [values[field.name] for field in route.dependant.body_params]
            response = await idempotency.once(
                write.session,
                keys,
                tenant_id=write.tenant_id,
                key=write.key,
                fingerprint=await write.fingerprint(bodies[0] if len(bodies) == 1 else None),
                perform=perform,
                sealed=sealed,
            )
            response.headers.raw.extend(write.sub_response.headers.raw)
            return response

        signature = get_typed_signature(endpoint)
        added = inspect.Parameter(
            _PARAMETER,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[_Write | None, Depends(type(self).write, scope="function")],
        )
        once_per_key.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), added],
            return_annotation=get_typed_return_annotation(endpoint) or inspect.Signature.empty,
        )
        return once_per_key

    async def _answer(self, result: Any, sub_response: Response) -> idempotency.Answer:
        """What the client is answered, as FastAPI would serialise it."""
        if isinstance(result, Response):
            body = bytes(result.body)
            return idempotency.Answer(result.status_code, orjson.loads(body) if body else None)
        status = sub_response.status_code or self.status_code or 200
        if not is_body_allowed_for_status_code(status):
            return idempotency.Answer(status, None)
        content = await serialize_response(
            field=self.response_field,
            response_content=result,
            include=self.response_model_include,
            exclude=self.response_model_exclude,
            by_alias=self.response_model_by_alias,
            exclude_unset=self.response_model_exclude_unset,
            exclude_defaults=self.response_model_exclude_defaults,
            exclude_none=self.response_model_exclude_none,
        )
        return idempotency.Answer(status, content)


def route_class(keys: Table, *, tenant: TenantOf = caller_tenant, sealed: bool = False) -> type[APIRoute]:
    """The route class of a service's routers: writes remembered in `keys`, per tenant as `tenant` says,
    sealed if their answers hold secrets (`idempotency.once`)."""
    attributes = {"keys": keys, "sealed": sealed, "write": staticmethod(_write_dependency(tenant))}
    return type("IdempotentRoute", (IdempotentRoute,), attributes)

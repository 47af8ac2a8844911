"""The machinery of the aggregated views: every section fetched at once from its service as the caller,
within one deadline; a section that fails or is late is marked unavailable and one the caller may not
see is marked forbidden, rather than failing the page."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, Literal, TypeVar

from prometheus_client import Counter
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from gateway_svc.access import allows
from gateway_svc.proxy.forwarding import UpstreamRouter
from gateway_svc.proxy.resources import resource_of
from qunyun_shared.identity import Identity
from qunyun_shared.problems import NotFound

T = TypeVar("T")

log = logging.getLogger(__name__)

SECTIONS_SERVED = Counter(
    "qunyun_gateway_view_sections_total", "Sections of the aggregated views served, by outcome.", ["section", "status"]
)
_MAX_DETAIL = 200


class Section(BaseModel, Generic[T]):
    """One part of a view: its data when `ok`; otherwise none, and why."""

    status: Literal["ok", "unavailable", "forbidden"] = Field(
        description="`unavailable`: its service failed or did not answer in time; "
        "`forbidden`: the credential lacks the permission the section needs."
    )
    data: T | None = None
    reason: str | None = Field(default=None, examples=["analytics-svc did not answer within 1.5 s."])


class SectionUnavailable(Exception):
    """A section's service failed, answered something other than what was asked for, or was too late."""


class ViewSource:
    """The services as one caller sees them, for one view: each answer awaited until the view's deadline,
    `deadline` seconds after the view began."""

    def __init__(self, upstreams: UpstreamRouter, caller: Identity, *, deadline: float) -> None:
        self.upstreams = upstreams
        self.caller = caller
        self.deadline = deadline
        self._deadline_at = asyncio.get_running_loop().time() + deadline

    async def get(
        self,
        path: str,
        answer: TypeAdapter[T],
        params: Sequence[tuple[str, str]] = (),
        *,
        missing: NotFound | None = None,
        unknown: T | None = None,
    ) -> T:
        """The answer to GET /api/v1/`path`, as `answer`; a 404 raises `missing` when it is given, or answers
        `unknown` (a service that has not heard of the subject yet has nothing on it)."""
        service = _service_of(path)
        try:
            async with asyncio.timeout_at(self._deadline_at):
                status, body = await self.upstreams.fetch(path, self.caller, params)
        except TimeoutError:
            raise SectionUnavailable(f"{service} did not answer within {self.deadline:g} s.") from None
        except ValueError:
            raise SectionUnavailable(f"{service} answered with something other than JSON.") from None
        if status == 404 and missing is not None:
            raise missing
        if status == 404 and unknown is not None:
            return unknown
        if status != 200:
            raise SectionUnavailable(f"{service} answered {status}{_detail_of(body)}")
        try:
            return answer.validate_python(body)
        except ValidationError:
            raise SectionUnavailable(f"{service} answered in a shape this view does not know.") from None

    async def section(self, name: str, permission: str, load: Callable[[], Awaitable[T]]) -> Section[T]:
        """The section `load` gives, for a caller holding `permission`."""
        if not allows(self.caller, permission):
            return _served(name, _forbidden(permission))
        return _served(name, await _attempt(name, load))

    async def subject(self, name: str, permission: str, load: Callable[[], Awaitable[T]]) -> Section[T]:
        """The view's subject: loaded even for a caller who may not see it, because a subject that does not
        exist (`load` raising NotFound) makes the whole view a 404."""
        found = await _attempt(name, load)
        return _served(name, found if allows(self.caller, permission) else _forbidden(permission))


@asynccontextmanager
async def concurrently() -> AsyncIterator[asyncio.TaskGroup]:
    """A task group for a view's sections: the first error (a missing subject) cancels the rest and is raised
    as itself, so that it reaches the problem+json handlers."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def _attempt(name: str, load: Callable[[], Awaitable[T]]) -> Section[T]:
    try:
        return Section(status="ok", data=await load())
    except SectionUnavailable as exc:
        log.warning("view section unavailable", extra={"section": name, "reason": str(exc)})
        return Section(status="unavailable", reason=str(exc))


def _forbidden(permission: str) -> Section[Any]:
    return Section(status="forbidden", reason=f"This needs the {permission} permission.")


def _served(name: str, section: Section[T]) -> Section[T]:
    SECTIONS_SERVED.labels(name, section.status).inc()
    return section


def _service_of(path: str) -> str:
    resource = resource_of(path)
    return f"{resource.service}-svc" if resource else "the service"


def _detail_of(body: Any) -> str:
    """The problem's detail, if the body is a problem document, shortened."""
    detail = body.get("detail") if isinstance(body, dict) else None
    return f": {str(detail)[:_MAX_DETAIL]}" if detail else "."

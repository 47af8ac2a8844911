"""Errors as `application/problem+json` (RFC 9457): domain errors, validation and HTTP errors alike."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from qunyun_shared.failures import describe, is_infrastructure_failure

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://qunyun.dev/problems/"

log = logging.getLogger(__name__)


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class DomainError(Exception):
    """Base of every error a service raises on purpose; subclasses name what went wrong."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Resource not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed"


class InvalidInput(DomainError):
    status, slug, title = 422, "invalid-input", "Invalid input"


class UpstreamUnavailable(DomainError):
    status, slug, title = 503, "upstream-unavailable", "A service behind this one is unavailable"


def problem(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    """Builds one problem+json response."""
    body = {"type": _TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Turns pydantic's errors into `{"field": "body.name", "message": ...}` items."""
    return [
        {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"], "code": error["type"]}
        for error in errors
    ]


def problem_of(exc: DomainError, instance: str | None = None) -> ProblemResponse:
    """The problem+json response of a domain error."""
    return problem(
        status=exc.status, slug=exc.slug, title=exc.title, detail=exc.detail, instance=instance, **exc.extensions
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem_of(exc, instance=request.url.path)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem(
        status=422,
        slug="invalid-input",
        title="Invalid input",
        detail="The request does not match the schema.",
        instance=request.url.path,
        errors=field_errors(exc.errors()),
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    slug = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(exc.status_code, "http-error")
    return problem(
        status=exc.status_code,
        slug=slug,
        title=str(exc.detail),
        detail=str(exc.detail),
        instance=request.url.path,
        headers=exc.headers,
    )


RETRY_AFTER_SECONDS = 1  # after a dependency failed a request: a busy database's turn comes within moments


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    if is_infrastructure_failure(exc):
        # The database (busy, locked, away), the network or Kafka failed, not the request: the same request
        # may well succeed in a moment, and a client or the gateway may retry it then.
        log.warning("dependency failed a request", extra={"path": request.url.path, "error": describe(exc)})
        return problem(
            status=503,
            slug="temporarily-unavailable",
            title="Temporarily unavailable",
            detail="A resource this service needs (its database, the network) is busy or unreachable; try again shortly.",
            instance=request.url.path,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return problem(
        status=500,
        slug="internal-error",
        title="Internal error",
        detail="The request failed unexpectedly; the error is logged under this request's correlation id.",
        instance=request.url.path,
    )


def install(app: FastAPI) -> None:
    """Makes every error the app returns a problem+json document."""
    app.add_exception_handler(Exception, _unexpected_error)
    # Answered where they are raised, rather than by the last resort, which raises them again to the server.
    for failure in (sqlalchemy.exc.SQLAlchemyError, TimeoutError, OSError):
        app.add_exception_handler(failure, _unexpected_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

"""Settings refuse weak secrets; errors render as RFC 9457 problem documents."""

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from qunyun_shared import problems
from qunyun_shared.settings import ServiceSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("secret", ["changeme", "short", "dev"])
def test_weak_internal_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(database_url="sqlite+aiosqlite://", internal_token_secret=secret)


def test_secrets_have_no_default() -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(database_url="sqlite+aiosqlite://")


class Thing(BaseModel):
    name: str
    size: int


class ThingMissing(problems.NotFound):
    slug = "thing-not-found"


def app() -> FastAPI:
    application = FastAPI()
    problems.install(application)

    @application.post("/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @application.get("/things/{name}")
    async def read(name: str) -> None:
        raise ThingMissing(f"No thing {name}.", name=name)

    return application


async def problem(method: str, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_domain_errors_become_problems_with_their_extensions() -> None:
    response = await problem("GET", "/things/x")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://qunyun.dev/problems/thing-not-found",
        "title": "Resource not found",
        "status": 404,
        "detail": "No thing x.",
        "instance": "/things/x",
        "name": "x",
    }


async def test_validation_errors_name_each_field() -> None:
    response = await problem("POST", "/things", json={"size": "big"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"body.name", "body.size"}


async def test_unknown_routes_are_problems_too() -> None:
    response = await problem("GET", "/nothing/here/at/all")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"

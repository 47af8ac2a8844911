"""Every operation's document lists the problems it can answer, as problem+json; text no column can hold is
refused as invalid input before it reaches a route."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from qunyun_shared import problem_responses, problems
from qunyun_shared.storable_text import MAX_JSON_BYTES, StorableTextOnly

pytestmark = pytest.mark.unit


class Thing(BaseModel):
    name: str


@problem_responses.answers(400)
async def needs_a_header() -> None:
    """A dependency that may refuse a request without a header."""


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    router = APIRouter(prefix="/things")

    @router.get("")
    async def list_things() -> list[Thing]:
        return []

    @router.get("/{thing_id}")
    async def get_thing(thing_id: str) -> Thing:
        return Thing(name=thing_id)

    @router.post("", status_code=201, dependencies=[Depends(needs_a_header)])
    async def add_thing(thing: Thing) -> Thing:
        return thing

    @router.get("/by-owner/", responses=problem_responses.of(409, s409="The owner is archived."))
    async def by_owner(owner_id: str, size: Annotated[int, Depends(lambda: 1)]) -> list[Thing]:
        return []

    app.include_router(router)
    problem_responses.document(app)
    app.add_middleware(StorableTextOnly)
    return app


def _responses(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    responses: dict[str, Any] = document["paths"][path][method]["responses"]
    return responses


def test_each_operation_lists_the_problems_it_can_answer() -> None:
    document = _app().openapi()
    assert set(_responses(document, "/things", "get")) == {"200"}
    assert set(_responses(document, "/things/{thing_id}", "get")) == {"200", "404", "422"}
    assert set(_responses(document, "/things", "post")) == {"201", "400", "404", "409", "422"}
    by_owner = _responses(document, "/things/by-owner/", "get")
    assert set(by_owner) == {"200", "404", "409", "422"}
    assert by_owner["409"]["description"] == "The owner is archived."


def test_problems_are_problem_json_with_one_schema_and_fastapis_validation_error_is_gone() -> None:
    document = _app().openapi()
    for status, response in _responses(document, "/things", "post").items():
        if status.startswith("4"):
            assert response["content"] == {
                problems.PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
    schemas = document["components"]["schemas"]
    assert "Problem" in schemas and "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert _app().openapi() == document  # built once, the same every time


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/things", '{"name": "a\\u0000b"}'),
        ("POST", "/things", '{"name": "lone \\ud800 surrogate"}'),
        ("GET", "/things/a%00b", None),
        ("GET", "/things/by-owner/?owner_id=a%00b", None),
    ],
)
async def test_text_no_column_can_hold_is_invalid_input(method: str, url: str, body: str | None) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.request(method, url, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == problems.PROBLEM_MEDIA_TYPE


async def test_storable_text_passes_untouched() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/things", json={"name": "群运 \\u0000 as text, 😀"})
    assert answer.status_code == 201 and answer.json() == {"name": "群运 \\u0000 as text, 😀"}


async def test_a_json_body_past_the_limit_is_refused_before_it_is_read_whole() -> None:
    """The text check holds a JSON body in memory, so it stops reading at the limit: 413, route never run."""
    received: list[int] = []

    async def chunks_without_end() -> AsyncIterator[bytes]:
        for _ in range(MAX_JSON_BYTES // 1024 + 100):
            received.append(1)
            yield b'{"name": "' + b"x" * 1024
        raise AssertionError("the whole body was read")

    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post(
            "/things", content=chunks_without_end(), headers={"content-type": "application/json"}
        )
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == problems.PROBLEM_MEDIA_TYPE
    assert len(received) <= MAX_JSON_BYTES // 1024 + 2

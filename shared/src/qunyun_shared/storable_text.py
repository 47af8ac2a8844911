"""Refuses, as invalid input (422), text no database column can hold: NUL characters (PostgreSQL's text
refuses them) and lone UTF-16 surrogates (not encodable as UTF-8), in the path, the query or a JSON body;
and a JSON body that is not UTF-8 at all, like any other body that is not JSON.
Left alone they would fail the statement that stores them, a server error for what is the client's mistake."""

import json
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from qunyun_shared.asgi import BodyTooLarge, buffered_body
from qunyun_shared.problems import problem

# A JSON body is read whole to be checked, so it is held to what the gateway forwards (its default
# MAX_BODY_BYTES); reading stops there, before an unauthenticated client's body fills the memory.
MAX_JSON_BYTES = 1024 * 1024

# Only bodies holding one of these escapes (any NUL or surrogate in JSON is written as one) are decoded.
_SUSPECT_ESCAPES = (b"\\u0000", b"\\ud8", b"\\ud9", b"\\uda", b"\\udb", b"\\udc", b"\\udd", b"\\ude", b"\\udf")


class StorableTextOnly:
    """ASGI middleware: 422 `invalid-input` for a request carrying text that cannot be stored."""

    def __init__(self, app: ASGIApp, max_json_bytes: int = MAX_JSON_BYTES) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _unstorable_in_address(scope)
        if where is None and _is_json(scope):
            try:
                body, receive = await buffered_body(receive, limit=self.max_json_bytes)
            except BodyTooLarge as exc:
                too_large = problem(
                    status=413,
                    slug="payload-too-large",
                    title="Payload too large",
                    detail=str(exc),
                    instance=scope["path"],
                )
                await too_large(scope, receive, send)
                return
            where = _unstorable_in_body(body)
        if where is None:
            await self.app(scope, receive, send)
            return
        refusal = problem(
            status=422,
            slug="invalid-input",
            title="Invalid input",
            detail="The request holds text that cannot be stored (a NUL character, a lone surrogate, not UTF-8).",
            instance=scope["path"],
            errors=[{"field": where, "message": "unstorable character", "code": "string_unstorable"}],
        )
        await refusal(scope, receive, send)


def _unstorable_in_address(scope: Scope) -> str | None:
    if not storable(scope["path"]):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or not storable(unquote(query.decode("latin-1"), errors="surrogatepass")):
        return "query"
    return None


def _unstorable_in_body(body: bytes) -> str | None:
    try:
        body.decode("utf-8")  # JSON's only encoding: FastAPI would answer 400 "error parsing the body"
    except UnicodeDecodeError:
        return "body"
    lowered = body.lower()
    if not any(escape in lowered for escape in _SUSPECT_ESCAPES):
        return None
    try:
        document = json.loads(body)  # as FastAPI decodes it: lone surrogates pass (orjson would refuse them)
    except ValueError:
        return None  # FastAPI refuses it itself
    return None if _storable_all(document) else "body"


def _storable_all(node: Any) -> bool:
    if isinstance(node, str):
        return storable(node)
    if isinstance(node, dict):
        return all(storable(key) and _storable_all(value) for key, value in node.items())
    if isinstance(node, list):
        return all(_storable_all(item) for item in node)
    return True


def storable(text: str) -> bool:
    """Whether `text` can be stored in a text column: no NUL, and encodable as UTF-8."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value.lower()
    return False

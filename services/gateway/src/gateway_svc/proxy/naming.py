"""Members named by the merchant's own id: a write that takes a `member_id` in its body may give the
merchant's `merchant_member_id` instead, and the gateway looks the member up in member-svc before forwarding.

A shop system pushing a live order, a check-in or a join knows its own customer ids, not ours; history
imports already name members that way (imports.feeding), and a push should not need a look-up first. The
services take member ids only: the gateway is where a merchant's ids meet the platform's.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from qunyun_shared.problems import InvalidInput

RESOLVE_PATH = "members/resolve"
LOOKUP_PERMISSION = "members:read"
FIELD = "merchant_member_id"
# What member-svc takes as a merchant member id (its MerchantMemberId): one it would refuse fails its look-up.
MAX_LENGTH = 64
_CONTROL = re.compile(r"[\x00-\x1f]")
# The member resource holds members' own records, where the merchant id is a field of the member.
_OWN_RECORDS = "members"
_WRITES = frozenset({"POST", "PUT", "PATCH"})
_MARK = b'"' + FIELD.encode() + b'"'


@dataclass(frozen=True, slots=True)
class Resolution:
    """What member-svc's look-up answered: member ids by merchant id, and the merchant ids of erased members."""

    members: dict[str, str]
    erased: frozenset[str]

    @classmethod
    def of(cls, content: bytes) -> "Resolution":
        """Reads member-svc's answer; raises ValueError for anything else."""
        try:
            answer = orjson.loads(content)
            members, erased = answer["members"], answer.get("erased", [])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError("not a look-up of members") from exc
        if not isinstance(members, dict) or not isinstance(erased, list):
            raise ValueError("not a look-up of members")
        return cls({str(key): str(value) for key, value in members.items()}, frozenset(str(e) for e in erased))

    def problem(self, merchant_id: str) -> str | None:
        """Why the merchant id names no member, if it does not."""
        return None if merchant_id in self.members else self.missing(merchant_id)

    def missing(self, merchant_id: str) -> str:
        """Why a merchant id that names no member does not."""
        if merchant_id in self.erased:
            return f"the member with this merchant_member_id ({merchant_id}) was erased"
        return f"no member of this tenant has this merchant_member_id ({merchant_id})"


Lookup = Callable[[list[str]], Awaitable[Resolution]]


def malformed(merchant_id: object) -> str | None:
    """Why a value cannot be a merchant member id, if it cannot."""
    if not isinstance(merchant_id, str) or not 1 <= len(merchant_id) <= MAX_LENGTH or _CONTROL.search(merchant_id):
        return f"is a string of 1 to {MAX_LENGTH} characters, none of them a control character"
    return None


def names_a_member(path: str, method: str, body: bytes) -> bool:
    """Whether the request may name its member by the merchant's id (a cheap test: most bodies do not)."""
    return method in _WRITES and _MARK in body and _takes_member_ids(path)


async def with_member_id(*, body: bytes, lookup: Lookup) -> bytes:
    """The body with its `merchant_member_id` replaced by the member's `member_id`; a body that is not a
    JSON object naming one goes on as it is, for the service to judge. A null in either field is no value."""
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(document, dict) or FIELD not in document:
        return body
    merchant_id = document.pop(FIELD)
    if merchant_id is None:
        return orjson.dumps(document)
    if document.get("member_id") is not None:
        raise _refused(f"Give member_id or {FIELD}, not both.")
    if (problem := malformed(merchant_id)) is not None:
        raise _refused(f"{FIELD} {problem}.")
    resolution = await lookup([merchant_id])
    if (problem := resolution.problem(merchant_id)) is not None:
        raise _refused(problem[0].upper() + problem[1:] + ".")
    document["member_id"] = resolution.members[merchant_id]
    return orjson.dumps(document)


def _takes_member_ids(path: str) -> bool:
    return path.lstrip("/").split("/", 1)[0] != _OWN_RECORDS


def _refused(message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": f"body.{FIELD}", "message": message, "code": "member_not_named"}])


def document(operation: dict[str, Any], schemas: dict[str, Any], path: str) -> None:
    """Shows on an operation's request schema that its member may be named by the merchant's id instead."""
    if not _takes_member_ids(path):
        return
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    schema = schemas.get(str(body.get("$ref", "")).rsplit("/", 1)[-1])
    if schema is None or "member_id" not in schema.get("properties", {}):
        return
    schema["properties"].setdefault(
        FIELD,
        {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_LENGTH,
            "title": "Merchant Member Id",
            "description": "Instead of member_id: the merchant's own id of the member, looked up by the gateway.",
        },
    )
    if "member_id" in schema.get("required", []):
        schema["required"] = [name for name in schema["required"] if name != "member_id"]
        schema["description"] = (
            schema.get("description", "") + f"\n\nName the member by `member_id` or by `{FIELD}`."
        ).strip()

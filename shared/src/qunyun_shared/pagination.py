"""Opaque cursors for keyset pagination: the sort key of the last row returned, never an offset."""

import base64
import binascii
import uuid
from datetime import datetime

from qunyun_shared.problems import InvalidInput

_SEPARATOR = "\x1f"


def encode_cursor(*parts: object) -> str:
    """A URL-safe token holding the sort key of the last row of a page."""
    raw = _SEPARATOR.join(str(part) for part in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, parts: int) -> list[str]:
    """The sort key a cursor holds; a cursor not made by `encode_cursor` is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("Malformed cursor.", field="cursor") from None
    values = raw.split(_SEPARATOR)
    if len(values) != parts:
        raise InvalidInput("Malformed cursor.", field="cursor")
    return values


def encode_time_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The cursor of a page ordered by a time, ties broken by id."""
    return encode_cursor(at.isoformat(), row_id)


def decode_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (time, id) an `encode_time_cursor` cursor holds; anything else is a 422."""
    at, row_id = decode_cursor(cursor, parts=2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except ValueError:
        raise InvalidInput("Malformed cursor.", field="cursor") from None

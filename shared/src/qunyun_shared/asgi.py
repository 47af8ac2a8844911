"""ASGI plumbing the platform's middleware share."""

from starlette.types import Message, Receive


class BodyTooLarge(Exception):
    """The request body passed the limit; reading stopped there."""


async def buffered_body(receive: Receive, *, limit: int | None = None) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands it on to the app as one message; past `limit`
    bytes BodyTooLarge, as soon as it is passed rather than after holding all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if limit is not None and size > limit:
            raise BodyTooLarge(f"The body exceeds {limit} bytes.")
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay

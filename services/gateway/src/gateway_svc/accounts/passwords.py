"""Operator passwords, kept only as argon2id hashes, hashed a bounded number at a time."""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway_svc.exceptions import PasswordHashingBusy

T = TypeVar("T")

# argon2-cffi's defaults follow RFC 9106's second recommendation (64 MiB, 3 passes): tens of
# milliseconds, so hashing runs in a thread to keep the event loop answering other requests.
_HASHER = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DECOY = _HASHER.hash("decoy password that no account has")


class HashingSlots:
    """At most `concurrency` hashes at once (each takes a core and 64 MiB) and `queue` more waiting;
    past that a hash is refused at once rather than queued without bound behind a flood of sign-ins."""

    def __init__(self, *, concurrency: int, queue: int) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self._slots = asyncio.Semaphore(concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting = 0
        self._threads = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")

    async def run(self, hash_function: Callable[..., T], *args: str) -> T:
        """`hash_function(*args)` in a slot's thread, once one is free; PasswordHashingBusy if none
        will be soon."""
        if self._loop is not asyncio.get_running_loop():  # a semaphore serves one event loop
            self._loop, self._slots = asyncio.get_running_loop(), asyncio.Semaphore(self.concurrency)
        if self._slots.locked() and self._waiting >= self.queue:
            raise PasswordHashingBusy("Too many sign-ins are being checked at once: retry in a second.")
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        # The slot is freed when the hash is done, not when its caller goes away: a client that
        # disconnects mid-hash must not let another hash start beside the one still running.
        work = asyncio.get_running_loop().run_in_executor(self._threads, hash_function, *args)
        work.add_done_callback(lambda _: self._slots.release())
        return await asyncio.shield(work)


# One per process: the cores and memory it guards are the process's. Sized from settings at start.
_slots = HashingSlots(concurrency=2, queue=16)


def limit_hashing(*, concurrency: int, queue: int) -> None:
    """Sets how many hashes run at once and how many more may wait (the gateway's lifespan calls it)."""
    global _slots
    _slots._threads.shutdown(wait=False)
    _slots = HashingSlots(concurrency=concurrency, queue=queue)


async def hash_password(*, password: str) -> str:
    """The argon2id hash of `password`, computed in a hashing slot."""
    return await _slots.run(_HASHER.hash, password)


async def verify_password(*, password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; an absent hash is checked against a decoy to take the same time."""
    return await _slots.run(_verify, password_hash or _DECOY, password) and password_hash is not None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's: rehashed at the next sign-in."""
    return _HASHER.check_needs_rehash(password_hash)

"""Operator passwords, kept only as argon2id hashes."""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults follow RFC 9106's second recommendation (64 MiB, 3 passes): tens of
# milliseconds, so hashing runs in a thread to keep the event loop answering other requests.
_HASHER = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DECOY = _HASHER.hash("decoy password that no account has")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; an absent hash is checked against a decoy to take the same time."""
    try:
        return await asyncio.to_thread(_HASHER.verify, password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's: rehashed at the next sign-in."""
    return _HASHER.check_needs_rehash(password_hash)

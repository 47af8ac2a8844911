"""PostgreSQL advisory locks held until the transaction ends, keyed by names: they lock what has no row
(yet), such as a member a service has not seen or one being erased. SQLite, whose single writer already runs
transactions one at a time, takes none."""

import hashlib
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.ext.asyncio import AsyncSession

_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(key) FROM unnest(:keys) AS key").bindparams(
    bindparam("keys", type_=ARRAY(BIGINT))
)
_SHARED = text("SELECT pg_advisory_xact_lock_shared(key) FROM unnest(:keys) AS key").bindparams(
    bindparam("keys", type_=ARRAY(BIGINT))
)


def lock_key(*names: str) -> int:
    """A lock's 64-bit key, from names stable across processes (Python's hash() is not)."""
    digest = hashlib.blake2b("\x1f".join(names).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def hold(session: AsyncSession, keys: Iterable[int], *, shared: bool = False) -> None:
    """Waits for, then holds, the locks of `keys`, taken in key order so that two transactions wanting some
    of the same cannot each wait for the other; `shared` ones exclude only exclusive holders."""
    ordered = sorted(set(keys))
    if ordered and (await session.connection()).dialect.name == "postgresql":
        # unnest yields the keys in the array's order, and each row's lock is taken as it is produced.
        await session.execute(_SHARED if shared else _EXCLUSIVE, {"keys": ordered})

"""Bulk writes of imported members and their tags, a chunk of an import at a time.

On PostgreSQL each chunk is one statement whose parameters are column arrays, unnested by the server and
encoded in binary by the driver. As an executemany, SQLAlchemy processed every bind of every row in Python:
a third of the import worker's own CPU. Other databases (SQLite in unit tests) get the executemany.
"""

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, LargeBinary, String, Table, Uuid, bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from member_svc.members.models import Member
from member_svc.tags.models import MemberTag
from qunyun_shared.db import UtcDateTime, upsert

# The columns an import fills; the rest take their defaults.
MEMBER_FIELDS = (
    "id",
    "merchant_member_id",
    "nickname",
    "gender",
    "age_band",
    "birthday",
    "region",
    "persona_tags",
    "active_hours",
    "phone_encrypted",
    "phone_hash",
)
_JSON_FIELDS = ("persona_tags", "active_hours")
_ARRAY_TYPES: dict[str, TypeEngine[Any]] = {"id": Uuid(), "phone_encrypted": LargeBinary(), "phone_hash": LargeBinary()}

_MEMBERS_FROM_ARRAYS = text(
    """
    INSERT INTO members (id, tenant_id, merchant_member_id, nickname, gender, age_band, birthday, region,
                         persona_tags, active_hours, phone_encrypted, phone_hash, created_at)
    SELECT id, :tenant_id, merchant_member_id, nickname, gender, age_band, birthday, region, persona_tags::json,
           active_hours::json, phone_encrypted, phone_hash, :now
    FROM unnest(:id, :merchant_member_id, :nickname, :gender, :age_band, :birthday, :region, :persona_tags,
                :active_hours, :phone_encrypted, :phone_hash)
         AS imported(id, merchant_member_id, nickname, gender, age_band, birthday, region, persona_tags,
                     active_hours, phone_encrypted, phone_hash)
    ON CONFLICT DO NOTHING
    RETURNING id
    """
).bindparams(
    bindparam("tenant_id", type_=String()),
    bindparam("now", type_=UtcDateTime()),
    *(bindparam(name, type_=ARRAY(_ARRAY_TYPES.get(name, String()))) for name in MEMBER_FIELDS),
)

_TAGS_FROM_ARRAYS = text(
    """
    INSERT INTO member_tags (member_id, tag, tenant_id, kind, added_at)
    SELECT member_id, tag, :tenant_id, :kind, :now FROM unnest(:member_ids, :tags) AS tagged(member_id, tag)
    """
).bindparams(
    bindparam("tenant_id", type_=String()),
    bindparam("kind", type_=String()),
    bindparam("now", type_=UtcDateTime()),
    bindparam("member_ids", type_=ARRAY(Uuid())),
    bindparam("tags", type_=ARRAY(String())),
)


async def insert_members(
    *, session: AsyncSession, tenant_id: str, members: Sequence[dict[str, Any]], now: datetime
) -> set[uuid.UUID]:
    """Inserts new members (dicts of MEMBER_FIELDS), skipping any that would take a phone or a merchant id
    another member of the tenant has; returns the ids inserted."""
    if not members:
        return set()
    if _on_postgresql(session):
        columns = {name: [member[name] for member in members] for name in MEMBER_FIELDS}
        for name in _JSON_FIELDS:
            columns[name] = [json.dumps(value) for value in columns[name]]
        inserted = await session.scalars(_MEMBERS_FROM_ARRAYS, {"tenant_id": tenant_id, "now": now, **columns})
        return set(inserted.all())
    table = cast(Table, Member.__table__)
    rows = [
        {name: member[name] for name in MEMBER_FIELDS} | {"tenant_id": tenant_id, "created_at": now}
        for member in members
    ]
    statement = upsert(session, table).on_conflict_do_nothing().returning(table.c.id)
    return set((await session.scalars(statement, rows)).all())


async def insert_tags(
    *, session: AsyncSession, tenant_id: str, kind: str, tagged: Sequence[tuple[uuid.UUID, str]], now: datetime
) -> None:
    """Puts tags on members who do not carry them yet (members created in this transaction)."""
    if not tagged:
        return
    if _on_postgresql(session):
        arrays = {"member_ids": [member_id for member_id, _ in tagged], "tags": [tag for _, tag in tagged]}
        await session.execute(_TAGS_FROM_ARRAYS, {"tenant_id": tenant_id, "kind": kind, "now": now, **arrays})
        return
    rows = [{"member_id": m, "tag": t, "tenant_id": tenant_id, "kind": kind, "added_at": now} for m, t in tagged]
    await session.execute(insert(cast(Table, MemberTag.__table__)), rows)


def _on_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"

"""Writing the members a history batch creates: each table in one statement for the whole batch (column arrays
on PostgreSQL), and the events announcing it, every one marked imported by the outbox it is given."""

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from member_svc.communities.models import Community, Membership, MembershipRecord
from member_svc.exceptions import HistoryImportRaced
from member_svc.history.rows import NewMember
from member_svc.members.models import Member
from member_svc.members.service import announce_birthdays, phone_owner
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.tags import service as tags
from qunyun_shared.db import insert_rows, update_rows
from qunyun_shared.events import EventPayload
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox

_MEMBERS = cast(Table, Member.__table__)
_MEMBERSHIPS = cast(Table, Membership.__table__)
_RECORDS = cast(Table, MembershipRecord.__table__)
_COMMUNITIES = cast(Table, Community.__table__)


async def write(
    *,
    session: AsyncSession,
    outbox: Outbox,
    cipher: PersonalDataCipher,
    tenant_id: str,
    new: Sequence[NewMember],
    communities: dict[uuid.UUID, Community],
) -> None:
    """Inserts the new members with their memberships, records and tags, counts them into their communities
    (capacity does not apply: they are in already), and stages what a live creation and live joins would
    announce, through `outbox`."""
    if not new:
        return
    await _insert_members(session, cipher, tenant_id, new)
    await _insert_memberships(session, tenant_id, new)
    await _count_members(session, new, communities)
    await announce_birthdays(
        session=session,
        outbox=outbox,
        tenant_id=tenant_id,
        birthdays=[(n.id, n.member.birthday) for n in new if n.member.birthday is not None],
    )
    tagged = [(n.id, tag) for n in new for tag in dict.fromkeys(n.member.tags)]
    await tags.tag_new_members(session=session, outbox=outbox, tenant_id=tenant_id, tagged=tagged)
    await outbox.add(session, tenant_id=tenant_id, payloads=[event for n in new for event in _membership_events(n)])
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=tenant_id, member_ids=[n.id for n in new])


async def _insert_members(
    session: AsyncSession, cipher: PersonalDataCipher, tenant_id: str, new: Sequence[NewMember]
) -> None:
    now = datetime.now(UTC)
    rows = [_member_row(cipher, tenant_id, n, now) for n in new]
    statement, parameters = insert_rows(session, _MEMBERS, rows)
    inserted = await session.scalars(statement.on_conflict_do_nothing().returning(_MEMBERS.c.id), parameters)
    if len(inserted.all()) < len(rows):
        # Checked before, under the tenant's history lock: a live push took a phone or merchant id meanwhile.
        raise HistoryImportRaced(
            "A member was created with a phone or merchant id of this batch meanwhile: send it again."
        )


def _member_row(cipher: PersonalDataCipher, tenant_id: str, new: NewMember, now: datetime) -> dict[str, Any]:
    member = new.member
    first_join = min((j.joined_at for j in new.joined), default=None)
    return {
        "id": new.id,
        "tenant_id": tenant_id,
        "merchant_member_id": member.merchant_member_id,
        "nickname": member.nickname,
        "gender": member.gender,
        "age_band": member.age_band,
        "birthday": member.birthday,
        "region": member.region,
        "persona_tags": member.persona_tags,
        "active_hours": member.active_hours,
        "level": 0,
        "lifecycle": "prospect",
        "churn_risk": False,
        "invited_by": new.invited_by,
        "phone_encrypted": cipher.encrypt(new.phone, owner=phone_owner(tenant_id, new.id)) if new.phone else None,
        "phone_hash": new.phone_hash,
        "history_digest": new.digest,
        "created_at": member.registered_at or first_join or now,
    }


async def _insert_memberships(session: AsyncSession, tenant_id: str, new: Sequence[NewMember]) -> None:
    """The memberships that last (no `left_at`), and every join and leave among the membership records."""
    current = [
        {
            "community_id": j.community_id,
            "member_id": n.id,
            "tenant_id": tenant_id,
            "channel": j.channel,
            "inviter_id": j.inviter_id,
            "joined_at": j.joined_at,
        }
        for n in new
        for j in n.joined
        if j.left_at is None
    ]
    records = [
        {"id": uuid.uuid4(), "tenant_id": tenant_id, "community_id": j.community_id, "member_id": n.id, **done}
        for n in new
        for j in n.joined
        for done in ({"action": "joined", "at": j.joined_at}, {"action": "left", "at": j.left_at})
        if done["at"] is not None
    ]
    for table, rows in ((_MEMBERSHIPS, current), (_RECORDS, records)):
        if rows:
            statement, parameters = insert_rows(session, table, rows)
            await session.execute(statement, parameters)


async def _count_members(
    session: AsyncSession, new: Sequence[NewMember], communities: dict[uuid.UUID, Community]
) -> None:
    """Adds the members still in to their communities' counts (the rows are locked since they were read)."""
    joined = Counter(j.community_id for n in new for j in n.joined if j.left_at is None)
    counts = {community_id: communities[community_id].member_count + added for community_id, added in joined.items()}
    rows = [{"id": community_id, "member_count": count} for community_id, count in sorted(counts.items())]
    await update_rows(session, _COMMUNITIES, rows, key="id")
    for community_id, count in counts.items():
        # The objects were loaded by this session: keep them true to the rows, without a second UPDATE.
        set_committed_value(communities[community_id], "member_count", count)


def _membership_events(new: NewMember) -> list[EventPayload]:
    """`member.joined` and `member.left` with the times they happened, in the order they happened."""
    events: list[tuple[datetime, int, EventPayload]] = []
    for j in new.joined:
        joined = MemberJoinedV1(
            member_id=new.id,
            community_id=j.community_id,
            channel=j.channel,
            inviter_id=j.inviter_id,
            joined_at=j.joined_at,
        )
        events.append((j.joined_at, 0, joined))
        if j.left_at is not None:
            left = MemberLeftV1(member_id=new.id, community_id=j.community_id, reason="left", left_at=j.left_at)
            events.append((j.left_at, 1, left))
    return [event for _, _, event in sorted(events, key=lambda e: (e[0], e[1]))]

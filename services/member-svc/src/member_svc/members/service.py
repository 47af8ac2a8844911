"""Member profiles: registered and corrected (phones sealed), found, and shown as the caller may see them."""

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.exceptions import MemberErased, MemberNotFound, MerchantMemberIdTaken, PhoneTaken
from member_svc.members.models import Member
from member_svc.members.schemas import MemberCreate, MemberRead, MemberUpdate, MerchantIdsResolved
from member_svc.personal_data.cipher import PersonalDataCipher, mask_phone, normalise_phone
from member_svc.personal_data.permission import may_see_personal_data, require_personal_data_permission
from member_svc.tags.service import tag_names_of
from qunyun_shared.db import one_of
from qunyun_shared.events.member import MemberBirthdaySetV1, MemberProfileUpdatedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import InvalidInput

# What a member view reads: pages of members are selected as rows of these, not as ORM objects.
VIEW_COLUMNS = (
    Member.id,
    Member.tenant_id,
    Member.merchant_member_id,
    Member.nickname,
    Member.phone_encrypted,
    Member.gender,
    Member.age_band,
    Member.birthday,
    Member.region,
    Member.persona_tags,
    Member.active_hours,
    Member.level,
    Member.lifecycle,
    Member.segment,
    Member.churn_risk,
    Member.created_at,
    Member.erased_at,
)
Shown = Member | Row[*tuple[Any, ...]]
"""A member to show: the ORM object, or a row of VIEW_COLUMNS."""


async def view(
    *, session: AsyncSession, cipher: PersonalDataCipher, caller: Identity, shown: Sequence[Shown]
) -> list[MemberRead]:
    """Members as the caller may see them, with their tags."""
    reveal = may_see_personal_data(caller)
    tagged = await tag_names_of(session=session, member_ids=[member.id for member in shown])
    return [present(m, cipher=cipher, reveal=reveal, tags=tagged[m.id]) for m in shown]


def present(member: Shown, *, cipher: PersonalDataCipher, reveal: bool, tags: list[str]) -> MemberRead:
    """The member as the API shows them: the phone decrypted, and masked unless `reveal`."""
    phone = None
    if member.phone_encrypted is not None:
        phone = cipher.decrypt(member.phone_encrypted, owner=_phone_owner(member))
        phone = phone if reveal else mask_phone(phone)
    return MemberRead(
        id=member.id,
        merchant_member_id=member.merchant_member_id,
        nickname=member.nickname,
        phone=phone,
        gender=member.gender,
        age_band=member.age_band,
        birthday=member.birthday,
        region=member.region,
        persona_tags=member.persona_tags,
        active_hours=member.active_hours,
        level=member.level,
        lifecycle=member.lifecycle,
        segment=member.segment,
        churn_risk=member.churn_risk,
        tags=tags,
        created_at=member.created_at,
        erased=member.erased_at is not None,
    )


async def register(
    *, session: AsyncSession, outbox: Outbox, cipher: PersonalDataCipher, tenant_id: str, member_in: MemberCreate
) -> Member:
    """Registers a member of the tenant, their phone sealed; a birthday given is announced. A merchant id
    another member has already is refused, naming that member."""
    merchant_id = member_in.merchant_member_id
    if merchant_id is not None:
        await _check_merchant_id_free(session, tenant_id, merchant_id)
    # The id is fixed before sealing, because the sealed phone is bound to it.
    member = Member(id=uuid.uuid4(), tenant_id=tenant_id, **member_in.model_dump(exclude={"phone"}))
    if member_in.phone is not None:
        _seal_phone(member, cipher, member_in.phone)
    if merchant_id is None:
        session.add(member)
        await _flush_checking_phone(session)
    else:
        # In a savepoint: a member given the merchant id meanwhile is then looked up, to be named.
        try:
            async with session.begin_nested():
                session.add(member)
                await _flush_checking_phone(session)
        except IntegrityError:
            await _check_merchant_id_free(session, tenant_id, merchant_id)
            raise
    if member.birthday is not None:
        await announce_birthdays(
            session=session, outbox=outbox, tenant_id=tenant_id, birthdays=[(member.id, member.birthday)]
        )
    return member


async def member_ids_by_merchant_id(
    *, session: AsyncSession, tenant_id: str, merchant_member_ids: Collection[str]
) -> dict[str, uuid.UUID]:
    """The tenant's members (erased ones included) named by these merchant ids, by merchant id."""
    if not merchant_member_ids:
        return {}
    found = await session.execute(
        select(Member.merchant_member_id, Member.id).where(
            Member.tenant_id == tenant_id, one_of(session, Member.merchant_member_id, merchant_member_ids)
        )
    )
    return {merchant_id: member_id for merchant_id, member_id in found.all() if merchant_id is not None}


async def resolve_merchant_ids(
    *, session: AsyncSession, tenant_id: str, merchant_member_ids: Sequence[str]
) -> MerchantIdsResolved:
    """The tenant's members named by the merchant's ids; the ids no member has, and those of erased members,
    apart."""
    wanted = list(dict.fromkeys(merchant_member_ids))
    found = await session.execute(
        select(Member.merchant_member_id, Member.id, Member.erased_at).where(
            Member.tenant_id == tenant_id, one_of(session, Member.merchant_member_id, wanted)
        )
    )
    named = {merchant_id: (member_id, erased_at) for merchant_id, member_id, erased_at in found.all()}
    return MerchantIdsResolved(
        members={m: named[m][0] for m in wanted if m in named and named[m][1] is None},
        unknown=[m for m in wanted if m not in named],
        erased=[m for m in wanted if m in named and named[m][1] is not None],
    )


async def _check_merchant_id_free(session: AsyncSession, tenant_id: str, merchant_id: str) -> None:
    taken = await member_ids_by_merchant_id(session=session, tenant_id=tenant_id, merchant_member_ids=[merchant_id])
    if merchant_id in taken:
        raise MerchantMemberIdTaken(
            f"Member {taken[merchant_id]} already has merchant id {merchant_id!r}.",
            field="merchant_member_id",
            member_id=str(taken[merchant_id]),
        )


async def announce_birthdays(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, birthdays: Sequence[tuple[uuid.UUID, str | None]]
) -> None:
    """`member.birthday_set` for each member whose birthday was given, corrected or removed."""
    events = [MemberBirthdaySetV1(member_id=member_id, birthday=birthday) for member_id, birthday in birthdays]
    await outbox.add(session, tenant_id=tenant_id, payloads=events)


async def get_member(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> Member:
    """Returns one of the tenant's members, erased ones included."""
    member = await session.get(Member, member_id)
    if member is None or member.tenant_id != tenant_id:
        raise MemberNotFound(f"No member {member_id}.")
    return member


async def get_active_member(
    *, session: AsyncSession, tenant_id: str, member_id: uuid.UUID, lock: bool = False
) -> Member:
    """Returns one of the tenant's members who has not been erased; `lock` holds the row until commit, so
    an erasure and a join of the same member run one after the other."""
    member = await session.get(Member, member_id, with_for_update=lock or None)
    if member is None or member.tenant_id != tenant_id:
        raise MemberNotFound(f"No member {member_id}.")
    if member.erased_at is not None:
        raise MemberErased(f"Member {member_id} has been erased.")
    return member


async def known_member(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> Member | None:
    """The tenant's member an event is about, unless unknown here or erased (then the event is moot)."""
    member = await session.get(Member, member_id)
    if member is None or member.tenant_id != tenant_id or member.erased_at is not None:
        return None
    return member


async def known_members(
    *, session: AsyncSession, tenant_id: str, member_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Member]:
    """`known_member` for many: those of the tenant's members among `member_ids` not erased, by id."""
    if not member_ids:
        return {}
    found = await session.scalars(select(Member).where(one_of(session, Member.id, list(member_ids))))
    return {m.id: m for m in found.all() if m.tenant_id == tenant_id and m.erased_at is None}


async def find_by_phone(*, session: AsyncSession, cipher: PersonalDataCipher, caller: Identity, phone: str) -> Member:
    """Finds a member by phone through its keyed hash; only for a role that may see phones, since
    otherwise a few thousand guesses would unmask any masked number."""
    require_personal_data_permission(caller, "Looking a member up by phone")
    digest = cipher.lookup_hash(normalise_phone(phone), tenant_id=caller.tenant_id)
    query = select(Member).where(Member.tenant_id == caller.tenant_id, Member.phone_hash == digest)
    member = await session.scalar(query)
    if member is None:
        raise MemberNotFound("No member has this phone.")
    return member


async def correct(
    *,
    session: AsyncSession,
    outbox: Outbox,
    cipher: PersonalDataCipher,
    caller: Identity,
    member_id: uuid.UUID,
    changes: MemberUpdate,
) -> Member:
    """Applies a correction and records `member.profile_updated` with the names of the fields changed."""
    if "phone" in changes.model_fields_set:
        require_personal_data_permission(caller, "Changing a phone")
    tenant_id = caller.tenant_id
    member = await get_active_member(session=session, tenant_id=tenant_id, member_id=member_id)
    fields = changes.model_dump(exclude_unset=True)
    if "nickname" in fields and fields["nickname"] is None:
        raise InvalidInput("A nickname cannot be removed, only changed.", field="nickname")
    if "phone" in fields:
        phone = fields.pop("phone")
        if phone is None:
            forget_phone(member)
        else:
            _seal_phone(member, cipher, phone)
    for name, value in fields.items():
        setattr(member, name, value)
    await _flush_checking_phone(session)
    changed = sorted(changes.model_fields_set)
    if changed:
        event = MemberProfileUpdatedV1(member_id=member.id, changed_fields=changed)
        await outbox.add(session, tenant_id=tenant_id, payloads=[event])
    if "birthday" in changed:
        await announce_birthdays(
            session=session, outbox=outbox, tenant_id=tenant_id, birthdays=[(member.id, member.birthday)]
        )
    return member


def _seal_phone(member: Member, cipher: PersonalDataCipher, raw: str) -> None:
    phone = normalise_phone(raw)
    member.phone_encrypted = cipher.encrypt(phone, owner=_phone_owner(member))
    member.phone_hash = cipher.lookup_hash(phone, tenant_id=member.tenant_id)


def _phone_owner(member: Shown) -> str:
    return phone_owner(member.tenant_id, member.id)


def phone_owner(tenant_id: str, member_id: uuid.UUID) -> str:
    """What a sealed phone is bound to: it opens for this tenant's member and field only."""
    return f"{tenant_id}\x00{member_id}\x00phone"


def forget_phone(member: Member) -> None:
    """Drops the member's phone, sealed and hashed alike."""
    member.phone_encrypted = member.phone_hash = None


async def _flush_checking_phone(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        if not any(marker in str(exc.orig) for marker in ("phone_hash", "uq_members_tenant_phone")):
            raise
        # Raising aborts the request's whole transaction, so no savepoint is needed.
        raise PhoneTaken("Another member of this tenant has this phone.") from None

"""Member profiles, consent and personal-data rights (PIPL: access and copy, correction, erasure)."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities.models import Membership, MembershipRecord, Purchase
from member_svc.communities.schemas import MembershipRead, MembershipRecordRead
from member_svc.exceptions import MemberErased, MemberNotFound, PersonalDataNotAllowed, PhoneTaken
from member_svc.models import Consent, Member, MemberActivity, MemberTag, PointsEntry
from member_svc.personal_data import PersonalDataCipher, mask_phone, normalise_phone
from member_svc.referrals.models import Invitation
from member_svc.referrals.schemas import InvitationRead
from member_svc.schemas import (
    ConsentCreate,
    ConsentRead,
    ConsentState,
    MemberCreate,
    MemberExport,
    MemberRead,
    MemberTagRead,
    MemberUpdate,
    PointsEntryRead,
)
from member_svc.tags import tag_names_of, tags_of
from qunyun_shared.events.member import MemberBirthdaySetV1, MemberConsentChangedV1, MemberProfileUpdatedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import InvalidInput

PERSONAL_DATA_PERMISSION = "members:personal_data"
ERASED_NICKNAME = "已注销用户"
# What a member view reads: pages of members are selected as rows of these, not as ORM objects.
VIEW_COLUMNS = (
    Member.id,
    Member.tenant_id,
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


def may_see_personal_data(caller: Identity) -> bool:
    """Whether the caller's role may see identifiers unmasked."""
    return bool({"*", PERSONAL_DATA_PERMISSION} & caller.permissions)


def require_personal_data_permission(caller: Identity, action: str) -> None:
    if not may_see_personal_data(caller):
        raise PersonalDataNotAllowed(f"{action} needs the {PERSONAL_DATA_PERMISSION} permission.")


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
    """Registers a member of the tenant, their phone sealed; a birthday given is announced."""
    # The id is fixed before sealing, because the sealed phone is bound to it.
    member = Member(id=uuid.uuid4(), tenant_id=tenant_id, **member_in.model_dump(exclude={"phone"}))
    if member_in.phone is not None:
        _seal_phone(member, cipher, member_in.phone)
    session.add(member)
    await _flush_checking_phone(session)
    if member.birthday is not None:
        await announce_birthdays(
            session=session, outbox=outbox, tenant_id=tenant_id, birthdays=[(member.id, member.birthday)]
        )
    return member


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
            _forget_phone(member)
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


async def record_consent(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, consent_in: ConsentCreate
) -> Consent:
    """Records a consent given or withdrawn, and `member.consent_changed`."""
    await get_active_member(session=session, tenant_id=tenant_id, member_id=member_id)
    consent = Consent(
        tenant_id=tenant_id, member_id=member_id, recorded_at=datetime.now(UTC), **consent_in.model_dump()
    )
    session.add(consent)
    event = MemberConsentChangedV1(
        member_id=member_id, purpose=consent_in.purpose, granted=consent_in.granted, source=consent_in.source
    )
    await outbox.add(session, tenant_id=tenant_id, payloads=[event])
    return consent


async def consent_state(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> ConsentState:
    """The consent in force per purpose, with the whole history."""
    await get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    history = [ConsentRead.model_validate(c) for c in await _consents(session, member_id)]
    latest = {c.purpose: c.granted for c in history}
    return ConsentState(service=latest.get("service", False), marketing=latest.get("marketing", False), history=history)


async def export(
    *, session: AsyncSession, cipher: PersonalDataCipher, caller: Identity, member_id: uuid.UUID
) -> MemberExport:
    """Everything held about a member, unmasked: only for a role allowed to see personal data."""
    require_personal_data_permission(caller, "Exporting a member's data")
    member = await get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    memberships = await session.scalars(select(Membership).where(Membership.member_id == member_id))
    records = await membership_records(session=session, member_id=member_id)
    tags = (await tags_of(session=session, member_ids=[member_id]))[member_id]
    ledger = await session.scalars(
        select(PointsEntry).where(PointsEntry.member_id == member_id).order_by(PointsEntry.at)
    )
    invitations = await session.scalars(
        select(Invitation).where(Invitation.inviter_id == member_id).order_by(Invitation.sent_at)
    )
    return MemberExport(
        member=present(member, cipher=cipher, reveal=True, tags=[t.tag for t in tags]),
        tags=[MemberTagRead.model_validate(t) for t in tags],
        points_ledger=[PointsEntryRead.model_validate(e) for e in ledger],
        memberships=[MembershipRead.model_validate(m) for m in memberships],
        membership_records=[MembershipRecordRead.model_validate(r) for r in records],
        consents=[ConsentRead.model_validate(c) for c in await _consents(session, member_id)],
        invitations=[InvitationRead.model_validate(i) for i in invitations],
        exported_at=datetime.now(UTC),
    )


async def wipe_personal_data(*, session: AsyncSession, member: Member) -> None:
    """Blanks every personal field of a member and drops the profile built of them (tags, activity,
    purchases, invitations sent); the id stays, as a tombstone others may still refer to. The points
    ledger stays as the account's bookkeeping, tied to nothing but the tombstone."""
    member.nickname, member.gender, member.age_band, member.region = ERASED_NICKNAME, None, None, None
    member.birthday = None
    member.persona_tags, member.active_hours, member.erased_at = [], [], datetime.now(UTC)
    member.segment, member.churn_risk, member.churn_score, member.churn_flagged_at = None, False, None, None
    _forget_phone(member)
    for table in (MemberTag, MemberActivity, Purchase):
        await session.execute(delete(table).where(table.member_id == member.id))
    await session.execute(delete(Invitation).where(Invitation.inviter_id == member.id))


async def membership_records(*, session: AsyncSession, member_id: uuid.UUID) -> list[MembershipRecord]:
    """A member's joins, rejoins, leaves and removals, oldest first."""
    query = select(MembershipRecord).where(MembershipRecord.member_id == member_id).order_by(MembershipRecord.at)
    return list((await session.scalars(query)).all())


async def _consents(session: AsyncSession, member_id: uuid.UUID) -> list[Consent]:
    query = select(Consent).where(Consent.member_id == member_id).order_by(Consent.recorded_at)
    return list((await session.scalars(query)).all())


def _seal_phone(member: Member, cipher: PersonalDataCipher, raw: str) -> None:
    phone = normalise_phone(raw)
    member.phone_encrypted = cipher.encrypt(phone, owner=_phone_owner(member))
    member.phone_hash = cipher.lookup_hash(phone, tenant_id=member.tenant_id)


def _phone_owner(member: Shown) -> str:
    return phone_owner(member.tenant_id, member.id)


def phone_owner(tenant_id: str, member_id: uuid.UUID) -> str:
    """What a sealed phone is bound to: it opens for this tenant's member and field only."""
    return f"{tenant_id}\x00{member_id}\x00phone"


def _forget_phone(member: Member) -> None:
    member.phone_encrypted = member.phone_hash = None


async def _flush_checking_phone(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        if not any(marker in str(exc.orig) for marker in ("phone_hash", "uq_members_tenant_phone")):
            raise
        # Raising aborts the request's whole transaction, so no savepoint is needed.
        raise PhoneTaken("Another member of this tenant has this phone.") from None

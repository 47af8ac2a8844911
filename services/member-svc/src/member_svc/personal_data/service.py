"""Consent, and members' rights over their personal data (PIPL): access and copy, and erasure."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import service as communities
from member_svc.communities.models import Membership, Purchase, WaitlistEntry
from member_svc.communities.schemas import MembershipRead, MembershipRecordRead
from member_svc.db import IDEMPOTENCY_KEYS
from member_svc.members import service as members
from member_svc.members.models import Member, MemberActivity
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.personal_data.models import Consent
from member_svc.personal_data.permission import require_personal_data_permission
from member_svc.personal_data.schemas import ConsentCreate, ConsentRead, ConsentState, MemberExport
from member_svc.points.models import PointsEntry
from member_svc.points.schemas import PointsEntryRead
from member_svc.referrals.models import Invitation
from member_svc.referrals.schemas import InvitationRead
from member_svc.tags.models import MemberTag
from member_svc.tags.schemas import MemberTagRead
from member_svc.tags.service import tags_of
from qunyun_shared import idempotency
from qunyun_shared.events.member import MemberConsentChangedV1, MemberErasedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox

ERASED_NICKNAME = "已注销用户"


async def record_consent(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, consent_in: ConsentCreate
) -> Consent:
    """Records a consent given or withdrawn, and `member.consent_changed`."""
    await members.get_active_member(session=session, tenant_id=tenant_id, member_id=member_id)
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
    await members.get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    history = [ConsentRead.model_validate(c) for c in await _consents(session, member_id)]
    latest = {c.purpose: c.granted for c in history}
    return ConsentState(service=latest.get("service", False), marketing=latest.get("marketing", False), history=history)


async def export(
    *, session: AsyncSession, cipher: PersonalDataCipher, caller: Identity, member_id: uuid.UUID
) -> MemberExport:
    """Everything held about a member, unmasked: only for a role allowed to see personal data."""
    require_personal_data_permission(caller, "Exporting a member's data")
    member = await members.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    memberships = await session.scalars(select(Membership).where(Membership.member_id == member_id))
    records = await communities.membership_records(session=session, member_id=member_id)
    tags = (await tags_of(session=session, member_ids=[member_id]))[member_id]
    ledger = await session.scalars(
        select(PointsEntry).where(PointsEntry.member_id == member_id).order_by(PointsEntry.at)
    )
    invitations = await session.scalars(
        select(Invitation).where(Invitation.inviter_id == member_id).order_by(Invitation.sent_at)
    )
    return MemberExport(
        member=members.present(member, cipher=cipher, reveal=True, tags=[t.tag for t in tags]),
        tags=[MemberTagRead.model_validate(t) for t in tags],
        points_ledger=[PointsEntryRead.model_validate(e) for e in ledger],
        memberships=[MembershipRead.model_validate(m) for m in memberships],
        membership_records=[MembershipRecordRead.model_validate(r) for r in records],
        consents=[ConsentRead.model_validate(c) for c in await _consents(session, member_id)],
        invitations=[InvitationRead.model_validate(i) for i in invitations],
        exported_at=datetime.now(UTC),
    )


async def erase_member(*, session: AsyncSession, outbox: Outbox, caller: Identity, member_id: uuid.UUID) -> None:
    """Erases a member (PIPL deletion): out of every community and waitlist, personal fields wiped, and
    `member.erased` sent so every other service deletes or anonymises what it holds."""
    require_personal_data_permission(caller, "Erasing a member")
    tenant_id = caller.tenant_id
    member = await members.get_active_member(session=session, tenant_id=tenant_id, member_id=member_id, lock=True)
    await _remove_everywhere(session, outbox, tenant_id, member_id)
    await _wipe_personal_data(session, member)
    # A pushed member's stored response holds their profile; after erasure a replay answers nothing.
    await idempotency.forget_answers_naming(session, IDEMPOTENCY_KEYS, tenant_id=tenant_id, member_id=member_id)
    await outbox.add(session, tenant_id=tenant_id, payloads=[MemberErasedV1(member_id=member_id)])


async def _wipe_personal_data(session: AsyncSession, member: Member) -> None:
    """Blanks every personal field of a member and drops the profile built of them (tags, activity,
    purchases, invitations sent); the id stays, as a tombstone others may still refer to. The points
    ledger stays as the account's bookkeeping, tied to nothing but the tombstone."""
    member.nickname, member.gender, member.age_band, member.region = ERASED_NICKNAME, None, None, None
    # The merchant id stays on the tombstone (history naming the member is then recognised, and not kept); the
    # digest of the row they were imported from goes with the rest of what was theirs.
    member.birthday, member.history_digest = None, None
    member.persona_tags, member.active_hours, member.erased_at = [], [], datetime.now(UTC)
    member.segment, member.churn_risk, member.churn_score, member.churn_flagged_at = None, False, None, None
    members.forget_phone(member)
    for table in (MemberTag, MemberActivity, Purchase):
        await session.execute(delete(table).where(table.member_id == member.id))
    await session.execute(delete(Invitation).where(Invitation.inviter_id == member.id))


async def _remove_everywhere(session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID) -> None:
    await session.execute(delete(WaitlistEntry).where(WaitlistEntry.member_id == member_id))
    community_ids = (
        await session.scalars(select(Membership.community_id).where(Membership.member_id == member_id))
    ).all()
    for community_id in community_ids:
        await communities.leave_community(
            session=session,
            outbox=outbox,
            tenant_id=tenant_id,
            community_id=community_id,
            member_id=member_id,
            reason="removed",
        )


async def _consents(session: AsyncSession, member_id: uuid.UUID) -> list[Consent]:
    query = select(Consent).where(Consent.member_id == member_id).order_by(Consent.recorded_at)
    return list((await session.scalars(query)).all())

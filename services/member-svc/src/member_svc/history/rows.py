"""What each row of a member history batch becomes, checked against what the tenant has and against the rows
before it: a new member to write, the member an identical earlier import made (unchanged), or its problems.
Everything a batch looks up is read in a few statements for the whole batch, none per row."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities.models import Community
from member_svc.exceptions import MalformedPhone
from member_svc.history.schemas import HistoricalMembership, MemberHistoryRow
from member_svc.members.models import Member
from member_svc.personal_data.cipher import PersonalDataCipher, normalise_phone
from member_svc.tags import service as tags
from qunyun_shared.db import one_of
from qunyun_shared.events.member import JoinChannel
from qunyun_shared.history import RowProblem, RowResult, content_digest, failed


@dataclass(frozen=True)
class Known:
    """A member the tenant has under a merchant id, as the batch sees them."""

    id: uuid.UUID
    digest: bytes | None
    erased: bool


@dataclass(frozen=True)
class Joined:
    """A membership to record: where, when, how and by whom, and when it ended if it did."""

    community_id: uuid.UUID
    joined_at: datetime
    channel: JoinChannel
    inviter_id: uuid.UUID | None
    left_at: datetime | None


@dataclass
class NewMember:
    """A row that becomes a member: their id, what to store and the memberships to record."""

    row: int
    id: uuid.UUID
    member: MemberHistoryRow
    digest: bytes
    phone: str | None
    phone_hash: bytes | None
    joined: list[Joined] = field(default_factory=list)

    @property
    def invited_by(self) -> uuid.UUID | None:
        """Who first brought them in: the inviter of their earliest invited join."""
        invited = sorted((j.joined_at, str(j.community_id), j.inviter_id) for j in self.joined if j.inviter_id)
        return invited[0][2] if invited else None


@dataclass
class Plan:
    new: list[NewMember]
    results: list[RowResult]
    communities: dict[uuid.UUID, Community]


async def plan(
    *, session: AsyncSession, cipher: PersonalDataCipher, tenant_id: str, rows: Sequence[tuple[int, MemberHistoryRow]]
) -> Plan:
    """Each checked row's fate, in row order; communities joined come locked (their member counts change)."""
    phones = {number: _phone(row) for number, row in rows}
    hashes = {n: cipher.lookup_hash(p, tenant_id=tenant_id) for n, p in phones.items() if isinstance(p, str)}
    named = {row.merchant_member_id for _, row in rows} | {
        m.inviter_merchant_member_id for _, row in rows for m in row.memberships if m.inviter_merchant_member_id
    }
    check = _Check(
        known=await _known(session, tenant_id, named),
        communities=await _communities(session, tenant_id, {m.community_id for _, r in rows for m in r.memberships}),
        phones_taken=await _phones_taken(session, tenant_id, set(hashes.values())),
        rule_tags={rule.tag for rule in await tags.list_rules(session=session, tenant_id=tenant_id)},
    )
    for number, row in rows:
        check.row(number, row, digest(row, hashes.get(number)), phones[number], hashes.get(number))
    return Plan(new=check.new, results=check.results, communities=check.communities)


def digest(row: MemberHistoryRow, phone_hash: bytes | None) -> bytes:
    """What makes two rows the same content: their fields (times as instants, the phone by its keyed hash, so
    the digest says nothing of it), given or defaulted alike."""
    return bytes.fromhex(content_digest(row, phone=phone_hash.hex() if phone_hash is not None else None))


def _phone(row: MemberHistoryRow) -> str | RowProblem | None:
    if row.phone is None:
        return None
    try:
        return normalise_phone(row.phone)
    except MalformedPhone as exc:
        return RowProblem(field="phone", message=exc.detail)


@dataclass
class _Check:
    """The rows checked so far: what the batch has created, and each row's result."""

    known: dict[str, Known]
    communities: dict[uuid.UUID, Community]
    phones_taken: set[bytes]
    rule_tags: set[str]
    new: list[NewMember] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)
    # The first row of the batch naming each merchant id, and what became of it.
    first: dict[str, tuple[int, bytes, RowResult | NewMember]] = field(default_factory=dict)
    phones_seen: dict[bytes, int] = field(default_factory=dict)

    def row(
        self,
        number: int,
        row: MemberHistoryRow,
        digest: bytes,
        phone: str | RowProblem | None,
        phone_hash: bytes | None,
    ) -> None:
        merchant_id = row.merchant_member_id
        if merchant_id in self.first:
            self.results.append(self._again(number, merchant_id, digest))
            return
        if merchant_id in self.known:
            outcome: RowResult | NewMember = self._imported_before(number, merchant_id, digest)
        else:
            outcome = self._new(number, row, digest, phone, phone_hash)
        self.first[merchant_id] = (number, digest, outcome)
        if isinstance(outcome, NewMember):
            self.new.append(outcome)
        else:
            self.results.append(outcome)

    def _imported_before(self, number: int, merchant_id: str, digest: bytes) -> RowResult:
        earlier = self.known[merchant_id]
        if earlier.erased:
            return failed(number, f"Member {earlier.id} with this merchant id was erased.", "merchant_member_id")
        if earlier.digest != digest:
            how = "imported with other content" if earlier.digest is not None else "created outside a history import"
            message = f"Member {earlier.id} has merchant id {merchant_id!r} already, {how}."
            return failed(number, message, "merchant_member_id")
        return RowResult(row=number, id=earlier.id, outcome="unchanged")

    def _again(self, number: int, merchant_id: str, digest: bytes) -> RowResult:
        """A merchant id an earlier row of the batch gave: the same row again is that row's member, unchanged."""
        first_row, first_digest, outcome = self.first[merchant_id]
        member_id = _member_of(outcome)
        if first_digest != digest:
            named = f" (member {member_id})" if member_id is not None else ""
            message = f"Row {first_row}{named} has merchant id {merchant_id!r} with other content."
            return failed(number, message, "merchant_member_id")
        if member_id is None:
            return failed(number, f"The same as row {first_row}, which failed.", "merchant_member_id")
        return RowResult(row=number, id=member_id, outcome="unchanged")

    def _new(
        self,
        number: int,
        row: MemberHistoryRow,
        digest: bytes,
        phone: str | RowProblem | None,
        phone_hash: bytes | None,
    ) -> RowResult | NewMember:
        problems = self._phone_problems(number, phone, phone_hash) + self._tag_problems(row)
        joined: list[Joined] = []
        for index, membership in enumerate(row.memberships):
            found = self._membership(index, membership)
            if isinstance(found, Joined):
                joined.append(found)
            else:
                problems.append(found)
        if problems:
            return RowResult(row=number, outcome="failed", problems=problems)
        assert not isinstance(phone, RowProblem)
        return NewMember(number, uuid.uuid4(), row, digest, phone, phone_hash, joined)

    def _phone_problems(
        self, number: int, phone: str | RowProblem | None, phone_hash: bytes | None
    ) -> list[RowProblem]:
        if isinstance(phone, RowProblem):
            return [phone]
        if phone_hash is None:
            return []
        if phone_hash in self.phones_taken:
            return [RowProblem(field="phone", message="Another member of this tenant has this phone.")]
        if phone_hash in self.phones_seen:
            return [RowProblem(field="phone", message=f"Row {self.phones_seen[phone_hash]} has the same phone.")]
        self.phones_seen[phone_hash] = number
        return []

    def _tag_problems(self, row: MemberHistoryRow) -> list[RowProblem]:
        owned = [tag for tag in row.tags if tags.is_system_tag(tag) or tag in self.rule_tags]
        return [RowProblem(field="tags", message=f"Tag {tag!r} is set by analytics or a rule.") for tag in owned]

    def _membership(self, index: int, membership: HistoricalMembership) -> Joined | RowProblem:
        where = f"memberships.{index}"
        community = self.communities.get(membership.community_id)
        if community is None:
            return RowProblem(field=f"{where}.community_id", message=f"No community {membership.community_id}.")
        if membership.joined_at < community.opened_at:
            message = f"Before the community opened ({community.opened_at.isoformat()})."
            return RowProblem(field=f"{where}.joined_at", message=message)
        if community.archived_at is not None and membership.joined_at >= community.archived_at:
            message = f"After the community was archived ({community.archived_at.isoformat()})."
            return RowProblem(field=f"{where}.joined_at", message=message)
        inviter_id = None
        if membership.inviter_merchant_member_id is not None:
            inviter = self._inviter(membership.inviter_merchant_member_id)
            if isinstance(inviter, str):
                return RowProblem(field=f"{where}.inviter_merchant_member_id", message=inviter)
            inviter_id = inviter
        return Joined(membership.community_id, membership.joined_at, membership.channel, inviter_id, membership.left_at)

    def _inviter(self, merchant_id: str) -> uuid.UUID | str:
        """The inviter's member id: one the tenant has, or a member of an earlier row; else why not."""
        if merchant_id in self.first:
            row, _, outcome = self.first[merchant_id]
            member_id = _member_of(outcome)
            return f"The inviter's row {row} failed." if member_id is None else member_id
        earlier = self.known.get(merchant_id)
        if earlier is None:
            return f"No member has merchant id {merchant_id!r}: an inviter is imported before, or on an earlier row."
        if earlier.erased:
            return f"The inviter, member {earlier.id}, was erased."
        return earlier.id


def _member_of(outcome: RowResult | NewMember) -> uuid.UUID | None:
    """The member a row stands for: the one it creates or found unchanged; none if it failed."""
    if isinstance(outcome, NewMember):
        return outcome.id
    return outcome.id if outcome.outcome != "failed" else None


async def _known(session: AsyncSession, tenant_id: str, merchant_ids: set[str]) -> dict[str, Known]:
    if not merchant_ids:
        return {}
    found = await session.execute(
        select(Member.merchant_member_id, Member.id, Member.history_digest, Member.erased_at).where(
            Member.tenant_id == tenant_id, one_of(session, Member.merchant_member_id, merchant_ids)
        )
    )
    return {
        merchant_id: Known(member_id, digest, erased is not None)
        for merchant_id, member_id, digest, erased in found.all()
        if merchant_id is not None
    }


async def _communities(session: AsyncSession, tenant_id: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, Community]:
    """The tenant's communities among `ids`, locked in id order: the batch adds to their member counts."""
    if not ids:
        return {}
    query = (
        select(Community)
        .where(Community.tenant_id == tenant_id, one_of(session, Community.id, ids))
        .order_by(Community.id)
        .with_for_update()
    )
    return {community.id: community for community in (await session.scalars(query)).all()}


async def _phones_taken(session: AsyncSession, tenant_id: str, hashes: set[bytes]) -> set[bytes]:
    if not hashes:
        return set()
    query = select(Member.phone_hash).where(Member.tenant_id == tenant_id, one_of(session, Member.phone_hash, hashes))
    return {phone_hash for phone_hash in (await session.scalars(query)).all() if phone_hash is not None}

"""Events published by member-svc."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field

from qunyun_shared.events.base import EventPayload, event
from qunyun_shared.events.integers import Count, Int32

JoinChannel = Literal["ad", "friend", "qr", "store", "invite", "import", "other"]
# Where a member shares an invitation: a chat with a friend, a group, their moments feed, a poster, a QR code.
InvitationChannel = Literal["friend", "group", "moments", "poster", "qr", "other"]
CommunityKind = Literal["vertical", "welfare", "interest", "vip"]
CommunityTier = Literal["core", "active", "potential"]


@event(
    "community.opened",
    1,
    producer="member-svc",
    summary="A community was opened, by an operator or as the overflow sibling of a full one.",
)
class CommunityOpenedV1(EventPayload):
    subject_field = "community_id"
    community_id: UUID
    name: str
    kind: CommunityKind
    tier: CommunityTier
    sibling_of: UUID | None = None
    opened_at: datetime


@event("community.archived", 1, producer="member-svc", summary="A community was closed to joins.")
class CommunityArchivedV1(EventPayload):
    subject_field = "community_id"
    community_id: UUID
    archived_at: datetime


@event("member.joined", 1, producer="member-svc", summary="A member entered a community.")
class MemberJoinedV1(EventPayload):
    member_id: UUID
    community_id: UUID
    channel: JoinChannel
    inviter_id: UUID | None = None
    joined_at: datetime


@event(
    "member.invited",
    1,
    producer="member-svc",
    summary="A member sent an invitation to a community: the invite they share, counted before anyone accepts.",
)
class MemberInvitedV1(EventPayload):
    invitation_id: UUID
    member_id: UUID  # the inviter
    community_id: UUID
    channel: InvitationChannel
    sent_at: datetime


@event("member.left", 1, producer="member-svc", summary="A member left or was removed from a community.")
class MemberLeftV1(EventPayload):
    member_id: UUID
    community_id: UUID
    reason: Literal["left", "removed"]
    left_at: datetime


@event("member.profile_updated", 1, producer="member-svc", summary="Profile fields of a member changed.")
class MemberProfileUpdatedV1(EventPayload):
    member_id: UUID
    changed_fields: list[str]


def _real_month_day(value: str) -> str:
    # 2000 is a leap year, so 02-29 is a birthday like any other.
    try:
        date.fromisoformat(f"2000-{value}")
    except ValueError:
        raise ValueError(f"{value!r} is not a month and day (MM-DD)") from None
    return value


# Month and day only: all a birthday perk needs, and less personal data than a date of birth.
Birthday = Annotated[str, Field(pattern=r"^\d{2}-\d{2}$", examples=["07-19"]), AfterValidator(_real_month_day)]


@event(
    "member.birthday_set",
    1,
    producer="member-svc",
    summary="A member's birthday (month and day) was given, corrected or removed; on an event of its own "
    "so that it reaches only the services that act on it.",
    public=False,
)
class MemberBirthdaySetV1(EventPayload):
    member_id: UUID
    birthday: Birthday | None


@event("member.tagged", 1, producer="member-svc", summary="A tag was added to or removed from a member.")
class MemberTaggedV1(EventPayload):
    member_id: UUID
    tag: str
    kind: Literal["manual", "rule", "system"]
    action: Literal["added", "removed"]


@event("member.points_changed", 1, producer="member-svc", summary="Points were earned, spent, expired or clawed back.")
class MemberPointsChangedV1(EventPayload):
    member_id: UUID
    delta: Int32
    balance: Count
    reason: str


@event("member.level_changed", 1, producer="member-svc", summary="A member crossed a level threshold.")
class MemberLevelChangedV1(EventPayload):
    member_id: UUID
    from_level: Count
    to_level: Count


@event(
    "member.consent_changed", 1, producer="member-svc", summary="Service or marketing consent was given or withdrawn."
)
class MemberConsentChangedV1(EventPayload):
    member_id: UUID
    purpose: Literal["service", "marketing"]
    granted: bool
    source: str


@event("member.erased", 1, producer="member-svc", summary="A member's personal data must be erased everywhere (PIPL).")
class MemberErasedV1(EventPayload):
    member_id: UUID

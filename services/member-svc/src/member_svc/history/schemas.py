"""A brand's member history in the API: members named by the merchant's ids, with their profiles, tags and the
communities they joined (and left) when they did."""

import uuid

from pydantic import Field, SkipValidation, model_validator

from member_svc.inputs import Input
from member_svc.members.schemas import MemberCreate, MerchantMemberId
from member_svc.tags.schemas import TagName
from qunyun_shared.events.member import JoinChannel
from qunyun_shared.history import MAX_ROWS, PastTime

# Communities one member's row may name: far more than anyone is in, few enough to check a batch at once.
MAX_MEMBERSHIPS = 50


class HistoricalMembership(Input):
    """A community the member joined, when and how, and when they left it if they did."""

    community_id: uuid.UUID
    joined_at: PastTime = Field(description="When the member joined; not before the community opened.")
    channel: JoinChannel = "import"
    inviter_merchant_member_id: MerchantMemberId | None = Field(
        default=None,
        description="The merchant id of who invited them: a member imported before, or on an earlier row.",
    )
    left_at: PastTime | None = Field(default=None, description="When they left, if they are no longer in it.")

    @model_validator(mode="after")
    def _left_after_joining(self) -> "HistoricalMembership":
        if self.left_at is not None and self.left_at <= self.joined_at:
            raise ValueError("left_at must be after joined_at")
        return self


class MemberHistoryRow(MemberCreate):
    """One member of the merchant's history: their profile as `POST /members` takes it, named by the merchant's
    id, with operator tags and their memberships."""

    merchant_member_id: MerchantMemberId
    tags: list[TagName] = Field(default=[], max_length=20, description="Operator (manual) tags.")
    registered_at: PastTime | None = Field(
        default=None,
        description="When they became the brand's member; by default their first join, or now if none.",
    )
    memberships: list[HistoricalMembership] = Field(default=[], max_length=MAX_MEMBERSHIPS)

    @model_validator(mode="after")
    def _each_community_once_and_registered_first(self) -> "MemberHistoryRow":
        communities = [membership.community_id for membership in self.memberships]
        if len(set(communities)) < len(communities):
            raise ValueError("a community appears twice in memberships: give each community once")
        if self.merchant_member_id in {m.inviter_merchant_member_id for m in self.memberships}:
            raise ValueError("a member cannot have invited themselves")
        first_join = min((m.joined_at for m in self.memberships), default=None)
        if self.registered_at is not None and first_join is not None and self.registered_at > first_join:
            raise ValueError("registered_at is after the member's first join")
        return self


class MemberHistoryBatch(Input):
    members: list[SkipValidation[MemberHistoryRow]] = Field(min_length=1, max_length=MAX_ROWS)
